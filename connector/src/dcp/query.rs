//! The presentation query of the Decentralized Claims Protocol, on both sides: the Credential
//! Service's answer to a verifier ([`answer`]), by scope or by presentation definition, and
//! the messages a verifier sends and reads ([`query_message`], [`parse_response`]).

use std::collections::BTreeSet;

use serde_json::{json, Value};
use symbolon_audit::EventKind;
use symbolon_identity::{create_presentation, Format};

use super::access::{self, AccessError};
use super::exchange::{Definition, ExchangeError};
use super::messages::{MessageError, DCP_CONTEXT};
use super::scope;
use crate::audit::AuditError;
use crate::context::Connector;
use crate::domain::credential::HeldCredential;
use crate::negotiation::auth::Caller;
use crate::store::StoreError;

/// Most scopes one query may ask for.
pub const MAX_SCOPES: usize = 32;
/// Most presentations one response may carry.
pub const MAX_PRESENTATIONS: usize = 16;
/// Largest presentation read, in bytes.
pub const MAX_PRESENTATION_BYTES: usize = 256 * 1024;

/// Why a presentation query is not answered.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The message breaks the protocol's rules (400).
    #[error("PresentationQueryMessage: {0}")]
    Message(#[from] MessageError),
    /// A presentation definition that is malformed (400) or asks for what is not supported
    /// (501).
    #[error(transparent)]
    Exchange(#[from] ExchangeError),
    /// The caller's access token is refused (403).
    #[error(transparent)]
    Access(#[from] AccessError),
    /// The credentials cannot be presented.
    #[error("cannot present the held credentials: {0}")]
    Present(#[from] symbolon_identity::IssueError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The audit trail failed.
    #[error(transparent)]
    Audit(#[from] AuditError),
}

fn refuse(field: &str, reason: impl Into<String>) -> MessageError {
    MessageError {
        field: field.to_owned(),
        reason: reason.into(),
    }
}

/// What a `PresentationQueryMessage` asks for.
#[derive(Debug, Clone)]
pub enum Asked {
    /// Credentials by scope.
    Scopes(Vec<String>),
    /// Credentials by a DIF Presentation Exchange definition (the subset [`super::exchange`]
    /// reads).
    Definition(Box<Definition>),
}

/// What a `PresentationQueryMessage` asks for: exactly one of `scope` (non-empty) and
/// `presentationDefinition` must be there.
pub fn parse_query(message: &Value) -> Result<Asked, QueryError> {
    let object = message
        .as_object()
        .ok_or_else(|| refuse("/", "the message is not a JSON object"))?;
    match object.get("type").and_then(Value::as_str) {
        Some("PresentationQueryMessage") => {}
        _ => return Err(refuse("type", "must be `PresentationQueryMessage`").into()),
    }
    let contexts = symbolon_identity::json::one_or_many(object.get("@context"));
    if !contexts.iter().any(|c| c.as_str() == Some(DCP_CONTEXT)) {
        return Err(refuse("@context", format!("must include `{DCP_CONTEXT}`")).into());
    }
    match (object.get("scope"), object.get("presentationDefinition")) {
        (Some(_), Some(_)) => Err(refuse(
            "scope",
            "a query has either `scope` or `presentationDefinition`, not both",
        )
        .into()),
        (None, Some(definition)) => Ok(Asked::Definition(Box::new(Definition::parse(definition)?))),
        (None, None) => Err(refuse(
            "scope",
            "a query needs `scope` (or `presentationDefinition`)",
        )
        .into()),
        (Some(scopes), None) => {
            let scopes = scopes
                .as_array()
                .ok_or_else(|| refuse("scope", "must be an array of strings"))?;
            if scopes.is_empty() {
                return Err(refuse("scope", "must name at least one scope").into());
            }
            if scopes.len() > MAX_SCOPES {
                return Err(refuse("scope", format!("at most {MAX_SCOPES} scopes")).into());
            }
            let scopes = scopes
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    s.as_str()
                        .filter(|s| s.len() <= scope::MAX_SCOPE_CHARS)
                        .map(str::to_owned)
                        .ok_or_else(|| {
                            refuse(
                                &format!("scope/{i}"),
                                format!(
                                    "must be a string of at most {} characters",
                                    scope::MAX_SCOPE_CHARS
                                ),
                            )
                            .into()
                        })
                })
                .collect::<Result<_, QueryError>>()?;
            Ok(Asked::Scopes(scopes))
        }
    }
}

/// Answers `caller`'s query: the held credentials it asks for (by scope, or by a
/// presentation definition) that its access token grants, in one presentation bound to the
/// caller's token (`nonce` = its `jti`, audience = its DID); a definition's answer carries a
/// `presentationSubmission` mapping its input descriptors to the credentials. Credentials
/// asked for but not granted, or not held, are left out; nothing held and granted answers an
/// empty list. Every answer and refusal is on record.
pub async fn answer(cx: &Connector, caller: &Caller, message: &Value) -> Result<Value, QueryError> {
    let outcome = respond(cx, caller, message).await;
    let (result, details) = match &outcome {
        Ok((_, details)) => ("answered", details.clone()),
        Err(error) => (
            "refused",
            json!({ "code": code(error), "reason": error.to_string() }),
        ),
    };
    let audit = cx.audit();
    let mut event = audit.event(EventKind::PresentationQueried, &caller.did, result, details);
    event.actor = caller.did.clone();
    audit.record(event).await?;
    outcome.map(|(response, _)| response)
}

/// The response and what the audit trail keeps of it.
async fn respond(
    cx: &Connector,
    caller: &Caller,
    message: &Value,
) -> Result<(Value, Value), QueryError> {
    let asked = parse_query(message)?;
    let granted = access::check(cx.identity(), caller.access_token.as_deref(), &caller.did)?;
    let held = cx.store().blocking(|s| s.credentials.list()).await?;
    let (chosen, submission, details): (Vec<&HeldCredential>, Option<Value>, Value) = match &asked {
        Asked::Scopes(scopes) => {
            let entitled: BTreeSet<String> = scopes
                .iter()
                .filter_map(|s| scope::credential_type(s))
                .filter(|t| granted.contains(*t))
                .map(str::to_owned)
                .collect();
            let chosen: Vec<_> = held
                .iter()
                .filter(|c| entitled.iter().any(|t| c.is_a(t)))
                .collect();
            let presented = presented_types(&chosen, |t| entitled.contains(t));
            let details = json!({ "scope": scopes, "presented": presented });
            (chosen, None, details)
        }
        Asked::Definition(definition) => {
            // Only what both a descriptor matches and the access token grants.
            let (chosen, matched): (Vec<&HeldCredential>, Vec<_>) = held
                .iter()
                .filter(|c| c.types.iter().any(|t| granted.contains(t)))
                .filter_map(|c| {
                    let document = c.document()?;
                    definition.choose(&document, &c.format).map(|m| (c, m))
                })
                .unzip();
            let presented = presented_types(&chosen, |t| granted.contains(t));
            let details = json!({
                "presentationDefinition": definition.id,
                "descriptors": matched.iter().flat_map(|m| m.descriptors.clone()).collect::<Vec<_>>(),
                "presented": presented,
            });
            (chosen, Some(definition.submission(&matched)), details)
        }
    };
    let presentations = if chosen.is_empty() {
        Vec::new()
    } else {
        let secured: Vec<_> = chosen.iter().map(|c| c.secured()).collect();
        let presentation = create_presentation(
            cx.identity(),
            &secured,
            Format::Jwt,
            &caller.jti,
            &caller.did,
        )
        .await?;
        vec![Value::String(presentation.to_text())]
    };
    let mut response = json!({
        "@context": [DCP_CONTEXT],
        "type": "PresentationResponseMessage",
        "presentation": presentations,
    });
    if let Some(submission) = submission {
        response["presentationSubmission"] = submission;
    }
    Ok((response, details))
}

/// The types of `chosen` that `shown` admits, sorted and once each.
fn presented_types(chosen: &[&HeldCredential], shown: impl Fn(&str) -> bool) -> Vec<String> {
    let mut presented: Vec<String> = chosen
        .iter()
        .flat_map(|c| c.types.iter().filter(|t| shown(t)).cloned())
        .collect();
    presented.sort();
    presented.dedup();
    presented
}

fn code(error: &QueryError) -> &'static str {
    match error {
        QueryError::Message(_) => "invalid_query",
        QueryError::Exchange(ExchangeError::Malformed(_)) => "invalid_presentation_definition",
        QueryError::Exchange(ExchangeError::Unsupported { .. }) => {
            "presentation_definition_unsupported"
        }
        QueryError::Access(error) => error.code(),
        QueryError::Present(_) => "cannot_present",
        QueryError::Store(_) | QueryError::Audit(_) => "internal",
    }
}

/// The `PresentationQueryMessage` for `types`.
pub fn query_message(types: &BTreeSet<String>) -> Value {
    let scopes: Vec<String> = types.iter().map(|t| scope::scope_for(t)).collect();
    json!({
        "@context": [DCP_CONTEXT],
        "type": "PresentationQueryMessage",
        "scope": scopes,
    })
}

/// The presentations of a `PresentationResponseMessage`: compact JOSE presentations only
/// (`vp+jwt`, VC 2.0), at most [`MAX_PRESENTATIONS`] of at most [`MAX_PRESENTATION_BYTES`].
pub fn parse_response(message: &Value) -> Result<Vec<String>, MessageError> {
    let object = message
        .as_object()
        .ok_or_else(|| refuse("/", "the message is not a JSON object"))?;
    if object.get("type").and_then(Value::as_str) != Some("PresentationResponseMessage") {
        return Err(refuse("type", "must be `PresentationResponseMessage`"));
    }
    let list = object
        .get("presentation")
        .and_then(Value::as_array)
        .ok_or_else(|| refuse("presentation", "must be an array"))?;
    if list.len() > MAX_PRESENTATIONS {
        return Err(refuse(
            "presentation",
            format!("at most {MAX_PRESENTATIONS} presentations are read"),
        ));
    }
    list.iter()
        .enumerate()
        .map(|(i, p)| match p.as_str().or_else(|| enveloped(p)) {
            Some(text) if text.len() <= MAX_PRESENTATION_BYTES => Ok(text.to_owned()),
            Some(_) => Err(refuse(
                &format!("presentation/{i}"),
                format!("larger than {MAX_PRESENTATION_BYTES} bytes"),
            )),
            None => Err(refuse(
                &format!("presentation/{i}"),
                "only JOSE presentations (`vp+jwt`, compact or as an \
                 `EnvelopedVerifiablePresentation`) are accepted",
            )),
        })
        .collect()
}

/// The compact `vp+jwt` inside a VC 2.0 `EnvelopedVerifiablePresentation`
/// (`id`: `data:application/vp+jwt,<token>`).
fn enveloped(presentation: &Value) -> Option<&str> {
    if presentation.get("type").and_then(Value::as_str) != Some("EnvelopedVerifiablePresentation") {
        return None;
    }
    presentation
        .get("id")
        .and_then(Value::as_str)?
        .strip_prefix("data:application/vp+jwt,")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(members: Value) -> Value {
        let mut message = json!({"@context": [DCP_CONTEXT], "type": "PresentationQueryMessage"});
        for (k, v) in members.as_object().unwrap() {
            message[k] = v.clone();
        }
        message
    }

    #[test]
    fn a_query_has_exactly_one_of_scope_and_definition() {
        let scopes = parse_query(&query(json!({"scope": [scope::scope_for("X")]}))).unwrap();
        assert!(matches!(scopes, Asked::Scopes(ref s) if s == &[scope::scope_for("X")]));
        let both = parse_query(&query(
            json!({"scope": ["a"], "presentationDefinition": {}}),
        ));
        assert!(matches!(both, Err(QueryError::Message(ref e)) if e.field == "scope"));
        let neither = parse_query(&query(json!({})));
        assert!(matches!(neither, Err(QueryError::Message(_))));
        let definition = parse_query(&query(json!({"presentationDefinition":
            {"id": "p", "input_descriptors": [{"id": "d"}]}})));
        assert!(matches!(definition, Ok(Asked::Definition(ref d)) if d.id == "p"));
        let malformed = parse_query(&query(json!({"presentationDefinition": {}})));
        assert!(matches!(
            malformed,
            Err(QueryError::Exchange(ExchangeError::Malformed(_)))
        ));
        let empty = parse_query(&query(json!({"scope": []})));
        assert!(
            matches!(empty, Err(QueryError::Message(ref e)) if e.reason.contains("at least one"))
        );
        let not_strings = parse_query(&query(json!({"scope": [1]})));
        assert!(matches!(not_strings, Err(QueryError::Message(ref e)) if e.field == "scope/0"));
        let many: Vec<String> = (0..=MAX_SCOPES).map(|i| format!("s{i}")).collect();
        assert!(parse_query(&query(json!({ "scope": many }))).is_err());
        let wrong_type = json!({"@context": [DCP_CONTEXT], "type": "Other", "scope": ["a"]});
        assert!(parse_query(&wrong_type).is_err());
        let no_context = json!({"type": "PresentationQueryMessage", "scope": ["a"]});
        assert!(
            matches!(parse_query(&no_context), Err(QueryError::Message(ref e)) if e.field == "@context")
        );
    }

    #[test]
    fn a_response_carries_jose_presentations_only() {
        let ok = json!({"@context": [DCP_CONTEXT], "type": "PresentationResponseMessage",
                        "presentation": ["a.b.c"]});
        assert_eq!(parse_response(&ok).unwrap(), ["a.b.c"]);
        let enveloped = json!({"type": "PresentationResponseMessage", "presentation": [
            {"@context": ["https://www.w3.org/ns/credentials/v2"],
             "type": "EnvelopedVerifiablePresentation", "id": "data:application/vp+jwt,a.b.c"}]});
        assert_eq!(parse_response(&enveloped).unwrap(), ["a.b.c"]);
        let other_media = json!({"type": "PresentationResponseMessage", "presentation": [
            {"type": "EnvelopedVerifiablePresentation", "id": "data:text/plain,a.b.c"}]});
        assert!(parse_response(&other_media).is_err());
        let object = json!({"@context": [DCP_CONTEXT], "type": "PresentationResponseMessage",
                            "presentation": [{"type": "VerifiablePresentation"}]});
        assert_eq!(parse_response(&object).unwrap_err().field, "presentation/0");
        let many = json!({"type": "PresentationResponseMessage",
                          "presentation": vec!["x"; MAX_PRESENTATIONS + 1]});
        assert!(parse_response(&many).is_err());
        let huge = json!({"type": "PresentationResponseMessage",
                          "presentation": ["x".repeat(MAX_PRESENTATION_BYTES + 1)]});
        assert!(parse_response(&huge).is_err());
        assert!(parse_response(&json!({"type": "PresentationResponseMessage"})).is_err());
        assert!(parse_response(&json!([])).is_err());
    }
}
