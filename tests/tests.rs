//! End-to-end tests: several connectors in one test, on 127.0.0.1 with ports from the OS.
#![recursion_limit = "256"]
#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

mod data_space;
mod examples;
