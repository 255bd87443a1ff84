//! The analytics study through the broker, the reference study of the EHDS profile: an insurer
//! and a hospital hold their tables as health offers requiring a data permit, the statistics
//! bureau (the analyst) holds a permit for `scientific-research` with output mode
//! `anonymised-statistics`, brings its own table and receives the result. Records are linked
//! on pseudonyms without anyone learning another's patients; every count, sum, mean and effect
//! equals the plaintext answer of the synthetic data (`mpc/tests/data/ppa-study`), and the
//! small cell is suppressed. The same request for marketing is refused by Art. 54(c).

use std::path::PathBuf;

use serde_json::{json, Value};

use crate::mpc_fixture::*;

fn data(file: &str) -> String {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../mpc/tests/data/ppa-study/n4000");
    std::fs::read_to_string(dir.join(file)).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_analytics_study_through_the_broker_matches_the_plaintext_answer() {
    // Each holder joins only a computation with the other two kinds of organisation.
    let with = |roles: &str| {
        policy("study", r#""linked-group-stats""#, 10).replace(
            "and session.min_group_size",
            &format!("and session.party_roles contains_all [{roles}] and session.min_group_size"),
        )
    };
    let (insurer_policy, hospital_policy) = (
        with(r#""Hospital", "StatisticsBureau""#),
        with(r#""Insurer", "StatisticsBureau""#),
    );
    let policy = policy("study", r#""linked-group-stats""#, 10);
    let permit = StudyPermit {
        id: "HDAB-PPA-2026-0001",
        purpose: "scientific-research",
    };
    let study = study_with(vec![
        Holder {
            role: "Insurer",
            csv: data("insurer.csv"),
            binding: json!({"file": "input.csv", "ids": "pseudonym",
                            "columns": {"annual_cost_eur": "annual_cost_eur"}}),
            policy: &insurer_policy,
            decision: "auto",
        },
        Holder {
            role: "Hospital",
            csv: data("hospital.csv"),
            binding: json!({"file": "input.csv", "ids": "pseudonym",
                            "columns": {"uses_app": "uses_app", "outpatient_visits": "outpatient_visits"}}),
            policy: &hospital_policy,
            decision: "auto",
        },
    ], Some(permit))
    .await;
    // The same offer, asked for marketing under the same permit: refused by Art. 54(c).
    let (status, marketing) = study
        .analyst
        .post(
            "/api/v1/negotiations",
            &json!({"provider_url": study.holders[0].dsp(), "offer_id": "study",
                    "wait_seconds": 20, "purpose": "marketing"}),
        )
        .await;
    assert_eq!(status, 200, "{marketing}");
    assert_eq!(marketing["state"], "TERMINATED", "{marketing}");
    assert!(
        marketing["reason"]
            .to_string()
            .contains("ehds-art-54-c-advertising-marketing"),
        "{marketing}"
    );
    // The bureau brings its own table as an input party.
    let own = study.analyst._dir.path("data");
    std::fs::create_dir_all(&own).unwrap();
    std::fs::write(own.join("cbs.csv"), data("cbs.csv")).unwrap();
    let (status, body) = study
        .analyst
        .post(
            "/api/v1/offers",
            &json!({"id": "income", "title": "Income groups", "kind": "computation",
                    "policy": policy.replace("\"study\"", "\"income\""),
                    "binding": {"file": "cbs.csv", "ids": "pseudonym",
                                "columns": {"income_group": "income_group"}}}),
        )
        .await;
    assert_eq!(status, 201, "{body}");

    let session = start_session(
        &study,
        json!({
            "program": {"id": "linked-group-stats", "params": {
                "group": {"column": "income_group", "values": [1, 2, 3, 4, 5]},
                "treatment": "uses_app",
                "outcomes": [{"column": "annual_cost_eur", "max": 200000},
                             {"column": "outpatient_visits", "max": 60}]}},
            "agreements": study.agreements, "input_offer": "income", "min_group_size": 10,
            "purpose": "scientific-research", "join_seconds": 30, "round_timeout_ms": 30000,
            "wait_seconds": 110
        }),
    )
    .await;
    assert_eq!(session["state"], "completed", "{session:#}");
    let id = session["id"].as_str().unwrap();
    let (status, result) = study
        .analyst
        .get(&format!("/api/v1/sessions/{id}/result"))
        .await;
    assert_eq!(status, 200, "{result}");
    let expected: Value = serde_json::from_str(&data("expected.json")).unwrap();
    let cells = result["cells"].as_array().unwrap();
    let want = expected["cells"].as_array().unwrap();
    assert_eq!(cells.len(), want.len(), "{result:#}");
    for (cell, want) in cells.iter().zip(want) {
        assert_eq!(cell["group"], want["income_group"]);
        assert_eq!(cell["treatment"], want["uses_app"]);
        if want["suppressed"] == true {
            assert_eq!(cell["suppressed"], true, "{cell}");
            assert!(
                cell.get("count").is_none(),
                "a suppressed cell shows no count: {cell}"
            );
            continue;
        }
        assert_eq!(cell["count"], want["count"]);
        let outcomes = &cell["outcomes"];
        assert_eq!(outcomes["annual_cost_eur"]["sum"], want["sum_cost_eur"]);
        assert_eq!(outcomes["outpatient_visits"]["sum"], want["sum_visits"]);
        assert!(close(
            outcomes["annual_cost_eur"]["mean"].as_f64().unwrap(),
            want["mean_cost_eur"].as_f64().unwrap()
        ));
        assert!(close(
            outcomes["outpatient_visits"]["mean"].as_f64().unwrap(),
            want["mean_visits"].as_f64().unwrap()
        ));
    }
    let effects = result["effects"].as_array().unwrap();
    for (effect, want) in effects
        .iter()
        .zip(expected["effect_cost_app_minus_no_app"].as_array().unwrap())
    {
        assert_eq!(effect["group"], want["income_group"]);
        if want["suppressed"] == true {
            assert_eq!(effect["suppressed"], true, "{effect}");
        } else {
            assert!(close(
                effect["outcomes"]["annual_cost_eur"].as_f64().unwrap(),
                want["effect_mean_cost_eur"].as_f64().unwrap()
            ));
        }
    }
    // The holders receive nothing.
    for holder in &study.holders {
        let view = session_until(holder, id, 10, |s| s["state"] == "completed").await;
        assert_eq!(view["has_result"], false);
    }
}
