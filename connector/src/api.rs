//! The HTTP API: one function per area configures its routes, so that `serve` and the tests
//! build the same application.

pub mod audit;
pub mod dsp;
pub mod error;
pub mod management;
pub mod vc;

use std::sync::Arc;

use actix_web::web;
use symbolon_identity::{DidResolver, Identity};

use crate::datadir::{AdminToken, DataDir};
use crate::issuer::StatusRegistry;
use crate::negotiation::Negotiator;
use crate::store::Store;

/// Largest request body accepted (larger ones get 413).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What every handler shares; built once, outside the server factory.
pub struct AppState {
    /// The connector's identity.
    pub identity: Identity,
    /// The embedded store.
    pub store: Store,
    /// The contract negotiation engine.
    pub negotiator: Negotiator,
    /// The peer-network node, once joined.
    pub peers: crate::p2p::PeerSlot,
    /// The admin token for management calls.
    pub admin_token: AdminToken,
    /// The data directory.
    pub dir: DataDir,
    /// The issuer's status registry.
    pub status: StatusRegistry,
    /// The DID resolver.
    pub resolver: Arc<DidResolver>,
    /// The base URL this connector is reachable at (status list URLs point here).
    pub public_url: String,
    /// This connector's own endpoint on the loopback interface (`http(s)://127.0.0.1:PORT`),
    /// to which protocol requests arriving over the peer network are handed.
    pub local_url: String,
    /// The verifier's status list source (cached).
    pub status_source: Arc<symbolon_identity::status_list::HttpStatusSource>,
    /// Presentation nonces already accepted.
    pub nonces: Arc<symbolon_identity::nonce::MemoryNonceStore>,
}

/// Configures every route of the connector.
pub fn configure(state: web::Data<AppState>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(state)
            .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
            .configure(vc::configure)
            .configure(dsp::configure)
            .configure(audit::configure)
            .configure(management::configure);
    }
}
