//! Integration tests of the identity crate.
#![recursion_limit = "256"]
#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

mod bounded;
mod common;
mod credentials;
mod permits;
mod presentations;
mod proof_sets;
mod revocation;
mod schemas;
mod sd_jwt;
mod vectors;
