//! Integration tests of the policy crate, in one binary.

mod cases;
mod decisions;
