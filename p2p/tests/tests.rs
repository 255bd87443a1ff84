//! Integration tests of the peer network: several nodes on 127.0.0.1, ports from the OS.
#![recursion_limit = "256"]
#![allow(clippy::unwrap_used, reason = "tests")]

mod common;
mod limits;
mod mdns;
mod network;
mod streams;
mod trust;
