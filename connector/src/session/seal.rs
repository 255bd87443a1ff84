//! Results sealed to a recipient's key: a compact JWE (RFC 7516) with direct key agreement
//! `ECDH-ES` over X25519 (RFC 7518 §4.6, RFC 8037) and content encryption `A256GCM`.
//!
//! A connector's key is Ed25519 (its DID and PeerId); its X25519 key is the birational
//! equivalent (the Edwards point in Montgomery form; the secret scalar from the Ed25519 seed
//! as RFC 8032 derives it), so a result is sealed to the DID's own key and opened only with
//! the connector's secret key. The content key comes from the shared secret through the Concat
//! KDF (NIST SP 800-56A) with SHA-256, `AlgorithmID` = `A256GCM`, empty `apu`/`apv`.

use aes_gcm::aead::{Aead as _, Payload};
use aes_gcm::{Aes256Gcm, KeyInit as _, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use curve25519_dalek::edwards::CompressedEdwardsY;
use curve25519_dalek::montgomery::MontgomeryPoint;
use rand::RngCore as _;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256, Sha512};
use symbolon_identity::{Identity, KeyAlgorithm};
use zeroize::Zeroizing;

/// The content encryption of a sealed result.
pub const ENC: &str = "A256GCM";

/// Why a result cannot be sealed or opened.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The key is not Ed25519.
    #[error("sealing needs an Ed25519 key")]
    NotEd25519,
    /// The JWE is malformed or not of this profile.
    #[error("the sealed record is malformed: {0}")]
    Malformed(&'static str),
    /// Decryption failed: another recipient's record, or tampered with.
    #[error("the sealed record does not open with this key (another recipient's, or altered)")]
    Open,
}

/// The X25519 public key of an Ed25519 public key (32 bytes).
fn x25519_public(ed25519: &[u8]) -> Result<MontgomeryPoint, SealError> {
    let bytes: [u8; 32] = ed25519.try_into().map_err(|_| SealError::NotEd25519)?;
    CompressedEdwardsY(bytes)
        .decompress()
        .map(|point| point.to_montgomery())
        .ok_or(SealError::NotEd25519)
}

/// The X25519 secret scalar (unclamped bytes) of an Ed25519 seed: the first half of its
/// SHA-512, as Ed25519 itself uses it.
fn x25519_secret(seed: &[u8]) -> Zeroizing<[u8; 32]> {
    let hash = Zeroizing::new(Sha512::digest(seed));
    let mut scalar = Zeroizing::new([0u8; 32]);
    scalar.copy_from_slice(&hash[..32]);
    scalar
}

/// The Concat KDF of RFC 7518 §4.6.2 for one SHA-256 round (keys up to 256 bits).
pub fn concat_kdf(z: &[u8], algorithm: &str, apu: &[u8], apv: &[u8], bits: u32) -> Vec<u8> {
    let mut hasher = Sha256::new();
    hasher.update(1u32.to_be_bytes());
    hasher.update(z);
    for part in [algorithm.as_bytes(), apu, apv] {
        hasher.update(u32::try_from(part.len()).unwrap_or(u32::MAX).to_be_bytes());
        hasher.update(part);
    }
    hasher.update(bits.to_be_bytes());
    let mut key = hasher.finalize().to_vec();
    key.truncate((bits / 8) as usize);
    key
}

/// Seals `plaintext` to `recipient` (its Ed25519 public key) as a compact JWE; `kid` names
/// the recipient's key.
pub fn seal(recipient: &[u8], kid: &str, plaintext: &[u8]) -> Result<String, SealError> {
    let their = x25519_public(recipient)?;
    let mut ephemeral = Zeroizing::new([0u8; 32]);
    rand::rngs::OsRng.fill_bytes(ephemeral.as_mut());
    let epk = MontgomeryPoint::mul_base_clamped(*ephemeral);
    let shared = Zeroizing::new(their.mul_clamped(*ephemeral).to_bytes());
    let header = json!({
        "alg": "ECDH-ES",
        "enc": ENC,
        "kid": kid,
        "cty": "application/json",
        "epk": {"kty": "OKP", "crv": "X25519", "x": B64.encode(epk.to_bytes())},
    });
    let protected = B64.encode(header.to_string());
    let key = Zeroizing::new(concat_kdf(shared.as_ref(), ENC, b"", b"", 256));
    let cipher = Aes256Gcm::new_from_slice(&key).map_err(|_| SealError::Malformed("key"))?;
    let mut iv = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut iv);
    let mut sealed = cipher
        .encrypt(
            Nonce::from_slice(&iv),
            Payload {
                msg: plaintext,
                aad: protected.as_bytes(),
            },
        )
        .map_err(|_| SealError::Malformed("encryption"))?;
    let tag = sealed.split_off(sealed.len().saturating_sub(16));
    Ok(format!(
        "{protected}..{}.{}.{}",
        B64.encode(iv),
        B64.encode(&sealed),
        B64.encode(&tag)
    ))
}

/// Seals `plaintext` to `identity`'s own key.
pub fn seal_to(identity: &Identity, plaintext: &[u8]) -> Result<String, SealError> {
    if identity.key.algorithm() != KeyAlgorithm::Ed25519 {
        return Err(SealError::NotEd25519);
    }
    let public = identity.key.public_key();
    let jwk = public.jwk();
    let x = jwk
        .get("x")
        .and_then(Value::as_str)
        .and_then(|x| B64.decode(x).ok())
        .ok_or(SealError::NotEd25519)?;
    seal(&x, &identity.verification_method(), plaintext)
}

/// Opens a JWE sealed to `identity`'s key.
pub fn open(identity: &Identity, jwe: &str) -> Result<Vec<u8>, SealError> {
    if identity.key.algorithm() != KeyAlgorithm::Ed25519 {
        return Err(SealError::NotEd25519);
    }
    let parts: Vec<&str> = jwe.split('.').collect();
    let [protected, encrypted_key, iv, ciphertext, tag] = parts.as_slice() else {
        return Err(SealError::Malformed("a compact JWE has five parts"));
    };
    if !encrypted_key.is_empty() {
        return Err(SealError::Malformed("ECDH-ES carries no encrypted key"));
    }
    let decode =
        |part: &str, what: &'static str| B64.decode(part).map_err(|_| SealError::Malformed(what));
    let header: Value = serde_json::from_slice(&decode(protected, "header")?)
        .map_err(|_| SealError::Malformed("the header is not JSON"))?;
    if header["alg"] != "ECDH-ES" || header["enc"] != ENC || header["epk"]["crv"] != "X25519" {
        return Err(SealError::Malformed("not ECDH-ES with X25519 and A256GCM"));
    }
    let epk: [u8; 32] = header["epk"]["x"]
        .as_str()
        .and_then(|x| B64.decode(x).ok())
        .and_then(|x| x.try_into().ok())
        .ok_or(SealError::Malformed("epk"))?;
    let iv = decode(iv, "iv")?;
    if iv.len() != 12 {
        return Err(SealError::Malformed("the iv is not 96 bits"));
    }
    let secret = x25519_secret(&identity.key.secret_bytes());
    let shared = Zeroizing::new(MontgomeryPoint(epk).mul_clamped(*secret).to_bytes());
    let key = Zeroizing::new(concat_kdf(shared.as_ref(), ENC, b"", b"", 256));
    let cipher = Aes256Gcm::new_from_slice(&key).map_err(|_| SealError::Open)?;
    let mut message = decode(ciphertext, "ciphertext")?;
    message.extend_from_slice(&decode(tag, "tag")?);
    cipher
        .decrypt(
            Nonce::from_slice(&iv),
            Payload {
                msg: &message,
                aad: protected.as_bytes(),
            },
        )
        .map_err(|_| SealError::Open)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_concat_kdf_matches_rfc_7518_appendix_c() {
        let z = [
            158, 86, 217, 29, 129, 113, 53, 211, 114, 131, 66, 131, 191, 132, 38, 156, 251, 49,
            110, 163, 218, 128, 106, 72, 246, 218, 167, 121, 140, 254, 144, 196,
        ];
        let key = concat_kdf(&z, "A128GCM", b"Alice", b"Bob", 128);
        assert_eq!(B64.encode(key), "VqqN6vgjbSBcIijNcacQGg");
    }

    #[test]
    fn a_sealed_result_opens_only_for_its_recipient_and_unaltered() {
        let recipient = Identity::generate(KeyAlgorithm::Ed25519);
        let jwe = seal_to(&recipient, br#"{"mean":2967.5}"#).unwrap();
        assert!(!jwe.contains("2967"));
        assert_eq!(open(&recipient, &jwe).unwrap(), br#"{"mean":2967.5}"#);

        let other = Identity::generate(KeyAlgorithm::Ed25519);
        assert!(matches!(open(&other, &jwe), Err(SealError::Open)));

        let mut parts: Vec<String> = jwe.split('.').map(str::to_owned).collect();
        let mut ciphertext = B64.decode(&parts[3]).unwrap();
        ciphertext[0] ^= 1;
        parts[3] = B64.encode(ciphertext);
        assert!(matches!(
            open(&recipient, &parts.join(".")),
            Err(SealError::Open)
        ));
        assert!(matches!(
            open(&recipient, "a.b.c"),
            Err(SealError::Malformed(_))
        ));
        assert!(matches!(
            seal_to(&Identity::generate(KeyAlgorithm::P256), b"x"),
            Err(SealError::NotEd25519)
        ));
    }
}
