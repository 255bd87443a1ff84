//! Enveloped credentials and presentations (VC Data Model 2.0 §4.13, VC-JOSE-COSE §3.1.1 and
//! §3.2.1): an object whose `id` is a `data:` URL carrying a compact JWS. The envelope itself
//! is checked, not only the token inside: its `@context`, its exact `type`, and the media type
//! of its `data:` URL.

use serde_json::{Map, Value};

use crate::context::CREDENTIALS_V2_CONTEXT;
use crate::error::{quote, VerifyError};

/// What an envelope wraps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `EnvelopedVerifiableCredential`, `data:application/vc+jwt,…`.
    Credential,
    /// `EnvelopedVerifiablePresentation`, `data:application/vp+jwt,…`.
    Presentation,
}

impl Kind {
    fn type_name(self) -> &'static str {
        match self {
            Kind::Credential => "EnvelopedVerifiableCredential",
            Kind::Presentation => "EnvelopedVerifiablePresentation",
        }
    }

    fn media_type(self) -> &'static str {
        match self {
            Kind::Credential => "application/vc+jwt",
            Kind::Presentation => "application/vp+jwt",
        }
    }
}

/// Whether `object` presents itself as an envelope: a type starting `Enveloped`, or a `data:`
/// URL as its `id`.
fn looks_enveloped(object: &Map<String, Value>) -> bool {
    crate::json::strings(object.get("type"))
        .iter()
        .any(|t| t.starts_with("Enveloped"))
        || object
            .get("id")
            .and_then(Value::as_str)
            .is_some_and(|id| id.starts_with("data:"))
}

/// The kind an envelope declares by its type, if it declares one.
fn declared_kind(object: &Map<String, Value>) -> Option<Kind> {
    let types = crate::json::strings(object.get("type"));
    [Kind::Credential, Kind::Presentation]
        .into_iter()
        .find(|kind| types.contains(&kind.type_name()))
}

/// The compact JWS inside `value` when it is an envelope of `kind`; `Ok(None)` when it is no
/// envelope at all; an error naming the member when it claims to be one and is malformed.
pub fn unwrap(value: &Value, kind: Kind) -> Result<Option<&str>, VerifyError> {
    let Some(object) = value.as_object() else {
        return Ok(None);
    };
    if !looks_enveloped(object) {
        return Ok(None);
    }
    let malformed = |why: String| VerifyError::Malformed(format!("enveloped {why}"));
    let what = match kind {
        Kind::Credential => "credential",
        Kind::Presentation => "presentation",
    };
    // §4.13: the envelope carries the base context first.
    let first_context = match object.get("@context") {
        Some(Value::String(context)) => Some(context.as_str()),
        Some(Value::Array(contexts)) => contexts.first().and_then(Value::as_str),
        _ => None,
    };
    if first_context != Some(CREDENTIALS_V2_CONTEXT) {
        return Err(malformed(format!(
            "{what}: `@context` must be (or begin with) `{CREDENTIALS_V2_CONTEXT}`"
        )));
    }
    let exact_type = match object.get("type") {
        Some(Value::String(t)) => t == kind.type_name(),
        Some(Value::Array(types)) => {
            types.len() == 1 && types.first().and_then(Value::as_str) == Some(kind.type_name())
        }
        _ => false,
    };
    if !exact_type {
        return Err(malformed(format!(
            "{what}: `type` must be exactly `{}`",
            kind.type_name()
        )));
    }
    let id = object.get("id").and_then(Value::as_str).unwrap_or_default();
    let Some((media_type, token)) = id
        .strip_prefix("data:")
        .and_then(|data| data.split_once(','))
    else {
        return Err(malformed(format!(
            "{what}: `id` must be a `data:` URL (`data:{},…`)",
            kind.media_type()
        )));
    };
    // An SD-JWT VC travels as itself, credential and presentation alike.
    let sd_jwt = matches!(
        media_type,
        "application/dc+sd-jwt" | "application/vc+sd-jwt"
    );
    if media_type != kind.media_type() && !sd_jwt {
        return Err(malformed(format!(
            "{what}: the `data:` URL's media type is `{}`, not `{}`",
            quote(media_type),
            kind.media_type()
        )));
    }
    if token.is_empty() {
        return Err(malformed(format!(
            "{what}: the `data:` URL carries no token"
        )));
    }
    Ok(Some(token))
}

/// The token of a well-formed envelope of whichever kind its type declares.
pub(super) fn unwrap_declared(value: &Value) -> Option<&str> {
    let kind = declared_kind(value.as_object()?)?;
    unwrap(value, kind).ok().flatten()
}

/// Refuses a JSON document that claims to be an envelope but is not a well-formed one (it
/// would otherwise be read as a document with no proof).
pub(super) fn refuse_malformed(value: &Value) -> Result<(), VerifyError> {
    let Some(object) = value.as_object() else {
        return Ok(());
    };
    if !looks_enveloped(object) {
        return Ok(());
    }
    let kind = declared_kind(object).unwrap_or(Kind::Credential);
    unwrap(value, kind).map(drop)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn credential() -> Value {
        json!({
            "@context": CREDENTIALS_V2_CONTEXT,
            "id": "data:application/vc+jwt,eyJ.eyJ.sig",
            "type": "EnvelopedVerifiableCredential",
        })
    }

    // VC Data Model 2.0 §4.13 and VC-JOSE-COSE §3.1.1: context, exact type, media type.
    #[test]
    fn vc_dm_4_13_a_well_formed_envelope_yields_its_token() {
        assert_eq!(
            unwrap(&credential(), Kind::Credential).unwrap(),
            Some("eyJ.eyJ.sig")
        );
        let mut listed = credential();
        listed["@context"] = json!([CREDENTIALS_V2_CONTEXT]);
        listed["type"] = json!(["EnvelopedVerifiableCredential"]);
        assert!(unwrap(&listed, Kind::Credential).unwrap().is_some());
        assert_eq!(
            unwrap(&json!({"type": ["VerifiableCredential"]}), Kind::Credential).unwrap(),
            None
        );
    }

    #[test]
    fn vc_dm_4_13_a_malformed_envelope_is_refused_naming_what() {
        type Mutation = fn(&mut Value);
        let cases: [(&str, Mutation); 7] = [
            ("@context", |v| {
                v.as_object_mut().unwrap().remove("@context");
            }),
            ("@context", |v| {
                v["@context"] = "https://evil.example/ctx".into()
            }),
            ("type", |v| {
                v["type"] = "EnvelopedVerifiablePresentation".into()
            }),
            ("type", |v| {
                v["type"] = json!(["EnvelopedVerifiableCredential", "VerifiableCredential"])
            }),
            ("media type", |v| {
                v["id"] = "data:application/vp+jwt,eyJ.eyJ.sig".into()
            }),
            ("media type", |v| {
                v["id"] = "data:application/jwt;base64,eyJ".into()
            }),
            ("`data:` URL", |v| v["id"] = "urn:uuid:1".into()),
        ];
        for (what, mutate) in cases {
            let mut envelope = credential();
            mutate(&mut envelope);
            let error = unwrap(&envelope, Kind::Credential).unwrap_err();
            assert!(error.to_string().contains(what), "{what}: {error}");
            assert!(refuse_malformed(&envelope).is_err(), "{what}");
        }
    }
}
