//! The example end to end: text to decision, and the shapes the CLI prints.

use std::sync::Arc;

use serde_json::json;
use symbolon_policy::{Outcome, Policies, Request, Schema};

const PPA: &str = include_str!("data/ppa-ibd-2024.policy");

fn ppa() -> Policies {
    Policies::from_sources(&[("ppa.policy", PPA)], Arc::new(Schema::health())).unwrap()
}

#[test]
fn permit_carries_obligations_in_json_and_text() {
    let p = ppa();
    let req = Request::from_json(
        p.schema(),
        &json!({"action": "receive_result", "offer": "ppa-ibd-2024", "now": "2026-06-01",
                "holder": {"role": "Insurer", "member_of": "health-data-space-nl"},
                "consent": {"purposes": ["scientific-research"]},
                "request": {"purpose": "scientific-research"}, "session": {"parties": 5}}),
    )
    .unwrap();
    assert_eq!(p.authorize(&req).outcome, Outcome::Permit);
    let d = p.evaluate(&req);
    let j = d.to_json();
    assert_eq!(j["decision"], "permit");
    assert_eq!(j["obligations"][0]["params"]["min_group_size"], 10);
    assert_eq!(
        d.to_string(),
        "PERMIT receive_result on offer \"ppa-ibd-2024\"\n  permitted by policy \"ppa-ibd-2024\"\n  obligation aggregate_only { min_group_size = 10 } (from \"ppa-ibd-2024\")\n  obligation delete_after { days = 30 } (from \"ppa-ibd-2024\")\n"
    );
}

#[test]
fn denial_text_lists_every_reason() {
    let p = ppa();
    let req = Request::from_json(
        p.schema(),
        &json!({"action": "join_computation", "offer": "ppa-ibd-2024", "now": "2026-06-01",
                "holder": {"role": "Pharmacy", "member_of": "health-data-space-nl"},
                "consent": {"purposes": ["scientific-research"]},
                "request": {"purpose": "scientific-research"}}),
    )
    .unwrap();
    let d = p.evaluate(&req);
    assert_eq!(
        d.to_string(),
        "DENY join_computation on offer \"ppa-ibd-2024\"\n  - policy \"ppa-ibd-2024\": holder.role was \"Pharmacy\"; required one of Hospital, Insurer, StatisticsBureau\n  - policy \"ppa-ibd-2024\": session.parties is missing; required at least 3\n  missing attributes: session.parties\n"
    );
    assert_eq!(d.to_json()["failed"][1]["missing"], true);
}

#[test]
fn index_skips_other_offers() {
    let mut src = String::new();
    for i in 0..100 {
        src.push_str(&format!(
            "policy \"p{i}\" {{ permit read on offer \"o{i}\" when holder.role == \"R{i}\" }}\n"
        ));
    }
    let p = Policies::from_sources(&[("many", &src)], Arc::new(Schema::health())).unwrap();
    let mut req = Request::new(p.schema(), "read", "o42");
    req.set(
        p.schema(),
        "holder.role",
        symbolon_policy::Value::str("R42"),
    )
    .unwrap();
    let v = p.authorize(&req);
    assert_eq!(v.policy, Some(42));
    let mut other = Request::new(p.schema(), "read", "o43");
    other
        .set(
            p.schema(),
            "holder.role",
            symbolon_policy::Value::str("R42"),
        )
        .unwrap();
    let d = p.evaluate(&other);
    assert_eq!(
        d.failed.len(),
        1,
        "only the policy for o43 is explained:\n{d}"
    );
}

#[test]
fn a_permit_without_explanation_does_not_allocate() {
    let p = ppa();
    let req = Request::from_json(
        p.schema(),
        &json!({"action": "join_computation", "offer": "ppa-ibd-2024", "now": "2026-06-01",
                "holder": {"role": "Hospital", "member_of": "health-data-space-nl"},
                "consent": {"purposes": ["scientific-research"]},
                "request": {"purpose": "scientific-research"}, "session": {"parties": 3}}),
    )
    .unwrap();
    let mut outcome = None;
    let info = allocation_counter::measure(|| {
        outcome = Some(p.authorize(&req).outcome);
    });
    assert_eq!(outcome, Some(Outcome::Permit));
    assert_eq!(info.count_total, 0, "authorize allocated");
}
