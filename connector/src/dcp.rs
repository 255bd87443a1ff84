//! The Decentralized Claims Protocol 1.0: credential issuance by request — the Issuer Service
//! (this connector as an authority: [`issuer`]) and the Storage API of its Credential Service
//! (this connector as a holder: [`holder`]), with the protocol's [`messages`] — and the
//! presentation flow: access tokens minted for verifiers ([`access`]), the Credential
//! Service's answer to a query ([`query`]), by scope or by a presentation definition
//! ([`exchange`]), the scopes derived from a policy ([`scope`]), and
//! the verifier's query of a caller's Credential Service ([`verifier`]) and how the
//! presentations it answers are bound to that query ([`binding`]); and the holder's
//! renewal of what it obtained before it expires ([`renewal`]); the issuer's re-delivery of
//! what did not reach the holder ([`redelivery`]). The HTTPS routes are
//! in [`crate::api::dcp`], the operator's in the management API.

pub mod access;
pub mod binding;
mod delivery;
pub mod exchange;
pub mod holder;
pub mod issuer;
pub mod messages;
pub mod query;
pub mod redelivery;
pub mod renewal;
pub mod scope;
pub mod verifier;

/// Where the Issuer Service is served: `GET …/metadata`, `POST …/credentials`,
/// `GET …/requests/{issuerPid}`.
pub const ISSUER_PATH: &str = "/dcp/issuer";

/// The base of this connector's Credential Service: `POST …/presentations/query` (a
/// `PresentationQueryMessage`), and its Storage API takes `POST …/credentials` (a
/// `CredentialMessage`) and `POST …/offers` (a `CredentialOfferMessage`).
pub const HOLDER_PATH: &str = "/dcp/holder";
