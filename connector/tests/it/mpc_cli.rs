//! The session commands against running connectors: a holder publishes a study with
//! `symbolon study create`, the analyst runs it with `symbolon session start` and reads it
//! back with `session list|show|result`.

use serde_json::{json, Value};

use crate::cli::{ok, symbolon};
use crate::mpc_fixture::*;

async fn cli(args: Vec<String>) -> String {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ok(&args)
    })
    .await
    .unwrap()
}

fn args(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_analyst_runs_a_session_from_the_command_line() {
    let policy = policy("study", r#""sum", "mean""#, 2);
    let holders = (0..2)
        .map(|i| Holder {
            role: "Hospital",
            csv: column_csv("beds", &[10 + i, 20 + i, 30 + i]),
            binding: json!({"file": "input.csv", "columns": {"beds": "beds"}}),
            policy: &policy,
            decision: "auto",
        })
        .collect();
    let study = study(holders).await;

    // `study create` binds a CSV of the holder's data folder to a computation offer.
    let holder_dir = study.holders[0]._dir.root().to_str().unwrap().to_owned();
    let policy_file = study.holders[0]._dir.path("study.policy");
    std::fs::write(&policy_file, policy.replace("\"study\"", "\"wards\"")).unwrap();
    let created = cli(args(&[
        "study",
        "create",
        "--data-dir",
        &holder_dir,
        "--id",
        "wards",
        "--title",
        "Wards",
        "--policy",
        policy_file.to_str().unwrap(),
        "--data",
        "input.csv",
        "--column",
        "bed_count=beds",
        "--json",
    ]))
    .await;
    let created: Value = serde_json::from_str(&created).unwrap();
    assert_eq!(
        created["binding"]["columns"]["bed_count"], "beds",
        "{created}"
    );
    let missing = tokio::task::spawn_blocking(move || {
        symbolon(&[
            "study",
            "create",
            "--data-dir",
            &holder_dir,
            "--id",
            "w2",
            "--title",
            "W",
            "--policy",
            policy_file.to_str().unwrap(),
            "--data",
            "input.csv",
            "--column",
            "nurses",
        ])
    })
    .await
    .unwrap();
    assert!(!missing.status.success());
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("no column `nurses`"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );

    // `session start` follows the session and prints it, then the result.
    let analyst_dir = study.analyst._dir.root().to_str().unwrap().to_owned();
    let mut start = args(&[
        "session",
        "start",
        "--data-dir",
        &analyst_dir,
        "--program",
        "sum",
        "--params",
        r#"{"column": "beds", "max": 1000}"#,
        "--k",
        "2",
        "--purpose",
        "capacity",
        "--json",
    ]);
    for agreement in &study.agreements {
        start.extend(args(&["--agreement", agreement]));
    }
    let printed = cli(start).await;
    let mut documents = serde_json::Deserializer::from_str(&printed).into_iter::<Value>();
    let session = documents.next().unwrap().unwrap();
    let result = documents.next().unwrap().unwrap();
    assert_eq!(session["state"], "completed", "{session:#}");
    assert_eq!(result["sum"], 10 + 20 + 30 + 11 + 21 + 31, "{result}");
    let id = session["id"].as_str().unwrap().to_owned();

    for party in session["parties"].as_array().unwrap() {
        if let Some(pid) = party["transfer"].as_str() {
            crate::transfer::transfer_state(&study.analyst, pid, "COMPLETED").await;
        }
    }
    let listed = cli(args(&["session", "list", "--data-dir", &analyst_dir])).await;
    assert!(
        listed.contains(&id) && listed.contains("sum@2  completed"),
        "{listed}"
    );
    let shown = cli(args(&["session", "show", "--data-dir", &analyst_dir, &id])).await;
    assert!(shown.contains("transfer COMPLETED"), "{shown}");
    let again: Value = serde_json::from_str(
        &cli(args(&[
            "session",
            "result",
            "--data-dir",
            &analyst_dir,
            &id,
        ]))
        .await,
    )
    .unwrap();
    assert_eq!(again, result);
}
