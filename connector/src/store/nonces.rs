//! Seen nonces and token ids in table `nonces`, each kept until it expires (after which the
//! token carrying it is refused as expired anyway).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rusqlite::OptionalExtension as _;
use symbolon_audit::DurableLog;
use symbolon_identity::nonce::{NonceCheck, NonceStore};

use super::{NonceRepository, StoreError};

/// The nonces table.
pub(super) struct SqlNonces(Arc<DurableLog>);

impl SqlNonces {
    pub(super) fn new(db: Arc<DurableLog>) -> Self {
        SqlNonces(db)
    }
}

impl NonceRepository for SqlNonces {
    fn check_and_record(
        &self,
        kind: &str,
        nonce: &str,
        expires: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (kind, nonce) = (kind.to_owned(), nonce.to_owned());
        self.0.write(move |tx| {
            let written = tx
                .sql()
                .prepare_cached(
                    "INSERT OR IGNORE INTO nonces (kind, nonce, expires) VALUES (?1, ?2, ?3)",
                )?
                .execute((kind, nonce, expires.timestamp()))?;
            Ok(written == 1)
        })
    }

    fn contains(&self, kind: &str, nonce: &str) -> Result<bool, StoreError> {
        self.0.read(|conn| {
            let found: Option<i64> = conn
                .prepare_cached("SELECT 1 FROM nonces WHERE kind = ?1 AND nonce = ?2")?
                .query_row((kind, nonce), |row| row.get(0))
                .optional()?;
            Ok(found.is_some())
        })
    }

    fn prune(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let now = now.timestamp();
        self.0.write(move |tx| {
            Ok(tx
                .sql()
                .execute("DELETE FROM nonces WHERE expires < ?1", [now])?)
        })
    }
}

/// The seen nonces as an identity [`NonceStore`] (presentation challenges), keeping each for an
/// hour, durably.
#[derive(Clone)]
pub struct PresentationNonces(Arc<dyn NonceRepository>);

impl PresentationNonces {
    pub(super) fn new(nonces: Arc<dyn NonceRepository>) -> Self {
        PresentationNonces(nonces)
    }
}

impl NonceStore for PresentationNonces {
    fn check_and_record<'a>(&'a self, nonce: &'a str) -> NonceCheck<'a> {
        let (nonces, nonce) = (self.0.clone(), nonce.to_owned());
        Box::pin(async move {
            let expires = Utc::now() + chrono::Duration::hours(1);
            // A store failure counts as "seen": refusing is the safe answer.
            tokio::task::spawn_blocking(move || nonces.check_and_record("vp", &nonce, expires))
                .await
                .is_ok_and(|fresh| fresh.unwrap_or(false))
        })
    }

    fn was_recorded<'a>(&'a self, nonce: &'a str) -> NonceCheck<'a> {
        let (nonces, nonce) = (self.0.clone(), nonce.to_owned());
        Box::pin(async move {
            // A store failure counts as "seen": refusing is the safe answer.
            tokio::task::spawn_blocking(move || nonces.contains("vp", &nonce))
                .await
                .map_or(true, |seen| seen.unwrap_or(true))
        })
    }
}
