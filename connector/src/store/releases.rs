//! The counts released to each recipient, in table `released_cells`, for the differencing
//! check ([`crate::session::differencing`]): one row per released cell with its population,
//! its count, the session's k and the session. The check and the record of what passes are
//! one transaction on the store's writer, so two results finishing at once are checked
//! against each other too.

use std::sync::Arc;

use symbolon_audit::DurableLog;

use super::{ReleaseRepository, StoreError};
use crate::session::differencing::{check, Released};

/// The table.
pub(super) struct SqlReleases(Arc<DurableLog>);

impl SqlReleases {
    pub(super) fn new(db: Arc<DurableLog>) -> Self {
        SqlReleases(db)
    }
}

fn history(conn: &rusqlite::Connection, recipient: &str) -> Result<Vec<Released>, StoreError> {
    let mut select =
        conn.prepare_cached("SELECT body FROM released_cells WHERE recipient = ?1 ORDER BY seq")?;
    let bodies = select
        .query_map([recipient], |row| row.get::<_, Vec<u8>>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    bodies
        .iter()
        .map(|body| {
            serde_json::from_slice(body).map_err(|source| StoreError::Corrupt {
                tree: "released_cells",
                key: recipient.to_owned(),
                source,
            })
        })
        .collect()
}

impl ReleaseRepository for SqlReleases {
    fn check_and_record(
        &self,
        recipient: &str,
        cells: Vec<Released>,
        whole: bool,
    ) -> Result<Vec<Option<String>>, StoreError> {
        let recipient = recipient.to_owned();
        self.0.write(move |tx| {
            let earlier = history(tx.sql(), &recipient)?;
            let verdicts = check(&earlier, &cells, whole);
            let mut insert = tx.sql().prepare_cached(
                "INSERT INTO released_cells (recipient, session, body) VALUES (?1, ?2, ?3)",
            )?;
            for (cell, verdict) in cells.iter().zip(&verdicts) {
                if verdict.is_none() {
                    let body = serde_json::to_vec(cell).map_err(|source| StoreError::Encode {
                        tree: "released_cells",
                        source,
                    })?;
                    insert.execute((&recipient, &cell.session, body))?;
                }
            }
            Ok(verdicts)
        })
    }

    fn list(&self, recipient: &str) -> Result<Vec<Released>, StoreError> {
        self.0.read(|conn| history(conn, recipient))
    }
}
