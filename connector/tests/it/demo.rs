//! `symbolon demo` end to end, in process: every scenario's checks hold, the numbers are the
//! seed's, and the report is written.

use symbolon_connector::demo::{self, DemoOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_demo_runs_every_scenario_and_writes_its_report() {
    let kept = tempfile::tempdir().unwrap();
    let options = DemoOptions {
        keep: Some(kept.path().join("space")),
        // The committed study, read as `--study-data` reads another (the default embeds it).
        study_data: Some(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../mpc/tests/data/ppa-study/n4000"),
        ),
    };
    let mut lines = Vec::new();
    let mut tell = |line: &str| lines.push(line.to_owned());
    let report = demo::run(&options, &mut tell).await.unwrap();
    assert_eq!(format!("{:.2}", report.salary_mean), "2967.50");
    assert_eq!(report.matches, 500);
    let scenarios: Vec<&str> = report.scenarios().iter().map(|(s, _)| *s).collect();
    assert_eq!(
        scenarios,
        [
            "onboarding",
            "salary",
            "study",
            "fraud signal",
            "trial",
            "audit"
        ]
    );
    assert!(lines.iter().any(|l| l.contains("2967.50")), "{lines:#?}");
    assert!(report.study["cells"].as_array().unwrap().len() >= 2);
    assert!(
        lines.iter().any(|l| l.contains("4,000 patients linked")),
        "{lines:#?}"
    );

    let (json, html) = report.write(&kept.path().join("report")).unwrap();
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    assert_eq!(written["matches"], 500);
    let page = std::fs::read_to_string(html).unwrap();
    assert!(page.contains("<svg") && page.contains("2967.50"));
    // The organisations' data directories are kept for the CLI.
    assert!(kept.path().join("space/hospital/identity.key").is_file());
}
