//! Checking the credentials and presentations a bundle embeds, offline.
//!
//! Only the proofs are checked (signature, and for a presentation the proofs of the
//! credentials inside): validity windows have usually passed by audit time, challenges were
//! checked when the event was logged, and revocation status is not available offline — the
//! report says so. did:key and did:jwk issuers are resolved from the DID itself, did:web issuers
//! from the DID documents the bundle carries; a credential whose did:web signer's document is
//! not there is reported as unverifiable, naming the DID (`MissingDidDocument`), not as
//! invalid.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use serde_json::Value;
use symbolon_identity::report::{Outcome, Report};
use symbolon_identity::verify::peek_jwt_payload;
use symbolon_identity::{Did, DidResolver, Expectations, Input, Verifier};

use crate::bundle::AuditBundle;
use crate::report::{Finding, FindingKind};
use crate::signers::web_signers;
use crate::verify::Recomputed;

struct ThreadWaker(std::thread::Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs a future to completion on this thread (the offline verifier does no I/O).
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut context = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
        std::thread::park();
    }
}

enum Item<'a> {
    Credential(&'a Value),
    Presentation(&'a Value),
}

/// What checking the embedded credentials found besides its findings.
#[derive(Debug, Default)]
pub(crate) struct Checked {
    /// How many credentials and presentations were checked.
    pub(crate) checked: u64,
    /// The did:web signers whose documents the bundle lacks.
    pub(crate) missing_documents: BTreeSet<String>,
}

/// Checks every embedded credential and presentation.
pub(crate) fn check_credentials(
    bundle: &AuditBundle,
    log: &Recomputed,
    findings: &mut Vec<Finding>,
) -> Checked {
    let mut items: Vec<(Option<u64>, Item<'_>)> = Vec::new();
    for (position, entry) in log.entries.iter().enumerate() {
        let Some(details) = entry.as_ref().and_then(|e| e.event.details.as_ref()) else {
            continue;
        };
        if let Some(credential) = details.get("credential") {
            items.push((Some(position as u64), Item::Credential(credential)));
        }
        if let Some(presentation) = details.get("presentation") {
            items.push((Some(position as u64), Item::Presentation(presentation)));
        }
    }
    items.extend(
        bundle
            .credentials
            .iter()
            .map(|c| (None, Item::Credential(c))),
    );
    if items.is_empty() {
        return Checked::default();
    }
    let documents: Vec<(Did, &Value)> = bundle
        .did_documents
        .iter()
        .filter_map(|(did, document)| Did::parse(did).ok().map(|did| (did, document)))
        .collect();
    // A document filed under a DID it does not name is not used (the resolver ignores it).
    let usable: BTreeSet<&str> = documents
        .iter()
        .filter(|(did, document)| document.get("id").and_then(Value::as_str) == Some(did.as_str()))
        .map(|(did, _)| did.as_str())
        .collect();
    let mut missing_documents = BTreeSet::new();
    let resolver =
        DidResolver::offline_with_documents(documents.iter().map(|(did, doc)| (did, *doc)));
    let verifier = Verifier::new(Arc::new(resolver));
    let mut checked = 0;
    for (index, item) in items {
        let (what, value, failure) = match item {
            Item::Credential(value) => {
                let report =
                    block_on(verifier.verify_credential(&Input::from_value(value.clone())));
                ("credential", value, proof_failure(&report))
            }
            Item::Presentation(value) => {
                let input = Input::from_value(value.clone());
                let expected = expectations(&input);
                let report = block_on(verifier.verify_presentation(&input, &expected));
                let failure = proof_failure(&report).or_else(|| {
                    report
                        .credentials
                        .iter()
                        .find_map(proof_failure)
                        .map(|why| format!("a credential inside: {why}"))
                });
                ("presentation", value, failure)
            }
        };
        checked += 1;
        let Some(why) = failure else { continue };
        let place = match index {
            Some(i) => format!("the {what} in entry {i}"),
            None => format!("a {what} in the bundle's credentials"),
        };
        let missing: Vec<String> = web_signers(value)
            .into_iter()
            .filter(|did| !usable.contains(did.as_str()))
            .collect();
        let finding = if missing.is_empty() {
            Finding::error(
                FindingKind::CredentialInvalid,
                format!("{place} fails its proof check: {why}"),
            )
        } else {
            let named = missing
                .iter()
                .map(|did| format!("`{did}`"))
                .collect::<Vec<_>>()
                .join(", ");
            missing_documents.extend(missing);
            Finding::error(
                FindingKind::MissingDidDocument,
                format!("{place} cannot be checked: the bundle holds no DID document for {named}"),
            )
        };
        findings.push(match index {
            Some(i) => finding.at(i),
            None => finding,
        });
    }
    findings.push(Finding::info(
        FindingKind::NotChecked,
        format!(
            "the proofs of {checked} credentials and presentations were checked; their revocation status was not checked (status lists are not available offline)"
        ),
    ));
    Checked {
        checked,
        missing_documents,
    }
}

/// Why the proof failed, if it did: the `format` or `signature` check.
fn proof_failure(report: &Report) -> Option<String> {
    report
        .checks
        .iter()
        .find(|c| (c.check == "format" || c.check == "signature") && c.outcome == Outcome::Failed)
        .map(|c| c.reason.clone().unwrap_or_else(|| c.check.to_owned()))
        .or_else(|| match report.outcome("signature") {
            Some(Outcome::Passed) => None,
            _ => Some(
                report
                    .error
                    .clone()
                    .unwrap_or_else(|| "the signature was not verified".into()),
            ),
        })
}

/// The challenge and audience the presentation itself names (checked when it was logged).
fn expectations(input: &Input) -> Expectations {
    let (challenge, audience) = match input {
        Input::Jwt(token) => {
            let payload = peek_jwt_payload(token).unwrap_or(Value::Null);
            (payload.get("nonce").cloned(), payload.get("aud").cloned())
        }
        Input::Json(value) => {
            let proof = value.get("proof").cloned().unwrap_or(Value::Null);
            (
                proof.get("challenge").cloned(),
                proof.get("domain").cloned(),
            )
        }
    };
    let text = |v: Option<Value>| {
        symbolon_identity::json::first_str(v.as_ref())
            .unwrap_or_default()
            .to_owned()
    };
    Expectations {
        challenge: text(challenge),
        audience: text(audience),
    }
}
