//! What the auditor's sign-in to the console keeps: the challenges answered and the sessions
//! opened, both in memory (a restart signs every auditor out), both expiring and bounded in
//! number.
//!
//! A challenge keeps nothing on the connector until it is answered: it is 128 random bits, the
//! moment it expires and an HMAC-SHA256 tag over both under a key this server drew at start
//! ([`AuditorSignIn::check_challenge`] checks the tag in constant time and the expiry). So a
//! stranger may ask for as many challenges as the rate limit lets through without using up
//! anything an auditor needs. A challenge is single-use: the sign-in that answers it with a
//! trusted `AuditorCredential` marks it answered ([`AuditorSignIn::open`]) until it expires;
//! only such sign-ins fill that list, so only auditors can. A session token is 256 random bits;
//! only its SHA-256 digest is kept, compared in constant time, and the token itself is handed
//! out once and never logged.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use hmac::digest::generic_array::GenericArray;
use hmac::{Hmac, Mac as _};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

/// The prefix of every auditor session token, so that the audit API tells one from a
/// self-issued token at a glance.
pub const SESSION_PREFIX: &str = "auditor_";

/// How long challenges and sessions live, and how many are kept at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInLimits {
    /// How long a challenge may be answered.
    pub challenge_ttl: Duration,
    /// How long a session lasts.
    pub session_ttl: Duration,
    /// Most answered challenges remembered at once (each one an auditor's sign-in, kept until
    /// the challenge expires so that it cannot be answered again); more sign-ins are refused
    /// until the first expires.
    pub max_answered: usize,
    /// Most open sessions; the one closest to its end is closed to make room.
    pub max_sessions: usize,
}

impl Default for SignInLimits {
    /// Challenges of 5 minutes (1024 sign-ins at most within one challenge's lifetime),
    /// sessions of 15 minutes (64 at most).
    fn default() -> Self {
        SignInLimits {
            challenge_ttl: Duration::from_secs(300),
            session_ttl: Duration::from_secs(900),
            max_answered: 1024,
            max_sessions: 64,
        }
    }
}

/// Why a challenge was not handed out or not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignInError {
    /// As many sign-ins as are remembered happened within a challenge's lifetime.
    #[error(
        "{answered} sign-ins in the last {} s, the most this connector remembers; try again in \
         {} s", .ttl.as_secs(), .retry_after.as_secs().max(1)
    )]
    TooManySignIns {
        /// How many challenges are remembered as answered.
        answered: usize,
        /// A challenge's lifetime.
        ttl: Duration,
        /// When the first of them expires.
        retry_after: Duration,
    },
    /// The challenge was not handed out by this server (or not since it started).
    #[error(
        "the challenge is unknown: this connector did not hand it out, or has restarted since; \
         ask for a new one"
    )]
    UnknownChallenge,
    /// The challenge was answered already.
    #[error("the challenge was already used to sign in: ask for a new one")]
    UsedChallenge,
    /// The challenge expired before it was answered.
    #[error(
        "the challenge expired {} s ago: ask for a new one and sign in within {} s",
        .ago.as_secs(), .ttl.as_secs()
    )]
    ExpiredChallenge {
        /// How long ago.
        ago: Duration,
        /// A challenge's lifetime.
        ttl: Duration,
    },
}

/// A challenge handed out.
#[derive(Debug, Clone)]
pub struct Challenge {
    /// The nonce the presentation must carry (and the self-issued token's `jti`).
    pub nonce: String,
    /// How long it may be answered.
    pub expires_in: Duration,
    /// Until when.
    pub expires_at: DateTime<Utc>,
}

/// A session opened: the token (handed out once) and its end.
pub struct Opened {
    /// The session token.
    pub token: Zeroizing<String>,
    /// How long it lasts.
    pub expires_in: Duration,
    /// Until when.
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// An open session, as a session token shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// The auditor's DID.
    pub auditor: String,
    /// When the session ends.
    pub expires_at: DateTime<Utc>,
}

/// The challenges answered and sessions open of one server, shared by its workers.
#[derive(Clone)]
pub struct AuditorSignIn {
    limits: SignInLimits,
    /// The key of the challenges' tags (SHA-256's block size), drawn at start and never shown.
    key: Arc<Zeroizing<[u8; 64]>>,
    /// The instant challenges count their expiry from.
    epoch: Instant,
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    /// Answered challenges: their random part and when they expire.
    answered: Vec<([u8; CHALLENGE_RANDOM], Instant)>,
    sessions: Vec<Session>,
}

/// A challenge's random bytes, its expiry (milliseconds after [`AuditorSignIn::epoch`], big
/// endian) and its tag.
const CHALLENGE_RANDOM: usize = 16;
const CHALLENGE_EXPIRY: usize = 8;
const CHALLENGE_TAG: usize = 16;
const CHALLENGE_BYTES: usize = CHALLENGE_RANDOM + CHALLENGE_EXPIRY + CHALLENGE_TAG;

/// What a challenge's tag is computed over, ahead of its random bytes and expiry.
const TAG_CONTEXT: &[u8] = b"symbolon console auditor challenge v1";

impl State {
    /// Whether a sign-in answered the challenge of `drawn` (forgetting those expired by `now`).
    fn is_answered(&mut self, drawn: &[u8; CHALLENGE_RANDOM], now: Instant) -> bool {
        self.answered.retain(|(_, until)| *until > now);
        self.answered
            .iter()
            .any(|(seen, _)| bool::from(seen[..].ct_eq(&drawn[..])))
    }
}

struct Session {
    digest: [u8; 32],
    auditor: String,
    expires: Instant,
    expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for AuditorSignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditorSignIn")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Default for AuditorSignIn {
    fn default() -> Self {
        AuditorSignIn::new(SignInLimits::default())
    }
}

/// 256 random bits, base64url.
fn random() -> String {
    let mut bytes = Zeroizing::new([0u8; 32]);
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes[..]);
    B64.encode(&bytes[..])
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The wall-clock time `after` from now.
fn wall(after: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(after)
        .ok()
        .and_then(|d| Utc::now().checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

impl AuditorSignIn {
    /// An empty sign-in state with `limits` (each bound at least 1) and a fresh key.
    pub fn new(limits: SignInLimits) -> Self {
        let mut key = Zeroizing::new([0u8; 64]);
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key[..]);
        AuditorSignIn {
            limits: SignInLimits {
                max_answered: limits.max_answered.max(1),
                max_sessions: limits.max_sessions.max(1),
                ..limits
            },
            key: Arc::new(key),
            epoch: Instant::now(),
            state: Arc::new(Mutex::new(State::default())),
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> SignInLimits {
        self.limits
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The state stays consistent at every step: a panic elsewhere cannot leave it half
        // changed, so a poisoned lock is taken as it is.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Hands out a new challenge; nothing is kept until it is answered.
    pub fn challenge(&self) -> Challenge {
        self.challenge_at(Instant::now())
    }

    fn challenge_at(&self, now: Instant) -> Challenge {
        let mut bytes = [0u8; CHALLENGE_BYTES];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes[..CHALLENGE_RANDOM]);
        let expires = now + self.limits.challenge_ttl;
        let offset = u64::try_from(expires.saturating_duration_since(self.epoch).as_millis())
            .unwrap_or(u64::MAX);
        bytes[CHALLENGE_RANDOM..CHALLENGE_RANDOM + CHALLENGE_EXPIRY]
            .copy_from_slice(&offset.to_be_bytes());
        let tag = self.tag(&bytes[..CHALLENGE_RANDOM + CHALLENGE_EXPIRY]);
        bytes[CHALLENGE_RANDOM + CHALLENGE_EXPIRY..].copy_from_slice(&tag);
        Challenge {
            nonce: B64.encode(bytes),
            expires_in: self.limits.challenge_ttl,
            expires_at: wall(self.limits.challenge_ttl),
        }
    }

    /// The tag of a challenge's random bytes and expiry.
    fn tag(&self, signed: &[u8]) -> [u8; CHALLENGE_TAG] {
        let mut mac =
            <Hmac<Sha256> as hmac::digest::KeyInit>::new(GenericArray::from_slice(&self.key[..]));
        mac.update(TAG_CONTEXT);
        mac.update(signed);
        let full = mac.finalize().into_bytes();
        let mut tag = [0u8; CHALLENGE_TAG];
        tag.copy_from_slice(&full[..CHALLENGE_TAG]);
        tag
    }

    /// Checks that `nonce` is a challenge this server handed out (its tag, in constant time),
    /// that it has not expired and that no sign-in answered it yet. It stays answerable until
    /// [`AuditorSignIn::open`] marks it answered.
    pub fn check_challenge(&self, nonce: &str) -> Result<(), SignInError> {
        self.check_challenge_at(nonce, Instant::now()).map(drop)
    }

    fn check_challenge_at(&self, nonce: &str, now: Instant) -> Result<(), SignInError> {
        let (drawn, _) = self.verify_nonce(nonce, now)?;
        if self.state().is_answered(&drawn, now) {
            return Err(SignInError::UsedChallenge);
        }
        Ok(())
    }

    /// The random bytes and expiry of `nonce`, once its tag and expiry are checked.
    fn verify_nonce(
        &self,
        nonce: &str,
        now: Instant,
    ) -> Result<([u8; CHALLENGE_RANDOM], Instant), SignInError> {
        let bytes = B64
            .decode(nonce)
            .ok()
            .filter(|b| b.len() == CHALLENGE_BYTES)
            .ok_or(SignInError::UnknownChallenge)?;
        let (signed, tag) = bytes.split_at(CHALLENGE_RANDOM + CHALLENGE_EXPIRY);
        if !bool::from(self.tag(signed)[..].ct_eq(tag)) {
            return Err(SignInError::UnknownChallenge);
        }
        let mut random = [0u8; CHALLENGE_RANDOM];
        random.copy_from_slice(&signed[..CHALLENGE_RANDOM]);
        let mut offset = [0u8; CHALLENGE_EXPIRY];
        offset.copy_from_slice(&signed[CHALLENGE_RANDOM..]);
        let expires = self.epoch + Duration::from_millis(u64::from_be_bytes(offset));
        if expires <= now {
            return Err(SignInError::ExpiredChallenge {
                ago: now.saturating_duration_since(expires),
                ttl: self.limits.challenge_ttl,
            });
        }
        Ok((random, expires))
    }

    /// Opens a session for `auditor`, who answered `nonce`: the challenge is checked again and
    /// marked answered (so of two sign-ins with one challenge only the first opens a session).
    /// When [`SignInLimits::max_sessions`] are open, the one closest to its end is closed
    /// first.
    pub fn open(&self, auditor: &str, nonce: &str) -> Result<Opened, SignInError> {
        self.open_at(auditor, nonce, Instant::now())
    }

    fn open_at(&self, auditor: &str, nonce: &str, now: Instant) -> Result<Opened, SignInError> {
        let (drawn, expires) = self.verify_nonce(nonce, now)?;
        let token = Zeroizing::new(format!("{SESSION_PREFIX}{}", random()));
        let mut state = self.state();
        // Checked and marked under one lock: a second sign-in with this challenge, checked
        // before this one marked it, is refused here.
        if state.is_answered(&drawn, now) {
            return Err(SignInError::UsedChallenge);
        }
        if state.answered.len() >= self.limits.max_answered {
            let first = state
                .answered
                .iter()
                .map(|(_, until)| *until)
                .min()
                .unwrap_or(now);
            // In whole seconds, rounded up (expiries are kept to the millisecond).
            let wait = first.saturating_duration_since(now);
            let retry_after =
                Duration::from_secs(wait.as_secs() + u64::from(wait.subsec_nanos() > 0));
            return Err(SignInError::TooManySignIns {
                answered: state.answered.len(),
                ttl: self.limits.challenge_ttl,
                retry_after,
            });
        }
        state.answered.push((drawn, expires));
        state.sessions.retain(|s| s.expires > now);
        if state.sessions.len() >= self.limits.max_sessions {
            if let Some(first) = state
                .sessions
                .iter()
                .enumerate()
                .min_by_key(|(_, s)| s.expires)
                .map(|(i, _)| i)
            {
                state.sessions.swap_remove(first);
            }
        }
        let expires_at = wall(self.limits.session_ttl);
        state.sessions.push(Session {
            digest: digest(&token),
            auditor: auditor.to_owned(),
            expires: now + self.limits.session_ttl,
            expires_at,
        });
        Ok(Opened {
            token,
            expires_in: self.limits.session_ttl,
            expires_at,
        })
    }

    /// The open session of `token`, if any (its digest compared in constant time with each).
    pub fn session(&self, token: &str) -> Option<SessionInfo> {
        self.session_at(token, Instant::now())
    }

    fn session_at(&self, token: &str, now: Instant) -> Option<SessionInfo> {
        if !token.starts_with(SESSION_PREFIX) {
            return None;
        }
        let wanted = digest(token);
        let mut state = self.state();
        state.sessions.retain(|s| s.expires > now);
        let mut found = None;
        for session in &state.sessions {
            if bool::from(session.digest[..].ct_eq(&wanted[..])) {
                found = Some(SessionInfo {
                    auditor: session.auditor.clone(),
                    expires_at: session.expires_at,
                });
            }
        }
        found
    }

    /// Closes the session of `token`; whether there was one.
    pub fn close(&self, token: &str) -> bool {
        let wanted = digest(token);
        let mut state = self.state();
        let before = state.sessions.len();
        state
            .sessions
            .retain(|s| !bool::from(s.digest[..].ct_eq(&wanted[..])));
        state.sessions.len() < before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_answered: usize, max_sessions: usize) -> SignInLimits {
        SignInLimits {
            challenge_ttl: Duration::from_secs(60),
            session_ttl: Duration::from_secs(600),
            max_answered,
            max_sessions,
        }
    }

    #[test]
    fn a_challenge_is_random_tagged_and_keeps_nothing_until_answered() {
        let signin = AuditorSignIn::new(limits(8, 8));
        let now = Instant::now();
        let a = signin.challenge_at(now);
        let b = signin.challenge_at(now);
        assert_ne!(a.nonce, b.nonce);
        assert_eq!(B64.decode(&a.nonce).unwrap().len(), CHALLENGE_BYTES);
        assert_eq!(a.nonce.len(), 54);
        // A stranger may ask for many more than any bound: nothing is kept.
        for _ in 0..10_000 {
            signin.challenge_at(now);
        }
        assert!(signin.state().answered.is_empty());
        assert_eq!(signin.check_challenge_at(&a.nonce, now), Ok(()));
        // Checking is not answering: it can be checked again.
        assert_eq!(signin.check_challenge_at(&a.nonce, now), Ok(()));
        assert_eq!(signin.check_challenge_at(&b.nonce, now), Ok(()));
    }

    #[test]
    fn a_challenge_opens_one_session_only() {
        let signin = AuditorSignIn::new(limits(8, 8));
        let now = Instant::now();
        let a = signin.challenge_at(now);
        signin
            .open_at("did:example:auditor", &a.nonce, now)
            .unwrap();
        assert_eq!(
            signin.check_challenge_at(&a.nonce, now),
            Err(SignInError::UsedChallenge)
        );
        let again = signin
            .open_at("did:example:auditor", &a.nonce, now)
            .unwrap_err();
        assert_eq!(again, SignInError::UsedChallenge);
        assert!(again.to_string().contains("already used"), "{again}");
        assert_eq!(signin.state().sessions.len(), 1);
    }

    #[test]
    fn forged_tampered_and_foreign_challenges_are_unknown() {
        let signin = AuditorSignIn::new(limits(8, 8));
        let other = AuditorSignIn::new(limits(8, 8));
        let now = Instant::now();
        let a = signin.challenge_at(now);
        let mut bytes = B64.decode(&a.nonce).unwrap();
        // A later expiry, the tag kept.
        bytes[CHALLENGE_RANDOM] ^= 0x01;
        let tampered = B64.encode(&bytes);
        let unknown = Err(SignInError::UnknownChallenge);
        for nonce in [
            tampered.as_str(),
            "made-up",
            "",
            &a.nonce[..40],
            &format!("{}AA", a.nonce),
            // Another server's (or this one's before a restart): another key.
            &other.challenge_at(now).nonce,
        ] {
            assert_eq!(signin.check_challenge_at(nonce, now), unknown, "{nonce}");
            assert_eq!(
                signin.open_at("did:example:a", nonce, now).map(drop),
                unknown,
                "{nonce}"
            );
        }
        let refused = SignInError::UnknownChallenge.to_string();
        assert!(refused.contains("ask for a new one"), "{refused}");
    }

    #[test]
    fn an_expired_challenge_is_refused() {
        let signin = AuditorSignIn::new(limits(8, 8));
        let now = Instant::now();
        let a = signin.challenge_at(now);
        let later = now + Duration::from_secs(61);
        let refused = signin.check_challenge_at(&a.nonce, later).unwrap_err();
        assert!(matches!(refused, SignInError::ExpiredChallenge { .. }));
        assert!(refused.to_string().contains("expired"), "{refused}");
        assert!(matches!(
            signin.open_at("did:example:a", &a.nonce, later),
            Err(SignInError::ExpiredChallenge { .. })
        ));
    }

    #[test]
    fn answered_challenges_are_bounded_and_forgotten_once_expired() {
        let signin = AuditorSignIn::new(limits(3, 8));
        let now = Instant::now();
        for _ in 0..3 {
            let nonce = signin.challenge_at(now).nonce;
            signin.open_at("did:example:a", &nonce, now).unwrap();
        }
        let fourth = signin.challenge_at(now).nonce;
        let refused = signin.open_at("did:example:a", &fourth, now).unwrap_err();
        assert_eq!(
            refused,
            SignInError::TooManySignIns {
                answered: 3,
                ttl: Duration::from_secs(60),
                retry_after: Duration::from_secs(60)
            }
        );
        assert!(
            refused.to_string().contains("try again in 60 s"),
            "{refused}"
        );
        // Once the answered ones expired, sign-ins open sessions again.
        let later = now + Duration::from_secs(61);
        let fresh = signin.challenge_at(later).nonce;
        signin.open_at("did:example:a", &fresh, later).unwrap();
        assert_eq!(signin.state().answered.len(), 1);
    }

    #[test]
    fn a_session_token_is_known_by_its_digest_until_it_ends_or_is_closed() {
        let signin = AuditorSignIn::new(limits(8, 8));
        let now = Instant::now();
        let opened = signin
            .open_at("did:example:auditor", &signin.challenge_at(now).nonce, now)
            .unwrap();
        assert!(opened.token.starts_with(SESSION_PREFIX));
        assert!(!format!("{opened:?}").contains(opened.token.as_str()));
        let info = signin.session_at(&opened.token, now).unwrap();
        assert_eq!(info.auditor, "did:example:auditor");
        // Nothing but the digest is kept.
        assert!(signin
            .state()
            .sessions
            .iter()
            .all(|s| s.digest == digest(&opened.token)));
        let mut wrong = opened.token.to_string();
        wrong.pop();
        wrong.push('x');
        assert_eq!(signin.session_at(&wrong, now), None);
        assert_eq!(signin.session_at("", now), None);
        let later = now + Duration::from_secs(601);
        assert_eq!(signin.session_at(&opened.token, later), None);
        assert!(signin.state().sessions.is_empty());

        let again = signin
            .open_at("did:example:auditor", &signin.challenge_at(now).nonce, now)
            .unwrap();
        assert!(signin.close(&again.token));
        assert!(!signin.close(&again.token));
        assert_eq!(signin.session_at(&again.token, now), None);
    }

    #[test]
    fn open_sessions_are_bounded_by_closing_the_one_nearest_its_end() {
        let signin = AuditorSignIn::new(limits(8, 2));
        let now = Instant::now();
        let open = |auditor: &str, at: Instant| {
            let nonce = signin.challenge_at(now).nonce;
            signin.open_at(auditor, &nonce, at).unwrap()
        };
        let first = open("did:example:a", now);
        let second = open("did:example:b", now + Duration::from_secs(1));
        let third = open("did:example:c", now + Duration::from_secs(2));
        let at = now + Duration::from_secs(3);
        assert_eq!(signin.session_at(&first.token, at), None);
        assert!(signin.session_at(&second.token, at).is_some());
        assert!(signin.session_at(&third.token, at).is_some());
        assert_eq!(signin.state().sessions.len(), 2);
    }
}
