//! Integration tests of the identity crate.

mod common;
mod credentials;
mod presentations;
mod revocation;
mod vectors;
