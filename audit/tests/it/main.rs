//! Integration tests of the audit log: proofs, tampering, durability, cross-witnessing.
#![allow(clippy::unwrap_used, reason = "tests")]
#![allow(missing_docs, reason = "tests")]

mod common;
mod crash;
mod credentials;
mod durability;
mod pair;
mod proofs;
mod store;
mod tamper;
