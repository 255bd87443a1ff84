//! SD-JWT VCs: selective disclosure (IETF RFC 9901, *Selective Disclosure for JWTs*) of
//! credentials in the SD-JWT VC format (IETF draft-ietf-oauth-sd-jwt-vc), with holder key
//! binding — the third credential format beside VC-JOSE and Data Integrity.
//!
//! An SD-JWT is `<issuer-signed JWT>~<disclosure>~…~<disclosure>~[<KB-JWT>]`. Each
//! selectively disclosable claim is replaced in the signed payload by the SHA-256 digest of
//! its disclosure (`_sd`, with `_sd_alg` `sha-256`; array elements by `{"...": digest}`),
//! and some random decoy digests hide how many there are. The holder presents the issuer's
//! JWT with the disclosures of the claims it chooses to show, and a Key Binding JWT
//! (`typ` `kb+jwt`) signed with the key in the credential's `cnf.jwk`, which binds them to
//! the verifier's `nonce` and `aud` and, through `sd_hash`, to exactly these disclosures.
//!
//! The payload is the SD-JWT VC form of a Symbolon credential: `iss`, `vct`, `sub`, `iat`,
//! `nbf`/`exp` from `validFrom`/`validUntil`, `jti` from its `id`, `cnf.jwk` (the subject's
//! key), the subject's claims at the top level, and — never selectively disclosable — the
//! W3C `credentialStatus` entry, so that revocation and suspension are checked as for the
//! other formats. Verified, it is read back as a W3C credential (with the disclosed claims
//! only) for the status and trust checks and for the report.

mod verify;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use rand::RngCore as _;
use serde_json::{json, Map, Value};
use sha2::{Digest as _, Sha256};

use crate::error::IssueError;
use crate::keys::{KeyPair, PublicKey};
use crate::keystore::Identity;

pub use verify::{
    decode, is_sd_jwt, key_binding_hash, process, Decoded, KeyBinding, KeyBindingCheck,
    MAX_DISCLOSURES,
};

/// The JOSE `typ` of an SD-JWT VC (`vc+sd-jwt`, its earlier name, is accepted too).
pub const TYP: &str = "dc+sd-jwt";
/// The earlier `typ` of SD-JWT VCs, still accepted on verification.
pub const TYP_LEGACY: &str = "vc+sd-jwt";
/// The JOSE `typ` of a Key Binding JWT.
pub const KB_TYP: &str = "kb+jwt";
/// The media type of an SD-JWT VC (in `data:` URLs of enveloped credentials).
pub const MEDIA_TYPE: &str = "application/dc+sd-jwt";
/// The prefix of the `vct` of the Symbolon credential types.
pub const VCT_PREFIX: &str = "https://w3id.org/symbolon/vct/";
/// Claims an SD-JWT VC never discloses selectively (SD-JWT VC §3.2.2.2), and the ones this
/// crate adds (`jti`, `credentialStatus`, `sub`).
pub const ALWAYS_DISCLOSED: &[&str] = &[
    "iss",
    "nbf",
    "exp",
    "iat",
    "cnf",
    "vct",
    "vct#integrity",
    "status",
    "jti",
    "sub",
    "credentialStatus",
    "_sd",
    "_sd_alg",
    "...",
];
/// How many decoy digests an issuer adds to the subject's `_sd` (RFC 9901 §4.2.5).
pub const DECOYS: usize = 2;

/// The claims a Symbolon credential type discloses selectively unless the issuer says
/// otherwise: what a verifier rarely needs and the holder may want to keep back.
pub fn default_disclosable(credential_type: &str) -> &'static [&'static str] {
    match credential_type {
        // The role shows; the legal name and registration number can stay hidden.
        "DataSpaceMembershipCredential" => &["registrationNumber", "legalName", "publicSector"],
        // The purposes and scope show; which cohort and dataset, and when, can stay hidden.
        "ConsentCredential" => &["cohortId", "datasetId", "consentGivenAt"],
        "TrialSiteCredential" => &["siteId"],
        "DataPermitCredential" => &["authorisedPersons", "principalInvestigator"],
        _ => &[],
    }
}

/// The `vct` of a credential type.
pub fn vct_of(credential_type: &str) -> String {
    format!("{VCT_PREFIX}{credential_type}")
}

/// A disclosure: its encoded form, its digest, and what it discloses.
#[derive(Debug, Clone, PartialEq)]
pub struct Disclosure {
    /// The base64url-encoded JSON array, as it travels.
    pub encoded: String,
    /// base64url(SHA-256(encoded)).
    pub digest: String,
    /// The claim name (`None` for an array element).
    pub name: Option<String>,
    /// The disclosed value.
    pub value: Value,
}

impl Disclosure {
    /// A new disclosure with a fresh 128-bit salt.
    fn new(name: Option<&str>, value: Value) -> Disclosure {
        let mut salt = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut salt);
        let salt = B64.encode(salt);
        let array = match name {
            Some(name) => json!([salt, name, value]),
            None => json!([salt, value]),
        };
        let encoded = B64.encode(array.to_string());
        Disclosure {
            digest: digest(&encoded),
            encoded,
            name: name.map(str::to_owned),
            value,
        }
    }
}

/// base64url(SHA-256(`text`)), the digest of a disclosure (and `sd_hash`).
pub fn digest(text: &str) -> String {
    B64.encode(Sha256::digest(text.as_bytes()))
}

fn decoy() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    digest(&B64.encode(bytes))
}

fn invalid(path: &str, reason: String) -> IssueError {
    IssueError::Invalid {
        what: "credential",
        path: path.to_owned(),
        reason,
    }
}

/// Which claims to disclose selectively: names of the subject's claims; `name[]` makes each
/// element of the array claim `name` selectively disclosable (and the claim itself).
#[derive(Debug, Clone, Default)]
pub struct Disclosable(pub Vec<String>);

impl Disclosable {
    /// The defaults of `credential`'s type ([`default_disclosable`]) that its subject has.
    pub fn defaults_for(credential: &Value) -> Disclosable {
        let types = crate::credential::specific_types(credential);
        let subject = credential.get("credentialSubject");
        Disclosable(
            types
                .first()
                .map(|t| default_disclosable(t))
                .unwrap_or_default()
                .iter()
                .filter(|name| subject.and_then(|s| s.get(**name)).is_some())
                .map(|name| (*name).to_owned())
                .collect(),
        )
    }
}

/// Issues `credential` (validated and schema-checked by the caller, signed by `identity`) as
/// an SD-JWT VC whose subject claims named in `disclosable` are selectively disclosable. The
/// holder key (`cnf.jwk`) is `holder_key`, or the key of the subject's `did:key`/`did:jwk`;
/// without one the credential cannot be presented with key binding.
pub fn issue(
    identity: &Identity,
    credential: &Value,
    disclosable: &Disclosable,
    holder_key: Option<&PublicKey>,
) -> Result<String, IssueError> {
    let object = credential
        .as_object()
        .ok_or_else(|| invalid("/", "a credential must be a JSON object".into()))?;
    let types = crate::credential::specific_types(credential);
    let credential_type = match types.as_slice() {
        [one] => one.clone(),
        [] => "VerifiableCredential".to_owned(),
        _ => {
            return Err(invalid(
                "/type",
                "an SD-JWT VC has one type (`vct`); this credential has several".into(),
            ))
        }
    };
    let subject = match object.get("credentialSubject") {
        Some(Value::Object(subject)) => subject,
        _ => {
            return Err(invalid(
                "/credentialSubject",
                "an SD-JWT VC has one subject: `credentialSubject` must be an object".into(),
            ))
        }
    };
    let mut payload = Map::new();
    payload.insert(
        "iss".into(),
        crate::credential::issuer_id(credential)
            .unwrap_or_default()
            .into(),
    );
    payload.insert("vct".into(), vct_of(&credential_type).into());
    payload.insert("iat".into(), chrono::Utc::now().timestamp().into());
    for (member, claim) in [("validFrom", "nbf"), ("validUntil", "exp")] {
        if let Some(text) = object.get(member).and_then(Value::as_str) {
            let time = crate::credential::parse_time(text)
                .ok_or_else(|| invalid(&format!("/{member}"), "not a date-time".into()))?;
            payload.insert(claim.into(), time.timestamp().into());
        }
    }
    if let Some(id) = object.get("id") {
        payload.insert("jti".into(), id.clone());
    }
    if let Some(status) = object.get("credentialStatus") {
        payload.insert("credentialStatus".into(), status.clone());
    }
    let subject_id = subject.get("id").and_then(Value::as_str);
    if let Some(id) = subject_id {
        payload.insert("sub".into(), id.into());
    }
    let holder_key = match (holder_key, subject_id) {
        (Some(key), _) => Some(*key),
        (None, Some(id)) => crate::did::Did::parse(id)
            .ok()
            .and_then(|did| crate::did::offline_public_key(&did).ok()),
        (None, None) => None,
    };
    if let Some(key) = holder_key {
        payload.insert("cnf".into(), json!({ "jwk": key.jwk() }));
    }
    let mut disclosures = Vec::new();
    let mut digests = Vec::new();
    for wanted in &disclosable.0 {
        let name = wanted.strip_suffix("[]").unwrap_or(wanted);
        if ALWAYS_DISCLOSED.contains(&name) || name == "id" {
            return Err(invalid(
                &format!("/credentialSubject/{name}"),
                format!("`{name}` is never selectively disclosable"),
            ));
        }
        if !subject.contains_key(name) {
            return Err(invalid(
                &format!("/credentialSubject/{name}"),
                format!("no claim `{name}` to make selectively disclosable"),
            ));
        }
    }
    for (name, value) in subject {
        if name == "id" {
            continue;
        }
        if ALWAYS_DISCLOSED.contains(&name.as_str()) {
            return Err(invalid(
                &format!("/credentialSubject/{name}"),
                format!("`{name}` is a reserved claim name of SD-JWT VCs"),
            ));
        }
        let as_elements = disclosable.0.iter().any(|w| *w == format!("{name}[]"));
        let as_claim = as_elements || disclosable.0.iter().any(|w| w == name);
        let value = match (as_elements, value) {
            (true, Value::Array(items)) => Value::Array(
                items
                    .iter()
                    .map(|item| {
                        let disclosure = Disclosure::new(None, item.clone());
                        let reference = json!({ "...": disclosure.digest });
                        disclosures.push(disclosure);
                        reference
                    })
                    .collect(),
            ),
            (true, _) => {
                return Err(invalid(
                    &format!("/credentialSubject/{name}"),
                    format!("`{name}[]`: `{name}` is not an array"),
                ))
            }
            (false, value) => value.clone(),
        };
        if as_claim {
            let disclosure = Disclosure::new(Some(name), value);
            digests.push(disclosure.digest.clone());
            disclosures.push(disclosure);
        } else {
            payload.insert(name.clone(), value);
        }
    }
    if !digests.is_empty() {
        digests.extend((0..DECOYS).map(|_| decoy()));
        // Sorted, so that the order does not tell which digest is which claim.
        digests.sort();
        payload.insert("_sd".into(), digests.into());
        payload.insert("_sd_alg".into(), "sha-256".into());
    }
    let jwt = crate::jose::sign(
        &identity.key,
        &identity.verification_method(),
        TYP,
        &Value::Object(payload),
    );
    let mut sd_jwt = jwt;
    sd_jwt.push('~');
    for disclosure in &disclosures {
        sd_jwt.push_str(&disclosure.encoded);
        sd_jwt.push('~');
    }
    Ok(sd_jwt)
}

/// What the holder presents: which disclosures, bound to which verifier.
#[derive(Debug, Clone)]
pub struct Presentation<'a> {
    /// Claims to disclose: `name` (with every element of an array claim), or `name=value`
    /// for one element of the array claim `name`. Claims not named stay hidden.
    pub disclose: &'a [String],
    /// The verifier's nonce (challenge).
    pub nonce: &'a str,
    /// The verifier (audience).
    pub audience: &'a str,
}

/// Presents an SD-JWT VC the holder holds: only the disclosures of the claims named, and a
/// Key Binding JWT signed with `holder_key` (which must be the credential's `cnf.jwk`).
pub fn present(
    sd_jwt: &str,
    holder_key: &KeyPair,
    presentation: &Presentation<'_>,
) -> Result<String, IssueError> {
    let refuse = |reason: String| IssueError::Invalid {
        what: "presentation",
        path: "/".into(),
        reason,
    };
    let decoded = verify::decode(sd_jwt).map_err(|e| refuse(e.to_string()))?;
    let cnf = decoded
        .holder_key()
        .map_err(|e| refuse(e.to_string()))?
        .ok_or_else(|| refuse("the credential has no holder key (`cnf.jwk`)".into()))?;
    if cnf != holder_key.public_key() {
        return Err(refuse(
            "the credential is bound to another key than the holder's".into(),
        ));
    }
    let mut chosen = Vec::new();
    for wanted in presentation.disclose {
        let (name, element) = match wanted.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (wanted.as_str(), None),
        };
        let mut found = false;
        for (disclosure, parent) in &decoded.all_disclosures {
            let is_claim = disclosure.name.as_deref() == Some(name);
            let is_element = disclosure.name.is_none()
                && parent.as_deref() == Some(name)
                && element.is_none_or(|v| disclosure.value.as_str() == Some(v));
            if is_claim || is_element {
                found = true;
                if !chosen.contains(&disclosure.encoded) {
                    chosen.push(disclosure.encoded.clone());
                }
            }
        }
        if !found && !decoded.claims.contains_key(name) {
            return Err(refuse(format!(
                "the credential has no claim `{}` to disclose",
                crate::error::quote(name)
            )));
        }
    }
    let mut presented = decoded.issuer_jwt.clone();
    presented.push('~');
    for encoded in decoded
        .all_disclosures
        .iter()
        .map(|(d, _)| &d.encoded)
        .filter(|e| chosen.contains(e))
    {
        presented.push_str(encoded);
        presented.push('~');
    }
    let kb_payload = json!({
        "iat": chrono::Utc::now().timestamp(),
        "aud": presentation.audience,
        "nonce": presentation.nonce,
        "sd_hash": digest(&presented),
    });
    let header = json!({ "alg": holder_key.algorithm().jose_alg(), "typ": KB_TYP });
    let signing_input = format!(
        "{}.{}",
        B64.encode(header.to_string()),
        B64.encode(kb_payload.to_string())
    );
    let signature = holder_key.sign(signing_input.as_bytes());
    presented.push_str(&signing_input);
    presented.push('.');
    presented.push_str(&B64.encode(signature));
    Ok(presented)
}
