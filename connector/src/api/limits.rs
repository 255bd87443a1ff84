//! What a request body may be: its size and its JSON nesting.

use symbolon_identity::limits;
use symbolon_identity::VerifyError;

/// Largest request body accepted (larger ones get 413).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Why a body was refused.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// Larger than [`MAX_BODY_BYTES`].
    #[error("the request body exceeds {0} bytes")]
    TooLarge(usize),
    /// Nested too deeply, or otherwise over the identity crate's limits.
    #[error(transparent)]
    TooDeep(#[from] VerifyError),
    /// Not JSON.
    #[error("malformed JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Parses a JSON body after checking its size and nesting depth.
pub fn json_body(body: &[u8]) -> Result<serde_json::Value, BodyError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(BodyError::TooLarge(MAX_BODY_BYTES));
    }
    limits::check_input(body)?;
    Ok(serde_json::from_slice(body)?)
}
