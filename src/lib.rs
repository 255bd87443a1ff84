//! Symbolon: a connector that lets organisations in a health data space compute on each other's
//! data without seeing it.
//!
//! This crate is a thin facade over the workspace:
//! - [`identity`]: keys, DIDs, Verifiable Credentials and Presentations, revocation, trust lists;
//! - [`policy`]: the usage-policy language;
//! - [`mpc`]: secret sharing and multi-party computation protocols;
//! - [`connector`]: the daemon and the `symbolon` command line.

pub use symbolon_connector as connector;
pub use symbolon_identity as identity;
pub use symbolon_mpc as mpc;
pub use symbolon_policy as policy;
