//! Reading an SD-JWT and checking its disclosures and Key Binding JWT (RFC 9901 §7.1
//! "Verification of the SD-JWT", §7.3 "Key Binding JWT"); the issuer's signature is checked
//! by the verifier that resolves the issuer's DID.

use std::collections::{HashMap, HashSet};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use serde_json::{json, Map, Value};

use super::{digest, Disclosure, ALWAYS_DISCLOSED, KB_TYP, TYP, TYP_LEGACY, VCT_PREFIX};
use crate::context::{CREDENTIALS_V2_CONTEXT, SYMBOLON_CONTEXT};
use crate::error::{quote, VerifyError};
use crate::jose::{self, DecodedJws};
use crate::keys::PublicKey;

/// Most disclosures one SD-JWT may carry.
pub const MAX_DISCLOSURES: usize = 64;

/// A decoded SD-JWT whose disclosures were checked against its payload; the issuer's
/// signature is not verified yet.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// The issuer-signed JWT (compact JWS).
    pub issuer_jwt: String,
    /// It, decoded.
    pub jws: DecodedJws,
    /// The disclosures presented, each with the array claim it is an element of (`None` for
    /// a claim disclosure), in the order presented.
    pub all_disclosures: Vec<(Disclosure, Option<String>)>,
    /// The payload with the disclosed claims in place and the digests removed.
    pub claims: Map<String, Value>,
    /// The Key Binding JWT, when one was presented.
    pub key_binding: Option<KeyBinding>,
    /// What `sd_hash` covers: the issuer JWT and the disclosures, each followed by `~`.
    presented: String,
}

/// A Key Binding JWT, decoded (not yet verified).
#[derive(Debug, Clone)]
pub struct KeyBinding {
    /// The compact JWS.
    pub token: String,
    /// It, decoded.
    pub jws: DecodedJws,
    /// `nonce`.
    pub nonce: String,
    /// `aud`.
    pub audience: String,
    /// `iat`, seconds since the epoch.
    pub issued_at: i64,
    /// `sd_hash`.
    pub sd_hash: String,
}

/// What a Key Binding JWT is checked against.
#[derive(Debug, Clone, Copy)]
pub struct KeyBindingCheck {
    /// Now, seconds since the epoch.
    pub now: i64,
    /// Allowed clock skew, seconds.
    pub leeway: i64,
    /// How old (`iat`) the Key Binding JWT may be, seconds.
    pub max_age: i64,
}

/// Whether `token` is an SD-JWT (it has the `~` separators), not a plain compact JWS.
pub fn is_sd_jwt(token: &str) -> bool {
    token.contains('~')
}

/// The `sd_hash` a Key Binding JWT must carry for `presented` (the issuer JWT and the
/// disclosures, each followed by `~`).
pub fn key_binding_hash(presented: &str) -> String {
    digest(presented)
}

fn malformed(why: impl std::fmt::Display) -> VerifyError {
    VerifyError::Malformed(format!("SD-JWT: {why}"))
}

/// Decodes an SD-JWT (with or without a Key Binding JWT): its issuer JWT (an SD-JWT VC, `typ`
/// `dc+sd-jwt` or `vc+sd-jwt`), every disclosure, and the payload with the disclosed claims
/// in place. Refused: a disclosure that is not well-formed, appears twice, or whose digest
/// is not in the payload; a digest that appears twice; a disclosure of a reserved or
/// never-disclosable claim name, or of a claim the object already has; a hash algorithm
/// other than `sha-256`; oversized input.
pub fn decode(token: &str) -> Result<Decoded, VerifyError> {
    crate::limits::check_input(token.as_bytes())?;
    let token = token.trim();
    let mut parts: Vec<&str> = token.split('~').collect();
    if parts.len() < 2 {
        return Err(malformed("expected `<JWT>~<disclosures>~[<KB-JWT>]`"));
    }
    let kb_token = parts.pop().unwrap_or_default();
    let issuer_jwt = parts.remove(0);
    if parts.len() > MAX_DISCLOSURES {
        return Err(VerifyError::TooMany {
            what: "SD-JWT disclosures",
            count: parts.len(),
            limit: MAX_DISCLOSURES,
        });
    }
    let jws = jose::decode(issuer_jwt)?;
    match jws.header.get("typ").and_then(Value::as_str) {
        Some(TYP | TYP_LEGACY) => {}
        other => {
            return Err(malformed(format!(
                "the issuer JWT's `typ` is `{}`, not `{TYP}`",
                quote(other.unwrap_or("(none)"))
            )))
        }
    }
    let Value::Object(payload) = jws.payload.clone() else {
        return Err(malformed("the payload is not a JSON object"));
    };
    let (payload, all_disclosures) = disclose(payload, &parts)?;
    let key_binding = if kb_token.is_empty() {
        None
    } else {
        Some(decode_key_binding(kb_token)?)
    };
    let presented_len = token.len() - kb_token.len();
    Ok(Decoded {
        issuer_jwt: issuer_jwt.to_owned(),
        jws,
        all_disclosures,
        claims: payload,
        key_binding,
        presented: token.get(..presented_len).unwrap_or_default().to_owned(),
    })
}

/// Processes an SD-JWT payload with the disclosures presented (RFC 9901 §7.1 step 3): every
/// disclosed claim and array element put in place, undisclosed digests and decoys dropped,
/// `_sd` and `_sd_alg` removed. Returns the processed payload.
pub fn process(payload: &Value, disclosures: &[&str]) -> Result<Value, VerifyError> {
    let Value::Object(payload) = payload.clone() else {
        return Err(malformed("the payload is not a JSON object"));
    };
    disclose(payload, disclosures).map(|(claims, _)| Value::Object(claims))
}

type Disclosed = (Map<String, Value>, Vec<(Disclosure, Option<String>)>);

fn disclose(mut payload: Map<String, Value>, parts: &[&str]) -> Result<Disclosed, VerifyError> {
    match payload.remove("_sd_alg") {
        None => {}
        Some(Value::String(alg)) if alg == "sha-256" => {}
        Some(other) => {
            return Err(malformed(format!(
                "`_sd_alg` {} is not accepted; only sha-256",
                quote(&other.to_string())
            )))
        }
    }
    let mut by_digest: HashMap<String, Disclosure> = HashMap::new();
    let mut order = Vec::new();
    for encoded in parts {
        let disclosure = parse_disclosure(encoded)?;
        if by_digest.contains_key(&disclosure.digest) {
            return Err(malformed("a disclosure appears twice"));
        }
        order.push(disclosure.digest.clone());
        by_digest.insert(disclosure.digest.clone(), disclosure);
    }
    let mut walk = Walk {
        by_digest: &by_digest,
        seen: HashSet::new(),
        used: HashMap::new(),
    };
    walk.object(&mut payload)?;
    let mut all_disclosures = Vec::new();
    for digest in order {
        let Some(parent) = walk.used.remove(&digest) else {
            return Err(malformed(
                "a disclosure's digest is not in the payload (or in a disclosed claim)",
            ));
        };
        if let Some(disclosure) = by_digest.get(&digest) {
            all_disclosures.push((disclosure.clone(), parent));
        }
    }
    Ok((payload, all_disclosures))
}

fn parse_disclosure(encoded: &str) -> Result<Disclosure, VerifyError> {
    let bytes = B64
        .decode(encoded)
        .map_err(|_| malformed("a disclosure is not base64url"))?;
    crate::limits::check_depth(&bytes)?;
    let array: Vec<Value> = serde_json::from_slice(&bytes)
        .map_err(|_| malformed("a disclosure is not a JSON array"))?;
    let (salt, name, value) = match array.as_slice() {
        [salt, value] => (salt, None, value.clone()),
        [salt, Value::String(name), value] => (salt, Some(name.clone()), value.clone()),
        _ => {
            return Err(malformed(
                "a disclosure must be [salt, name, value] or [salt, value]",
            ))
        }
    };
    if !salt.is_string() {
        return Err(malformed("a disclosure's salt must be a string"));
    }
    if let Some(name) = &name {
        if ALWAYS_DISCLOSED.contains(&name.as_str()) {
            return Err(malformed(format!(
                "a disclosure of the claim `{}`, which is reserved or never selectively \
                 disclosed",
                quote(name)
            )));
        }
    }
    Ok(Disclosure {
        encoded: encoded.to_owned(),
        digest: digest(encoded),
        name,
        value,
    })
}

/// Puts disclosed claims in place, digest by digest, refusing a digest seen twice.
struct Walk<'a> {
    by_digest: &'a HashMap<String, Disclosure>,
    seen: HashSet<String>,
    /// Digest of each disclosure used → the array claim it is an element of.
    used: HashMap<String, Option<String>>,
}

impl Walk<'_> {
    fn note(&mut self, digest: &str) -> Result<(), VerifyError> {
        if !self.seen.insert(digest.to_owned()) {
            return Err(malformed("a digest appears twice in the payload"));
        }
        Ok(())
    }

    fn object(&mut self, object: &mut Map<String, Value>) -> Result<(), VerifyError> {
        let digests = match object.remove("_sd") {
            None => Vec::new(),
            Some(Value::Array(digests)) => digests,
            Some(_) => return Err(malformed("`_sd` must be an array of digests")),
        };
        for (key, value) in object.iter_mut() {
            self.value(value, Some(key))?;
        }
        for digest in digests {
            let digest = digest
                .as_str()
                .ok_or_else(|| malformed("`_sd` must be an array of digest strings"))?;
            self.note(digest)?;
            let Some(disclosure) = self.by_digest.get(digest) else {
                continue; // a decoy, or a claim not disclosed
            };
            let Some(name) = disclosure.name.clone() else {
                return Err(malformed(
                    "an array element disclosure is referenced from `_sd`",
                ));
            };
            if object.contains_key(&name) {
                return Err(malformed(format!(
                    "the disclosed claim `{}` is already in the payload",
                    quote(&name)
                )));
            }
            let mut value = disclosure.value.clone();
            self.used.insert(digest.to_owned(), None);
            self.value(&mut value, Some(&name))?;
            object.insert(name, value);
        }
        Ok(())
    }

    fn value(&mut self, value: &mut Value, name: Option<&str>) -> Result<(), VerifyError> {
        match value {
            Value::Object(object) => self.object(object),
            Value::Array(items) => {
                let mut kept = Vec::with_capacity(items.len());
                for mut item in std::mem::take(items) {
                    let reference = item
                        .as_object()
                        .filter(|o| o.len() == 1)
                        .and_then(|o| o.get("..."))
                        .cloned();
                    match reference {
                        Some(Value::String(digest)) => {
                            self.note(&digest)?;
                            let Some(disclosure) = self.by_digest.get(&digest) else {
                                continue; // not disclosed
                            };
                            if disclosure.name.is_some() {
                                return Err(malformed(
                                    "a claim disclosure is referenced as an array element",
                                ));
                            }
                            let mut element = disclosure.value.clone();
                            self.used.insert(digest.clone(), name.map(str::to_owned));
                            self.value(&mut element, None)?;
                            kept.push(element);
                        }
                        Some(_) => return Err(malformed("`...` must be a digest string")),
                        None => {
                            self.value(&mut item, None)?;
                            kept.push(item);
                        }
                    }
                }
                *items = kept;
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

impl KeyBinding {
    /// Whether the Key Binding JWT was issued within `check.max_age` seconds of `check.now`
    /// and not in the future (with `check.leeway` either way): a validity check, which an
    /// auditor reading an old trail does not apply.
    pub fn check_fresh(&self, check: &KeyBindingCheck) -> Result<(), VerifyError> {
        if self.issued_at > check.now.saturating_add(check.leeway) {
            return Err(VerifyError::NotYetValid(format!(
                "Key Binding JWT issued at {} (in the future)",
                self.issued_at
            )));
        }
        if check.now.saturating_sub(self.issued_at) > check.max_age.saturating_add(check.leeway) {
            return Err(VerifyError::Expired(format!(
                "Key Binding JWT issued at {}, more than {} seconds ago",
                self.issued_at, check.max_age
            )));
        }
        Ok(())
    }
}

fn decode_key_binding(token: &str) -> Result<KeyBinding, VerifyError> {
    let jws = jose::decode(token)?;
    if jws.header.get("typ").and_then(Value::as_str) != Some(KB_TYP) {
        return Err(malformed(format!(
            "the Key Binding JWT's `typ` must be `{KB_TYP}`"
        )));
    }
    let text = |name: &str| {
        jws.payload
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| malformed(format!("the Key Binding JWT has no `{name}`")))
    };
    Ok(KeyBinding {
        nonce: text("nonce")?,
        audience: text("aud")?,
        sd_hash: text("sd_hash")?,
        issued_at: jws
            .payload
            .get("iat")
            .and_then(Value::as_i64)
            .ok_or_else(|| malformed("the Key Binding JWT has no integer `iat`"))?,
        token: token.to_owned(),
        jws,
    })
}

impl Decoded {
    /// The holder's key, `cnf.jwk`, if the credential names one.
    pub fn holder_key(&self) -> Result<Option<PublicKey>, VerifyError> {
        match self.claims.get("cnf") {
            None => Ok(None),
            Some(cnf) => {
                let jwk = cnf
                    .get("jwk")
                    .ok_or_else(|| malformed("`cnf` has no `jwk`"))?;
                PublicKey::from_jwk(jwk)
                    .map(Some)
                    .map_err(|e| malformed(format!("`cnf.jwk`: {e}")))
            }
        }
    }

    /// Checks the Key Binding JWT's proof (RFC 9901 §7.3): present, signed by the holder key
    /// (`cnf.jwk`), and its `sd_hash` over exactly what was presented. Its age is a validity
    /// check ([`KeyBinding::check_fresh`]); the caller compares its `nonce` and `aud`.
    pub fn check_key_binding(&self) -> Result<&KeyBinding, VerifyError> {
        let kb = self.key_binding.as_ref().ok_or_else(|| {
            VerifyError::BadSignature(
                "key binding is required and the SD-JWT has no Key Binding JWT".into(),
            )
        })?;
        let key = self.holder_key()?.ok_or_else(|| {
            VerifyError::BadSignature(
                "key binding is required and the credential names no holder key (`cnf.jwk`)".into(),
            )
        })?;
        kb.jws
            .verify_with_key(&kb.token, &key)
            .map_err(|e| VerifyError::BadSignature(format!("the Key Binding JWT: {e}")))?;
        if kb.sd_hash != key_binding_hash(&self.presented) {
            return Err(VerifyError::BadSignature(
                "the Key Binding JWT's `sd_hash` does not match the SD-JWT presented".into(),
            ));
        }
        Ok(kb)
    }

    /// The credential as a W3C credential with the disclosed claims only: for the status and
    /// trust checks and for the report. Its type is the `vct` (without the Symbolon prefix).
    pub fn credential(&self) -> Value {
        let claims = &self.claims;
        let vct = claims
            .get("vct")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let credential_type = vct.strip_prefix(VCT_PREFIX).unwrap_or(vct);
        let mut subject = Map::new();
        if let Some(sub) = claims.get("sub") {
            subject.insert("id".into(), sub.clone());
        }
        for (name, value) in claims {
            if !ALWAYS_DISCLOSED.contains(&name.as_str()) {
                subject.insert(name.clone(), value.clone());
            }
        }
        let time = |claim: &str| {
            claims
                .get(claim)
                .and_then(Value::as_i64)
                .and_then(|t| chrono::DateTime::<chrono::Utc>::from_timestamp(t, 0))
                .map(crate::credential::format_time)
        };
        let mut credential = json!({
            "@context": [CREDENTIALS_V2_CONTEXT, SYMBOLON_CONTEXT],
            "type": ["VerifiableCredential", credential_type],
            "issuer": claims.get("iss").cloned().unwrap_or(Value::Null),
            "credentialSubject": subject,
        });
        if let Some(object) = credential.as_object_mut() {
            for (claim, member) in [("jti", "id"), ("credentialStatus", "credentialStatus")] {
                if let Some(value) = claims.get(claim) {
                    object.insert(member.into(), value.clone());
                }
            }
            for (claim, member) in [("nbf", "validFrom"), ("exp", "validUntil")] {
                if let Some(value) = time(claim) {
                    object.insert(member.into(), value.into());
                }
            }
        }
        credential
    }

    /// Checks what the SD-JWT VC format requires of the payload: `iss` (a URL) and `vct`.
    pub fn check_vc_claims(&self) -> Result<(), VerifyError> {
        let iss = self.claims.get("iss").and_then(Value::as_str);
        if !iss.is_some_and(|iss| iss.contains(':') && !iss.contains(char::is_whitespace)) {
            return Err(malformed("an SD-JWT VC needs `iss`, a URL"));
        }
        if !self.claims.get("vct").is_some_and(Value::is_string) {
            return Err(malformed("an SD-JWT VC needs `vct`, a string"));
        }
        for claim in ["nbf", "exp", "iat"] {
            if self.claims.get(claim).is_some_and(|v| !v.is_i64()) {
                return Err(malformed(format!("`{claim}` must be an integer")));
            }
        }
        Ok(())
    }
}
