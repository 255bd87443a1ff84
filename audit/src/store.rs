//! The durable log: entries and signed heads in a `sled` tree, with group commit.
//!
//! Keys are `e` + the big-endian index of a segment's first entry and `h` + the big-endian
//! tree size (the signed head's JWS). A segment holds the canonical entries of one append (a
//! batch is cut into segments of at most [`SEGMENT_ENTRIES`]), so a batch costs one `sled`
//! write, not one per entry. An append returns only after
//! `sled` has flushed it to disk.
//! Concurrent appenders share flushes: whoever finds no flush running becomes the leader,
//! flushes everything appended so far and wakes the others (a Mutex and a Condvar); while it
//! flushes, the next group gathers.

use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex, MutexGuard};

use serde_json::Value;
use symbolon_identity::did::offline_document;
use symbolon_identity::{Did, KeyPair};

use crate::bundle::{AuditBundle, BUNDLE_FORMAT};
use crate::event::{AuditEvent, Entry, EventError, GENESIS_PREV, MAX_ENTRY_BYTES};
use crate::head::{HeadError, SignedTreeHead, TreeHead};
use crate::merkle::{leaf_hash, Hash, MerkleTree, ProofError};
use crate::segment;

pub use crate::proof::{ConsistencyProof, InclusionProof};

const ENTRY_PREFIX: u8 = b'e';

/// Most entries one stored segment holds.
pub const SEGMENT_ENTRIES: usize = 1024;
const HEAD_PREFIX: u8 = b'h';

/// Most entries one [`DurableLog::entries`] call returns.
pub const MAX_ENTRIES_PER_READ: u64 = 100_000;

/// Why a log operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store failed.
    #[error("the audit store failed: {0}")]
    Storage(#[from] sled::Error),
    /// The event was refused.
    #[error(transparent)]
    Event(#[from] EventError),
    /// A proof could not be made.
    #[error(transparent)]
    Proof(#[from] ProofError),
    /// A head could not be signed or read.
    #[error(transparent)]
    Head(#[from] HeadError),
    /// A stored entry is damaged or missing.
    #[error("the audit log is corrupt at entry {index}: {reason}")]
    Corrupt {
        /// The entry.
        index: u64,
        /// What is wrong.
        reason: String,
    },
    /// The stored entries do not match the latest signed head.
    #[error("the stored entries do not match the signed head at size {size}: {reason}")]
    HeadMismatch {
        /// The head's size.
        size: u64,
        /// What is wrong.
        reason: String,
    },
    /// A range outside the log.
    #[error("the range {from}..{to} is not within the log (0..{len}) or is longer than {MAX_ENTRIES_PER_READ} entries")]
    Range {
        /// Start (inclusive).
        from: u64,
        /// End (exclusive).
        to: u64,
        /// The log's size.
        len: u64,
    },
    /// No head has been signed yet.
    #[error("no tree head has been signed yet")]
    NoHead,
    /// Another thread panicked while holding the log.
    #[error("the audit log is unusable after a panic in another thread")]
    Poisoned,
}

struct State {
    merkle: MerkleTree,
    // INVARIANT: entries 0..durable are flushed to disk.
    durable: u64,
    flushing: bool,
    latest_head: Option<SignedTreeHead>,
}

/// The durable audit log over a `sled` tree.
pub struct DurableLog {
    tree: sled::Tree,
    state: Mutex<State>,
    flushed: Condvar,
}

impl std::fmt::Debug for DurableLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DurableLog")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

fn entry_key(index: u64) -> [u8; 9] {
    let mut key = [ENTRY_PREFIX; 9];
    if let Some(rest) = key.get_mut(1..) {
        rest.copy_from_slice(&index.to_be_bytes());
    }
    key
}

fn head_key(size: u64) -> [u8; 9] {
    let mut key = [HEAD_PREFIX; 9];
    if let Some(rest) = key.get_mut(1..) {
        rest.copy_from_slice(&size.to_be_bytes());
    }
    key
}

fn key_index(key: &[u8]) -> Option<u64> {
    let bytes: [u8; 8] = key.get(1..9)?.try_into().ok()?;
    Some(u64::from_be_bytes(bytes))
}

/// The canonical entry for an event already in canonical form: RFC 8785 orders the members
/// `event`, `index`, `prev`, so the entry is assembled without re-serialising the event.
fn encode_entry(event_jcs: &[u8], index: u64, prev: &Hash) -> Result<Vec<u8>, EventError> {
    let mut out = Vec::with_capacity(event_jcs.len() + 120);
    out.extend_from_slice(b"{\"event\":");
    out.extend_from_slice(event_jcs);
    out.extend_from_slice(b",\"index\":");
    out.extend_from_slice(index.to_string().as_bytes());
    out.extend_from_slice(b",\"prev\":\"");
    out.extend_from_slice(hex::encode(prev).as_bytes());
    out.extend_from_slice(b"\"}");
    if out.len() > MAX_ENTRY_BYTES {
        return Err(EventError::TooLarge { size: out.len() });
    }
    Ok(out)
}

fn canonical_event(event: &AuditEvent) -> Result<Vec<u8>, EventError> {
    event.validate()?;
    serde_json_canonicalizer::to_vec(event).map_err(EventError::Canonical)
}

impl DurableLog {
    /// Opens the log stored in `tree` (e.g. `db.open_tree("audit")`): rebuilds the Merkle tree
    /// from the entries, checks the hash chain and that the latest signed head matches.
    pub fn open(tree: sled::Tree) -> Result<DurableLog, StoreError> {
        let mut merkle = MerkleTree::new();
        let mut prev = GENESIS_PREV;
        for item in tree.scan_prefix([ENTRY_PREFIX]) {
            let (key, value) = item?;
            let start = merkle.len();
            if key_index(&key) != Some(start) {
                return Err(StoreError::Corrupt {
                    index: start,
                    reason: format!(
                        "the next stored key is {:?}, not entry {start}",
                        key_index(&key)
                    ),
                });
            }
            for bytes in segment::decode(&value, start)? {
                let expected = merkle.len();
                let entry: Entry =
                    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
                        index: expected,
                        reason: format!("not an entry: {e}"),
                    })?;
                if entry.index != expected || entry.prev_hash() != Some(prev) {
                    return Err(StoreError::Corrupt {
                        index: expected,
                        reason: "its index or hash chain is wrong".into(),
                    });
                }
                prev = leaf_hash(bytes);
                merkle.push_hash(prev);
            }
        }
        let mut latest_head = None;
        if let Some(item) = tree.scan_prefix([HEAD_PREFIX]).next_back() {
            let (_, value) = item?;
            let text = String::from_utf8_lossy(&value);
            let signed = SignedTreeHead::decode(&text)?;
            let size = signed.head.tree_size;
            let root = merkle.root_at(size).map_err(|e| StoreError::HeadMismatch {
                size,
                reason: e.to_string(),
            })?;
            if root != signed.head.root_hash {
                return Err(StoreError::HeadMismatch {
                    size,
                    reason: "the recomputed root differs from the signed root".into(),
                });
            }
            latest_head = Some(signed);
        }
        let durable = merkle.len();
        Ok(DurableLog {
            tree,
            state: Mutex::new(State {
                merkle,
                durable,
                flushing: false,
                latest_head,
            }),
            flushed: Condvar::new(),
        })
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>, StoreError> {
        self.state.lock().map_err(|_| StoreError::Poisoned)
    }

    /// The number of entries appended.
    pub fn len(&self) -> u64 {
        self.state.lock().map_or(0, |s| s.merkle.len())
    }

    /// True when nothing has been appended.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends an event; returns its index once it is on disk.
    pub fn append(&self, event: &AuditEvent) -> Result<u64, StoreError> {
        let event_jcs = canonical_event(event)?;
        let mut state = self.lock()?;
        let index = state.merkle.len();
        let prev = state
            .merkle
            .leaf(index.wrapping_sub(1))
            .unwrap_or(GENESIS_PREV);
        let bytes = encode_entry(&event_jcs, index, &prev)?;
        let hash = leaf_hash(&bytes);
        self.tree
            .insert(entry_key(index), segment::encode(&[bytes]))?;
        state.merkle.push_hash(hash);
        self.wait_durable(state, index + 1)?;
        Ok(index)
    }

    /// Appends events in one write; returns the index of the first once all are on disk.
    pub fn append_batch(&self, events: &[AuditEvent]) -> Result<u64, StoreError> {
        let encoded: Vec<Vec<u8>> = events
            .iter()
            .map(canonical_event)
            .collect::<Result<_, _>>()?;
        let mut state = self.lock()?;
        let first = state.merkle.len();
        let mut prev = state
            .merkle
            .leaf(first.wrapping_sub(1))
            .unwrap_or(GENESIS_PREV);
        let mut batch = sled::Batch::default();
        let mut hashes = Vec::with_capacity(encoded.len());
        for (chunk_no, chunk) in encoded.chunks(SEGMENT_ENTRIES).enumerate() {
            let start = first + (chunk_no * SEGMENT_ENTRIES) as u64;
            let mut entries = Vec::with_capacity(chunk.len());
            for (offset, event_jcs) in chunk.iter().enumerate() {
                let bytes = encode_entry(event_jcs, start + offset as u64, &prev)?;
                prev = leaf_hash(&bytes);
                hashes.push(prev);
                entries.push(bytes);
            }
            batch.insert(&entry_key(start), segment::encode(&entries));
        }
        self.tree.apply_batch(batch)?;
        for hash in hashes {
            state.merkle.push_hash(hash);
        }
        let end = state.merkle.len();
        self.wait_durable(state, end)?;
        Ok(first)
    }

    /// Waits until entries `0..target` are on disk, flushing as the leader when no flush runs.
    fn wait_durable<'a>(
        &'a self,
        mut state: MutexGuard<'a, State>,
        target: u64,
    ) -> Result<(), StoreError> {
        loop {
            if state.durable >= target {
                return Ok(());
            }
            if state.flushing {
                state = self.flushed.wait(state).map_err(|_| StoreError::Poisoned)?;
                continue;
            }
            state.flushing = true;
            let upto = state.merkle.len();
            drop(state);
            let result = self.tree.flush();
            state = self.lock()?;
            state.flushing = false;
            if result.is_ok() {
                state.durable = state.durable.max(upto);
            }
            self.flushed.notify_all();
            result?;
        }
    }

    /// Signs and stores a head over everything appended, with `key`, for the did:key or
    /// did:jwk `did` (the kid is its default verification method).
    pub fn sign_head(&self, key: &KeyPair, did: &Did) -> Result<SignedTreeHead, StoreError> {
        self.sign_head_with_kid(key, did.as_str(), &did.default_method())
    }

    /// Signs and stores a head for the log `log_id` naming the verification method `kid`.
    pub fn sign_head_with_kid(
        &self,
        key: &KeyPair,
        log_id: &str,
        kid: &str,
    ) -> Result<SignedTreeHead, StoreError> {
        let state = self.lock()?;
        let len = state.merkle.len();
        self.wait_durable(state, len)?;
        let state = self.lock()?;
        let size = state.durable.min(state.merkle.len());
        let root = state.merkle.root_at(size)?;
        drop(state);
        let signed = TreeHead::new(log_id, size, root).sign(key, kid)?;
        self.tree.insert(head_key(size), signed.jws.as_bytes())?;
        self.tree.flush()?;
        let mut state = self.lock()?;
        if state
            .latest_head
            .as_ref()
            .is_none_or(|h| h.head.tree_size <= size)
        {
            state.latest_head = Some(signed.clone());
        }
        Ok(signed)
    }

    /// The latest signed head.
    pub fn head(&self) -> Option<SignedTreeHead> {
        self.state.lock().ok().and_then(|s| s.latest_head.clone())
    }

    /// Every stored signed head, by size.
    pub fn heads(&self) -> Result<Vec<SignedTreeHead>, StoreError> {
        let mut heads = Vec::new();
        for item in self.tree.scan_prefix([HEAD_PREFIX]) {
            let (_, value) = item?;
            heads.push(SignedTreeHead::decode(&String::from_utf8_lossy(&value))?);
        }
        Ok(heads)
    }

    /// The canonical bytes of entry `index`.
    pub fn entry_bytes(&self, index: u64) -> Result<Vec<u8>, StoreError> {
        let len = self.len();
        if index >= len {
            return Err(StoreError::Range {
                from: index,
                to: index.saturating_add(1),
                len,
            });
        }
        let mut found = None;
        self.for_each_stored(index, index + 1, |_, bytes| {
            found = Some(bytes.to_vec());
            Ok(())
        })?;
        found.ok_or_else(|| StoreError::Corrupt {
            index,
            reason: "the entry is missing".into(),
        })
    }

    /// Calls `f` with the index and canonical bytes of every stored entry in `from..to`, in
    /// order, reading only the segments that hold them.
    fn for_each_stored(
        &self,
        from: u64,
        to: u64,
        mut f: impl FnMut(u64, &[u8]) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        if from >= to {
            return Ok(());
        }
        // The segment holding `from` starts at or before it.
        let start_key = match self.tree.range(entry_key(0)..=entry_key(from)).next_back() {
            Some(item) => item?.0,
            None => return Ok(()),
        };
        for item in self.tree.range(start_key..sled::IVec::from(&entry_key(to))) {
            let (key, value) = item?;
            let start = key_index(&key).unwrap_or(u64::MAX);
            for (offset, bytes) in segment::decode(&value, start)?.into_iter().enumerate() {
                let index = start + offset as u64;
                if (from..to).contains(&index) {
                    f(index, bytes)?;
                }
            }
        }
        Ok(())
    }

    /// Entries `from..to` (at most [`MAX_ENTRIES_PER_READ`]).
    pub fn entries(&self, from: u64, to: u64) -> Result<Vec<Entry>, StoreError> {
        let len = self.len();
        if from > to || to > len || to - from > MAX_ENTRIES_PER_READ {
            return Err(StoreError::Range { from, to, len });
        }
        let mut out = Vec::with_capacity((to - from) as usize);
        self.for_each_stored(from, to, |index, bytes| {
            let entry = serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
                index,
                reason: e.to_string(),
            })?;
            out.push(entry);
            Ok(())
        })?;
        Ok(out)
    }

    /// The inclusion proof of entry `index` against the latest signed head.
    pub fn inclusion_proof(&self, index: u64) -> Result<InclusionProof, StoreError> {
        let size = self.head().ok_or(StoreError::NoHead)?.head.tree_size;
        self.inclusion_proof_at(index, size)
    }

    /// The inclusion proof of entry `index` in the tree of `tree_size` entries.
    pub fn inclusion_proof_at(
        &self,
        index: u64,
        tree_size: u64,
    ) -> Result<InclusionProof, StoreError> {
        let state = self.lock()?;
        let path = state.merkle.inclusion_proof(index, tree_size)?;
        Ok(InclusionProof {
            index,
            tree_size,
            leaf_hash: state
                .merkle
                .leaf(index)
                .ok_or(ProofError::IndexOutOfRange {
                    index,
                    size: tree_size,
                })?,
            root_hash: state.merkle.root_at(tree_size)?,
            path,
        })
    }

    /// The consistency proof from tree size `from` to tree size `to`.
    pub fn consistency_proof(&self, from: u64, to: u64) -> Result<ConsistencyProof, StoreError> {
        let state = self.lock()?;
        let path = state.merkle.consistency_proof(from, to)?;
        Ok(ConsistencyProof {
            old_size: from,
            new_size: to,
            old_root: state.merkle.root_at(from)?,
            new_root: state.merkle.root_at(to)?,
            path,
        })
    }

    /// The Merkle root over everything appended.
    pub fn root(&self) -> Result<Hash, StoreError> {
        Ok(self.lock()?.merkle.root())
    }

    /// Exports the log as a self-contained bundle for `log_id`: every entry, every signed
    /// head, `did_documents` (the log's own did:key/did:jwk document is added when missing)
    /// and `credentials`.
    pub fn export(
        &self,
        log_id: &str,
        mut did_documents: BTreeMap<String, Value>,
        credentials: Vec<Value>,
    ) -> Result<AuditBundle, StoreError> {
        let len = self.len();
        let mut entries = Vec::new();
        self.for_each_stored(0, len, |index, bytes| {
            let entry: Value = serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
                index,
                reason: e.to_string(),
            })?;
            entries.push(entry);
            Ok(())
        })?;
        if !did_documents.contains_key(log_id) {
            if let Ok(document) = Did::parse(log_id).and_then(|did| offline_document(&did)) {
                did_documents.insert(log_id.to_owned(), document);
            }
        }
        Ok(AuditBundle {
            format: BUNDLE_FORMAT.to_owned(),
            log_id: log_id.to_owned(),
            entries,
            heads: self.heads()?.into_iter().map(|h| h.jws).collect(),
            did_documents,
            credentials,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assembled_entry_equals_serde_canonical_form() {
        let event = AuditEvent::new("policy.decision", "did:key:z6Mkx", "o\"1", "permit")
            .with_details(serde_json::json!({"z": 1, "é": "ü"}));
        let jcs = canonical_event(&event).unwrap();
        let prev = [7u8; 32];
        let fast = encode_entry(&jcs, 42, &prev).unwrap();
        let slow = Entry::new(42, &prev, event).canonical().unwrap();
        assert_eq!(fast, slow);
    }

    #[test]
    fn keys_sort_by_index() {
        assert!(entry_key(255) < entry_key(256));
        assert!(entry_key(u64::MAX) < head_key(0));
        assert_eq!(key_index(&entry_key(300)), Some(300));
    }
}
