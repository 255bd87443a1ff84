//! The transfer process's messages (Dataspace Protocol 2025-1), one type per message for both
//! directions, with the `DataAddress` a start message (or a push request) carries.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Message;
use crate::transfer::state::TransferState;

/// The `@type` of a data address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DataAddressType {
    /// `DataAddress`.
    DataAddress,
}

/// The `@type` of an endpoint property.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EndpointPropertyType {
    /// `EndpointProperty`.
    EndpointProperty,
}

/// One of a data address's `endpointProperties` (`authorization`, `authType`, ...). Its
/// `Debug` never shows the value of a token (`authorization`, `refreshToken`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EndpointProperty {
    /// Always `EndpointProperty`.
    #[serde(rename = "@type")]
    #[schema(value_type = String)]
    pub kind: EndpointPropertyType,
    /// Its name.
    pub name: String,
    /// Its value.
    pub value: String,
}

impl EndpointProperty {
    /// A property `name` = `value`.
    pub fn new(name: &str, value: impl Into<String>) -> Self {
        EndpointProperty {
            kind: EndpointPropertyType::EndpointProperty,
            name: name.to_owned(),
            value: value.into(),
        }
    }

    /// Whether it is named `name`, bare or in EDC's namespace
    /// (`https://w3id.org/edc/v0.0.1/ns/<name>`).
    pub fn is(&self, name: &str) -> bool {
        self.name == name
            || self
                .name
                .strip_prefix(EDC_NAMESPACE)
                .is_some_and(|rest| rest == name)
    }
}

impl std::fmt::Debug for EndpointProperty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secret = self.is("authorization") || self.is("refreshToken");
        f.debug_struct("EndpointProperty")
            .field("name", &self.name)
            .field("value", if secret { &".." } else { &self.value })
            .finish()
    }
}

/// The namespace EDC-based connectors give data address properties.
pub const EDC_NAMESPACE: &str = "https://w3id.org/edc/v0.0.1/ns/";

/// Where and how the data can be had: sent by a provider starting a pull transfer, or by a
/// consumer requesting a push transfer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataAddress {
    /// Always `DataAddress`.
    #[serde(rename = "@type")]
    #[schema(value_type = String)]
    pub kind: DataAddressType,
    /// The kind of transport (e.g. `https://w3id.org/idsa/v4.1/HTTP`).
    pub endpoint_type: String,
    /// The endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// The transport's properties; never sent empty (the protocol wants at least one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub endpoint_properties: Vec<EndpointProperty>,
}

impl DataAddress {
    /// The value of the endpoint property `name` (bare or EDC-namespaced).
    pub fn property(&self, name: &str) -> Option<&str> {
        self.endpoint_properties
            .iter()
            .find(|p| p.is(name))
            .map(|p| p.value.as_str())
    }

    /// The endpoint: the `endpoint` member, or an `endpoint` property (as EDC sends it).
    pub fn endpoint(&self) -> Option<&str> {
        self.endpoint
            .as_deref()
            .or_else(|| self.property("endpoint"))
    }

    /// Replaces (or adds) the endpoint property `name`.
    pub fn set_property(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        match self.endpoint_properties.iter_mut().find(|p| p.is(name)) {
            Some(property) => property.value = value,
            None => self
                .endpoint_properties
                .push(EndpointProperty::new(name, value)),
        }
    }
}

/// `TransferRequestMessage` (consumer → provider): opens a transfer process.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferRequestMessage {
    /// The consumer's process id.
    pub consumer_pid: String,
    /// The agreement the dataset is requested under.
    pub agreement_id: String,
    /// One of the formats the dataset's distributions name.
    pub format: String,
    /// Where the provider pushes the data (push formats only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_address: Option<DataAddress>,
    /// Where the provider sends its messages.
    pub callback_address: String,
}

impl Message for TransferRequestMessage {
    const TYPE: &'static str = "TransferRequestMessage";
}

/// `TransferStartMessage`: the provider started the transfer, or either party restarts a
/// suspended one.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferStartMessage {
    /// The provider's process id.
    pub provider_pid: String,
    /// The consumer's process id.
    pub consumer_pid: String,
    /// Where the consumer pulls the data (pull formats only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_address: Option<DataAddress>,
}

impl Message for TransferStartMessage {
    const TYPE: &'static str = "TransferStartMessage";
}

/// `TransferSuspensionMessage` (either party).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferSuspensionMessage {
    /// The provider's process id.
    pub provider_pid: String,
    /// The consumer's process id.
    pub consumer_pid: String,
    /// A code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Why (at least one item when present).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Vec<Value>>,
}

impl Message for TransferSuspensionMessage {
    const TYPE: &'static str = "TransferSuspensionMessage";
}

/// `TransferCompletionMessage` (either party).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferCompletionMessage {
    /// The provider's process id.
    pub provider_pid: String,
    /// The consumer's process id.
    pub consumer_pid: String,
}

impl Message for TransferCompletionMessage {
    const TYPE: &'static str = "TransferCompletionMessage";
}

/// `TransferTerminationMessage` (either party).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferTerminationMessage {
    /// The provider's process id.
    pub provider_pid: String,
    /// The consumer's process id.
    pub consumer_pid: String,
    /// A code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Why (at least one item when present).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Vec<Value>>,
}

impl Message for TransferTerminationMessage {
    const TYPE: &'static str = "TransferTerminationMessage";
}

/// `TransferProcess`: a process's state, as either side acknowledges or answers it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferProcess {
    /// The provider's process id.
    pub provider_pid: String,
    /// The consumer's process id.
    pub consumer_pid: String,
    /// The state.
    pub state: TransferState,
}

impl Message for TransferProcess {
    const TYPE: &'static str = "TransferProcess";
}

/// `TransferError`. The protocol requires both process ids; one this side does not know is
/// sent empty.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferError {
    /// The provider's process id.
    pub provider_pid: String,
    /// The consumer's process id.
    pub consumer_pid: String,
    /// The status code, as text.
    pub code: String,
    /// Why.
    pub reason: Vec<String>,
}

impl Message for TransferError {
    const TYPE: &'static str = "TransferError";
}

/// Reasons as a message carries them: absent rather than empty (the protocol wants at least
/// one).
pub fn reasons(reasons: &[String]) -> Option<Vec<Value>> {
    (!reasons.is_empty()).then(|| reasons.iter().cloned().map(Value::String).collect())
}

/// Reasons a message carried, as text.
pub fn reason_texts(reason: Option<Vec<Value>>) -> Vec<String> {
    reason
        .unwrap_or_default()
        .into_iter()
        .map(|r| match r {
            Value::String(s) => s,
            other => other.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::{parse, to_json, DSP_CONTEXT};
    use super::*;
    use serde_json::json;

    #[test]
    fn a_request_parses_with_its_data_address_and_names_a_missing_field() {
        let body = json!({
            "@context": [DSP_CONTEXT], "@type": "TransferRequestMessage",
            "consumerPid": "urn:uuid:c", "agreementId": "urn:uuid:a", "format": "x",
            "callbackAddress": "https://c.example/cb",
            "dataAddress": {"@type": "DataAddress", "endpointType": "https://w3id.org/idsa/v4.1/HTTP",
                            "endpointProperties": [{"@type": "EndpointProperty", "name": "authType", "value": "bearer"}]}
        });
        let message: TransferRequestMessage = parse(&body).unwrap();
        assert_eq!(message.agreement_id, "urn:uuid:a");
        let address = message.data_address.unwrap();
        assert_eq!(address.endpoint_properties[0].name, "authType");
        let mut missing = body.clone();
        missing.as_object_mut().unwrap().remove("callbackAddress");
        let error = parse::<TransferRequestMessage>(&missing).unwrap_err();
        assert_eq!(error.reason, "missing field `callbackAddress`");
    }

    #[test]
    fn empty_reasons_are_left_out() {
        let message = TransferTerminationMessage {
            provider_pid: "p".into(),
            consumer_pid: "c".into(),
            code: None,
            reason: reasons(&[]),
        };
        assert_eq!(
            to_json(&message),
            json!({"@context": [DSP_CONTEXT], "@type": "TransferTerminationMessage",
                   "providerPid": "p", "consumerPid": "c"})
        );
        assert_eq!(
            reason_texts(Some(vec![json!("a"), json!({"b": 1})])),
            ["a", "{\"b\":1}"]
        );
    }
}
