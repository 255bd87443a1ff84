//! Onboarding from the command line: the authority's operator installs the registry and the
//! issuance policy with `symbolon issuer`, an organisation asks with `symbolon join`, and the
//! operator approves and rejects from the queue.

use std::process::Output;
use std::time::Duration;

use serde_json::{json, Value};

use crate::cli::symbolon;
use crate::dsp::{connector, eventually, trust};

async fn run(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        symbolon(&args)
    })
    .await
    .unwrap()
}

fn args(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn succeeded(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_organisation_joins_and_the_operator_decides_from_the_command_line() {
    let (authority, hospital) = (connector(), connector());
    trust(&authority, &authority).await;
    let authority_dir = authority._dir.root().to_str().unwrap().to_owned();
    let hospital_dir = hospital._dir.root().to_str().unwrap().to_owned();

    let registry = authority._dir.path("registry.json");
    std::fs::write(
        &registry,
        json!({"organisations": {hospital.did(): {"legalName": "Ziekenhuis B.V.",
            "registrationNumber": "KvK-9", "role": "Hospital", "dataSpaceId": "hds"}}})
        .to_string(),
    )
    .unwrap();
    let shown = succeeded(
        &run(args(&[
            "issuer",
            "registry",
            "--data-dir",
            &authority_dir,
            "--file",
            registry.to_str().unwrap(),
        ]))
        .await,
    );
    assert!(shown.contains("Ziekenhuis B.V."), "{shown}");
    let policy = authority._dir.path("issuance.policy");
    std::fs::write(
        &policy,
        r#"policy "care" { permit enroll on offer "DataSpaceMembershipCredential" when holder.role == "Hospital" }"#,
    )
    .unwrap();
    let config = succeeded(
        &run(args(&[
            "issuer",
            "config",
            "--data-dir",
            &authority_dir,
            "--approval",
            "manual",
            "--policy",
            policy.to_str().unwrap(),
        ]))
        .await,
    );
    assert!(config.contains("\"manual\""), "{config}");

    // Manual: the request waits; `join` says so and exits 1.
    let join = args(&[
        "join",
        "--data-dir",
        &hospital_dir,
        "--authority",
        &authority.url,
        "--wait",
        "0",
    ]);
    let pending = run(join.clone()).await;
    assert_eq!(pending.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&pending.stderr).contains("RECEIVED"));
    let listed = succeeded(
        &run(args(&[
            "issuer",
            "requests",
            "--data-dir",
            &authority_dir,
            "--json",
        ]))
        .await,
    );
    let requests: Value = serde_json::from_str(&listed).unwrap();
    let id = requests[0]["issuer_pid"].as_str().unwrap().to_owned();
    let approved = succeeded(
        &run(args(&[
            "issuer",
            "approve",
            "--data-dir",
            &authority_dir,
            &id,
        ]))
        .await,
    );
    assert!(approved.contains("ISSUED"), "{approved}");
    eventually(
        Duration::from_secs(5),
        "the credential in the wallet",
        || async {
            let (_, held) = hospital.get("/api/v1/credentials").await;
            (held.as_array().unwrap().len() == 1).then_some(())
        },
    )
    .await;

    // Another request, rejected with a reason.
    let pending = run(join.clone()).await;
    assert_eq!(pending.status.code(), Some(1));
    let (_, requests) = authority.get("/api/v1/issuer/requests").await;
    let id = requests
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["status"] == "RECEIVED")
        .unwrap()["issuer_pid"]
        .as_str()
        .unwrap()
        .to_owned();
    let rejected = succeeded(
        &run(args(&[
            "issuer",
            "reject",
            "--data-dir",
            &authority_dir,
            &id,
            "--reason",
            "one membership is enough",
        ]))
        .await,
    );
    assert!(rejected.contains("REJECTED"), "{rejected}");

    // Auto: the policy decides while `join` waits.
    succeeded(
        &run(args(&[
            "issuer",
            "config",
            "--data-dir",
            &authority_dir,
            "--approval",
            "auto",
        ]))
        .await,
    );
    let mut waiting = join;
    waiting.truncate(waiting.len() - 2);
    let issued = succeeded(&run(waiting).await);
    assert!(issued.contains("ISSUED"), "{issued}");
}
