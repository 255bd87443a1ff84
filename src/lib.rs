//! Symbolon: a connector that lets organisations in a health data space compute on each other's
//! data without seeing it.
//!
//! This crate is a thin facade over the workspace:
//! - [`identity`]: keys, DIDs, Verifiable Credentials and Presentations, revocation, trust lists;
//! - [`policy`]: the usage-policy language;
//! - [`mpc`]: secret sharing and multi-party computation protocols;
//! - [`audit`]: the tamper-evident audit trail and its offline verifier;
//! - [`p2p`]: the peer network of credential-authenticated connectors;
//! - [`connector`]: the daemon and the `symbolon` command line.
//!
//! The seed's scenarios as short programs are in the repository's `examples/`
//! (`cargo run --example salary_average`, `analytics_study`, `fraud_signal`,
//! `trial_onboarding`); they stage their data spaces with [`connector::demo`].

pub use symbolon_audit as audit;
pub use symbolon_connector as connector;
pub use symbolon_identity as identity;
pub use symbolon_mpc as mpc;
pub use symbolon_p2p as p2p;
pub use symbolon_policy as policy;
