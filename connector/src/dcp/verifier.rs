//! The verifier's side of the Decentralized Claims Protocol: a caller sent no presentation,
//! only an access token to its Credential Service; this connector finds that service in the
//! caller's DID document, queries it for the credential types the decision reads (with its own
//! self-issued token, copying the caller's access token), and verifies what comes back: each
//! presentation signed by the caller, bound to this query (by its nonce, or without one as
//! [`super::binding`] says), its credentials checked against the trust list and their status.

use std::collections::BTreeSet;

use symbolon_identity::{Did, Expectations, Input, Report, Verifier};

use super::binding::{self, Binding, BindingError};
use super::delivery::service_of;
use super::messages::MessageError;
use super::query::{parse_response, query_message};
use crate::context::Connector;
use crate::messenger::{Messenger as _, Method, Outbound, SendError};
use crate::negotiation::auth::TokenDraft;

/// The path of the query under a Credential Service's endpoint.
pub const QUERY_PATH: &str = "/presentations/query";

/// Why the caller's credentials could not be obtained. Each names the protocol's cause: the
/// caller's DID document, its Credential Service, or its answer.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The caller's DID cannot be resolved.
    #[error("token: the caller's DID `{did}` cannot be resolved: {reason}")]
    Resolve {
        /// The DID.
        did: String,
        /// Why.
        reason: String,
    },
    /// Its DID document names no Credential Service, nor (a did:key caller) its token.
    #[error(
        "token: the DID document of `{0}` names no `CredentialService`, nor does its token, so \
         its credentials cannot be queried (a did:key connector names its service in its \
         token when configured with `--credential-service`, or presents inline)"
    )]
    NoCredentialService(String),
    /// The Credential Service a did:key caller named is not one this connector may call.
    #[error("token: the Credential Service `{url}` the caller named is refused: {reason}")]
    Address {
        /// The URL named.
        url: String,
        /// Why (the address policy's words).
        reason: String,
    },
    /// The Credential Service could not be queried, or refused.
    #[error("scope: the caller's Credential Service did not answer the query: {0}")]
    Query(#[from] SendError),
    /// Its answer breaks the protocol.
    #[error("credential: the caller's Credential Service answered a malformed message: {0}")]
    Response(#[from] MessageError),
    /// A presentation is not bound to this query.
    #[error(transparent)]
    Binding(#[from] BindingError),
}

/// Queries `caller`'s Credential Service for credentials of `types` with its `access_token`,
/// and verifies the presentations with `verifier`: one report whose credentials are those of
/// every presentation, verified when every presentation is and each was signed by `caller`.
///
/// The service is the one the caller's DID document names. A did:key document names none, so
/// for a did:key caller `announced` (the URL its signed token named) stands in: the key that
/// signed the token is the DID, so the URL is the caller's own word, as a did:web document
/// would be. It is an outbound call this connector is made to make, so it is held to the same
/// address policy as every other (a did:web host, a callback, a status list): no loopback,
/// private or link-local address unless `--allow-private-callbacks`, checked here for a clear
/// refusal and again, on the resolved addresses, when the call is made.
pub async fn fetch_presentations(
    cx: &Connector,
    verifier: &Verifier,
    caller: &str,
    access_token: &str,
    announced: Option<&str>,
    types: &BTreeSet<String>,
) -> Result<Report, FetchError> {
    let did = Did::parse(caller).map_err(|e| FetchError::Resolve {
        did: caller.chars().take(200).collect(),
        reason: e.to_string(),
    })?;
    let document = cx
        .verification()
        .resolver
        .resolve(&did)
        .await
        .map_err(|e| FetchError::Resolve {
            did: caller.to_owned(),
            reason: e.to_string(),
        })?;
    let endpoint = service_of(&document)
        .or_else(|| {
            announced
                .filter(|_| did.method() == "key")
                .map(str::to_owned)
        })
        .ok_or_else(|| FetchError::NoCredentialService(caller.to_owned()))?;
    let refused = |reason: String| FetchError::Address {
        url: endpoint.chars().take(200).collect(),
        reason,
    };
    cx.network()
        .policy()
        .check_url(&endpoint)
        .map_err(|e| refused(e.to_string()))?;
    let url = format!("{}{QUERY_PATH}", endpoint.trim_end_matches('/'));
    let draft = TokenDraft::new(caller).with_access_token(access_token.to_owned());
    let challenge = draft.jti.clone();
    let token = draft.sign(cx.identity(), None, None);
    let message = query_message(types);
    let answer = cx
        .network()
        .send(Outbound {
            method: Method::Post,
            url: &url,
            token: Some(&token),
            body: Some(&message),
        })
        .await?;
    let presentations = parse_response(&answer)?;
    let own = cx.did().to_owned();
    let now = chrono::Utc::now().timestamp();
    let mut merged: Option<Report> = None;
    for presentation in presentations {
        // A nonce, when there is one, must be this query's; without one the presentation
        // must be bound otherwise (see `binding` for what and why).
        let bound = binding::binding(&presentation, caller, &own, now)?;
        let expectations = Expectations {
            challenge: match bound {
                Binding::Nonce => challenge.clone(),
                Binding::Unnonced { .. } => String::new(),
            },
            audience: own.clone(),
        };
        let mut report = verifier
            .verify_presentation(&Input::Jwt(presentation), &expectations)
            .await;
        if let Binding::Unnonced { id, until } = bound {
            report = binding::conclude(cx.store(), report, caller, id, until).await?;
        }
        merged = Some(match merged {
            None => report,
            Some(all) => merge(all, report),
        });
    }
    Ok(merged.unwrap_or_else(|| empty_report(caller)))
}

/// The report of two presentations: verified when both are and both have one signer.
fn merge(mut all: Report, report: Report) -> Report {
    if all.verified && !report.verified {
        all.error = report.error.clone();
    }
    all.verified &= report.verified;
    if report.signer != all.signer {
        all.verified = false;
        all.error = Some(format!(
            "the presentations were signed by different holders ({} and {})",
            all.signer.as_deref().unwrap_or("?"),
            report.signer.as_deref().unwrap_or("?")
        ));
    }
    all.credentials.extend(report.credentials);
    all
}

/// What an empty answer amounts to: a presentation by `caller` of no credential.
fn empty_report(caller: &str) -> Report {
    let mut report = Report::empty_presentation();
    report.signer = Some(caller.to_owned());
    report
}
