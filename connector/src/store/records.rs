//! A typed view of one table: JSON records under string keys. Reads take a connection,
//! writes a transaction's connection (the caller's group-commit job).

use std::marker::PhantomData;

use rusqlite::{Connection, OptionalExtension as _};
use serde::{de::DeserializeOwned, Serialize};

use super::StoreError;

/// JSON records of type `T` in the table `table` (`key TEXT PRIMARY KEY, body BLOB`).
pub(crate) struct Records<T> {
    pub(crate) table: &'static str,
    _type: PhantomData<fn() -> T>,
}

impl<T> Clone for Records<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Records<T> {}

impl<T: Serialize + DeserializeOwned> Records<T> {
    /// The records of `table` (a name from the store's schema).
    pub(crate) const fn new(table: &'static str) -> Self {
        Records {
            table,
            _type: PhantomData,
        }
    }

    /// The record under `key`.
    pub(crate) fn get(&self, conn: &Connection, key: &str) -> Result<Option<T>, StoreError> {
        let sql = format!("SELECT body FROM {} WHERE key = ?1", self.table);
        conn.prepare_cached(&sql)?
            .query_row([key], |row| row.get::<_, Vec<u8>>(0))
            .optional()?
            .map(|bytes| self.decode(key, &bytes))
            .transpose()
    }

    /// Writes `value` under `key`, replacing what was there.
    pub(crate) fn put(&self, conn: &Connection, key: &str, value: &T) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT OR REPLACE INTO {} (key, body) VALUES (?1, ?2)",
            self.table
        );
        conn.prepare_cached(&sql)?
            .execute((key, self.encode(value)?))?;
        Ok(())
    }

    /// Writes `value` under `key` only if no record is there yet; returns whether it was
    /// written.
    pub(crate) fn insert_new(
        &self,
        conn: &Connection,
        key: &str,
        value: &T,
    ) -> Result<bool, StoreError> {
        let sql = format!(
            "INSERT OR IGNORE INTO {} (key, body) VALUES (?1, ?2)",
            self.table
        );
        let written = conn
            .prepare_cached(&sql)?
            .execute((key, self.encode(value)?))?;
        Ok(written == 1)
    }

    /// Removes the record under `key`; returns whether there was one.
    pub(crate) fn remove(&self, conn: &Connection, key: &str) -> Result<bool, StoreError> {
        let sql = format!("DELETE FROM {} WHERE key = ?1", self.table);
        Ok(conn.prepare_cached(&sql)?.execute([key])? == 1)
    }

    /// Every record, in key order.
    pub(crate) fn list(&self, conn: &Connection) -> Result<Vec<T>, StoreError> {
        let sql = format!("SELECT key, body FROM {} ORDER BY key", self.table);
        let mut statement = conn.prepare_cached(&sql)?;
        let mut rows = statement.query([])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let key: String = row.get(0)?;
            let body = row.get_ref(1)?.as_blob().map_err(rusqlite::Error::from)?;
            out.push(self.decode(&key, body)?);
        }
        Ok(out)
    }

    pub(crate) fn encode(&self, value: &T) -> Result<Vec<u8>, StoreError> {
        serde_json::to_vec(value).map_err(|source| StoreError::Encode {
            tree: self.table,
            source,
        })
    }

    pub(crate) fn decode(&self, key: &str, bytes: &[u8]) -> Result<T, StoreError> {
        serde_json::from_slice(bytes).map_err(|source| StoreError::Corrupt {
            tree: self.table,
            key: key.to_owned(),
            source,
        })
    }
}
