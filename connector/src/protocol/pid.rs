//! Negotiation process ids (`consumerPid`, `providerPid`): opaque ids of a bounded length in a
//! small character set, checked wherever one arrives (a message, a counterparty's answer), and
//! percent-encoded as one path segment wherever one is placed in a URL. A process id can
//! therefore never steer a message this connector sends to another path, query or fragment.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::{Deserialize, Deserializer};

/// Longest process id accepted.
pub const MAX_PID_LENGTH: usize = 256;

/// Why a process id is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PidError {
    /// The id is empty.
    #[error("a process id must not be empty")]
    Empty,
    /// The id is too long.
    #[error("a process id must be at most {MAX_PID_LENGTH} characters, not {0}")]
    TooLong(usize),
    /// The id has a character outside the allowed set, or does not start with a letter or
    /// digit.
    #[error(
        "a process id must start with a letter or digit and hold only letters, digits and \
         `.`, `_`, `:`, `-` (such as `urn:uuid:…`); `{0}` does not"
    )]
    Charset(String),
}

/// Checks a process id: 1 to [`MAX_PID_LENGTH`] characters of `A–Z a–z 0–9 . _ : -`, the
/// first a letter or digit (so no id is `.` or `..`).
pub fn check(pid: &str) -> Result<(), PidError> {
    if pid.is_empty() {
        return Err(PidError::Empty);
    }
    if pid.len() > MAX_PID_LENGTH {
        return Err(PidError::TooLong(pid.len()));
    }
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b"._:-".contains(&b);
    let starts_well = pid
        .as_bytes()
        .first()
        .is_some_and(u8::is_ascii_alphanumeric);
    if !starts_well || !pid.bytes().all(allowed) {
        return Err(PidError::Charset(pid.chars().take(64).collect()));
    }
    Ok(())
}

/// Deserialises a process id, refusing one [`check`] refuses (the message parser names the
/// field).
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let pid = String::deserialize(deserializer)?;
    check(&pid).map_err(serde::de::Error::custom)?;
    Ok(pid)
}

/// Deserialises an optional process id (see [`deserialize`]).
pub fn deserialize_option<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    let pid = Option::<String>::deserialize(deserializer)?;
    if let Some(pid) = &pid {
        check(pid).map_err(serde::de::Error::custom)?;
    }
    Ok(pid)
}

/// What is left as it is in a path segment: letters, digits and `-._~:`. Everything else —
/// `/`, `?`, `#`, `%`, `@`, spaces — is percent-encoded.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b':');

/// `text` percent-encoded as one path segment; refused when it is empty or a dot segment
/// (`.`, `..`), which a URL parser would resolve away.
pub fn segment(text: &str) -> Result<String, PidError> {
    if text.is_empty() {
        return Err(PidError::Empty);
    }
    if text.bytes().all(|b| b == b'.') {
        return Err(PidError::Charset(text.chars().take(64).collect()));
    }
    Ok(encoded(text))
}

/// A process id that passed [`check`] (which rules out empty and dot segments), percent-encoded
/// as one path segment.
pub fn encoded(pid: &str) -> String {
    utf8_percent_encode(pid, SEGMENT).to_string()
}

/// `{base}/negotiations/{pid}{tail}`, the process id checked and encoded as one segment.
pub fn negotiation_url(base: &str, pid: &str, tail: &str) -> Result<String, PidError> {
    check(pid)?;
    Ok(format!("{base}/negotiations/{}{tail}", segment(pid)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_opaque_ids_pass() {
        for pid in [
            "urn:uuid:8b1f4a52-8b5c-4e02-9d0c-6a0c1a0f2d11",
            "p",
            "A.b_c:d-e",
            &"x".repeat(MAX_PID_LENGTH),
        ] {
            assert_eq!(check(pid), Ok(()), "{pid}");
        }
        for pid in [
            "",
            ".",
            "..",
            "../../admin/delete-everything?confirm=yes#",
            "a/b",
            "a?b",
            "a#b",
            "a%2Fb",
            "a b",
            "-leading-dash",
            ":x",
            "ünïcode",
            "a\nb",
            &"x".repeat(MAX_PID_LENGTH + 1),
        ] {
            assert!(check(pid).is_err(), "{pid}");
        }
        let error = check("../../admin").unwrap_err().to_string();
        assert!(
            error.contains("must start with a letter or digit"),
            "{error}"
        );
    }

    #[test]
    fn a_pid_in_a_url_is_one_encoded_segment() {
        assert_eq!(
            negotiation_url("https://c.example/dsp", "urn:uuid:1", "/agreement").unwrap(),
            "https://c.example/dsp/negotiations/urn:uuid:1/agreement"
        );
        assert!(negotiation_url("https://c.example/dsp", "../../admin?x=1#", "/events").is_err());
        // Encoding alone (for an id stored before ids were checked) keeps it one segment.
        assert_eq!(
            segment("../../admin/delete?confirm=yes#").unwrap(),
            "..%2F..%2Fadmin%2Fdelete%3Fconfirm%3Dyes%23"
        );
        assert_eq!(segment("a%2e b").unwrap(), "a%252e%20b");
        for dots in ["", ".", ".."] {
            assert!(segment(dots).is_err(), "{dots}");
        }
        let url = url::Url::parse(&format!(
            "https://c.example/dsp/negotiations/{}/agreement",
            segment("../../admin?x#").unwrap()
        ))
        .unwrap();
        assert_eq!(url.path_segments().unwrap().count(), 4);
        assert_eq!(url.query(), None);
        assert_eq!(url.fragment(), None);
    }
}
