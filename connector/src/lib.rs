//! The Symbolon connector: the daemon and the `symbolon` command line.
//!
//! - [`datadir`]: the data directory (keystore, admin token, files written atomically);
//! - [`issuer`]: status indices and the revocation and suspension lists of issued credentials;
//! - [`trust`]: the installed trust list;
//! - [`store`]: the embedded sled store, one repository per aggregate;
//! - [`catalog`]: offers as a Dataspace Protocol catalog with ODRL policies;
//! - [`negotiation`]: contract negotiation (Dataspace Protocol 2025-1) as provider and consumer,
//!   authenticated by self-issued tokens and decided by the offer's policy;
//! - [`audit`]: the tamper-evident audit trail (signed tree heads, bundles, cross-witnessing);
//! - [`p2p`]: the connector on the peer network (discovery, authenticated peers, announcements);
//! - [`api`]: the HTTP APIs: the W3C VC-API, the Dataspace Protocol and the management API;
//! - [`server`]: `symbolon serve`;
//! - [`cli`]: the command line.
#![deny(missing_docs)]
#![recursion_limit = "256"]

pub mod api;
pub mod audit;
pub mod catalog;
pub mod cli;
pub mod datadir;
pub mod dsp_p2p;
pub mod issuer;
pub mod negotiation;
pub mod p2p;
pub mod server;
pub mod store;
pub mod trust;
