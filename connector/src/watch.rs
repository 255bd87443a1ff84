//! Waiting for a stored process (a negotiation or a transfer) to reach a state, woken by the
//! changes the connector announces rather than by polling.

use std::time::Duration;

use tokio::sync::broadcast;
use tokio::time::Instant;

use crate::store::StoreError;

/// Waits until the record `read` returns for `pid` satisfies `done` (or is gone), reading it
/// again at each announced change of `pid`, or until `timeout` passes; returns it as it then
/// is. `changes` must be subscribed before the call, so that no change between the first
/// read and the wait is missed.
pub(crate) async fn until<T, S: Clone>(
    mut changes: broadcast::Receiver<(String, S)>,
    pid: &str,
    timeout: Duration,
    read: impl Fn() -> Result<Option<T>, StoreError>,
    done: impl Fn(&T) -> bool,
) -> Result<Option<T>, StoreError> {
    let start = Instant::now();
    let deadline = start
        .checked_add(timeout)
        .unwrap_or_else(|| start + Duration::from_secs(86_400));
    loop {
        let current = read()?;
        if current.as_ref().is_none_or(&done) {
            return Ok(current);
        }
        loop {
            match tokio::time::timeout_at(deadline, changes.recv()).await {
                Err(_) => return read(),
                Ok(Ok((changed, _))) if changed != pid => continue,
                Ok(Ok(_)) | Ok(Err(broadcast::error::RecvError::Lagged(_))) => break,
                Ok(Err(broadcast::error::RecvError::Closed)) => return read(),
            }
        }
    }
}
