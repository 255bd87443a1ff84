//! Integration tests of the connector: the VC-API over real sockets and the CLI.
#![recursion_limit = "256"]
#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

mod api;
mod audit;
mod cli;
mod cli_serve;
mod console;
mod crash;
mod credential_types;
mod dcp;
mod dcp_cli;
mod dcp_holder;
mod dcp_presentation;
mod dcp_renewal;
mod demo;
mod dsp;
mod errors;
mod forgery;
mod handlers;
mod health;
mod healthdcat;
mod illegal;
mod manual;
mod messages;
mod mpc_cli;
mod mpc_fixture;
mod mpc_salary;
mod mpc_study;
mod negotiation;
mod offers;
mod peers;
mod permits;
mod protocol;
mod pull;
mod pull_sources;
mod safe_defaults;
mod session;
mod trail;
mod transfer;
mod transfer_consumer;
mod transfer_provider;
mod vc_formats;
mod walkthrough;
mod wallet;
mod webdriver;
mod withdrawal;
