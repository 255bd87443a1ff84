//! Statistical disclosure control across sessions: the analyst, as the recipient, receives
//! the count of all rows of two holders, then asks for the count of the rows below 130 — two
//! rows fewer, which would disclose the two largest values' holders' small cell by
//! subtraction. The second figure is suppressed by the differencing rule, with its
//! explanation and a `session.result` audit record; a third, nested as well but 10 rows apart
//! (k = 4), is released.

use serde_json::{json, Value};

use crate::mpc_fixture::*;

fn holders(policy: &str) -> Vec<Holder<'_>> {
    (0..2)
        .map(|i| Holder {
            role: "Hospital",
            // 0, 7, …, 133 (and 1, 8, …, 134): one row of each at 130 or above.
            csv: column_csv("value", &(0..20i64).map(|r| r * 7 + i).collect::<Vec<_>>()),
            binding: json!({"file": "input.csv", "columns": {"value": "value"}}),
            policy,
            decision: "auto",
        })
        .collect()
}

async fn count(study: &Study, bounds: Value) -> (String, Value) {
    let mut params = json!({"column": "value", "min": 0, "max": 1000});
    if let (Some(p), Some(b)) = (params.as_object_mut(), bounds.as_object()) {
        p.extend(b.clone());
    }
    let started = start_session(
        study,
        json!({"program": {"id": "count", "params": params},
               "agreements": study.agreements, "min_group_size": 4,
               "purpose": "official-statistics", "join_seconds": 30,
               "round_timeout_ms": 5000, "wait_seconds": 60}),
    )
    .await;
    let id = started["id"].as_str().unwrap().to_owned();
    let done = session_until(&study.analyst, &id, 60, |s| s["state"] == "completed").await;
    assert_eq!(done["has_result"], true, "{done:#}");
    let (status, result) = study
        .analyst
        .get(&format!("/api/v1/sessions/{id}/result"))
        .await;
    assert_eq!(status, 200, "{result}");
    (id, result)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_count_a_few_rows_from_an_earlier_one_is_suppressed_and_audited() {
    let policy = policy("study", r#""count""#, 4);
    let study = study(holders(&policy)).await;

    let (first, all) = count(&study, json!({})).await;
    assert_eq!(all["count"], 40, "{all}");

    // 38 rows lie below 130: 40 − 38 = 2 < k would disclose the two rows at 130 or above.
    let (second, below) = count(&study, json!({"to": 130})).await;
    assert_eq!(below["suppressed"], true, "{below}");
    assert_eq!(below["rule"], "differencing", "{below}");
    assert_eq!(below["differencing"]["earlier_session"], first.as_str());
    assert!(below.get("count").is_none(), "{below}");
    assert_eq!(below["program"], "count");

    // 30 rows lie below 100: 10 apart from 40 (and the 38 was never released): released.
    let (_, released) = count(&study, json!({"to": 100})).await;
    assert_eq!(released["count"], 30, "{released}");
    assert!(released.get("suppressed").is_none(), "{released}");

    let events = study.analyst.events().await;
    let audited = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| {
            e["type"] == "session.result"
                && e["subject"] == second.as_str()
                && e["outcome"] == "suppressed"
        })
        .unwrap_or_else(|| panic!("no session.result for {second}: {events:#}"));
    assert_eq!(audited["details"]["program"], "count", "{audited:#}");
    assert_eq!(
        audited["details"]["suppressed"],
        json!([{"cell": null, "rule": "differencing",
                "differencing": {"earlier_session": first}}]),
        "{audited:#}"
    );
    // The record names the rule, never a count.
    let keys: Vec<&String> = audited["details"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["program", "suppressed"], "{audited:#}");
    // The first and third sessions suppressed nothing: no such record for them.
    assert_eq!(
        events
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["type"] == "session.result" && e["outcome"] == "suppressed")
            .count(),
        1
    );
}
