//! The verifier's side of the Decentralized Claims Protocol: a caller sent no presentation,
//! only an access token to its Credential Service; this connector finds that service in the
//! caller's DID document, queries it for the credential types the decision reads (with its own
//! self-issued token, copying the caller's access token), and verifies what comes back: each
//! presentation signed by the caller, bound to this query, its credentials checked against the
//! trust list and their status.

use std::collections::BTreeSet;

use symbolon_identity::{Did, Expectations, Input, Report, Verifier};

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
    /// Its DID document names no Credential Service.
    #[error(
        "token: the DID document of `{0}` names no `CredentialService`, so its credentials cannot \
         be queried (a did:key connector presents inline, in the token's `vp` claim)"
    )]
    NoCredentialService(String),
    /// The Credential Service could not be queried, or refused.
    #[error("scope: the caller's Credential Service did not answer the query: {0}")]
    Query(#[from] SendError),
    /// Its answer breaks the protocol.
    #[error("credential: the caller's Credential Service answered a malformed message: {0}")]
    Response(#[from] MessageError),
}

/// Queries `caller`'s Credential Service for credentials of `types` with its `access_token`,
/// and verifies the presentations with `verifier`: one report whose credentials are those of
/// every presentation, verified when every presentation is and each was signed by `caller`.
pub async fn fetch_presentations(
    cx: &Connector,
    verifier: &Verifier,
    caller: &str,
    access_token: &str,
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
    let endpoint =
        service_of(&document).ok_or_else(|| FetchError::NoCredentialService(caller.to_owned()))?;
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
    let expectations = Expectations {
        challenge,
        audience: cx.did().to_owned(),
    };
    let mut merged: Option<Report> = None;
    for presentation in presentations {
        let report = verifier
            .verify_presentation(&Input::Jwt(presentation), &expectations)
            .await;
        merged = Some(match merged {
            None => report,
            Some(mut all) => {
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
        });
    }
    Ok(merged.unwrap_or_else(|| empty_report(caller)))
}

/// What an empty answer amounts to: a presentation by `caller` of no credential.
fn empty_report(caller: &str) -> Report {
    let mut report = Report::empty_presentation();
    report.signer = Some(caller.to_owned());
    report
}
