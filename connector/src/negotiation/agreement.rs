//! Agreements signed by the provider: a compact JWS over the ODRL agreement, carried inside it
//! as `signature`, checked by the consumer before it stores the agreement.

use serde_json::{json, Map, Value};
use symbolon_identity::{jose, DidResolver, Identity};

use crate::store::agreements::Agreement;
use crate::store::offers::Offer;

/// The JWS `typ` of a signed agreement.
pub const AGREEMENT_TYP: &str = "symbolon-agreement+jwt";

/// Everything an agreement needs besides the provider's key.
pub struct Terms<'a> {
    /// The offer.
    pub offer: &'a Offer,
    /// Its policy as an ODRL offer (rules without target).
    pub odrl_offer: &'a Value,
    /// The consumer.
    pub assignee: &'a str,
    /// The provider's process id.
    pub provider_pid: &'a str,
    /// The consumer's process id.
    pub consumer_pid: &'a str,
    /// The obligations of the deciding policies: `[{policy, name, params}]`.
    pub obligations: Value,
}

/// Builds and signs the agreement.
pub fn sign(identity: &Identity, terms: Terms<'_>) -> Agreement {
    let id = format!("urn:uuid:{}", uuid::Uuid::new_v4());
    let timestamp = symbolon_identity::credential::format_time(chrono::Utc::now());
    let mut odrl = Map::new();
    odrl.insert("@id".into(), id.clone().into());
    odrl.insert("@type".into(), "Agreement".into());
    for (name, value) in terms.odrl_offer.as_object().into_iter().flatten() {
        if matches!(
            name.as_str(),
            "permission" | "prohibition" | "obligation" | "profile"
        ) {
            odrl.insert(name.clone(), value.clone());
        }
    }
    odrl.insert("target".into(), terms.offer.id.clone().into());
    odrl.insert("assigner".into(), identity.did.as_str().into());
    odrl.insert("assignee".into(), terms.assignee.into());
    odrl.insert("timestamp".into(), timestamp.clone().into());
    let duties = duties(&terms.obligations);
    if !duties.is_empty() {
        odrl.insert("obligation".into(), Value::Array(duties));
    }
    let odrl = Value::Object(odrl);
    let signature = jose::sign(
        &identity.key,
        &identity.verification_method(),
        AGREEMENT_TYP,
        &odrl,
    );
    Agreement {
        id,
        offer_id: terms.offer.id.clone(),
        provider: identity.did.as_str().to_owned(),
        assignee: terms.assignee.to_owned(),
        provider_pid: terms.provider_pid.to_owned(),
        consumer_pid: terms.consumer_pid.to_owned(),
        policy: terms.offer.policy.clone(),
        action: terms.offer.action.clone(),
        obligations: terms.obligations,
        odrl,
        signature,
        timestamp,
    }
}

/// The agreement as the `agreement` member of a `ContractAgreementMessage`.
pub fn message_body(agreement: &Agreement) -> Value {
    let mut body = agreement.odrl.clone();
    if let Some(object) = body.as_object_mut() {
        object.insert("signature".into(), agreement.signature.clone().into());
    }
    body
}

/// Obligations as ODRL duties whose constraints carry the parameters.
fn duties(obligations: &Value) -> Vec<Value> {
    obligations
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| {
            let constraints: Vec<Value> = o
                .get("params")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .map(|(name, value)| {
                    let right = match value {
                        Value::String(_) | Value::Array(_) | Value::Object(_) => value.clone(),
                        other => json!({ "@value": other }),
                    };
                    json!({
                        "leftOperand": format!("{}#{name}", symbolon_policy::schema::PROFILE),
                        "operator": "eq",
                        "rightOperand": right,
                    })
                })
                .collect();
            let action = format!(
                "{}#{}",
                symbolon_policy::schema::PROFILE,
                o.get("name").and_then(Value::as_str).unwrap_or_default()
            );
            if constraints.is_empty() {
                json!({ "action": action })
            } else {
                json!({ "action": action, "constraint": constraints })
            }
        })
        .collect()
}

/// Why a received agreement was refused.
#[derive(Debug, thiserror::Error)]
pub enum AgreementError {
    /// No signature.
    #[error("the agreement carries no `signature`")]
    Unsigned,
    /// The signature does not verify or does not cover the agreement.
    #[error("the agreement's signature is invalid: {0}")]
    BadSignature(String),
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

/// Checks a received agreement (the message's `agreement` member): signed by `provider`,
/// assigned to `assignee`, for `offer_id`. Returns the agreement without its signature and the
/// signature.
pub async fn verify(
    body: &Value,
    provider: &str,
    assignee: &str,
    offer_id: &str,
    resolver: &DidResolver,
) -> Result<(Value, String), AgreementError> {
    let mut odrl = body.clone();
    let signature = odrl
        .as_object_mut()
        .and_then(|o| o.remove("signature"))
        .and_then(|s| s.as_str().map(str::to_owned))
        .ok_or(AgreementError::Unsigned)?;
    let decoded =
        jose::decode(&signature).map_err(|e| AgreementError::BadSignature(e.to_string()))?;
    if decoded.payload != odrl {
        return Err(AgreementError::BadSignature(
            "the signed agreement differs from the one sent".into(),
        ));
    }
    decoded
        .verify(&signature, provider, resolver)
        .await
        .map_err(|e| AgreementError::BadSignature(e.to_string()))?;
    for (field, expected) in [
        ("assigner", provider),
        ("assignee", assignee),
        ("target", offer_id),
    ] {
        let found = odrl.get(field).and_then(Value::as_str).unwrap_or_default();
        if found != expected {
            return Err(AgreementError::Mismatch {
                field,
                found: found.to_owned(),
                expected: expected.to_owned(),
            });
        }
    }
    Ok((odrl, signature))
}
