//! A data holder's admission decision on a session manifest, before it acknowledges the
//! session's transfer: pure, like [`crate::decision`]. The holder must be a party; its
//! agreement must be the one the manifest names, made by this holder with the analyst; the
//! only recipient of the result must be the agreement's assignee; the join deadline must not
//! have passed; and the offer's policy must permit `join_computation` for the analyst (as its
//! verified credentials kept with the agreement describe it) with the manifest's program,
//! parties, smallest group, purpose and recipient. A refusal carries a machine code of the
//! profile (`mpc:…`) and the reason in words.
//!
//! Whether the agreement's credentials still stand (revocation) is checked by the caller with
//! the verifier, before this decision: it needs the network.

use serde_json::{json, Value};
use symbolon_policy::Request;

use super::manifest::Manifest;
use crate::catalog::CompiledOffer;
use crate::decision::claims;
use crate::domain::Agreement;

/// A refusal to join a session.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {reason}")]
pub struct Refusal {
    /// The profile's code (`mpc:program-not-allowed`, `mpc:k-too-small`, …).
    pub code: &'static str,
    /// Why, in words.
    pub reason: String,
}

impl Refusal {
    fn new(code: &'static str, reason: impl Into<String>) -> Self {
        Refusal {
            code,
            reason: reason.into(),
        }
    }
}

/// What the decision reads.
#[derive(Debug, Clone, Copy)]
pub struct Admission<'a> {
    /// The verified manifest.
    pub manifest: &'a Manifest,
    /// This holder's DID.
    pub holder: &'a str,
    /// The agreement the session's transfer is requested under.
    pub agreement: &'a Agreement,
    /// The agreement's offer, with its compiled policy.
    pub offer: &'a CompiledOffer,
    /// The roles the other parties hold by their memberships, as verified on the peer network.
    pub party_roles: &'a std::collections::BTreeSet<String>,
    /// Now.
    pub now: chrono::DateTime<chrono::Utc>,
}

/// The code of a policy condition that failed on `attribute`.
fn code_for(attribute: Option<&str>) -> &'static str {
    match attribute {
        Some("session.program") => "mpc:program-not-allowed",
        Some("session.min_group_size") => "mpc:k-too-small",
        Some("session.parties") => "mpc:parties-not-allowed",
        Some("session.party_roles") => "mpc:roster-unverified",
        Some("request.purpose") => "mpc:purpose-not-allowed",
        Some("request.recipient") => "mpc:recipient-not-allowed",
        Some(a) if a.starts_with("holder.") || a.starts_with("consent.") => {
            "mpc:analyst-not-entitled"
        }
        _ => "mpc:policy-denied",
    }
}

/// Decides whether the holder joins the session the manifest describes.
pub fn admit(admission: Admission<'_>) -> Result<(), Refusal> {
    let Admission {
        manifest,
        holder,
        agreement,
        offer,
        party_roles,
        now,
    } = admission;
    let party = manifest.party(holder).ok_or_else(|| {
        Refusal::new(
            "mpc:not-a-party",
            format!("the manifest does not name `{holder}` as a party"),
        )
    })?;
    if party.agreement.as_deref() != Some(agreement.id.as_str())
        || agreement.provider != holder
        || agreement.assignee != manifest.iss
    {
        return Err(Refusal::new(
            "mpc:no-agreement",
            format!(
                "the manifest names agreement `{}` for this party; this holder's agreement `{}` \
                 with the analyst `{}` is not it",
                party.agreement.as_deref().unwrap_or("(none)"),
                agreement.id,
                manifest.iss
            ),
        ));
    }
    if manifest.recipients.as_slice() != [agreement.assignee.clone()] {
        return Err(Refusal::new(
            "mpc:recipient-not-allowed",
            format!(
                "the result may go only to the agreement's assignee `{}`, not to {}",
                agreement.assignee,
                manifest.recipients.join(", ")
            ),
        ));
    }
    let deadline = chrono::DateTime::parse_from_rfc3339(&manifest.join_deadline)
        .map_err(|_| Refusal::new("mpc:malformed", "`join_deadline` is not RFC 3339"))?;
    if deadline < now {
        return Err(Refusal::new(
            "mpc:expired",
            format!("the join deadline {} has passed", manifest.join_deadline),
        ));
    }
    let policies = &offer.policies;
    let mut attributes =
        claims::attributes_from_documents(&manifest.iss, &offer.offer.id, &agreement.grounds);
    attributes.insert("action".into(), "join_computation".into());
    attributes.insert("offer".into(), offer.offer.id.clone().into());
    attributes.insert(
        "request".into(),
        json!({ "purpose": manifest.purpose, "recipient": agreement.assignee,
                "dataset": offer.offer.id }),
    );
    let parties = u64::try_from(manifest.parties.len()).unwrap_or(u64::MAX);
    attributes.insert(
        "session".into(),
        json!({ "program": manifest.program.id, "parties": parties,
                "min_group_size": manifest.min_group_size, "party_roles": party_roles }),
    );
    let mut request = Request::from_json(policies.schema(), &Value::Object(attributes))
        .map_err(|e| Refusal::new("mpc:policy-denied", e.to_string()))?;
    request.set_now_if_missing(policies.schema());
    let decision = policies.evaluate(&request);
    if decision.is_permit() {
        return runnable(manifest);
    }
    let first = decision
        .failed
        .iter()
        .chain(decision.forbidden.iter())
        .next();
    Err(Refusal::new(
        code_for(first.and_then(|c| c.attribute.as_deref())),
        decision.reasons().join("; "),
    ))
}

/// What the policy does not decide: the program is this library's, with valid parameters, on
/// an engine and roster that can run it.
fn runnable(manifest: &Manifest) -> Result<(), Refusal> {
    crate::session::runner::plan(manifest).map_err(|f| Refusal::new(f.code, f.reason))?;
    let unverified = manifest.parties.iter().find(|p| {
        symbolon_p2p::peer_of_did(&p.did)
            .map(|id| id.to_base58())
            .ok()
            .as_deref()
            != Some(p.peer_id.as_str())
    });
    if let Some(party) = unverified {
        return Err(Refusal::new(
            "mpc:roster-unverified",
            format!(
                "party `{}` is listed with PeerId `{}`, which is not its DID's key",
                party.did, party.peer_id
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
