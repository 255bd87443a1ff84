//! Issuing credentials and creating presentations.

use chrono::Utc;
use serde_json::{json, Value};

use crate::context::CREDENTIALS_V2_CONTEXT;
use crate::data_integrity::{self, Cryptosuite, ProofParams};
use crate::error::IssueError;
use crate::keystore::Identity;

/// How a credential or presentation is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// VC-JOSE: a compact JWS (`application/vc+jwt`, `application/vp+jwt`).
    Jwt,
    /// Data Integrity with `eddsa-rdfc-2022` (`ecdsa-rdfc-2019` for P-256 keys).
    DataIntegrity,
    /// Data Integrity with `eddsa-jcs-2022`.
    DataIntegrityJcs,
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "jwt" | "vc+jwt" | "jose" => Ok(Format::Jwt),
            "di" | "eddsa-rdfc-2022" | "rdfc" => Ok(Format::DataIntegrity),
            "di-jcs" | "eddsa-jcs-2022" | "jcs" => Ok(Format::DataIntegrityJcs),
            other => Err(format!(
                "unknown format `{}`; expected jwt, di or di-jcs",
                crate::error::quote(other)
            )),
        }
    }
}

/// A secured credential or presentation.
#[derive(Debug, Clone, PartialEq)]
pub enum Secured {
    /// A compact JWS.
    Jwt(String),
    /// A JSON document with a Data Integrity proof.
    Json(Value),
}

impl Secured {
    /// The form the command line prints: the compact JWS, or pretty JSON.
    pub fn to_text(&self) -> String {
        match self {
            Secured::Jwt(token) => token.clone(),
            Secured::Json(value) => serde_json::to_string_pretty(value).unwrap_or_default(),
        }
    }

    /// The form the VC-API and presentations embed: an `EnvelopedVerifiableCredential` for a JWS.
    pub fn to_enveloped(&self, media_type: &str) -> Value {
        match self {
            Secured::Jwt(token) => json!({
                "@context": CREDENTIALS_V2_CONTEXT,
                "id": format!("data:application/{media_type},{token}"),
                "type": if media_type.starts_with("vp") { "EnvelopedVerifiablePresentation" } else { "EnvelopedVerifiableCredential" },
            }),
            Secured::Json(value) => value.clone(),
        }
    }
}

/// Validates `credential` (its subject against its type's schema too, [`crate::schemas`]) and
/// signs it as `identity`, which must be its issuer.
pub async fn issue_credential(
    identity: &Identity,
    credential: Value,
    format: Format,
) -> Result<Secured, IssueError> {
    crate::credential::validate(&credential)?;
    crate::schemas::check(&credential)?;
    if crate::credential::issuer_id(&credential) != Some(identity.did.as_str()) {
        return Err(IssueError::Invalid {
            what: "credential",
            path: "/issuer".into(),
            reason: format!("the issuer must be this connector's DID `{}`", identity.did),
        });
    }
    let method = identity.verification_method();
    match format {
        Format::Jwt => Ok(Secured::Jwt(crate::jose::sign(
            &identity.key,
            &method,
            "vc+jwt",
            &credential,
        ))),
        Format::DataIntegrity | Format::DataIntegrityJcs => {
            let suite = if format == Format::DataIntegrity {
                Cryptosuite::Rdfc
            } else {
                Cryptosuite::Jcs
            };
            let signed = data_integrity::sign(
                credential,
                &identity.key,
                &method,
                suite,
                &ProofParams::default(),
            )
            .await?;
            Ok(Secured::Json(signed))
        }
    }
}

/// How long a presentation JWT is valid.
pub const PRESENTATION_LIFETIME_SECONDS: i64 = 300;

/// Creates a presentation of `credentials` by `identity`, bound to `challenge` and `audience`.
pub async fn create_presentation(
    identity: &Identity,
    credentials: &[Secured],
    format: Format,
    challenge: &str,
    audience: &str,
) -> Result<Secured, IssueError> {
    if challenge.is_empty() || audience.is_empty() {
        return Err(IssueError::Invalid {
            what: "presentation",
            path: "/".into(),
            reason: "a presentation needs a challenge and an audience".into(),
        });
    }
    let embedded: Vec<Value> = credentials
        .iter()
        .map(|c| c.to_enveloped("vc+jwt"))
        .collect();
    let mut presentation = json!({
        "@context": [CREDENTIALS_V2_CONTEXT],
        "id": format!("urn:uuid:{}", uuid::Uuid::new_v4()),
        "type": ["VerifiablePresentation"],
        "holder": identity.did.as_str(),
        "verifiableCredential": embedded,
    });
    let method = identity.verification_method();
    match format {
        Format::Jwt => {
            let now = Utc::now().timestamp();
            if let Some(object) = presentation.as_object_mut() {
                object.insert("nonce".into(), challenge.into());
                object.insert("aud".into(), audience.into());
                object.insert("iat".into(), now.into());
                object.insert(
                    "exp".into(),
                    now.saturating_add(PRESENTATION_LIFETIME_SECONDS).into(),
                );
            }
            Ok(Secured::Jwt(crate::jose::sign(
                &identity.key,
                &method,
                "vp+jwt",
                &presentation,
            )))
        }
        Format::DataIntegrity | Format::DataIntegrityJcs => {
            let suite = if format == Format::DataIntegrity {
                Cryptosuite::Rdfc
            } else {
                Cryptosuite::Jcs
            };
            let params = ProofParams {
                authentication: true,
                challenge: Some(challenge),
                domain: Some(audience),
            };
            let signed =
                data_integrity::sign(presentation, &identity.key, &method, suite, &params).await?;
            Ok(Secured::Json(signed))
        }
    }
}
