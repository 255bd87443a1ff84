//! Typed Dataspace Protocol 2025-1 messages, one type per message for both directions (the
//! transfer process's in [`transfer`]): incoming ones are parsed strictly (a missing required
//! field, a wrong type or a process id outside [`pid::check`]'s set is an error naming the
//! field), outgoing ones are serialised with [`envelope`].

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::pid;
use crate::negotiation::state::NegotiationState;

pub mod transfer;

pub use transfer::{
    DataAddress, EndpointProperty, TransferCompletionMessage, TransferError, TransferProcess,
    TransferRequestMessage, TransferStartMessage, TransferSuspensionMessage,
    TransferTerminationMessage,
};

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

/// A message type of the protocol.
pub trait Message: DeserializeOwned + Serialize {
    /// Its `@type`.
    const TYPE: &'static str;
}

/// A message as it is sent: the protocol's `@context`, its `@type` and its members.
#[derive(Debug, Serialize)]
pub struct Envelope<'a, M> {
    #[serde(rename = "@context")]
    context: [&'static str; 1],
    #[serde(rename = "@type")]
    kind: &'static str,
    #[serde(flatten)]
    message: &'a M,
}

/// `message` with the protocol's `@context` and its `@type`, ready to send.
pub fn envelope<M: Message>(message: &M) -> Envelope<'_, M> {
    Envelope {
        context: [DSP_CONTEXT],
        kind: M::TYPE,
        message,
    }
}

/// `message` as JSON, enveloped.
pub fn to_json<M: Message>(message: &M) -> Value {
    // A message type is plain data: serialising it to a JSON value cannot fail.
    serde_json::to_value(envelope(message)).unwrap_or(Value::Null)
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
    parse_members(body)
}

/// Parses `body` as a message of type `M` without checking `@context` and `@type` (a
/// counterparty's answer), naming the field at fault in any error.
pub fn parse_members<M: Message>(body: &Value) -> Result<M, MessageError> {
    let error = |reason: String| MessageError {
        message: M::TYPE,
        reason,
    };
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

/// An ODRL offer inside a message: `@id` and `@type` are required, `target` and the rules are
/// read, any other member is kept as it came.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageOffer {
    /// The offer's id.
    #[serde(rename = "@id")]
    pub id: String,
    /// Always `Offer`.
    #[serde(rename = "@type")]
    pub kind: OfferType,
    /// The dataset or computation it is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Its permissions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission: Option<Vec<Value>>,
    /// Its prohibitions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prohibition: Option<Vec<Value>>,
    /// Its obligations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub obligation: Option<Vec<Value>>,
    /// Any other member (`profile`, `assigner`, ...).
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl MessageOffer {
    /// An offer with `id` and no rules.
    pub fn new(id: &str) -> Self {
        MessageOffer {
            id: id.to_owned(),
            kind: OfferType::Offer,
            target: None,
            permission: None,
            prohibition: None,
            obligation: None,
            other: Map::new(),
        }
    }
}

/// The `@type` of an offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OfferType {
    /// `Offer`.
    Offer,
}

/// `ContractRequestMessage` (consumer → provider).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContractRequestMessage {
    /// The consumer's process id.
    #[serde(deserialize_with = "pid::deserialize")]
    pub consumer_pid: String,
    /// The provider's process id (a counter-request).
    #[serde(
        default,
        deserialize_with = "pid::deserialize_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub provider_pid: Option<String>,
    /// The offer requested.
    pub offer: MessageOffer,
    /// Where the provider sends its messages (an initial request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_address: Option<String>,
}

impl Message for ContractRequestMessage {
    const TYPE: &'static str = "ContractRequestMessage";
}

/// `ContractOfferMessage` (provider → consumer).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContractOfferMessage {
    /// The provider's process id.
    #[serde(deserialize_with = "pid::deserialize")]
    pub provider_pid: String,
    /// The consumer's process id (a counter-offer).
    #[serde(
        default,
        deserialize_with = "pid::deserialize_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub consumer_pid: Option<String>,
    /// The offer.
    pub offer: MessageOffer,
    /// Where the consumer sends its messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_address: Option<String>,
}

impl Message for ContractOfferMessage {
    const TYPE: &'static str = "ContractOfferMessage";
}

/// The ODRL agreement inside a `ContractAgreementMessage`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgreementBody {
    /// Its id.
    #[serde(rename = "@id")]
    pub id: String,
    /// Always `Agreement`.
    #[serde(rename = "@type")]
    pub kind: AgreementType,
    /// The offer it is for.
    pub target: String,
    /// The provider.
    pub assigner: String,
    /// The consumer.
    pub assignee: String,
    /// When it was agreed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// The provider's signature (a Symbolon extension: a compact JWS over the agreement
    /// without this member).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// The rules (`permission`, `prohibition`, `obligation`) and any other member.
    #[serde(flatten)]
    pub terms: Map<String, Value>,
}

/// The `@type` of an agreement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AgreementType {
    /// `Agreement`.
    Agreement,
}

/// `ContractAgreementMessage` (provider → consumer).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContractAgreementMessage {
    /// The provider's process id.
    #[serde(deserialize_with = "pid::deserialize")]
    pub provider_pid: String,
    /// The consumer's process id.
    #[serde(deserialize_with = "pid::deserialize")]
    pub consumer_pid: String,
    /// The agreement.
    pub agreement: AgreementBody,
    /// Where the consumer sends its messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_address: Option<String>,
}

impl Message for ContractAgreementMessage {
    const TYPE: &'static str = "ContractAgreementMessage";
}

/// `ContractAgreementVerificationMessage` (consumer → provider).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContractAgreementVerificationMessage {
    /// The provider's process id.
    #[serde(deserialize_with = "pid::deserialize")]
    pub provider_pid: String,
    /// The consumer's process id.
    #[serde(deserialize_with = "pid::deserialize")]
    pub consumer_pid: String,
    /// Symbolon extension: the consumer's signed audit tree head, for the provider to witness.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tree_head: Option<String>,
}

impl Message for ContractAgreementVerificationMessage {
    const TYPE: &'static str = "ContractAgreementVerificationMessage";
}

/// The events a `ContractNegotiationEventMessage` carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventType {
    /// The consumer accepted the offer.
    Accepted,
    /// The provider finalised the agreement.
    Finalized,
}

/// `ContractNegotiationEventMessage`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContractNegotiationEventMessage {
    /// The provider's process id.
    #[serde(deserialize_with = "pid::deserialize")]
    pub provider_pid: String,
    /// The consumer's process id.
    #[serde(deserialize_with = "pid::deserialize")]
    pub consumer_pid: String,
    /// `ACCEPTED` or `FINALIZED`.
    pub event_type: EventType,
    /// Symbolon extension: the provider's signed audit tree head (with `FINALIZED`), for the
    /// consumer to witness.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tree_head: Option<String>,
}

impl Message for ContractNegotiationEventMessage {
    const TYPE: &'static str = "ContractNegotiationEventMessage";
}

/// `ContractNegotiationTerminationMessage`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContractNegotiationTerminationMessage {
    /// The provider's process id.
    #[serde(deserialize_with = "pid::deserialize")]
    pub provider_pid: String,
    /// The consumer's process id.
    #[serde(deserialize_with = "pid::deserialize")]
    pub consumer_pid: String,
    /// A code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Vec<Value>>,
}

impl Message for ContractNegotiationTerminationMessage {
    const TYPE: &'static str = "ContractNegotiationTerminationMessage";
}

/// `ContractNegotiation`: a negotiation's state, as either side answers it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContractNegotiation {
    /// The provider's process id.
    #[serde(deserialize_with = "pid::deserialize")]
    pub provider_pid: String,
    /// The consumer's process id.
    #[serde(deserialize_with = "pid::deserialize")]
    pub consumer_pid: String,
    /// The state.
    pub state: NegotiationState,
}

impl Message for ContractNegotiation {
    const TYPE: &'static str = "ContractNegotiation";
}

/// `ContractNegotiationError`. The protocol requires both process ids; one this side does not
/// know is sent empty.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContractNegotiationError {
    /// The provider's process id.
    pub provider_pid: String,
    /// The consumer's process id.
    pub consumer_pid: String,
    /// The status code, as text.
    pub code: String,
    /// Why.
    pub reason: Vec<String>,
}

impl Message for ContractNegotiationError {
    const TYPE: &'static str = "ContractNegotiationError";
}

/// `CatalogRequestMessage`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CatalogRequestMessage {
    /// Filters: none are supported, so a request with any is refused (400) rather than
    /// answered with the unfiltered catalog.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<Vec<Value>>,
}

impl Message for CatalogRequestMessage {
    const TYPE: &'static str = "CatalogRequestMessage";
}

/// `CatalogError`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CatalogError {
    /// The status code, as text.
    pub code: String,
    /// Why.
    pub reason: Vec<String>,
}

impl Message for CatalogError {
    const TYPE: &'static str = "CatalogError";
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
    fn a_process_id_outside_the_charset_is_named() {
        let mut body = request();
        body["consumerPid"] = json!("../../admin/delete-everything?confirm=yes#");
        let error = parse::<ContractRequestMessage>(&body).unwrap_err();
        assert!(
            error
                .reason
                .starts_with("field `consumerPid`: a process id must start with a letter"),
            "{}",
            error.reason
        );
        let mut body = request();
        body["providerPid"] = json!("p/../x");
        let error = parse::<ContractRequestMessage>(&body).unwrap_err();
        assert!(
            error.reason.starts_with("field `providerPid`"),
            "{}",
            error.reason
        );
        let answer = json!({"@context": [DSP_CONTEXT], "@type": "ContractNegotiation",
                            "providerPid": "urn:uuid:p", "consumerPid": "", "state": "OFFERED"});
        let error = parse::<ContractNegotiation>(&answer).unwrap_err();
        assert!(
            error.reason.starts_with("field `consumerPid`"),
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

    #[test]
    fn an_outgoing_message_carries_context_and_type() {
        let message = ContractNegotiation {
            provider_pid: "urn:uuid:p".into(),
            consumer_pid: "urn:uuid:c".into(),
            state: NegotiationState::Finalized,
        };
        assert_eq!(
            to_json(&message),
            json!({"@context": [DSP_CONTEXT], "@type": "ContractNegotiation",
                   "providerPid": "urn:uuid:p", "consumerPid": "urn:uuid:c", "state": "FINALIZED"})
        );
    }

    #[test]
    fn unknown_offer_members_are_kept() {
        let mut body = request();
        body["offer"]["profile"] = json!("https://w3id.org/symbolon/odrl/health");
        let message: ContractRequestMessage = parse(&body).unwrap();
        let sent = to_json(&message);
        assert_eq!(
            sent["offer"]["profile"],
            "https://w3id.org/symbolon/odrl/health"
        );
        assert!(sent.get("providerPid").is_none());
    }
}
