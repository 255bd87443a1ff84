//! Size and nesting limits on everything a verifier reads.

use crate::error::VerifyError;

/// Largest credential, presentation or token accepted, in bytes.
pub const MAX_INPUT_BYTES: usize = 1024 * 1024;
/// Deepest JSON nesting accepted.
pub const MAX_JSON_DEPTH: usize = 64;

/// Checks size and nesting depth before any JSON parser recurses into `input`.
pub fn check_input(input: &[u8]) -> Result<(), VerifyError> {
    check_size(input)?;
    check_depth(input)
}

/// Checks the size only: for a compact JWS, whose base64url parts hold no JSON nesting (its
/// payload's depth is checked once decoded).
pub fn check_size(input: &[u8]) -> Result<(), VerifyError> {
    if input.len() > MAX_INPUT_BYTES {
        return Err(VerifyError::TooLarge {
            size: input.len(),
            limit: MAX_INPUT_BYTES,
        });
    }
    Ok(())
}

/// Checks the nesting depth of JSON text without parsing it (strings are skipped, a jump to
/// their next quote or backslash at a time).
pub fn check_depth(input: &[u8]) -> Result<(), VerifyError> {
    let mut depth = 0usize;
    let mut at = 0;
    while let Some(&byte) = input.get(at) {
        at += 1;
        match byte {
            b'"' => loop {
                let rest = input.get(at..).unwrap_or_default();
                let Some(found) = memchr::memchr2(b'"', b'\\', rest) else {
                    // An unterminated string: the parser refuses it.
                    return Ok(());
                };
                let end = at + found;
                if input.get(end) == Some(&b'\\') {
                    // An escape: the next byte, whatever it is, belongs to the string.
                    at = end + 2;
                } else {
                    at = end + 1;
                    break;
                }
            },
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_JSON_DEPTH {
                    return Err(VerifyError::TooDeep(MAX_JSON_DEPTH));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_and_large_inputs_are_refused() {
        let deep = "[".repeat(10_000);
        assert!(matches!(
            check_input(deep.as_bytes()),
            Err(VerifyError::TooDeep(_))
        ));
        let fine = format!("{}{}", "[".repeat(10), "]".repeat(10));
        assert!(check_input(fine.as_bytes()).is_ok());
        let quoted = format!("\"{}\"", "[".repeat(1000));
        assert!(check_input(quoted.as_bytes()).is_ok());
        // An escaped quote does not end a string; an escaped backslash before a quote does.
        let escaped_quote = format!(r#"["a\"{}", 1]"#, "[".repeat(1000));
        assert!(check_input(escaped_quote.as_bytes()).is_ok());
        let escaped_backslash = format!(r#"["a\\", {}"#, "[".repeat(100));
        assert!(matches!(
            check_input(escaped_backslash.as_bytes()),
            Err(VerifyError::TooDeep(_))
        ));
        let unterminated = format!("[\"{}", "[".repeat(100));
        assert!(check_input(unterminated.as_bytes()).is_ok());
        let large = vec![b' '; MAX_INPUT_BYTES + 1];
        assert!(matches!(
            check_input(&large),
            Err(VerifyError::TooLarge { .. })
        ));
    }
}
