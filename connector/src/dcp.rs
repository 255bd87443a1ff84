//! Credential issuance by request: the Decentralized Claims Protocol 1.0's Issuer Service
//! (this connector as an authority: [`issuer`]) and the Storage API of its Credential Service
//! (this connector as a holder: [`holder`]), with the protocol's [`messages`]. The HTTPS
//! routes are in [`crate::api::dcp`], the operator's in the management API.

mod delivery;
pub mod holder;
pub mod issuer;
pub mod messages;

/// Where the Issuer Service is served: `GET …/metadata`, `POST …/credentials`,
/// `GET …/requests/{issuerPid}`.
pub const ISSUER_PATH: &str = "/dcp/issuer";

/// The base of this connector's Credential Service: its Storage API takes `POST
/// …/credentials` (a `CredentialMessage`).
pub const HOLDER_PATH: &str = "/dcp/holder";
