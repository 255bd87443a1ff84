//! DID documents captured for the audit trail, in table `did_documents`: one document per
//! DID (the latest captured), so that an export carries what an auditor needs to check
//! did:web signatures offline without the export resolving anything.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension as _};
use serde_json::Value;
use symbolon_audit::{AuditEvent, DurableLog};

use super::{DidDocumentRepository, StoreError};

/// The table.
pub(super) struct SqlDidDocuments(Arc<DurableLog>);

impl SqlDidDocuments {
    pub(super) fn new(db: Arc<DurableLog>) -> Self {
        SqlDidDocuments(db)
    }
}

/// Writes `documents` on `conn` (inside a transaction), replacing older copies.
fn put_in(conn: &Connection, documents: &BTreeMap<String, Value>) -> Result<(), StoreError> {
    let mut insert = conn.prepare_cached(
        "INSERT OR REPLACE INTO did_documents (did, body, captured) VALUES (?1, ?2, ?3)",
    )?;
    let now = crate::domain::now();
    for (did, document) in documents {
        let body = serde_json::to_vec(document).map_err(|source| StoreError::Encode {
            tree: "did_documents",
            source,
        })?;
        insert.execute((did, body, &now))?;
    }
    Ok(())
}

impl DidDocumentRepository for SqlDidDocuments {
    fn put(&self, documents: &BTreeMap<String, Value>) -> Result<(), StoreError> {
        if documents.is_empty() {
            return Ok(());
        }
        let documents = documents.clone();
        self.0.write(move |tx| put_in(tx.sql(), &documents))
    }

    fn append_with(
        &self,
        event: &AuditEvent,
        documents: &BTreeMap<String, Value>,
    ) -> Result<u64, StoreError> {
        let (event, documents) = (event.clone(), documents.clone());
        self.0.write(move |tx| {
            put_in(tx.sql(), &documents)?;
            Ok(tx.append(&event)?)
        })
    }

    fn get(&self, dids: &BTreeSet<String>) -> Result<BTreeMap<String, Value>, StoreError> {
        self.0.read(|conn| {
            let mut select =
                conn.prepare_cached("SELECT body FROM did_documents WHERE did = ?1")?;
            let mut found = BTreeMap::new();
            for did in dids {
                let body: Option<Vec<u8>> = select.query_row([did], |row| row.get(0)).optional()?;
                if let Some(body) = body {
                    let document =
                        serde_json::from_slice(&body).map_err(|source| StoreError::Corrupt {
                            tree: "did_documents",
                            key: did.clone(),
                            source,
                        })?;
                    found.insert(did.clone(), document);
                }
            }
            Ok(found)
        })
    }
}
