//! Integration tests of the identity crate.
#![recursion_limit = "256"]

mod common;
mod credentials;
mod presentations;
mod revocation;
mod vectors;
