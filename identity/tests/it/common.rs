//! Shared fixtures.

use std::sync::Arc;

use serde_json::{json, Value};
use symbolon_identity::{
    credential, issue_credential, Did, DidResolver, Format, Identity, Input, KeyAlgorithm, Secured,
    Verifier,
};

pub const DATA_SPACE: &str = "health-data-space-nl";

pub fn identity() -> Identity {
    Identity::generate(KeyAlgorithm::Ed25519)
}

pub fn membership_claims(role: &str) -> Value {
    json!({"legalName": "Org", "registrationNumber": "KvK-1", "role": role, "dataSpaceId": DATA_SPACE})
}

pub fn membership(issuer: &Identity, subject: &Did) -> Value {
    credential::build(
        &issuer.did,
        "DataSpaceMembershipCredential",
        subject,
        &membership_claims("Hospital"),
        None,
    )
    .unwrap()
}

pub async fn issue(issuer: &Identity, unsigned: Value, format: Format) -> Secured {
    issue_credential(issuer, unsigned, format).await.unwrap()
}

pub fn verifier() -> Verifier {
    Verifier::new(Arc::new(DidResolver::offline()))
}

pub fn input(secured: &Secured) -> Input {
    Input::parse(&secured.to_text()).unwrap()
}

pub const FORMATS: [Format; 3] = [Format::Jwt, Format::DataIntegrity, Format::DataIntegrityJcs];
