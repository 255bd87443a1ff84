//! Typed Dataspace Protocol 2025-1 messages: incoming ones are parsed strictly (a missing
//! required field or a wrong type is an error naming the field), outgoing ones are built here.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::state::NegotiationState;

/// The Dataspace Protocol 2025-1 JSON-LD context.
pub const DSP_CONTEXT: &str = "https://w3id.org/dspace/2025/1/context.jsonld";

/// A message that could not be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}: {reason}")]
pub struct MessageError {
    /// The message type expected.
    pub message: &'static str,
    /// What is wrong, naming the field.
    pub reason: String,
}

/// A message type this module can parse.
pub trait Message: DeserializeOwned {
    /// Its `@type`.
    const TYPE: &'static str;
}

/// Parses `body` as a message of type `M`, checking `@context` and `@type` and naming the
/// field at fault in any error.
pub fn parse<M: Message>(body: &Value) -> Result<M, MessageError> {
    let error = |reason: String| MessageError {
        message: M::TYPE,
        reason,
    };
    let object = body
        .as_object()
        .ok_or_else(|| error("the message must be a JSON object".into()))?;
    match object.get("@type") {
        Some(Value::String(t)) if t == M::TYPE => {}
        Some(Value::String(t)) => {
            return Err(error(format!(
                "field `@type` is `{}`, expected `{}`",
                truncate(t),
                M::TYPE
            )))
        }
        Some(_) => return Err(error("field `@type` must be a string".into())),
        None => return Err(error("missing field `@type`".into())),
    }
    match object.get("@context") {
        Some(Value::Array(items)) if items.iter().any(|c| c == DSP_CONTEXT) => {}
        Some(Value::Array(_)) => {
            return Err(error(format!(
                "field `@context` must contain `{DSP_CONTEXT}`"
            )))
        }
        Some(_) => return Err(error("field `@context` must be an array of strings".into())),
        None => return Err(error("missing field `@context`".into())),
    }
    serde_path_to_error::deserialize(body).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        let inner = inner
            .split(" at line ")
            .next()
            .unwrap_or_default()
            .to_owned();
        if path == "." || inner.starts_with("missing field") {
            let at = if path == "." {
                String::new()
            } else {
                format!(" in `{path}`")
            };
            error(format!("{inner}{at}"))
        } else {
            error(format!("field `{path}`: {inner}"))
        }
    })
}

fn truncate(text: &str) -> String {
    text.chars().take(64).collect()
}

/// An ODRL offer inside a message: `@id` and `@type` are required, the rest is kept as is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageOffer {
    /// The offer's id.
    #[serde(rename = "@id")]
    pub id: String,
    /// Always `Offer`.
    #[serde(rename = "@type")]
    pub kind: OfferType,
    /// The dataset or computation it is for.
    #[serde(default)]
    pub target: Option<String>,
    /// Its permissions.
    #[serde(default)]
    pub permission: Option<Vec<Value>>,
    /// Its prohibitions.
    #[serde(default)]
    pub prohibition: Option<Vec<Value>>,
    /// Its obligations.
    #[serde(default)]
    pub obligation: Option<Vec<Value>>,
}

/// The `@type` of an offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OfferType {
    /// `Offer`.
    Offer,
}

/// `ContractRequestMessage` (consumer → provider).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContractRequestMessage {
    /// The consumer's process id.
    pub consumer_pid: String,
    /// The provider's process id (a counter-request).
    #[serde(default)]
    pub provider_pid: Option<String>,
    /// The offer requested.
    pub offer: MessageOffer,
    /// Where the provider sends its messages (an initial request).
    #[serde(default)]
    pub callback_address: Option<String>,
}

impl Message for ContractRequestMessage {
    const TYPE: &'static str = "ContractRequestMessage";
}

/// `ContractOfferMessage` (provider → consumer).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContractOfferMessage {
    /// The provider's process id.
    pub provider_pid: String,
    /// The consumer's process id (a counter-offer).
    #[serde(default)]
    pub consumer_pid: Option<String>,
    /// The offer.
    pub offer: MessageOffer,
    /// Where the consumer sends its messages.
    #[serde(default)]
    pub callback_address: Option<String>,
}

impl Message for ContractOfferMessage {
    const TYPE: &'static str = "ContractOfferMessage";
}

/// The ODRL agreement inside a `ContractAgreementMessage`.
#[derive(Debug, Clone, Deserialize)]
pub struct AgreementBody {
    /// Its id.
    #[serde(rename = "@id")]
    pub id: String,
    /// The offer it is for.
    pub target: String,
    /// The provider.
    pub assigner: String,
    /// The consumer.
    pub assignee: String,
    /// When it was agreed.
    #[serde(default)]
    pub timestamp: Option<String>,
    /// The provider's signature (compact JWS over the agreement without this member).
    #[serde(default)]
    pub signature: Option<String>,
}

/// `ContractAgreementMessage` (provider → consumer).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContractAgreementMessage {
    /// The provider's process id.
    pub provider_pid: String,
    /// The consumer's process id.
    pub consumer_pid: String,
    /// The agreement.
    pub agreement: AgreementBody,
}

impl Message for ContractAgreementMessage {
    const TYPE: &'static str = "ContractAgreementMessage";
}

/// `ContractAgreementVerificationMessage` (consumer → provider).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContractAgreementVerificationMessage {
    /// The provider's process id.
    pub provider_pid: String,
    /// The consumer's process id.
    pub consumer_pid: String,
    /// Symbolon extension: the consumer's signed audit tree head, for the provider to witness.
    #[serde(default)]
    pub tree_head: Option<String>,
}

impl Message for ContractAgreementVerificationMessage {
    const TYPE: &'static str = "ContractAgreementVerificationMessage";
}

/// The events a `ContractNegotiationEventMessage` carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventType {
    /// The consumer accepted the offer.
    Accepted,
    /// The provider finalised the agreement.
    Finalized,
}

/// `ContractNegotiationEventMessage`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContractNegotiationEventMessage {
    /// The provider's process id.
    pub provider_pid: String,
    /// The consumer's process id.
    pub consumer_pid: String,
    /// `ACCEPTED` or `FINALIZED`.
    pub event_type: EventType,
    /// Symbolon extension: the provider's signed audit tree head (with `FINALIZED`), for the
    /// consumer to witness.
    #[serde(default)]
    pub tree_head: Option<String>,
}

impl Message for ContractNegotiationEventMessage {
    const TYPE: &'static str = "ContractNegotiationEventMessage";
}

/// `ContractNegotiationTerminationMessage`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContractNegotiationTerminationMessage {
    /// The provider's process id.
    pub provider_pid: String,
    /// The consumer's process id.
    pub consumer_pid: String,
    /// A code.
    #[serde(default)]
    pub code: Option<String>,
    /// Why.
    #[serde(default)]
    pub reason: Option<Vec<Value>>,
}

impl Message for ContractNegotiationTerminationMessage {
    const TYPE: &'static str = "ContractNegotiationTerminationMessage";
}

/// `CatalogRequestMessage`.
#[derive(Debug, Clone, Deserialize)]
pub struct CatalogRequestMessage {
    /// Filters (not interpreted: the whole catalog the caller may see is returned).
    #[serde(default)]
    pub filter: Option<Vec<Value>>,
}

impl Message for CatalogRequestMessage {
    const TYPE: &'static str = "CatalogRequestMessage";
}

/// Builds an outgoing message of `kind` with the DSP context and `members`.
pub fn build(kind: &str, members: Value) -> Value {
    let mut message = json!({ "@context": [DSP_CONTEXT], "@type": kind });
    if let (Some(out), Value::Object(members)) = (message.as_object_mut(), members) {
        out.extend(members);
    }
    message
}

/// The `ContractNegotiation` a provider or consumer answers with.
pub fn negotiation(provider_pid: &str, consumer_pid: &str, state: NegotiationState) -> Value {
    build(
        "ContractNegotiation",
        json!({ "providerPid": provider_pid, "consumerPid": consumer_pid, "state": state.as_str() }),
    )
}

/// A `ContractNegotiationError`.
pub fn negotiation_error(
    provider_pid: &str,
    consumer_pid: &str,
    code: &str,
    reasons: &[String],
) -> Value {
    build(
        "ContractNegotiationError",
        json!({ "providerPid": provider_pid, "consumerPid": consumer_pid, "code": code, "reason": reasons }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> Value {
        json!({
            "@context": [DSP_CONTEXT],
            "@type": "ContractRequestMessage",
            "consumerPid": "urn:uuid:c",
            "offer": {"@type": "Offer", "@id": "urn:uuid:o", "target": "t",
                      "permission": [{"action": "use"}]},
            "callbackAddress": "https://example.com/callback"
        })
    }

    #[test]
    fn a_valid_request_parses() {
        let message: ContractRequestMessage = parse(&request()).unwrap();
        assert_eq!(message.consumer_pid, "urn:uuid:c");
        assert_eq!(message.offer.id, "urn:uuid:o");
    }

    #[test]
    fn a_missing_field_is_named() {
        let mut body = request();
        body.as_object_mut().unwrap().remove("consumerPid");
        let error = parse::<ContractRequestMessage>(&body).unwrap_err();
        assert_eq!(error.reason, "missing field `consumerPid`");
        let mut body = request();
        body["offer"].as_object_mut().unwrap().remove("@id");
        let error = parse::<ContractRequestMessage>(&body).unwrap_err();
        assert_eq!(error.reason, "missing field `@id` in `offer`");
    }

    #[test]
    fn a_wrong_type_is_named() {
        let mut body = request();
        body["consumerPid"] = json!(42);
        let error = parse::<ContractRequestMessage>(&body).unwrap_err();
        assert!(
            error
                .reason
                .starts_with("field `consumerPid`: invalid type: number, expected a string"),
            "{}",
            error.reason
        );
        let mut body = request();
        body["offer"]["@type"] = json!("Agreement");
        let error = parse::<ContractRequestMessage>(&body).unwrap_err();
        assert!(
            error.reason.starts_with("field `offer.@type`"),
            "{}",
            error.reason
        );
    }

    #[test]
    fn type_and_context_are_checked() {
        let mut body = request();
        body["@type"] = json!("ContractOfferMessage");
        assert!(parse::<ContractRequestMessage>(&body)
            .unwrap_err()
            .reason
            .contains("expected `ContractRequestMessage`"));
        let mut body = request();
        body["@context"] = json!(["https://example.com/other"]);
        assert!(parse::<ContractRequestMessage>(&body)
            .unwrap_err()
            .reason
            .contains("@context"));
        assert!(parse::<ContractRequestMessage>(&json!([1])).is_err());
    }
}
