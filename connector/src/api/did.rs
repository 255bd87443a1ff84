//! What a connector publishes about itself. A did:web connector: its DID document at the
//! address its DID names (`/.well-known/did.json`, or `/<path>/did.json` for
//! `did:web:host:<path>`), with the Credential Service other connectors query for
//! presentations (Decentralized Claims Protocol); a did:key connector's document is its DID
//! itself, so it serves none. Every connector: `/.well-known/dspace-trust`, the credentials it
//! expects from a counterparty and the issuers it trusts for each.

use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

use crate::context::Connector;
use crate::dcp::HOLDER_PATH;

/// The path this connector's did:web DID resolves at, if its DID is a did:web.
pub fn document_path(connector: &Connector) -> Option<String> {
    let did = &connector.identity().did;
    if did.method() != "web" {
        return None;
    }
    let url = symbolon_identity::did::did_web_url(did).ok()?;
    let after_scheme = url.split_once("://")?.1;
    let path = after_scheme.find('/').map(|at| &after_scheme[at..])?;
    Some(path.to_owned())
}

/// The services this connector's DID document names: its Credential Service, its Issuer
/// Service and its Dataspace Protocol endpoint.
pub fn services(connector: &Connector) -> Vec<Value> {
    let did = connector.did();
    let base = connector.public_url();
    vec![
        json!({
            "id": format!("{did}#credential-service"),
            "type": "CredentialService",
            "serviceEndpoint": format!("{base}{HOLDER_PATH}"),
        }),
        json!({
            "id": format!("{did}#issuer-service"),
            "type": "IssuerService",
            "serviceEndpoint": format!("{base}{}", crate::dcp::ISSUER_PATH),
        }),
        json!({
            "id": format!("{did}#dsp"),
            "type": "DataService",
            "serviceEndpoint": format!("{base}{}", crate::protocol::DSP_PATH),
        }),
    ]
}

/// Where the expected credentials are published.
pub const TRUST_PATH: &str = "/.well-known/dspace-trust";

/// Routes the trust document and, when this connector has a did:web DID, its DID document.
pub fn configure(connector: &Connector) -> impl FnOnce(&mut web::ServiceConfig) + '_ {
    move |cfg: &mut web::ServiceConfig| {
        cfg.service(web::resource(TRUST_PATH).get(trust));
        if let Some(path) = document_path(connector) {
            cfg.service(web::resource(path).get(document));
        }
    }
}

/// `GET …/did.json`: the DID document.
async fn document(cx: web::Data<Connector>) -> HttpResponse {
    let document = cx.identity().did_document(&services(&cx));
    HttpResponse::Ok()
        .content_type("application/did+json")
        .json(document)
}

/// `GET /.well-known/dspace-trust`: the credential types a counterparty presents (membership
/// always; the others as offers' policies read them), each with the issuers the installed trust
/// list trusts for it, and the scopes a verifier here asks for them by.
async fn trust(cx: web::Data<Connector>) -> HttpResponse {
    let list = cx.verification().trust.list();
    let mut by_type: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    if let Some(list) = &list {
        for (issuer, types) in &list.entries {
            for kind in types {
                by_type.entry(kind).or_default().push(issuer);
            }
        }
    }
    let credentials: Vec<Value> = by_type
        .iter()
        .map(|(kind, issuers)| {
            json!({
                "credentialType": kind,
                "scope": crate::dcp::scope::scope_for(kind),
                "trustedIssuers": issuers,
                "required": *kind == crate::dcp::scope::MEMBERSHIP,
            })
        })
        .collect();
    HttpResponse::Ok().json(json!({
        "participantId": cx.did(),
        "dataSpace": list.as_ref().map(|l| l.data_space.clone()),
        "trustAnchor": list.as_ref().map(|l| l.anchor.clone()),
        "profile": crate::dcp::messages::PROFILE,
        "credentials": credentials,
    }))
}
