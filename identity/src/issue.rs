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
    /// An SD-JWT VC (`application/dc+sd-jwt`) with the credential type's default selectively
    /// disclosable claims ([`crate::sd_jwt::default_disclosable`]); see [`issue_sd_jwt`] to
    /// choose them.
    SdJwt,
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "jwt" | "vc+jwt" | "jose" => Ok(Format::Jwt),
            "di" | "eddsa-rdfc-2022" | "rdfc" => Ok(Format::DataIntegrity),
            "di-jcs" | "eddsa-jcs-2022" | "jcs" => Ok(Format::DataIntegrityJcs),
            "sd-jwt" | "dc+sd-jwt" | "vc+sd-jwt" => Ok(Format::SdJwt),
            other => Err(format!(
                "unknown format `{}`; expected jwt, di, di-jcs or sd-jwt",
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

    /// The form the VC-API and presentations embed: an `EnvelopedVerifiableCredential` for a JWS
    /// (`data:application/dc+sd-jwt,…` for an SD-JWT VC, whatever `media_type` says).
    pub fn to_enveloped(&self, media_type: &str) -> Value {
        let kind = if media_type.starts_with("vp") {
            "EnvelopedVerifiablePresentation"
        } else {
            "EnvelopedVerifiableCredential"
        };
        let media_type = match self {
            Secured::Jwt(token) if crate::sd_jwt::is_sd_jwt(token) => "dc+sd-jwt",
            _ => media_type,
        };
        match self {
            Secured::Jwt(token) => json!({
                "@context": CREDENTIALS_V2_CONTEXT,
                "id": format!("data:application/{media_type},{token}"),
                "type": kind,
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
    let mut credential = credential;
    if crate::credential::is_v1(&credential) {
        if matches!(format, Format::Jwt | Format::SdJwt) {
            return Err(IssueError::Unsupported(
                "a VC 1.1 credential (context `https://www.w3.org/2018/credentials/v1`) is issued \
                 with Data Integrity (format di or di-jcs); vc+jwt secures VC 2.0 only \
                 (VC-JOSE-COSE §3.1.1), and an SD-JWT VC is no W3C credential"
                    .into(),
            ));
        }
        add_data_integrity_context(&mut credential);
    }
    let method = identity.verification_method();
    match format {
        Format::SdJwt => {
            let disclosable = crate::sd_jwt::Disclosable::defaults_for(&credential);
            crate::sd_jwt::issue(identity, &credential, &disclosable, None).map(Secured::Jwt)
        }
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

/// Validates `credential` (as [`issue_credential`] does) and issues it as an SD-JWT VC whose
/// subject claims in `disclosable` (the type's defaults when `None`) are selectively
/// disclosable, bound to `holder_key` (by default the key of the subject's did:key or
/// did:jwk).
pub fn issue_sd_jwt(
    identity: &Identity,
    credential: &Value,
    disclosable: Option<crate::sd_jwt::Disclosable>,
    holder_key: Option<&crate::PublicKey>,
) -> Result<Secured, IssueError> {
    crate::credential::validate(credential)?;
    crate::schemas::check(credential)?;
    if crate::credential::issuer_id(credential) != Some(identity.did.as_str()) {
        return Err(IssueError::Invalid {
            what: "credential",
            path: "/issuer".into(),
            reason: format!("the issuer must be this connector's DID `{}`", identity.did),
        });
    }
    if crate::credential::is_v1(credential) {
        return Err(IssueError::Unsupported(
            "an SD-JWT VC is issued from a VC 2.0 credential".into(),
        ));
    }
    let disclosable =
        disclosable.unwrap_or_else(|| crate::sd_jwt::Disclosable::defaults_for(credential));
    crate::sd_jwt::issue(identity, credential, &disclosable, holder_key).map(Secured::Jwt)
}

/// Adds the Data Integrity context to a VC 1.1 document that lacks it: the 1.1 context does not
/// define `DataIntegrityProof` and its terms.
fn add_data_integrity_context(document: &mut Value) {
    use crate::context::DATA_INTEGRITY_V2_CONTEXT;
    if let Some(Value::Array(contexts)) = document.get_mut("@context") {
        if !contexts
            .iter()
            .any(|c| c.as_str() == Some(DATA_INTEGRITY_V2_CONTEXT))
        {
            contexts.insert(1.min(contexts.len()), DATA_INTEGRITY_V2_CONTEXT.into());
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
        Format::SdJwt => {
            // An SD-JWT VC is presented on its own, with a Key Binding JWT.
            let [Secured::Jwt(token)] = credentials else {
                return Err(IssueError::Invalid {
                    what: "presentation",
                    path: "/verifiableCredential".into(),
                    reason: "an SD-JWT presentation carries exactly one SD-JWT VC".into(),
                });
            };
            let disclose: Vec<String> = crate::sd_jwt::decode(token)
                .map_err(|e| IssueError::Invalid {
                    what: "presentation",
                    path: "/verifiableCredential/0".into(),
                    reason: e.to_string(),
                })?
                .all_disclosures
                .iter()
                .filter_map(|(d, _)| d.name.clone())
                .collect();
            crate::sd_jwt::present(
                token,
                &identity.key,
                &crate::sd_jwt::Presentation {
                    disclose: &disclose,
                    nonce: challenge,
                    audience,
                },
            )
            .map(Secured::Jwt)
        }
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
