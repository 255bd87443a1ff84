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

/// Checks the nesting depth of JSON text without parsing it (strings are skipped).
pub fn check_depth(input: &[u8]) -> Result<(), VerifyError> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &byte in input {
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
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
        let large = vec![b' '; MAX_INPUT_BYTES + 1];
        assert!(matches!(
            check_input(&large),
            Err(VerifyError::TooLarge { .. })
        ));
    }
}
