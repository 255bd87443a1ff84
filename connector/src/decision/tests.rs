use std::sync::Arc;

use symbolon_identity::{
    create_presentation, DidResolver, Expectations, Format, Identity, Input, KeyAlgorithm, Report,
    Verifier,
};
use symbolon_policy::Schema;

use super::*;
use crate::fixtures::{offer, Authority};

fn compiled() -> CompiledOffer {
    CompiledOffer::compile(&offer(), &Arc::new(Schema::health())).unwrap()
}

/// The report of `holder`'s presentation of a membership with `role`, issued by an authority
/// the verifier trusts (or another it does not).
async fn presented(holder: &Identity, role: &str, trusted: bool) -> Report {
    let (issuer, trusted_authority) = (Authority::new(), Authority::new());
    let credential = issuer.membership(holder, role).await;
    let presentation = create_presentation(holder, &[credential], Format::Jwt, "n-1", "did:key:zP")
        .await
        .unwrap();
    let list = if trusted {
        issuer.list()
    } else {
        trusted_authority.list()
    };
    Verifier::new(Arc::new(DidResolver::offline()))
        .with_trust_list(list)
        .verify_presentation(
            &Input::Jwt(presentation.to_text()),
            &Expectations {
                challenge: "n-1".into(),
                audience: "did:key:zP".into(),
            },
        )
        .await
}

/// The verdict on `holder`'s presentation, asked by `caller`.
async fn decided(caller: Option<&str>, role: &str, trusted: bool) -> Decided {
    let holder = Identity::generate(KeyAlgorithm::Ed25519);
    let report = presented(&holder, role, trusted).await;
    decide(Question {
        caller: caller.unwrap_or(holder.did.as_str()),
        presentation: &report,
        offer: &compiled(),
        purpose: None,
    })
}

#[tokio::test]
async fn a_member_hospital_is_agreed_with_the_policys_obligations() {
    let decided = decided(None, "Hospital", true).await;
    let Verdict::Agree {
        obligations,
        grounds,
    } = decided.verdict
    else {
        panic!("refused: {:?}", decided.verdict);
    };
    assert_eq!(obligations.len(), 1);
    assert_eq!(obligations[0].name, "delete_after");
    assert_eq!(obligations[0].params["days"], 30);
    assert_eq!(grounds.len(), 1, "the membership the decision read");
    assert!(grounds[0]["type"]
        .as_array()
        .is_some_and(|t| t.contains(&"DataSpaceMembershipCredential".into())));
    assert!(grounds[0].get("proof").is_none());
    assert!(decided.decision.unwrap().is_permit());
}

#[tokio::test]
async fn a_pharmacy_is_refused_with_the_failed_condition() {
    let decided = decided(None, "Pharmacy", true).await;
    let Verdict::Refuse { reasons } = decided.verdict else {
        panic!("agreed");
    };
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("holder.role was \"Pharmacy\"")),
        "{reasons:?}"
    );
}

#[tokio::test]
async fn a_presentation_by_someone_else_than_the_caller_is_refused() {
    let decided = decided(Some("did:key:z6MkTheRealCaller"), "Hospital", true).await;
    assert_eq!(
        decided.verdict,
        Verdict::Refuse {
            reasons: vec![
                "the presentation's holder is not the caller `did:key:z6MkTheRealCaller`".into()
            ]
        }
    );
    assert!(decided.decision.is_none());
}

#[tokio::test]
async fn a_credential_from_an_untrusted_issuer_is_set_aside_with_its_reason() {
    let decided = decided(None, "Hospital", false).await;
    let Verdict::Refuse { reasons } = decided.verdict else {
        panic!("agreed");
    };
    assert!(
        reasons.iter().any(|r| r.contains("was set aside: trust")
            && r.contains("not trusted to issue `DataSpaceMembershipCredential`")),
        "{reasons:?}"
    );
    assert!(decided.decision.is_some(), "the policy read what was left");
}

#[tokio::test]
async fn one_bad_credential_does_not_shut_out_the_good_ones() {
    let holder = Identity::generate(KeyAlgorithm::Ed25519);
    let (trusted, rogue) = (Authority::new(), Authority::new());
    let good = trusted.membership(&holder, "Hospital").await;
    let untrusted = rogue.membership(&holder, "Insurer").await;
    let presentation = create_presentation(
        &holder,
        &[untrusted, good],
        Format::Jwt,
        "n-1",
        "did:key:zP",
    )
    .await
    .unwrap();
    let report = Verifier::new(Arc::new(DidResolver::offline()))
        .with_trust_list(trusted.list())
        .verify_presentation(
            &Input::Jwt(presentation.to_text()),
            &Expectations {
                challenge: "n-1".into(),
                audience: "did:key:zP".into(),
            },
        )
        .await;
    assert!(!report.verified, "one of its credentials failed");
    let caller = holder.did.as_str();
    assert_eq!(presentation_outcome(caller, &report), "partial");
    let decided = decide(Question {
        caller,
        presentation: &report,
        offer: &compiled(),
        purpose: None,
    });
    let Verdict::Agree { grounds, .. } = decided.verdict else {
        panic!("refused: {:?}", decided.verdict);
    };
    assert_eq!(grounds.len(), 1, "only the trusted membership");
    assert_eq!(grounds[0]["credentialSubject"]["role"], "Hospital");
}

#[tokio::test]
async fn a_presentation_that_fails_itself_is_not_read_at_all() {
    let holder = Identity::generate(KeyAlgorithm::Ed25519);
    let authority = Authority::new();
    let credential = authority.membership(&holder, "Hospital").await;
    let presentation =
        create_presentation(&holder, &[credential], Format::Jwt, "n-1", "did:key:zP")
            .await
            .unwrap();
    let report = Verifier::new(Arc::new(DidResolver::offline()))
        .with_trust_list(authority.list())
        .verify_presentation(
            &Input::Jwt(presentation.to_text()),
            &Expectations {
                challenge: "another nonce".into(),
                audience: "did:key:zP".into(),
            },
        )
        .await;
    let decided = decide(Question {
        caller: holder.did.as_str(),
        presentation: &report,
        offer: &compiled(),
        purpose: None,
    });
    let Verdict::Refuse { reasons } = decided.verdict else {
        panic!("agreed");
    };
    assert!(
        reasons[0].starts_with("the presentation was rejected"),
        "{reasons:?}"
    );
    assert!(decided.decision.is_none());
    assert_eq!(
        presentation_outcome(holder.did.as_str(), &report),
        "refused"
    );
}

// See: issue #21, "a client with no credentials is told `holder.role is missing`".
#[tokio::test]
async fn a_presentation_without_credentials_is_told_so_first() {
    let holder = Identity::generate(KeyAlgorithm::Ed25519);
    let presentation = create_presentation(&holder, &[], Format::Jwt, "n-1", "did:key:zP")
        .await
        .unwrap();
    let report = Verifier::new(Arc::new(DidResolver::offline()))
        .with_trust_list(Authority::new().list())
        .verify_presentation(
            &Input::Jwt(presentation.to_text()),
            &Expectations {
                challenge: "n-1".into(),
                audience: "did:key:zP".into(),
            },
        )
        .await;
    assert!(
        report.verified,
        "an empty presentation verifies: {report:?}"
    );
    let decided = decide(Question {
        caller: holder.did.as_str(),
        presentation: &report,
        offer: &compiled(),
        purpose: None,
    });
    let Verdict::Refuse { reasons } = decided.verdict else {
        panic!("agreed");
    };
    assert!(
        reasons[0].starts_with("you presented no credentials"),
        "{reasons:?}"
    );
    assert!(reasons[0].contains("symbolon join"), "{reasons:?}");
}
