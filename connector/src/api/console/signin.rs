//! What the auditor's sign-in to the console keeps: the challenges handed out and the sessions
//! opened, both in memory (a restart signs every auditor out), both expiring and bounded in
//! number, so that nobody can fill the connector's memory by asking for challenges.
//!
//! A challenge is 256 random bits, single-use: [`AuditorSignIn::take_challenge`] removes it
//! whether the presentation that answers it is then accepted or not. A session token is 256
//! random bits as well; only its SHA-256 digest is kept, compared in constant time, and the
//! token itself is handed out once and never logged.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use chrono::{DateTime, Utc};
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
    /// Most challenges waiting for their presentation at once; more are refused until some
    /// expire or are used.
    pub max_challenges: usize,
    /// Most open sessions; the one closest to its end is closed to make room.
    pub max_sessions: usize,
}

impl Default for SignInLimits {
    /// Challenges of 5 minutes (256 at most waiting), sessions of 15 minutes (64 at most).
    fn default() -> Self {
        SignInLimits {
            challenge_ttl: Duration::from_secs(300),
            session_ttl: Duration::from_secs(900),
            max_challenges: 256,
            max_sessions: 64,
        }
    }
}

/// Why a challenge was not handed out or not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignInError {
    /// As many challenges as are kept are waiting.
    #[error(
        "{waiting} sign-ins are already waiting for their presentation, the most this connector \
         keeps; try again in {} s", .retry_after.as_secs().max(1)
    )]
    TooManyChallenges {
        /// How many are waiting.
        waiting: usize,
        /// When the first of them expires.
        retry_after: Duration,
    },
    /// The challenge was never handed out, or was used already.
    #[error("the challenge is unknown or was already used: ask for a new one")]
    UnknownChallenge,
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

/// The challenges and sessions of one server, shared by its workers.
#[derive(Clone)]
pub struct AuditorSignIn {
    limits: SignInLimits,
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    /// Waiting challenges: the nonce and when it expires.
    challenges: Vec<(String, Instant)>,
    sessions: Vec<Session>,
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
    /// An empty sign-in state with `limits` (each bound at least 1).
    pub fn new(limits: SignInLimits) -> Self {
        AuditorSignIn {
            limits: SignInLimits {
                max_challenges: limits.max_challenges.max(1),
                max_sessions: limits.max_sessions.max(1),
                ..limits
            },
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

    /// Hands out a new challenge, unless [`SignInLimits::max_challenges`] are waiting.
    pub fn challenge(&self) -> Result<Challenge, SignInError> {
        self.challenge_at(Instant::now())
    }

    fn challenge_at(&self, now: Instant) -> Result<Challenge, SignInError> {
        let mut state = self.state();
        state.challenges.retain(|(_, expires)| *expires > now);
        if state.challenges.len() >= self.limits.max_challenges {
            let first = state
                .challenges
                .iter()
                .map(|(_, expires)| *expires)
                .min()
                .unwrap_or(now);
            return Err(SignInError::TooManyChallenges {
                waiting: state.challenges.len(),
                retry_after: first.saturating_duration_since(now),
            });
        }
        let nonce = random();
        state
            .challenges
            .push((nonce.clone(), now + self.limits.challenge_ttl));
        Ok(Challenge {
            nonce,
            expires_in: self.limits.challenge_ttl,
            expires_at: wall(self.limits.challenge_ttl),
        })
    }

    /// Takes `nonce` out of the waiting challenges: it can be answered once only, whatever
    /// the answer.
    pub fn take_challenge(&self, nonce: &str) -> Result<(), SignInError> {
        self.take_challenge_at(nonce, Instant::now())
    }

    fn take_challenge_at(&self, nonce: &str, now: Instant) -> Result<(), SignInError> {
        let mut state = self.state();
        let position = state
            .challenges
            .iter()
            .position(|(n, _)| bool::from(n.as_bytes().ct_eq(nonce.as_bytes())))
            .ok_or(SignInError::UnknownChallenge)?;
        let (_, expires) = state.challenges.swap_remove(position);
        if expires <= now {
            return Err(SignInError::ExpiredChallenge {
                ago: now.saturating_duration_since(expires),
                ttl: self.limits.challenge_ttl,
            });
        }
        Ok(())
    }

    /// Opens a session for `auditor`; when [`SignInLimits::max_sessions`] are open, the one
    /// closest to its end is closed first.
    pub fn open(&self, auditor: &str) -> Opened {
        self.open_at(auditor, Instant::now())
    }

    fn open_at(&self, auditor: &str, now: Instant) -> Opened {
        let token = Zeroizing::new(format!("{SESSION_PREFIX}{}", random()));
        let mut state = self.state();
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
        Opened {
            token,
            expires_in: self.limits.session_ttl,
            expires_at,
        }
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

    fn limits(max_challenges: usize, max_sessions: usize) -> SignInLimits {
        SignInLimits {
            challenge_ttl: Duration::from_secs(60),
            session_ttl: Duration::from_secs(600),
            max_challenges,
            max_sessions,
        }
    }

    #[test]
    fn a_challenge_is_random_and_can_be_taken_once() {
        let signin = AuditorSignIn::new(limits(8, 8));
        let now = Instant::now();
        let a = signin.challenge_at(now).unwrap();
        let b = signin.challenge_at(now).unwrap();
        assert_ne!(a.nonce, b.nonce);
        assert_eq!(B64.decode(&a.nonce).unwrap().len(), 32);
        assert_eq!(signin.take_challenge_at(&a.nonce, now), Ok(()));
        assert_eq!(
            signin.take_challenge_at(&a.nonce, now),
            Err(SignInError::UnknownChallenge)
        );
        assert_eq!(
            signin.take_challenge_at("made-up", now),
            Err(SignInError::UnknownChallenge)
        );
        assert_eq!(signin.take_challenge_at(&b.nonce, now), Ok(()));
    }

    #[test]
    fn an_expired_challenge_is_refused_and_gone() {
        let signin = AuditorSignIn::new(limits(8, 8));
        let now = Instant::now();
        let a = signin.challenge_at(now).unwrap();
        let later = now + Duration::from_secs(61);
        let refused = signin.take_challenge_at(&a.nonce, later).unwrap_err();
        assert!(matches!(refused, SignInError::ExpiredChallenge { .. }));
        assert!(refused.to_string().contains("expired"), "{refused}");
        assert_eq!(
            signin.take_challenge_at(&a.nonce, later),
            Err(SignInError::UnknownChallenge)
        );
    }

    #[test]
    fn waiting_challenges_are_bounded_and_make_room_as_they_expire() {
        let signin = AuditorSignIn::new(limits(3, 8));
        let now = Instant::now();
        for _ in 0..3 {
            signin.challenge_at(now).unwrap();
        }
        let refused = signin.challenge_at(now).unwrap_err();
        assert_eq!(
            refused,
            SignInError::TooManyChallenges {
                waiting: 3,
                retry_after: Duration::from_secs(60)
            }
        );
        assert!(
            refused.to_string().contains("try again in 60 s"),
            "{refused}"
        );
        assert_eq!(signin.state().challenges.len(), 3);
        // Once they expired, new ones are handed out again.
        let later = now + Duration::from_secs(61);
        signin.challenge_at(later).unwrap();
        assert_eq!(signin.state().challenges.len(), 1);
    }

    #[test]
    fn a_session_token_is_known_by_its_digest_until_it_ends_or_is_closed() {
        let signin = AuditorSignIn::new(limits(8, 8));
        let now = Instant::now();
        let opened = signin.open_at("did:example:auditor", now);
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

        let again = signin.open_at("did:example:auditor", now);
        assert!(signin.close(&again.token));
        assert!(!signin.close(&again.token));
        assert_eq!(signin.session_at(&again.token, now), None);
    }

    #[test]
    fn open_sessions_are_bounded_by_closing_the_one_nearest_its_end() {
        let signin = AuditorSignIn::new(limits(8, 2));
        let now = Instant::now();
        let first = signin.open_at("did:example:a", now);
        let second = signin.open_at("did:example:b", now + Duration::from_secs(1));
        let third = signin.open_at("did:example:c", now + Duration::from_secs(2));
        let at = now + Duration::from_secs(3);
        assert_eq!(signin.session_at(&first.token, at), None);
        assert!(signin.session_at(&second.token, at).is_some());
        assert!(signin.session_at(&third.token, at).is_some());
        assert_eq!(signin.state().sessions.len(), 2);
    }
}
