//! Integration tests: every protocol run in memory with 3, 4 and 5 parties
//! and checked against the plaintext result; failures and misbehaviour.

#![allow(clippy::unwrap_used, reason = "test helpers fail by panicking")]

mod arithmetic;
mod bench_cli;
mod blinding;
mod comparison;
mod dominance;
mod dominance_linked;
mod failure;
mod leakage;
mod programs;
mod programs_sets;
mod programs_study;
mod sim;
mod study;
