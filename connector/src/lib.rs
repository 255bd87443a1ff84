//! The Symbolon connector: the daemon and the `symbolon` command line.
//!
//! - [`datadir`]: the data directory (keystore, admin token, files written atomically);
//! - [`issuer`]: status indices and the revocation and suspension lists of issued credentials;
//! - [`wallet`]: credentials held by this connector;
//! - [`trust`]: the installed trust list;
//! - [`api`]: the HTTP API (the W3C VC-API);
//! - [`server`]: `symbolon serve`;
//! - [`cli`]: the command line.
#![deny(missing_docs)]
#![recursion_limit = "256"]

pub mod api;
pub mod cli;
pub mod datadir;
pub mod issuer;
pub mod server;
pub mod trust;
pub mod wallet;

// The MPC engine is wired into the connector by the session broker.
use symbolon_mpc as _;
