//! The identifier-set programs: `psi-cardinality` and `psi-membership`.

use crate::programs::{plan, recipients_result, run};
use serde_json::json;
use std::collections::BTreeMap;
use symbolon_mpc::programs::{LocalTable, ProgramError, Roles};

fn ids(prefix: &str, range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("{prefix}{i:05}")).collect()
}

fn id_table(ids: Vec<String>) -> LocalTable {
    LocalTable {
        ids: Some(ids),
        columns: BTreeMap::new(),
    }
}

#[test]
fn psi_cardinality_with_two_and_three_input_parties() {
    // Two inputs, recipients 1 (an input) and 3: DH PSI, forwarded to 3.
    let tables = vec![
        None,
        Some(id_table(ids("p", 0..50))),
        Some(id_table(ids("p", 30..90))),
        None,
    ];
    let roles = Roles {
        inputs: vec![1, 2],
        recipients: vec![3, 1],
    };
    let p = plan("psi-cardinality", json!({}));
    let v = recipients_result(run(4, &p, &roles, &tables, 1), &roles);
    assert_eq!(v["intersection"], 20);
    // Three inputs: joint linkage.
    let tables = vec![
        Some(id_table(ids("p", 0..50))),
        Some(id_table(ids("p", 30..90))),
        Some(id_table(
            ids("p", 40..45).into_iter().chain(ids("q", 0..9)).collect(),
        )),
    ];
    let roles = Roles {
        inputs: vec![0, 1, 2],
        recipients: vec![2],
    };
    let v = recipients_result(run(3, &p, &roles, &tables, 1), &roles);
    assert_eq!(v["intersection"], 5);
    // Two inputs, no recipient among them: joint linkage too.
    let tables = vec![
        Some(id_table(ids("p", 0..50))),
        Some(id_table(ids("p", 30..90))),
        None,
    ];
    let roles = Roles {
        inputs: vec![0, 1],
        recipients: vec![2],
    };
    let v = recipients_result(run(3, &p, &roles, &tables, 1), &roles);
    assert_eq!(v["intersection"], 20);
}

#[test]
fn psi_membership_gives_each_recipient_its_own_matches() {
    let tables = vec![
        Some(id_table(ids("p", 0..20))),
        Some(id_table(ids("p", 10..30))),
        Some(id_table(
            ids("p", 15..18).into_iter().chain(ids("p", 0..2)).collect(),
        )),
    ];
    let roles = Roles {
        inputs: vec![0, 1, 2],
        recipients: vec![0],
    };
    let p = plan("psi-membership", json!({}));
    let v = recipients_result(run(3, &p, &roles, &tables, 1), &roles);
    assert_eq!(v["in_all"], json!(ids("p", 15..18)));
    assert_eq!(
        v["per_party"][0],
        json!({"party": 1, "ids": ids("p", 10..20)})
    );
    let mut with2 = ids("p", 0..2);
    with2.extend(ids("p", 15..18));
    assert_eq!(v["per_party"][1], json!({"party": 2, "ids": with2}));
    let bad = Roles {
        inputs: vec![0, 1],
        recipients: vec![2],
    };
    assert!(matches!(
        run(3, &p, &bad, &tables, 1)[0],
        Err(ProgramError::Roles(_))
    ));
}
