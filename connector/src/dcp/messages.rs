//! The issuance messages of the Decentralized Claims Protocol 1.0, as this connector writes and
//! reads them: `IssuerMetadata`, `CredentialRequestMessage`, `CredentialStatus` and
//! `CredentialMessage`. Every parser names the member it refuses.

use serde_json::{json, Value};

use crate::domain::{IssuanceRequest, IssuanceStatus};

/// The protocol's JSON-LD context.
pub const DCP_CONTEXT: &str = "https://w3id.org/dspace-dcp/v1.0/dcp.jsonld";

/// The member of a `CredentialRequestMessage` (an extension, a full IRI) that names the
/// holder's Credential Service when its DID document cannot (a `did:key` holder).
pub const CREDENTIAL_SERVICE_MEMBER: &str = "https://w3id.org/symbolon/v1#credentialService";

/// The credential profile this issuer signs: VC 2.0, Bitstring status lists, `vc+jwt`.
pub const PROFILE: &str = "vc20-bssl/jwt";

/// The credential types this issuer issues on request, with the reason it offers them.
pub const SUPPORTED: [(&str, &str); 3] = [
    (
        "DataSpaceMembershipCredential",
        "membership of the data space, for organisations in the authority's registry",
    ),
    (
        "TrialSiteCredential",
        "a site of a clinical trial, for organisations the registry names as one",
    ),
    (
        "DataPermitCredential",
        "a data permit (EHDS Art. 68) the issuer, a health data access body, granted to an \
         organisation its registry names",
    ),
];

/// Longest process id accepted.
pub const MAX_PID_CHARS: usize = 256;
/// Most credentials one request may ask for.
pub const MAX_CREDENTIALS: usize = 8;
/// Longest credential (payload) accepted in a `CredentialMessage`.
pub const MAX_PAYLOAD_CHARS: usize = 64 * 1024;

/// A message that breaks the protocol's rules, naming the member.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field `{field}`: {reason}")]
pub struct MessageError {
    /// The member (a JSON pointer-like path).
    pub field: String,
    /// Why.
    pub reason: String,
}

fn refuse(field: &str, reason: impl Into<String>) -> MessageError {
    MessageError {
        field: field.to_owned(),
        reason: reason.into(),
    }
}

/// The id of the `CredentialObject` for `credential_type`.
pub fn object_id(credential_type: &str) -> String {
    format!("urn:symbolon:credential-object:{credential_type}")
}

/// The `IssuerMetadata` of the issuer `did` (a `credentialSchema` points at the type's
/// definition in Symbolon's context).
pub fn metadata(did: &str) -> Value {
    let objects: Vec<Value> = SUPPORTED
        .iter()
        .map(|(credential_type, reason)| {
            json!({
                "id": object_id(credential_type),
                "type": "CredentialObject",
                "credentialType": credential_type,
                "credentialSchema": format!("https://w3id.org/symbolon/v1#{credential_type}"),
                "offerReason": reason,
                "bindingMethods": ["did:key", "did:web"],
                "profile": PROFILE,
            })
        })
        .collect();
    json!({
        "@context": [DCP_CONTEXT],
        "type": "IssuerMetadata",
        "issuer": did,
        "credentialsSupported": objects,
    })
}

/// The `CredentialStatus` of `request`.
pub fn status(request: &IssuanceRequest) -> Value {
    let mut status = json!({
        "@context": [DCP_CONTEXT],
        "type": "CredentialStatus",
        "issuerPid": request.issuer_pid,
        "holderPid": request.holder_pid,
        "status": request.status.as_str(),
    });
    if request.status == IssuanceStatus::Rejected {
        if let Some(object) = status.as_object_mut() {
            object.insert("rejectionReason".into(), request.reasons.join("; ").into());
        }
    }
    status
}

/// The `CredentialMessage` delivering `request`'s credentials (or its rejection).
pub fn credential_message(request: &IssuanceRequest) -> Value {
    let credentials: Vec<Value> = request
        .issued
        .iter()
        .map(|issued| {
            json!({
                "credentialType": issued.credential_type,
                "payload": issued.payload,
                "format": "jwt",
            })
        })
        .collect();
    let mut message = json!({
        "@context": [DCP_CONTEXT],
        "type": "CredentialMessage",
        "issuerPid": request.issuer_pid,
        "holderPid": request.holder_pid,
        "status": request.status.as_str(),
        "credentials": credentials,
    });
    if request.status == IssuanceStatus::Rejected {
        if let Some(object) = message.as_object_mut() {
            object.insert("rejectionReason".into(), request.reasons.join("; ").into());
        }
    }
    message
}

/// A `CredentialRequestMessage` for `credential_type`, delivered to `credential_service`.
pub fn request_message(holder_pid: &str, credential_type: &str, credential_service: &str) -> Value {
    json!({
        "@context": [DCP_CONTEXT],
        "type": "CredentialRequestMessage",
        "holderPid": holder_pid,
        "credentials": [{ "id": object_id(credential_type) }],
        CREDENTIAL_SERVICE_MEMBER: credential_service,
    })
}

/// What a `CredentialRequestMessage` asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialRequest {
    /// The holder's process id.
    pub holder_pid: String,
    /// The credential types, each supported.
    pub credential_types: Vec<String>,
    /// The holder's Credential Service, when the message names it.
    pub credential_service: Option<String>,
}

fn check_header(body: &Value, expected_type: &str) -> Result<(), MessageError> {
    if !body.is_object() {
        return Err(refuse("", "the message must be a JSON object"));
    }
    let contexts = body
        .get("@context")
        .and_then(Value::as_array)
        .ok_or_else(|| refuse("@context", "must be an array of strings"))?;
    if !contexts.iter().any(|c| c == DCP_CONTEXT) {
        return Err(refuse("@context", format!("must contain `{DCP_CONTEXT}`")));
    }
    match body.get("type").and_then(Value::as_str) {
        Some(found) if found == expected_type => Ok(()),
        Some(found) => Err(refuse(
            "type",
            format!(
                "is `{}`, not `{expected_type}`",
                found.chars().take(64).collect::<String>()
            ),
        )),
        None => Err(refuse("type", format!("must be `{expected_type}`"))),
    }
}

fn pid(body: &Value, field: &str) -> Result<String, MessageError> {
    let text = body
        .get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| refuse(field, "must be a string"))?;
    if text.is_empty() || text.chars().count() > MAX_PID_CHARS {
        return Err(refuse(
            field,
            format!("must have 1 to {MAX_PID_CHARS} characters"),
        ));
    }
    Ok(text.to_owned())
}

/// The credential type a request's `{id}` names: a `CredentialObject` id of [`metadata`], or
/// the type's name.
fn requested_type(id: &str) -> Option<&'static str> {
    SUPPORTED
        .iter()
        .map(|(credential_type, _)| *credential_type)
        .find(|t| id == *t || id == object_id(t))
}

/// Parses a `CredentialRequestMessage`.
pub fn parse_request(body: &Value) -> Result<CredentialRequest, MessageError> {
    check_header(body, "CredentialRequestMessage")?;
    let holder_pid = pid(body, "holderPid")?;
    let items = body
        .get("credentials")
        .and_then(Value::as_array)
        .ok_or_else(|| refuse("credentials", "must be an array"))?;
    if items.is_empty() || items.len() > MAX_CREDENTIALS {
        return Err(refuse(
            "credentials",
            format!("must name 1 to {MAX_CREDENTIALS} credentials"),
        ));
    }
    let mut credential_types = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let field = format!("credentials/{index}/id");
        let id = item
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| refuse(&field, "must be a string"))?;
        let credential_type = requested_type(id).ok_or_else(|| {
            refuse(
                &field,
                format!(
                    "`{}` is no credential this issuer offers (see its metadata)",
                    id.chars().take(100).collect::<String>()
                ),
            )
        })?;
        if !credential_types.iter().any(|t| t == credential_type) {
            credential_types.push(credential_type.to_owned());
        }
    }
    let credential_service = match body.get(CREDENTIAL_SERVICE_MEMBER) {
        None => None,
        Some(Value::String(url)) if url.len() <= 2048 => Some(url.clone()),
        Some(_) => {
            return Err(refuse(
                CREDENTIAL_SERVICE_MEMBER,
                "must be a URL of at most 2048 bytes",
            ))
        }
    };
    Ok(CredentialRequest {
        holder_pid,
        credential_types,
        credential_service,
    })
}

/// One credential a `CredentialMessage` carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Carried {
    /// Its type, as the issuer names it.
    pub credential_type: String,
    /// The credential (a `vc+jwt`).
    pub payload: String,
}

/// What a `CredentialMessage` delivers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The issuer's process id.
    pub issuer_pid: String,
    /// The holder's process id.
    pub holder_pid: String,
    /// `ISSUED` or `REJECTED`.
    pub status: IssuanceStatus,
    /// Why it was rejected.
    pub rejection_reason: Option<String>,
    /// The credentials.
    pub credentials: Vec<Carried>,
}

/// Parses a `CredentialMessage` (only `jwt` credentials are accepted).
pub fn parse_credential_message(body: &Value) -> Result<Delivery, MessageError> {
    check_header(body, "CredentialMessage")?;
    let issuer_pid = pid(body, "issuerPid")?;
    let holder_pid = pid(body, "holderPid")?;
    let status = match body.get("status").and_then(Value::as_str) {
        Some("ISSUED") => IssuanceStatus::Issued,
        Some("REJECTED") => IssuanceStatus::Rejected,
        _ => return Err(refuse("status", "must be `ISSUED` or `REJECTED`")),
    };
    let rejection_reason = body
        .get("rejectionReason")
        .and_then(Value::as_str)
        .map(|r| r.chars().take(2000).collect());
    let items = match body.get("credentials") {
        None => Vec::new(),
        Some(Value::Array(items)) => items.clone(),
        Some(_) => return Err(refuse("credentials", "must be an array")),
    };
    if items.len() > MAX_CREDENTIALS {
        return Err(refuse(
            "credentials",
            format!("must carry at most {MAX_CREDENTIALS} credentials"),
        ));
    }
    if status == IssuanceStatus::Issued && items.is_empty() {
        return Err(refuse(
            "credentials",
            "an `ISSUED` message carries credentials",
        ));
    }
    let mut credentials = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let text = |name: &str| {
            item.get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| refuse(&format!("credentials/{index}/{name}"), "must be a string"))
        };
        if text("format")? != "jwt" {
            return Err(refuse(
                &format!("credentials/{index}/format"),
                "only `jwt` credentials are accepted",
            ));
        }
        let payload = text("payload")?;
        if payload.len() > MAX_PAYLOAD_CHARS {
            return Err(refuse(
                &format!("credentials/{index}/payload"),
                format!("larger than {MAX_PAYLOAD_CHARS} bytes"),
            ));
        }
        credentials.push(Carried {
            credential_type: text("credentialType")?.chars().take(200).collect(),
            payload: payload.to_owned(),
        });
    }
    Ok(Delivery {
        issuer_pid,
        holder_pid,
        status,
        rejection_reason,
        credentials,
    })
}

/// A `CredentialOfferMessage`: who offers, and which credential types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    /// The issuer's DID.
    pub issuer: String,
    /// The credential types offered, with the reason given for each.
    pub credentials: Vec<(String, Option<String>)>,
}

/// Parses a `CredentialOfferMessage`.
pub fn parse_offer(body: &Value) -> Result<Offer, MessageError> {
    check_header(body, "CredentialOfferMessage")?;
    let issuer = body
        .get("issuer")
        .and_then(Value::as_str)
        .filter(|i| !i.is_empty() && i.len() <= MAX_PID_CHARS)
        .ok_or_else(|| refuse("issuer", "must be the issuer's DID"))?
        .to_owned();
    let items = body
        .get("credentials")
        .and_then(Value::as_array)
        .filter(|items| !items.is_empty())
        .ok_or_else(|| {
            refuse(
                "credentials",
                "must be a non-empty array of CredentialObject",
            )
        })?;
    if items.len() > MAX_CREDENTIALS {
        return Err(refuse(
            "credentials",
            format!("must offer at most {MAX_CREDENTIALS} credentials"),
        ));
    }
    let credentials = items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let kind = item
                .get("credentialType")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty() && t.len() <= 200)
                .ok_or_else(|| {
                    refuse(
                        &format!("credentials/{index}/credentialType"),
                        "must be a credential type",
                    )
                })?;
            let reason = item
                .get("offerReason")
                .and_then(Value::as_str)
                .map(|r| r.chars().take(500).collect());
            Ok((kind.to_owned(), reason))
        })
        .collect::<Result<_, MessageError>>()?;
    Ok(Offer {
        issuer,
        credentials,
    })
}

/// The `status` and `rejectionReason` of a `CredentialStatus`.
pub fn parse_status(body: &Value) -> Result<(IssuanceStatus, Option<String>), MessageError> {
    check_header(body, "CredentialStatus")?;
    let status = body
        .get("status")
        .and_then(Value::as_str)
        .and_then(IssuanceStatus::parse)
        .ok_or_else(|| refuse("status", "must be `RECEIVED`, `REJECTED` or `ISSUED`"))?;
    let reason = body
        .get("rejectionReason")
        .and_then(Value::as_str)
        .map(|r| r.chars().take(2000).collect());
    Ok((status, reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_names_its_faults_by_member() {
        let good = request_message("h-1", "DataSpaceMembershipCredential", "https://h.example");
        let parsed = parse_request(&good).unwrap();
        assert_eq!(parsed.credential_types, ["DataSpaceMembershipCredential"]);
        assert_eq!(
            parsed.credential_service.as_deref(),
            Some("https://h.example")
        );
        let cases = [
            ("/type", json!("CredentialMessage"), "type"),
            ("/holderPid", json!(7), "holderPid"),
            ("/holderPid", json!("x".repeat(300)), "holderPid"),
            ("/credentials", json!([]), "credentials"),
            ("/credentials/0/id", json!("Passport"), "credentials/0/id"),
            ("/@context", json!(["https://example.org"]), "@context"),
        ];
        for (pointer, value, field) in cases {
            let mut bad = good.clone();
            *bad.pointer_mut(pointer).unwrap() = value;
            assert_eq!(parse_request(&bad).unwrap_err().field, field, "{pointer}");
        }
    }
}
