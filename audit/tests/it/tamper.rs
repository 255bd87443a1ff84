//! Each kind of tampering is detected and located.

use serde_json::json;
use symbolon_audit::event::canonical_value;
use symbolon_audit::{
    verify_bundle, AuditBundle, BundleError, BundleReport, FindingKind as K, TreeHead,
    MAX_BUNDLE_BYTES,
};
use symbolon_identity::{Did, KeyAlgorithm, KeyPair};

use crate::common::{event, org};

/// 20 entries, heads at 5, 10, 15, 20.
fn bundle() -> (crate::common::Org, AuditBundle) {
    let org = org();
    org.fill(20, 5);
    let bundle = org.bundle();
    (org, bundle)
}

fn indices(report: &BundleReport, kind: K) -> Vec<u64> {
    report.of_kind(kind).filter_map(|f| f.index).collect()
}

#[test]
fn an_untouched_bundle_is_valid() {
    let (_org, bundle) = bundle();
    let report = verify_bundle(&bundle);
    assert!(report.is_valid(), "{report}");
    assert_eq!(report.entries, 20);
    assert_eq!(report.verified_heads, 4);
    assert_eq!(report.signed_size, 20);
    let json = report.to_json();
    assert_eq!(json["valid"], true);
    assert!(report.to_string().contains("VALID"));
}

#[test]
fn a_changed_entry_is_named() {
    for target in [0usize, 7, 9, 13] {
        let (_org, mut bundle) = bundle();
        bundle.entries[target]["event"]["outcome"] = json!("forged-permit");
        let report = verify_bundle(&bundle);
        assert!(!report.is_valid());
        assert_eq!(
            indices(&report, K::ChangedEntry),
            vec![target as u64],
            "{report}"
        );
        assert!(report.of_kind(K::HeadMismatch).count() >= 1);
        assert!(report
            .to_string()
            .contains(&format!("entry {target} was changed")));
    }
}

#[test]
fn a_changed_last_entry_is_named() {
    let (_org, mut bundle) = bundle();
    bundle.entries[19]["event"]["subject"] = json!("elsewhere");
    let report = verify_bundle(&bundle);
    assert_eq!(indices(&report, K::ChangedEntry), vec![19], "{report}");
}

#[test]
fn a_rewritten_chain_is_confined_to_a_head_interval() {
    let (_org, mut bundle) = bundle();
    bundle.entries[7]["event"]["outcome"] = json!("forged");
    for i in 8..20 {
        let (_, prev) = canonical_value(&bundle.entries[i - 1]).unwrap();
        bundle.entries[i]["prev"] = json!(hex::encode(prev));
    }
    let report = verify_bundle(&bundle);
    assert!(!report.is_valid());
    let range: Vec<_> = report.of_kind(K::ChangedRange).collect();
    assert_eq!(range.len(), 1, "{report}");
    assert_eq!((range[0].index, range[0].size), (Some(5), Some(10)));
}

#[test]
fn a_removed_entry_is_named() {
    let (_org, mut bundle) = bundle();
    bundle.entries.remove(7);
    let report = verify_bundle(&bundle);
    assert_eq!(indices(&report, K::RemovedEntry), vec![7], "{report}");
    // See: issue #21, "removing entry 10 of a bundle also reports entries 42..43 were
    // removed": the one removal is reported once, not also as a removed tail.
    assert_eq!(report.of_kind(K::Truncated).count(), 0, "{report}");
    assert!(!report.is_valid());
}

#[test]
fn a_removed_entry_and_a_removed_tail_are_each_named() {
    let (_org, mut bundle) = bundle();
    bundle.entries.truncate(16);
    bundle.entries.remove(7);
    let report = verify_bundle(&bundle);
    assert_eq!(indices(&report, K::RemovedEntry), vec![7], "{report}");
    let truncated: Vec<_> = report.of_kind(K::Truncated).collect();
    assert_eq!(truncated.len(), 1, "{report}");
    assert_eq!(
        (truncated[0].index, truncated[0].size),
        (Some(16), Some(20))
    );
}

#[test]
fn removed_tail_entries_are_named() {
    let (_org, mut bundle) = bundle();
    bundle.entries.truncate(16);
    let report = verify_bundle(&bundle);
    let truncated: Vec<_> = report.of_kind(K::Truncated).collect();
    assert_eq!(truncated.len(), 1, "{report}");
    assert_eq!(
        (truncated[0].index, truncated[0].size),
        (Some(16), Some(20))
    );
}

#[test]
fn reordered_entries_are_named() {
    let (_org, mut bundle) = bundle();
    bundle.entries.swap(3, 4);
    let report = verify_bundle(&bundle);
    assert_eq!(indices(&report, K::ReorderedEntries), vec![3], "{report}");
    assert!(report.to_string().contains("position 3 holds entry 4"));
}

#[test]
fn a_duplicated_entry_is_named() {
    let (_org, mut bundle) = bundle();
    let copy = bundle.entries[2].clone();
    bundle.entries.insert(3, copy);
    let report = verify_bundle(&bundle);
    assert_eq!(indices(&report, K::DuplicatedEntry), vec![2], "{report}");
}

#[test]
fn a_forged_head_is_named() {
    let (org, mut bundle) = bundle();
    let mallory = KeyPair::generate(KeyAlgorithm::Ed25519);
    let forged = TreeHead::new(org.did.as_str(), 20, [7u8; 32])
        .sign(&mallory, &org.did.default_method())
        .unwrap();
    bundle.heads[3] = forged.jws;
    let report = verify_bundle(&bundle);
    let forged: Vec<_> = report.of_kind(K::ForgedHead).collect();
    assert_eq!(forged.len(), 1, "{report}");
    assert_eq!((forged[0].index, forged[0].size), (Some(3), Some(20)));
    // Altering a signed payload is a forgery too.
    let (_org, mut bundle) = self::bundle();
    let parts: Vec<&str> = bundle.heads[1].split('.').collect();
    let other: Vec<&str> = bundle.heads[2].split('.').collect();
    bundle.heads[1] = format!("{}.{}.{}", parts[0], other[1], parts[2]);
    let report = verify_bundle(&bundle);
    assert_eq!(report.of_kind(K::ForgedHead).count(), 1, "{report}");
}

#[test]
fn a_head_of_another_log_is_named() {
    let (_org, mut bundle) = bundle();
    let other = org();
    other.fill(3, 3);
    bundle.heads.push(other.log.head().unwrap().jws);
    let report = verify_bundle(&bundle);
    assert_eq!(report.of_kind(K::WrongLogId).count(), 1, "{report}");
}

#[test]
fn forking_heads_are_named() {
    // The same key signs a second history: same size, different root.
    let (org, mut bundle) = bundle();
    let fork = TreeHead::new(org.did.as_str(), 10, [1u8; 32])
        .sign(&org.key, &org.did.default_method())
        .unwrap();
    bundle.heads.push(fork.jws);
    let report = verify_bundle(&bundle);
    let forks: Vec<_> = report.of_kind(K::Fork).collect();
    assert_eq!(forks.len(), 1, "{report}");
    assert_eq!(forks[0].size, Some(10));

    // A head at a size nobody else signed whose root the later heads contradict.
    let (org, mut bundle) = self::bundle();
    let fork = TreeHead::new(org.did.as_str(), 12, [2u8; 32])
        .sign(&org.key, &org.did.default_method())
        .unwrap();
    bundle.heads.push(fork.jws);
    let report = verify_bundle(&bundle);
    let forks: Vec<_> = report.of_kind(K::Fork).collect();
    assert_eq!(forks.len(), 1, "{report}");
    assert_eq!(forks[0].size, Some(12));
    assert_eq!(report.of_kind(K::ChangedEntry).count(), 0);
}

#[test]
fn a_bundle_without_heads_is_invalid_and_an_unsigned_tail_is_a_warning() {
    let (org, mut bundle) = bundle();
    bundle.heads.clear();
    let report = verify_bundle(&bundle);
    assert!(!report.is_valid());
    assert_eq!(report.of_kind(K::Unsigned).count(), 1);

    org.log.append(&event(&org.did, 99)).unwrap();
    let report = verify_bundle(&org.bundle());
    assert!(report.is_valid(), "{report}");
    assert_eq!(report.of_kind(K::Unsigned).count(), 1);
    assert_eq!(report.signed_size, 20);
}

#[test]
fn malformed_entries_and_heads_are_named() {
    let (_org, mut bundle) = bundle();
    bundle.entries[3] = json!("garbage");
    bundle.heads[0] = "not.a.jws".into();
    let report = verify_bundle(&bundle);
    assert_eq!(indices(&report, K::MalformedEntry), vec![3], "{report}");
    assert_eq!(indices(&report, K::MalformedHead), vec![0]);
}

#[test]
fn malformed_and_oversized_bundles_are_refused() {
    assert!(matches!(
        AuditBundle::from_slice(b"not json"),
        Err(BundleError::Malformed(ref e)) if e.is_syntax()
    ));
    assert!(matches!(
        AuditBundle::from_slice(
            br#"{"format": "x", "log_id": "did:key:z", "entries": [], "heads": []}"#
        ),
        Err(BundleError::UnsupportedFormat(_))
    ));
    assert!(matches!(
        AuditBundle::from_slice(br#"{"format": "symbolon-audit-bundle/1"}"#),
        Err(BundleError::Malformed(ref e)) if e.is_data()
    ));
    let huge = std::io::Read::take(std::io::repeat(b' '), MAX_BUNDLE_BYTES + 1);
    let err = AuditBundle::from_reader(huge).unwrap_err();
    assert!(matches!(err, BundleError::TooLarge));
    assert!(err.to_string().contains("larger than"));

    let (_org, bundle) = bundle();
    let text = bundle.to_json_pretty().unwrap();
    let back = AuditBundle::from_slice(text.as_bytes()).unwrap();
    assert_eq!(back, bundle);
    assert!(verify_bundle(&back).is_valid());
    let mut odd = bundle;
    odd.log_id = "nobody".into();
    assert!(!verify_bundle(&odd).is_valid());
    let _ = Did::parse("did:key:z6Mk").is_ok();
}
