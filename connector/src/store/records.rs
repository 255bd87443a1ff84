//! A typed view of one sled tree: JSON records under string keys. Writes are flushed to disk
//! before they return; every method blocks (call it off the async runtime, through
//! [`Store::blocking`](super::Store::blocking)).

use std::marker::PhantomData;

use serde::{de::DeserializeOwned, Serialize};

use super::StoreError;

/// JSON records of type `T` in one tree.
#[derive(Clone)]
pub(crate) struct Records<T> {
    pub(crate) name: &'static str,
    pub(crate) tree: sled::Tree,
    pub(crate) db: sled::Db,
    _type: PhantomData<fn() -> T>,
}

impl<T: Serialize + DeserializeOwned> Records<T> {
    pub(crate) fn new(name: &'static str, tree: sled::Tree, db: sled::Db) -> Self {
        Records {
            name,
            tree,
            db,
            _type: PhantomData,
        }
    }

    /// The record under `key`.
    pub(crate) fn get(&self, key: &str) -> Result<Option<T>, StoreError> {
        self.tree
            .get(key.as_bytes())?
            .map(|bytes| self.decode(key, &bytes))
            .transpose()
    }

    /// Writes `value` under `key` and flushes it to disk.
    pub(crate) fn put(&self, key: &str, value: &T) -> Result<(), StoreError> {
        self.tree.insert(key.as_bytes(), self.encode(value)?)?;
        self.flush()
    }

    /// Writes `value` under `key` only if no record is there yet (then flushes); returns
    /// whether it was written.
    pub(crate) fn insert_new(&self, key: &str, value: &T) -> Result<bool, StoreError> {
        let written = self
            .tree
            .compare_and_swap(
                key.as_bytes(),
                None as Option<&[u8]>,
                Some(self.encode(value)?),
            )?
            .is_ok();
        if written {
            self.flush()?;
        }
        Ok(written)
    }

    /// Removes the record under `key` (flushed); returns whether there was one.
    pub(crate) fn remove(&self, key: &str) -> Result<bool, StoreError> {
        let removed = self.tree.remove(key.as_bytes())?.is_some();
        if removed {
            self.flush()?;
        }
        Ok(removed)
    }

    /// Every record, in key order.
    pub(crate) fn list(&self) -> Result<Vec<T>, StoreError> {
        self.tree
            .iter()
            .map(|entry| {
                let (key, bytes) = entry?;
                self.decode(&String::from_utf8_lossy(&key), &bytes)
            })
            .collect()
    }

    pub(crate) fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    pub(crate) fn encode(&self, value: &T) -> Result<Vec<u8>, StoreError> {
        serde_json::to_vec(value).map_err(|source| StoreError::Encode {
            tree: self.name,
            source,
        })
    }

    pub(crate) fn decode(&self, key: &str, bytes: &[u8]) -> Result<T, StoreError> {
        serde_json::from_slice(bytes).map_err(|source| StoreError::Corrupt {
            tree: self.name,
            key: key.to_owned(),
            source,
        })
    }
}
