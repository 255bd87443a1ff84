//! Integration tests of the policy crate, in one binary.
#![allow(clippy::unwrap_used, reason = "helpers of tests fail loudly")]

mod cases;
mod decisions;
mod odrl;
mod props;
mod readme;
