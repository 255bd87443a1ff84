//! The HTTP API: one function per area configures its routes, so that `serve` and the tests
//! build the same application. Handlers are thin: they parse, call the connector's services
//! and render; each takes from the application data only what it needs. Every error answer,
//! a handler's or actix's own, is JSON (`{"error", "message"}`, see [`fallback`]); the
//! endpoints anyone may call are rate-limited per caller ([`throttle`]).

pub mod admin;
pub mod audit;
pub mod console;
pub mod data;
pub mod dcp;
pub mod did;
pub mod dsp;
pub mod error;
pub mod fallback;
pub mod input;
pub mod limits;
pub mod management;
pub mod throttle;
pub mod vc;

use actix_web::web;

use crate::context::Connector;
use crate::datadir::AdminToken;
use crate::issuer::StatusRegistry;
use crate::protocol::ProtocolService;

pub use limits::MAX_BODY_BYTES;
pub use throttle::{RateLimit, Throttle};

/// What the application is built from: the connector context, the admin token, the issuer's
/// status registry, the rate limiter and the auditors' console sign-in. Build it once, outside the server factory: every
/// worker shares it.
#[derive(Debug, Clone)]
pub struct Parts {
    /// The connector.
    pub connector: Connector,
    /// The admin token for management calls.
    pub admin_token: AdminToken,
    /// The issuer's status registry.
    pub status: StatusRegistry,
    /// The rate limits of the endpoints anyone may call.
    pub throttle: Throttle,
    /// The auditors' console sign-in: challenges handed out, sessions opened.
    pub auditor_sign_in: console::signin::AuditorSignIn,
}

/// Configures every route of the connector.
pub fn configure(parts: Parts) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg: &mut web::ServiceConfig| {
        let protocol = ProtocolService::new(parts.connector.clone());
        let own = parts.connector.clone();
        cfg.app_data(web::Data::new(parts.connector))
            .app_data(web::Data::new(parts.admin_token))
            .app_data(web::Data::new(parts.status))
            .app_data(web::Data::new(parts.throttle))
            .app_data(web::Data::new(parts.auditor_sign_in))
            .app_data(web::Data::new(protocol))
            .configure(fallback::configure_extractors)
            .service(
                // One scope over every route, so that its middleware and its default service
                // (404) see every request.
                web::scope("")
                    .wrap(fallback::json_errors())
                    .configure(vc::configure)
                    .configure(dsp::configure)
                    .configure(dcp::configure)
                    .configure(did::configure(&own))
                    .configure(data::configure)
                    .configure(audit::configure)
                    // Before the management API's `/api/v1` scope, which would take its paths.
                    .configure(console::auditor::configure)
                    .configure(management::configure)
                    .configure(console::configure)
                    .default_service(web::to(fallback::no_route)),
            );
    }
}
