//! The Symbolon connector: the daemon and the `symbolon` command line.
//!
//! One [`Connector`](context::Connector) context is opened per data directory and handed to
//! every part (`docs/architecture.md` draws the arrows):
//!
//! - [`context`]: the connector context (identity, store, audit trail, verification, network,
//!   compiled offers);
//! - [`domain`]: the records it keeps and exchanges, as types;
//! - [`store`]: repository traits and their SQLite implementation (group commit, fsync);
//! - [`audit`]: the audit trail, the one way anything writes an audit event;
//! - [`trust`]: the data space's trust list, in memory;
//! - [`catalog`]: offers with their policies compiled once, as a DCAT catalog;
//! - [`decision`]: verified presentation + offer + policy → verdict, as data;
//! - [`negotiation`]: contract negotiation (Dataspace Protocol 2025-1) as provider and consumer;
//! - [`transfer`]: the transfer process (Dataspace Protocol 2025-1) as provider and consumer;
//! - [`protocol`]: the transport-neutral protocol service, its messages and its peer-network
//!   binding;
//! - [`messenger`]: how the connector reaches counterparties (HTTPS and the peer network);
//! - [`p2p`]: the connector on the peer network (discovery, announcements, audited outcomes);
//! - [`api`]: the HTTP APIs: the W3C VC-API, the protocol's HTTPS binding, the management and
//!   audit APIs;
//! - [`dcp`]: credential issuance by request (Decentralized Claims Protocol 1.0), as issuer
//!   and as holder;
//! - [`issuer`]: status indices and the revocation and suspension lists of issued credentials;
//! - [`datadir`]: the data directory (keystore, admin token, files written atomically);
//! - [`server`]: `symbolon serve`;
//! - [`cli`]: the command line.
#![deny(missing_docs)]
#![recursion_limit = "256"]

pub mod api;
pub mod audit;
pub mod catalog;
pub mod cli;
pub mod context;
pub mod datadir;
pub mod dataplane;
pub mod dcp;
pub mod decision;
pub mod demo;
pub mod domain;
pub mod health;
pub mod issuer;
pub mod messenger;
pub mod negotiation;
pub mod p2p;
pub mod protocol;
pub mod revocation;
pub mod server;
pub mod session;
pub mod store;
pub mod transfer;
pub mod trust;
mod watch;

#[cfg(test)]
mod fixtures;

pub use context::Connector;
