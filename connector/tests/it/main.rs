//! Integration tests of the connector: the VC-API over real sockets and the CLI.
#![recursion_limit = "256"]

mod api;
mod cli;
