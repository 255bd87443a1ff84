//! Cross-witnessing: two organisations' logs agree about shared events.

use symbolon_audit::{verify_pair, AuditEvent, FindingKind as K};

use crate::common::{org, Org};

fn witness(of: &Org, by: &Org) {
    let head = of.log.sign_head(&of.key, &of.did).unwrap();
    by.log
        .append(&AuditEvent::witness(
            by.did.as_str(),
            of.did.as_str(),
            &head.jws,
        ))
        .unwrap();
    by.log.sign_head(&by.key, &by.did).unwrap();
}

#[test]
fn logs_that_witness_each_other_agree() {
    let (a, b) = (org(), org());
    a.fill(5, 5);
    b.fill(3, 3);
    witness(&a, &b);
    witness(&b, &a);
    a.fill(2, 2);
    let report = verify_pair(&a.bundle(), &b.bundle());
    assert!(report.is_valid(), "{report}");
    assert_eq!(report.b_heads_witnessed_by_a, 1);
    assert_eq!(report.a_heads_witnessed_by_b, 1);
    assert_eq!(report.to_json()["valid"], true);
    assert!(report.to_string().contains("AGREE"));
}

#[test]
fn a_log_rewritten_after_it_was_witnessed_disagrees() {
    let (a, b) = (org(), org());
    a.fill(5, 5);
    witness(&a, &b);
    // A rebuilds its log from scratch with the same key: its own bundle is self-consistent.
    let rewritten = Org {
        key: a.key.clone(),
        did: a.did.clone(),
        ..org()
    };
    rewritten.fill(6, 3);
    let report = verify_pair(&rewritten.bundle(), &b.bundle());
    assert!(report.a.is_valid(), "{report}");
    assert!(!report.is_valid());
    let mismatches: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.kind == K::WitnessMismatch)
        .collect();
    assert_eq!(mismatches.len(), 1, "{report}");
    assert_eq!(mismatches[0].size, Some(5));

    // Removing entries from A's bundle below the witnessed size is caught too.
    let mut truncated = a.bundle();
    truncated.entries.truncate(3);
    truncated.heads.clear();
    let report = verify_pair(&truncated, &b.bundle());
    assert!(
        report.findings.iter().any(|f| f.kind == K::WitnessMismatch),
        "{report}"
    );
}

#[test]
fn a_forged_witnessed_head_is_named() {
    let (a, b) = (org(), org());
    a.fill(2, 2);
    let mallory = symbolon_identity::KeyPair::generate(symbolon_identity::KeyAlgorithm::Ed25519);
    let forged = symbolon_audit::TreeHead::new(a.did.as_str(), 2, a.log.root().unwrap())
        .sign(&mallory, &a.did.default_method())
        .unwrap();
    b.log
        .append(&AuditEvent::witness(
            b.did.as_str(),
            a.did.as_str(),
            &forged.jws,
        ))
        .unwrap();
    b.log.sign_head(&b.key, &b.did).unwrap();
    let report = verify_pair(&a.bundle(), &b.bundle());
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.kind == K::WitnessInvalid && f.index == Some(0)),
        "{report}"
    );
}
