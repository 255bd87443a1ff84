//! Transfer processes in table `transfers`: the record as JSON, with the columns that find a
//! provider's process by the request that opened it (role, counterparty, consumer's process
//! id), so that a repeated request finds the process it opened.

use std::sync::Arc;

use rusqlite::OptionalExtension as _;
use symbolon_audit::DurableLog;

use super::records::Records;
use super::{
    Opened, StoreError, TransferChange, TransferRecord, TransferRepository, TransferUpdateError,
};
use crate::domain::Transfer;
use crate::transfer::state::Role;

const TRANSFERS: Records<Transfer> = Records::new("transfers");

/// Transfers in table `transfers`, with their audit events.
pub(super) struct SqlTransfers(Arc<DurableLog>);

impl SqlTransfers {
    pub(super) fn new(db: Arc<DurableLog>) -> Self {
        SqlTransfers(db)
    }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Provider => "provider",
        Role::Consumer => "consumer",
    }
}

impl TransferRepository for SqlTransfers {
    fn open(
        &self,
        pid: &str,
        transfer: &Transfer,
        record: TransferRecord,
    ) -> Result<Opened, StoreError> {
        let (pid, transfer) = (pid.to_owned(), transfer.clone());
        self.0.write(move |tx| {
            let conn = tx.sql();
            let existing: Option<String> = conn
                .prepare_cached(
                    "SELECT key FROM transfers \
                     WHERE role = ?1 AND counterparty = ?2 AND consumer_pid = ?3",
                )?
                .query_row(
                    (
                        role_name(transfer.role),
                        &transfer.counterparty,
                        &transfer.consumer_pid,
                    ),
                    |row| row.get(0),
                )
                .optional()?;
            if let Some(key) = existing {
                return match TRANSFERS.get(conn, &key)? {
                    Some(found) => Ok(Opened::Existing(Box::new(found))),
                    None => Ok(Opened::Taken),
                };
            }
            let written = conn
                .prepare_cached(
                    "INSERT OR IGNORE INTO transfers (key, body, role, counterparty, consumer_pid) \
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute((
                    &pid,
                    TRANSFERS.encode(&transfer)?,
                    role_name(transfer.role),
                    &transfer.counterparty,
                    &transfer.consumer_pid,
                ))?;
            if written != 1 {
                return Ok(Opened::Taken);
            }
            tx.append(&record(&transfer))?;
            Ok(Opened::Created)
        })
    }

    fn get(&self, pid: &str) -> Result<Option<Transfer>, StoreError> {
        self.0.read(|conn| TRANSFERS.get(conn, pid))
    }

    fn list(&self) -> Result<Vec<Transfer>, StoreError> {
        self.0.read(|conn| TRANSFERS.list(conn))
    }

    fn update(
        &self,
        pid: &str,
        change: TransferChange,
        record: Option<TransferRecord>,
    ) -> Result<Transfer, TransferUpdateError> {
        let pid = pid.to_owned();
        self.0.write(move |tx| {
            let current = TRANSFERS
                .get(tx.sql(), &pid)?
                .ok_or_else(|| TransferUpdateError::Missing(pid.clone()))?;
            let next = change(current)?;
            let event = record.map(|record| record(&next));
            tx.sql()
                .prepare_cached("UPDATE transfers SET body = ?2 WHERE key = ?1")?
                .execute((&pid, TRANSFERS.encode(&next)?))?;
            if let Some(event) = event {
                tx.append(&event)?;
            }
            Ok(next)
        })
    }
}
