//! Agreements signed by the provider: a compact JWS over the ODRL agreement, carried inside it
//! as `signature`, checked by the consumer before it stores the agreement.

use serde_json::{Map, Value};
use symbolon_identity::{jose, DidResolver, Identity, VerifyError};

use crate::catalog::CompiledOffer;
use crate::domain::{new_urn, now, Agreement, Obligation};
use crate::protocol::messages::{AgreementBody, AgreementType};

/// The JWS `typ` of a signed agreement.
pub const AGREEMENT_TYP: &str = "symbolon-agreement+jwt";

/// Everything an agreement needs besides the provider's key.
#[derive(Debug)]
pub struct Terms<'a> {
    /// The offer, with its policy.
    pub offer: &'a CompiledOffer,
    /// The consumer.
    pub assignee: &'a str,
    /// The provider's process id.
    pub provider_pid: &'a str,
    /// The consumer's process id.
    pub consumer_pid: &'a str,
    /// The obligations of the deciding policies.
    pub obligations: Vec<Obligation>,
    /// The credentials the decision rested on.
    pub grounds: Vec<Value>,
    /// Duties the negotiated offer added to the policy's (ODRL duties, see
    /// [`super::terms::within_policy`]).
    pub added_duties: Vec<Value>,
}

/// Builds and signs the agreement.
pub fn sign(identity: &Identity, terms: Terms<'_>) -> Agreement {
    let offer = &terms.offer.offer;
    let rules = &terms.offer.odrl;
    let mut body = AgreementBody {
        id: new_urn(),
        kind: AgreementType::Agreement,
        target: offer.id.clone(),
        assigner: identity.did.as_str().to_owned(),
        assignee: terms.assignee.to_owned(),
        timestamp: Some(now()),
        signature: None,
        terms: Map::new(),
    };
    for (name, value) in [
        ("permission", &rules.permission),
        ("prohibition", &rules.prohibition),
        ("obligation", &rules.obligation),
    ] {
        if let Some(rules) = value {
            body.terms.insert(name.into(), Value::Array(rules.clone()));
        }
    }
    if let Some(profile) = rules.other.get("profile") {
        body.terms.insert("profile".into(), profile.clone());
    }
    let duties: Vec<Value> = terms
        .obligations
        .iter()
        .map(|o| {
            symbolon_policy::odrl::duty(&o.name, o.params.iter().map(|(k, v)| (k.as_str(), v)))
        })
        .collect();
    if !duties.is_empty() {
        body.terms.insert("obligation".into(), Value::Array(duties));
    }
    if !terms.added_duties.is_empty() {
        let all = body
            .terms
            .entry("obligation")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(all) = all {
            for duty in &terms.added_duties {
                if !all.contains(duty) {
                    all.push(duty.clone());
                }
            }
        }
    }
    let odrl = serde_json::to_value(&body).unwrap_or(Value::Null);
    let signature = jose::sign(
        &identity.key,
        &identity.verification_method(),
        AGREEMENT_TYP,
        &odrl,
    );
    Agreement {
        id: body.id,
        offer_id: offer.id.clone(),
        provider: body.assigner,
        assignee: body.assignee,
        provider_pid: terms.provider_pid.to_owned(),
        consumer_pid: terms.consumer_pid.to_owned(),
        action: offer.action.clone(),
        obligations: terms.obligations,
        policy: Some(offer.policy.clone()),
        odrl,
        signature: Some(signature),
        timestamp: body.timestamp.unwrap_or_default(),
        grounds: terms.grounds,
        withdrawn: None,
    }
}

/// The agreement as the `agreement` member of a `ContractAgreementMessage`: its ODRL with the
/// signature.
pub fn message_body(agreement: &Agreement) -> AgreementBody {
    let mut body: AgreementBody = match serde_json::from_value(agreement.odrl.clone()) {
        Ok(body) => body,
        // INVARIANT: `odrl` was serialised from an `AgreementBody` by `sign`.
        Err(_) => AgreementBody {
            id: agreement.id.clone(),
            kind: AgreementType::Agreement,
            target: agreement.offer_id.clone(),
            assigner: agreement.provider.clone(),
            assignee: agreement.assignee.clone(),
            timestamp: Some(agreement.timestamp.clone()),
            signature: None,
            terms: Map::new(),
        },
    };
    body.signature = agreement.signature.clone();
    body
}

/// Why a received agreement was refused.
#[derive(Debug, thiserror::Error)]
pub enum AgreementError {
    /// The signature does not verify.
    #[error("the agreement's signature is invalid: {0}")]
    BadSignature(#[from] VerifyError),
    /// The signature covers another agreement.
    #[error(
        "the agreement's signature is invalid: the signed agreement differs from the one sent"
    )]
    Altered,
    /// A term differs from what was negotiated.
    #[error("the agreement's `{field}` is `{found}`, expected `{expected}`")]
    Mismatch {
        /// The member.
        field: &'static str,
        /// What it says.
        found: String,
        /// What it should say.
        expected: String,
    },
}

/// What a consumer keeps of a verified agreement.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The ODRL agreement without its signature.
    pub odrl: Value,
    /// The provider's signature, when it signs agreements.
    pub signature: Option<String>,
    /// The action granted.
    pub action: String,
    /// The obligations its duties impose.
    pub obligations: Vec<Obligation>,
}

/// Checks a received agreement: assigned by `provider` to `assignee`, for `offer_id`, and
/// signed by `provider` when it carries a `signature` (an agreement from a provider that does
/// not sign agreements is taken from that authenticated provider as it is).
pub async fn verify(
    body: &AgreementBody,
    provider: &str,
    assignee: &str,
    offer_id: &str,
    resolver: &DidResolver,
) -> Result<Verified, AgreementError> {
    let signature = body.signature.clone();
    let unsigned = AgreementBody {
        signature: None,
        ..body.clone()
    };
    let odrl = serde_json::to_value(&unsigned).unwrap_or(Value::Null);
    if let Some(signature) = &signature {
        let decoded = jose::decode(signature)?;
        if decoded.payload != odrl {
            return Err(AgreementError::Altered);
        }
        decoded.verify(signature, provider, resolver).await?;
    }
    for (field, found, expected) in [
        ("assigner", &body.assigner, provider),
        ("assignee", &body.assignee, assignee),
        ("target", &body.target, offer_id),
    ] {
        if found != expected {
            return Err(AgreementError::Mismatch {
                field,
                found: found.chars().take(200).collect(),
                expected: expected.to_owned(),
            });
        }
    }
    let obligations = body
        .terms
        .get("obligation")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(symbolon_policy::odrl::read_duty)
        .map(|(name, params)| Obligation {
            name,
            params,
            policy: None,
        })
        .collect();
    Ok(Verified {
        action: granted_action(&body.terms),
        odrl,
        signature,
        obligations,
    })
}

/// The action of the agreement's first permission, without the profile's prefix.
fn granted_action(terms: &Map<String, Value>) -> String {
    let action = terms
        .get("permission")
        .and_then(Value::as_array)
        .and_then(|p| p.first())
        .and_then(|p| p.get("action"))
        .and_then(action_name)
        .unwrap_or_default();
    let prefix = symbolon_policy::odrl::profile_iri("");
    let action = action.strip_prefix(&prefix).unwrap_or(action);
    action.strip_prefix("odrl:").unwrap_or(action).to_owned()
}

/// The name of an ODRL action: a string, or an action with a refinement (`{"rdf:value":
/// {"@id": …}}`, possibly in a list of one).
fn action_name(action: &Value) -> Option<&str> {
    match action {
        Value::String(name) => Some(name),
        Value::Array(items) => items.first().and_then(action_name),
        Value::Object(object) => object
            .get("rdf:value")
            .or_else(|| object.get("value"))
            .and_then(action_name)
            .or_else(|| object.get("@id").and_then(Value::as_str)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_granted_action_is_read_in_every_odrl_form() {
        for action in [
            json!("use"),
            json!("odrl:use"),
            json!({"@id": "odrl:use"}),
            json!([{"rdf:value": {"@id": "odrl:use"}, "refinement": [{"leftOperand": "x"}]}]),
            json!({"rdf:value": {"@id": symbolon_policy::odrl::profile_iri("use")}}),
        ] {
            let terms = json!({"permission": [{"action": action.clone()}]});
            assert_eq!(
                granted_action(terms.as_object().unwrap()),
                "use",
                "{action}"
            );
        }
        let none = json!({"permission": [{}]});
        assert_eq!(granted_action(none.as_object().unwrap()), "");
    }
}
