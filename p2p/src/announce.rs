//! Offer announcements: signed as compact JWS, checked, and collected into the federated
//! catalog.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use symbolon_identity::{jose, Did, DidResolver, KeyPair};

use crate::error::P2pError;

/// The JWS `typ` of an announcement.
pub const ANNOUNCEMENT_TYPE: &str = "symbolon-announcement+jwt";

/// Clock skew allowed on an announcement's `issued_at`.
const LEEWAY_SECONDS: i64 = 60;

/// Most announcement nonces remembered for replay detection.
const MAX_SEEN: usize = 100_000;

/// An accepted offer announcement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Announcement {
    /// The announcing connector's DID (the JWS signer).
    pub issuer: String,
    /// The offer's `id`.
    pub offer_id: String,
    /// The offer, as announced.
    pub offer: Value,
    /// When it was signed (RFC 3339).
    pub issued_at: String,
    /// The issuer's sequence number; a later one replaces an earlier one.
    pub sequence: u64,
    /// The announcement's unique nonce.
    pub nonce: String,
    /// The PeerId the announcement arrived from.
    pub received_from: String,
    /// The signed announcement (compact JWS), for the audit trail.
    pub token: String,
}

/// Signs an announcement of `offer` (a JSON object with a string `id`) by `key`'s did:key in
/// `data_space`. Nodes do this in [`crate::NodeHandle::announce`]; it is public for relays and
/// tests.
pub fn sign_announcement(
    key: &KeyPair,
    data_space: &str,
    offer: &Value,
    sequence: u64,
) -> Result<String, P2pError> {
    signed(key, data_space, offer, sequence).map(|announcement| announcement.token)
}

/// Signs an announcement of `offer` as [`sign_announcement`] does, and returns it as
/// [`check`] would read it — the node's own announcement needs no checking of a signature it
/// just made.
pub(crate) fn signed(
    key: &KeyPair,
    data_space: &str,
    offer: &Value,
    sequence: u64,
) -> Result<Announcement, P2pError> {
    let offer_id = offer_id(offer)?;
    let did = Did::key(&key.public_key());
    let issued_at = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let nonce = crate::auth::fresh_nonce();
    let payload = json!({
        "iss": did.as_str(),
        "data_space": data_space,
        "offer": offer,
        "issued_at": issued_at,
        "nonce": nonce,
        "seq": sequence,
    });
    let token = jose::sign(key, &did.default_method(), ANNOUNCEMENT_TYPE, &payload);
    Ok(Announcement {
        issuer: did.as_str().to_owned(),
        offer_id,
        offer: offer.clone(),
        issued_at,
        sequence,
        nonce,
        received_from: String::new(),
        token,
    })
}

fn offer_id(offer: &Value) -> Result<String, P2pError> {
    if !offer.is_object() {
        return Err(P2pError::InvalidOffer("an offer is a JSON object".into()));
    }
    match offer.get("id").and_then(Value::as_str) {
        Some(id) if !id.is_empty() && id.len() <= 1024 => Ok(id.to_owned()),
        _ => Err(P2pError::InvalidOffer(
            "an offer needs a string `id` of at most 1024 characters".into(),
        )),
    }
}

/// Why an announcement was not kept, and whether its forwarder misbehaved.
#[derive(Debug, Clone)]
pub(crate) struct Dropped {
    /// In words.
    pub reason: String,
    /// The signer, when known.
    pub issuer: Option<String>,
    /// True for a forgery or a malformed message (reject), false for stale or replayed ones
    /// (ignore).
    pub reject: bool,
}

impl Dropped {
    fn reject(reason: String, issuer: Option<String>) -> Self {
        Dropped {
            reason,
            issuer,
            reject: true,
        }
    }

    fn ignore(reason: String, issuer: Option<String>) -> Self {
        Dropped {
            reason,
            issuer,
            reject: false,
        }
    }

    /// The signer is not an authenticated peer (ignore: it may authenticate later).
    pub(crate) fn not_member(signer: String) -> Self {
        let reason = format!("the signer `{signer}` is not an authenticated peer");
        Dropped::ignore(reason, Some(signer))
    }
}

/// Checks an announcement's shape, author binding and signature.
///
/// `author` is the DID of the authenticated author (the gossipsub message's signed `source`,
/// or the peer that sent it directly); `is_member` says whether a DID is an authenticated peer.
pub(crate) async fn check(
    token: &str,
    author: &Did,
    data_space: &str,
    is_member: impl Fn(&str) -> bool,
    resolver: &DidResolver,
) -> Result<Announcement, Dropped> {
    let decoded =
        jose::decode(token).map_err(|e| Dropped::reject(format!("malformed: {e}"), None))?;
    if decoded.header.get("typ").and_then(Value::as_str) != Some(ANNOUNCEMENT_TYPE) {
        return Err(Dropped::reject("not an announcement".into(), None));
    }
    let payload = &decoded.payload;
    let field = |name: &str| payload.get(name).and_then(Value::as_str);
    let signer = field("iss")
        .ok_or_else(|| Dropped::reject("no `iss`".into(), None))?
        .to_owned();
    let issuer = Some(signer.clone());
    if signer != author.as_str() {
        return Err(Dropped::reject(
            format!("forged: signed by `{signer}` but published by `{author}`"),
            issuer,
        ));
    }
    if !is_member(&signer) {
        return Err(Dropped::not_member(signer));
    }
    decoded
        .verify(token, &signer, resolver)
        .await
        .map_err(|e| Dropped::reject(format!("bad signature: {e}"), issuer.clone()))?;
    if field("data_space") != Some(data_space) {
        return Err(Dropped::reject(
            format!("not for data space `{data_space}`"),
            issuer,
        ));
    }
    let offer = payload.get("offer").cloned().unwrap_or(Value::Null);
    let offer_id = offer_id(&offer).map_err(|e| Dropped::reject(e.to_string(), issuer.clone()))?;
    let issued_at = field("issued_at").unwrap_or_default().to_owned();
    let nonce = field("nonce").unwrap_or_default().to_owned();
    let sequence = payload.get("seq").and_then(Value::as_u64).unwrap_or(0);
    if nonce.is_empty() || nonce.len() > 128 {
        return Err(Dropped::reject("no valid `nonce`".into(), issuer));
    }
    Ok(Announcement {
        issuer: signer,
        offer_id,
        offer,
        issued_at,
        sequence,
        nonce,
        received_from: String::new(),
        token: token.to_owned(),
    })
}

/// The federated catalog and the replay guard.
#[derive(Debug, Default)]
pub(crate) struct Catalog {
    /// (issuer, offer id) → the latest accepted announcement.
    entries: HashMap<(String, String), Announcement>,
    /// Nonces of accepted announcements, with their time, oldest first.
    seen: HashMap<String, DateTime<Utc>>,
    order: VecDeque<String>,
}

impl Catalog {
    /// Checks freshness and replay, then keeps `announcement` if it is newer than the entry
    /// it replaces.
    pub(crate) fn accept(
        &mut self,
        announcement: Announcement,
        max_age: Duration,
        now: DateTime<Utc>,
    ) -> Result<(), Dropped> {
        let issuer = Some(announcement.issuer.clone());
        let issued = DateTime::parse_from_rfc3339(&announcement.issued_at)
            .map_err(|_| Dropped::reject("`issued_at` is not RFC 3339".into(), issuer.clone()))?
            .with_timezone(&Utc);
        // Checked arithmetic: an extreme `max_age` saturates instead of overflowing.
        let max_age = chrono::Duration::from_std(max_age).unwrap_or(chrono::Duration::MAX);
        let horizon = now
            .checked_sub_signed(max_age)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let latest = now
            .checked_add_signed(chrono::Duration::seconds(LEEWAY_SECONDS))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        if issued > latest {
            return Err(Dropped::ignore(
                format!("issued in the future ({})", announcement.issued_at),
                issuer,
            ));
        }
        if issued < horizon {
            return Err(Dropped::ignore(
                format!("stale: issued at {}", announcement.issued_at),
                issuer,
            ));
        }
        if self.seen.contains_key(&announcement.nonce) {
            return Err(Dropped::ignore(
                format!("replayed: nonce `{}` was seen before", announcement.nonce),
                issuer,
            ));
        }
        self.remember(announcement.nonce.clone(), issued, horizon);
        let key = (announcement.issuer.clone(), announcement.offer_id.clone());
        match self.entries.get(&key) {
            Some(existing) if !newer(&announcement, existing) => Err(Dropped::ignore(
                "superseded by a later announcement".into(),
                issuer,
            )),
            _ => {
                self.entries.insert(key, announcement);
                Ok(())
            }
        }
    }

    fn remember(&mut self, nonce: String, issued: DateTime<Utc>, horizon: DateTime<Utc>) {
        // INVARIANT: `order` holds exactly the keys of `seen`.
        while self.order.len() >= MAX_SEEN
            || self
                .order
                .front()
                .and_then(|n| self.seen.get(n))
                .is_some_and(|at| *at < horizon)
        {
            match self.order.pop_front() {
                Some(old) => {
                    self.seen.remove(&old);
                }
                None => break,
            }
        }
        self.seen.insert(nonce.clone(), issued);
        self.order.push_back(nonce);
    }

    /// Forgets every announcement of `issuer` (a refused peer).
    pub(crate) fn remove_issuer(&mut self, issuer: &str) {
        self.entries.retain(|(i, _), _| i != issuer);
    }

    /// The entries, sorted by issuer and offer id.
    pub(crate) fn list(&self) -> Vec<Announcement> {
        let mut list: Vec<Announcement> = self.entries.values().cloned().collect();
        list.sort_by(|a, b| (&a.issuer, &a.offer_id).cmp(&(&b.issuer, &b.offer_id)));
        list
    }
}

fn newer(candidate: &Announcement, existing: &Announcement) -> bool {
    let time = |a: &Announcement| DateTime::parse_from_rfc3339(&a.issued_at).ok();
    (time(candidate), candidate.sequence) > (time(existing), existing.sequence)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;
    use symbolon_identity::KeyAlgorithm;

    fn new_key() -> (KeyPair, Did) {
        let key = KeyPair::generate(KeyAlgorithm::Ed25519);
        let did = Did::key(&key.public_key());
        (key, did)
    }

    #[tokio::test]
    async fn an_own_announcement_reads_as_the_check_reads_it() {
        let (key, did) = new_key();
        let offer = json!({"id": "offer-7", "title": "t"});
        let own = signed(&key, "ds", &offer, 42).unwrap();
        let checked = check(
            &own.token,
            &did,
            "ds",
            |_: &str| true,
            &DidResolver::offline(),
        )
        .await
        .unwrap();
        assert_eq!(own, checked);
        assert!(signed(&key, "ds", &json!({"title": "no id"}), 1).is_err());
    }

    #[tokio::test]
    async fn accepted_once_then_replay_and_forgery_dropped() {
        let (key, did) = new_key();
        let (_, other) = new_key();
        let resolver = DidResolver::offline();
        let offer = json!({"id": "offer-1", "title": "t"});
        let token = sign_announcement(&key, "ds", &offer, 1).unwrap();
        let member = |_: &str| true;
        let a = check(&token, &did, "ds", member, &resolver).await.unwrap();
        assert_eq!(a.offer_id, "offer-1");
        let mut catalog = Catalog::default();
        let max_age = Duration::from_secs(600);
        let mut endless = Catalog::default();
        endless
            .accept(a.clone(), Duration::MAX, Utc::now())
            .expect("an extreme max age saturates, it does not overflow");
        catalog.accept(a.clone(), max_age, Utc::now()).unwrap();
        let replay = catalog.accept(a, max_age, Utc::now()).unwrap_err();
        assert!(replay.reason.contains("replayed"), "{}", replay.reason);
        let forged = check(&token, &other, "ds", member, &resolver)
            .await
            .unwrap_err();
        assert!(forged.reject && forged.reason.contains("forged"));
        let wrong_space = check(&token, &did, "other", member, &resolver)
            .await
            .unwrap_err();
        assert!(wrong_space.reason.contains("data space"));
        let stranger = check(&token, &did, "ds", |_: &str| false, &resolver)
            .await
            .unwrap_err();
        assert!(stranger.reason.contains("not an authenticated peer"));
    }

    #[tokio::test]
    async fn stale_and_future_announcements_are_ignored_and_later_ones_replace() {
        let (key, did) = new_key();
        let resolver = DidResolver::offline();
        let offer = json!({"id": "o"});
        let mut catalog = Catalog::default();
        let max_age = Duration::from_secs(600);
        let first = check(
            &sign_announcement(&key, "ds", &offer, 1).unwrap(),
            &did,
            "ds",
            |_: &str| true,
            &resolver,
        )
        .await
        .unwrap();
        let later = Utc::now() + chrono::Duration::seconds(3600);
        let stale = catalog.accept(first.clone(), max_age, later).unwrap_err();
        assert!(stale.reason.contains("stale"));
        let earlier = Utc::now() - chrono::Duration::seconds(3600);
        let future = catalog.accept(first.clone(), max_age, earlier).unwrap_err();
        assert!(future.reason.contains("future"));
        catalog.accept(first, max_age, Utc::now()).unwrap();
        let second = check(
            &sign_announcement(&key, "ds", &json!({"id": "o", "v": 2}), 2).unwrap(),
            &did,
            "ds",
            |_: &str| true,
            &resolver,
        )
        .await
        .unwrap();
        catalog.accept(second, max_age, Utc::now()).unwrap();
        let list = catalog.list();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].offer["v"], 2);
        assert!(sign_announcement(&key, "ds", &json!({"no": "id"}), 1).is_err());
        assert!(sign_announcement(&key, "ds", &json!([1]), 1).is_err());
    }
}
