#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

pub mod bundle;
mod credentials;
pub mod event;
pub mod head;
mod journal;
pub mod kind;
pub mod merkle;
pub mod proof;
pub mod report;
mod segment;
pub mod signers;
pub mod store;
pub mod verify;

pub use bundle::{AuditBundle, BundleError, BUNDLE_FORMAT, MAX_BUNDLE_BYTES};
pub use event::{AuditEvent, Entry, EventError};
pub use head::{HeadError, MalformedHead, SignedTreeHead, TreeHead};
pub use kind::{EventKind, UnknownEventKind};
pub use merkle::{verify_consistency, verify_inclusion, Hash, MerkleTree, ProofError};
pub use report::{BundleReport, Finding, FindingKind, PairReport, Severity};
pub use store::{ConsistencyProof, DurableLog, InclusionProof, StoreError, WriteTx};
pub use verify::{verify_bundle, verify_pair};
