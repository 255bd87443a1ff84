//! The top-level `examples/`, each run to the end and checked against what it must find. Each
//! example's file is compiled in here as a module, and its `run` called on a temporary
//! directory: the same code `cargo run --example NAME` runs, without a second build.

use serde_json::Value;

#[path = "../examples/salary_average.rs"]
#[allow(
    dead_code,
    reason = "the example's `main` is not called here; its `run` is"
)]
mod salary_average;

#[path = "../examples/analytics_study.rs"]
#[allow(
    dead_code,
    reason = "the example's `main` is not called here; its `run` is"
)]
mod analytics_study;

#[path = "../examples/fraud_signal.rs"]
#[allow(
    dead_code,
    reason = "the example's `main` is not called here; its `run` is"
)]
mod fraud_signal;

#[path = "../examples/trial_onboarding.rs"]
#[allow(
    dead_code,
    reason = "the example's `main` is not called here; its `run` is"
)]
mod trial_onboarding;

/// The study's plaintext answer, computed in the clear when the data were generated.
const EXPECTED: &str = include_str!("../mpc/tests/data/ppa-study/n4000/expected.json");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn salary_average_learns_2967_50_and_only_the_bureau() {
    let dir = tempfile::tempdir().unwrap();
    let outcome = salary_average::run(dir.path()).await.unwrap();
    assert_eq!(format!("{:.2}", outcome.mean), "2967.50");
    assert_eq!(outcome.employees, 4);
    assert_eq!(outcome.employees_with_result, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analytics_study_matches_the_plaintext_answer() {
    let dir = tempfile::tempdir().unwrap();
    let outcome = analytics_study::run(dir.path()).await.unwrap();
    assert!(
        outcome.marketing_refusal.contains("ehds-art-54-c"),
        "{}",
        outcome.marketing_refusal
    );
    let expected: Value = serde_json::from_str(EXPECTED).unwrap();
    let want = expected["cells"].as_array().unwrap();
    let cells = outcome.result["cells"].as_array().unwrap();
    assert_eq!(cells.len(), want.len());
    for (cell, want) in cells.iter().zip(want) {
        assert_eq!(cell["group"], want["income_group"]);
        assert_eq!(cell["treatment"], want["uses_app"]);
        if want["suppressed"] == true {
            assert_eq!(cell["suppressed"], true, "{cell}");
            assert!(cell.get("count").is_none(), "{cell}");
        } else {
            assert_eq!(cell["count"], want["count"], "{cell}");
            assert_eq!(
                cell["outcomes"]["annual_cost_eur"]["sum"],
                want["sum_cost_eur"]
            );
            assert_eq!(
                cell["outcomes"]["outpatient_visits"]["sum"],
                want["sum_visits"]
            );
        }
    }
    let want = expected["effect_cost_app_minus_no_app"].as_array().unwrap();
    let effects = outcome.result["effects"].as_array().unwrap();
    assert_eq!(effects.len(), want.len());
    for (effect, want) in effects.iter().zip(want) {
        assert_eq!(effect["group"], want["income_group"]);
        match want["effect_mean_cost_eur"].as_f64() {
            Some(euros) => {
                let got = effect["outcomes"]["annual_cost_eur"].as_f64().unwrap();
                assert!((got - euros).abs() < 1e-6, "{got} vs {euros}");
            }
            None => assert_eq!(effect["suppressed"], true, "{effect}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fraud_signal_counts_500_matches_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let outcome = fraud_signal::run(dir.path()).await.unwrap();
    assert_eq!(outcome.matches, 500);
    assert_eq!((outcome.members, outcome.patients), (2000, 1500));
    assert!(!outcome.insurer_holds_result);
    assert!(!outcome.hospital_holds_result);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trial_onboarding_refuses_the_revoked_site() {
    let dir = tempfile::tempdir().unwrap();
    let outcome = trial_onboarding::run(dir.path()).await.unwrap();
    assert_eq!(outcome.agreed, ["site-1", "site-2", "site-3"]);
    assert_eq!(outcome.revoked, "site-3");
    assert!(
        outcome.refusal.iter().any(|r| r.contains("revoked")),
        "{:?}",
        outcome.refusal
    );
}
