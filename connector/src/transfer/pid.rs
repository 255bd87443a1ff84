//! Transfer process ids: opaque to the other party, but they travel in URL paths, so a
//! counterparty's id is accepted only in a safe charset, and every id is percent-encoded when
//! it is put into a URL.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// The longest process id accepted.
pub const MAX_PID_LEN: usize = 256;

/// Everything but the safe charset is escaped in a path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b':');

/// Why a process id is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PidError {
    /// It is empty.
    #[error("is empty")]
    Empty,
    /// It is too long.
    #[error("is longer than {MAX_PID_LEN} characters")]
    TooLong,
    /// It holds a character outside the safe charset.
    #[error("holds `{0}`; use ASCII letters, digits, `-`, `.`, `_`, `~` and `:`")]
    Charset(char),
    /// It is `.` or `..`, which a URL path would resolve away.
    #[error("is a dot segment")]
    Dots,
}

/// Checks a process id a counterparty chose: 1 to [`MAX_PID_LEN`] ASCII letters, digits, `-`,
/// `.`, `_`, `~` or `:` (a UUID, a `urn:uuid:`), not a dot segment.
pub fn check(pid: &str) -> Result<(), PidError> {
    if pid.is_empty() {
        return Err(PidError::Empty);
    }
    if pid.len() > MAX_PID_LEN {
        return Err(PidError::TooLong);
    }
    if let Some(bad) = pid
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | ':')))
    {
        return Err(PidError::Charset(bad));
    }
    if pid == "." || pid == ".." {
        return Err(PidError::Dots);
    }
    Ok(())
}

/// `pid` as a URL path segment (unchanged when it passed [`check`]).
pub fn segment(pid: &str) -> String {
    utf8_percent_encode(pid, SEGMENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_and_urns_pass_and_are_put_into_urls_unchanged() {
        for pid in [
            "urn:uuid:32541fe6-c580-409e-85a8-8a9a32fbe833",
            "7f0a1c3e-1234-4bcd-9abc-0123456789ab",
            "a.b_c~d",
        ] {
            assert_eq!(check(pid), Ok(()), "{pid}");
            assert_eq!(segment(pid), pid);
        }
    }

    #[test]
    fn unsafe_ids_are_refused_and_would_be_escaped() {
        assert_eq!(check(""), Err(PidError::Empty));
        assert_eq!(check(&"a".repeat(257)), Err(PidError::TooLong));
        assert_eq!(check(".."), Err(PidError::Dots));
        for (pid, bad) in [
            ("a/b", '/'),
            ("a?b", '?'),
            ("a b", ' '),
            ("é", 'é'),
            ("a%2F", '%'),
        ] {
            assert_eq!(check(pid), Err(PidError::Charset(bad)), "{pid}");
        }
        assert_eq!(segment("../x?y#z"), "..%2Fx%3Fy%23z");
    }
}
