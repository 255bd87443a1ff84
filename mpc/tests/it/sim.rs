//! Runs n parties in threads over the in-memory transport.

use std::time::Duration;
use symbolon_mpc::{MemoryTransport, Party, Result, SessionConfig, Transport};

pub fn config() -> SessionConfig {
    SessionConfig::new(*b"test-session-id!").with_timeout(Duration::from_secs(20))
}

/// Runs `f` for each party on its own thread and returns each party's result.
pub fn run<R, F>(n: usize, f: F) -> Vec<Result<R>>
where
    R: Send + 'static,
    F: Fn(&mut Party<MemoryTransport>) -> Result<R> + Send + Sync + Clone + 'static,
{
    run_with(MemoryTransport::network(n), config(), f)
}

/// Like [`run`] over arbitrary (possibly misbehaving) transports.
pub fn run_with<R, F, T>(transports: Vec<T>, config: SessionConfig, f: F) -> Vec<Result<R>>
where
    R: Send + 'static,
    T: Transport + 'static,
    F: Fn(&mut Party<T>) -> Result<R> + Send + Sync + Clone + 'static,
{
    let handles: Vec<_> = transports
        .into_iter()
        .map(|t| {
            let f = f.clone();
            let config = config.clone();
            std::thread::spawn(move || {
                let mut p = Party::new(t, &config)?;
                f(&mut p)
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().expect("party thread panicked"))
        .collect()
}

/// Unwraps every party's result and checks they all agree.
pub fn agree<R: std::fmt::Debug>(results: Vec<Result<R>>) -> R {
    let mut it = results.into_iter().map(|r| r.expect("party failed"));
    let first = it.next().expect("no parties");
    for r in it {
        // Compare renderings, so that NaN (e.g. a variance of one record) agrees with itself.
        assert_eq!(format!("{r:?}"), format!("{first:?}"));
    }
    first
}
