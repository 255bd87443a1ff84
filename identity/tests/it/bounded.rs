//! Bounded verification: the trust check precedes any fetch a credential triggers; status
//! lists are fetched concurrently within one deadline; presentations carry a bounded number of
//! credentials and live a bounded time, with every time computation checked.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use symbolon_identity::status_list::{
    self, BoxFuture, StatusFetchError, StatusPurpose, StatusSource,
};
use symbolon_identity::verify::{MAX_PRESENTATION_CREDENTIALS, MAX_PRESENTATION_LIFETIME_SECONDS};
use symbolon_identity::{
    create_presentation, jose, Expectations, Format, Identity, Input, Outcome, Report, Secured,
    TrustList, VerifyError,
};

use crate::common::*;

/// A status source that records every URL it is asked for, waits `delay` (forever when
/// `None`), and then has no list.
struct Recording {
    asked: Mutex<Vec<String>>,
    delay: Option<Duration>,
}

impl Recording {
    fn new(delay: Option<Duration>) -> Arc<Self> {
        Arc::new(Recording {
            asked: Mutex::new(Vec::new()),
            delay,
        })
    }

    fn asked(&self) -> Vec<String> {
        self.asked.lock().unwrap().clone()
    }
}

impl StatusSource for Recording {
    fn fetch<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<String, StatusFetchError>> {
        self.asked.lock().unwrap().push(url.to_owned());
        Box::pin(async move {
            match self.delay {
                Some(delay) => tokio::time::sleep(delay).await,
                None => std::future::pending::<()>().await,
            }
            Err(StatusFetchError::NotFound(url.to_owned()))
        })
    }
}

fn trust_list(issuer: &Identity) -> TrustList {
    TrustList {
        data_space: DATA_SPACE.into(),
        anchor: issuer.did.to_string(),
        entries: [(
            issuer.did.to_string(),
            ["DataSpaceMembershipCredential".to_owned()].into(),
        )]
        .into(),
    }
}

/// A membership from `issuer` about `subject` whose status is at `url`.
async fn with_status(issuer: &Identity, subject: &Identity, url: &str) -> Secured {
    let mut unsigned = membership(issuer, &subject.did);
    unsigned["credentialStatus"] = status_list::entry(url, StatusPurpose::Revocation, 3);
    issue(issuer, unsigned, Format::Jwt).await
}

fn outcome_code(report: &Report, check: &str) -> (Option<Outcome>, Option<&'static str>) {
    let found = report.checks.iter().find(|c| c.check == check);
    (found.map(|c| c.outcome), found.and_then(|c| c.code))
}

#[tokio::test]
async fn an_untrusted_issuers_status_list_is_never_fetched() {
    let (authority, stranger, subject) = (identity(), identity(), identity());
    let source = Recording::new(Some(Duration::ZERO));
    let forged = with_status(&stranger, &subject, "https://scanner.example/probe").await;
    let trusting = verifier()
        .with_status_source(source.clone())
        .with_trust_list(trust_list(&authority));
    let report = trusting.verify_credential(&input(&forged)).await;
    assert!(!report.verified);
    assert_eq!(
        outcome_code(&report, "trust"),
        (Some(Outcome::Failed), Some("untrusted_issuer"))
    );
    assert_eq!(report.outcome("status"), Some(Outcome::Skipped));
    assert_eq!(report.outcome("signature"), Some(Outcome::Skipped));
    assert!(source.asked().is_empty(), "fetched: {:?}", source.asked());

    // The trusted issuer's list is fetched.
    let trusted = with_status(&authority, &subject, "https://authority.example/status").await;
    let report = trusting.verify_credential(&input(&trusted)).await;
    assert_eq!(source.asked(), ["https://authority.example/status"]);
    assert_eq!(report.outcome("trust"), Some(Outcome::Passed));
    assert_eq!(
        outcome_code(&report, "status"),
        (Some(Outcome::Failed), Some("status_unavailable")),
        "the stand-in source has no list"
    );

    // Without a trust list, a verifier for strangers fetches only its own issuers' lists.
    let gated = verifier()
        .with_status_source(source.clone())
        .fetch_status_only_when_trusted(vec![authority.did.to_string()]);
    let report = gated.verify_credential(&input(&forged)).await;
    assert_eq!(
        outcome_code(&report, "status"),
        (Some(Outcome::Failed), Some("status_unavailable"))
    );
    assert!(
        report.error.as_deref().unwrap().contains("not fetched"),
        "{:?}",
        report.error
    );
    assert_eq!(source.asked().len(), 1, "nothing more was fetched");
    gated.verify_credential(&input(&trusted)).await;
    assert_eq!(source.asked().len(), 2, "the own issuer's list is fetched");
}

/// An untrusted did:web issuer's DID document is not resolved either: the host never sees a
/// connection.
#[tokio::test]
async fn an_untrusted_did_web_issuer_is_not_resolved() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while listener.accept().await.is_ok() {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    let (authority, key_holder, subject) = (identity(), identity(), identity());
    let did = format!("did:web:127.0.0.1%3A{port}");
    let mut claims = membership(&authority, &subject.did);
    claims["issuer"] = did.clone().into();
    let token = jose::sign(&key_holder.key, &format!("{did}#key-1"), "vc+jwt", &claims);
    let resolver = symbolon_identity::DidResolver::with_policy(
        symbolon_identity::net::AddressPolicy::ALLOW_PRIVATE,
    );
    let report = symbolon_identity::Verifier::new(Arc::new(resolver))
        .with_trust_list(trust_list(&authority))
        .verify_credential(&Input::Jwt(token))
        .await;
    assert_eq!(
        outcome_code(&report, "trust"),
        (Some(Outcome::Failed), Some("untrusted_issuer"))
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(accepted.load(Ordering::SeqCst), 0, "the host was contacted");
}

/// A presentation of `count` credentials from `authority`, each with its own status list.
async fn presentation(authority: &Identity, holder: &Identity, count: usize) -> Secured {
    let mut credentials = Vec::new();
    for i in 0..count {
        let url = format!("https://status{i}.example/list");
        credentials.push(with_status(authority, holder, &url).await);
    }
    create_presentation(
        holder,
        &credentials,
        Format::Jwt,
        "n-1",
        "did:example:verifier",
    )
    .await
    .unwrap()
}

fn expected() -> Expectations {
    Expectations {
        challenge: "n-1".into(),
        audience: "did:example:verifier".into(),
    }
}

#[tokio::test]
async fn status_lists_are_fetched_concurrently() {
    let (authority, holder) = (identity(), identity());
    let vp = presentation(&authority, &holder, 6).await;
    let source = Recording::new(Some(Duration::from_secs(1)));
    let verifier = verifier().with_status_source(source.clone());
    let started = Instant::now();
    let report = verifier.verify_presentation(&input(&vp), &expected()).await;
    let took = started.elapsed();
    assert_eq!(source.asked().len(), 6);
    assert_eq!(report.credentials.len(), 6);
    assert!(
        took < Duration::from_secs(3),
        "6 lists of 1 s each took {took:?}: fetched one after another"
    );
}

#[tokio::test]
async fn one_deadline_bounds_a_presentation_whose_status_servers_never_answer() {
    let (authority, holder) = (identity(), identity());
    let vp = presentation(&authority, &holder, 5).await;
    let source = Recording::new(None);
    let mut verifier = verifier().with_status_source(source.clone());
    assert_eq!(
        verifier.deadline,
        symbolon_identity::verify::DEFAULT_DEADLINE
    );
    verifier.deadline = Duration::from_millis(500);
    let started = Instant::now();
    let report = verifier.verify_presentation(&input(&vp), &expected()).await;
    let took = started.elapsed();
    assert!(took < Duration::from_millis(2500), "took {took:?}");
    assert!(!report.verified);
    assert_eq!(report.credentials.len(), 5);
    for credential in &report.credentials {
        assert_eq!(
            outcome_code(credential, "status"),
            (Some(Outcome::Failed), Some("deadline"))
        );
    }
    assert!(
        report
            .error
            .as_deref()
            .unwrap()
            .contains("deadline of 500 ms"),
        "{:?}",
        report.error
    );
}

#[tokio::test]
async fn a_presentation_with_too_many_credentials_is_refused_before_any_is_verified() {
    let (authority, holder) = (identity(), identity());
    let vp = presentation(&authority, &holder, MAX_PRESENTATION_CREDENTIALS + 1).await;
    let source = Recording::new(Some(Duration::ZERO));
    let report = verifier()
        .with_status_source(source.clone())
        .verify_presentation(&input(&vp), &expected())
        .await;
    assert!(!report.verified);
    assert_eq!(
        outcome_code(&report, "credentials"),
        (Some(Outcome::Failed), Some("too_many"))
    );
    assert!(report.credentials.is_empty());
    assert!(source.asked().is_empty());
    assert_eq!(
        report.error.as_deref(),
        Some("credentials: credentials in the presentation: 33 where at most 32 are accepted")
    );
    let fine = presentation(&authority, &holder, 2).await;
    let report = verifier()
        .verify_presentation(&input(&fine), &expected())
        .await;
    assert!(report.verified, "{:?}", report.error);
}

/// A JWT presentation from `holder` whose claims are changed by `edit` and signed again.
async fn edited(holder: &Identity, edit: impl FnOnce(&mut Value)) -> Input {
    let vp = presentation(&identity(), holder, 0).await;
    let Secured::Jwt(token) = vp else {
        panic!("a JWT")
    };
    let mut payload = symbolon_identity::verify::peek_jwt_payload(&token).unwrap();
    edit(&mut payload);
    Input::Jwt(jose::sign(
        &holder.key,
        &holder.verification_method(),
        "vp+jwt",
        &payload,
    ))
}

#[tokio::test]
async fn extreme_and_endless_presentation_times_are_refused() {
    let holder = identity();
    let now = chrono::Utc::now().timestamp();
    let fine = edited(&holder, |_| {}).await;
    assert!(
        verifier()
            .verify_presentation(&fine, &expected())
            .await
            .verified
    );
    for (name, iat, exp, code) in [
        (
            "exp beyond chrono's range",
            json!(now),
            json!(i64::MAX),
            "malformed",
        ),
        (
            "iat beyond chrono's range",
            json!(i64::MIN),
            json!(now + 60),
            "malformed",
        ),
        (
            "exp not an integer",
            json!(now),
            json!("never"),
            "malformed",
        ),
        (
            "ten years",
            json!(now),
            json!(now + 10 * 365 * 86_400),
            "lifetime_too_long",
        ),
        (
            "no iat, far exp",
            Value::Null,
            json!(now + 2 * MAX_PRESENTATION_LIFETIME_SECONDS),
            "lifetime_too_long",
        ),
        ("expired", json!(now - 600), json!(now - 300), "expired"),
    ] {
        let input = edited(&holder, |payload| {
            payload["exp"] = exp;
            match iat {
                Value::Null => {
                    payload.as_object_mut().unwrap().remove("iat");
                }
                iat => payload["iat"] = iat,
            }
        })
        .await;
        let report = verifier().verify_presentation(&input, &expected()).await;
        assert!(!report.verified, "{name}");
        assert_eq!(
            outcome_code(&report, "validity"),
            (Some(Outcome::Failed), Some(code)),
            "{name}: {:?}",
            report.error
        );
    }
    let rejection = verifier()
        .verify_presentation(
            &edited(&holder, |p| p["exp"] = json!(i64::MAX)).await,
            &expected(),
        )
        .await;
    assert!(
        matches!(rejection.rejection(), Some(VerifyError::Malformed(m)) if m.contains("outside the representable time range"))
    );
}
