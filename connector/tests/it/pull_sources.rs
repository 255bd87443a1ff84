//! What the data plane serves besides one file: a directory dataset (its listing and files,
//! and nothing outside it), a relayed URL, and the command line's pull to a file.

use std::time::Duration;

use serde_json::{json, Value};

use crate::dsp::*;
use crate::pull::*;
use crate::transfer::{operator, transfer_state};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_directory_dataset_lists_and_serves_its_files_and_nothing_outside() {
    let provider = connector();
    let data = provider._dir.path("data");
    std::fs::create_dir_all(data.join("wards/2026")).unwrap();
    std::fs::write(data.join("wards/2026/jan.csv"), b"ward,beds\nA,12\n").unwrap();
    std::fs::write(data.join("secret.txt"), b"not served").unwrap();
    let bad = [
        (json!({"directory": "../"}), "`..`"),
        (json!({"file": "wards"}), "directory"),
        (json!({"file": "missing.csv"}), "missing.csv"),
        (json!({"url": "file:///etc/passwd"}), "http(s)"),
        (json!({"printer": "x"}), "source"),
    ];
    for (source, why) in bad {
        let (status, body) = provider
            .post("/api/v1/offers", &json!({"id": "bad", "title": "Bad", "policy": DATA_POLICY.replace("EXTRA", "").replace("ward-data", "bad"), "source": source}))
            .await;
        assert_eq!(status, 400, "{source}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains(why),
            "{source}: {body}"
        );
    }
    // The same set-up as a file dataset, then the offer's source turned into a directory.
    std::fs::write(data.join("wards/2026.csv"), b"x").unwrap();
    let pull = agreed_on_data(provider, "", b"x".to_vec()).await;
    let files = agreed_on_another(pull, "ward-files", json!({"directory": "wards"})).await;
    let started = start_pull(&files).await;
    let (url, token) = (started.endpoint(), started.token());
    let (status, listing) = get(&url, &token).await;
    assert_eq!(status, 200);
    let listing: Value = serde_json::from_slice(&listing).unwrap();
    assert_eq!(
        listing["files"],
        json!([{"path": "2026.csv", "size": 1}, {"path": "2026/jan.csv", "size": 15}])
    );
    let (status, body) = get(&format!("{url}/2026/jan.csv"), &token).await;
    assert_eq!(
        (status, body.as_slice()),
        (200, b"ward,beds\nA,12\n".as_slice())
    );
    for escape in [
        "%2E%2E/secret.txt",
        "2026/%2E%2E/%2E%2E/secret.txt",
        "..%2Fsecret.txt",
        "nope.csv",
        "2026",
    ] {
        let (status, body) = get(&format!("{url}/{escape}"), &token).await;
        // The client resolves `..` itself (another transfer's path then: 401); the server
        // refuses what reaches it (404).
        assert!(
            matches!(status, 401 | 404),
            "{escape}: {status} {}",
            String::from_utf8_lossy(&body)
        );
        assert!(!String::from_utf8_lossy(&body).contains("not served"));
    }
}

/// `symbolon transfers pull` of `hospital`'s transfer `pid` to `out`, run off the runtime.
async fn cli_pull(hospital: &Connector, pid: &str, out: &std::path::Path) -> std::process::Output {
    let args = [
        "transfers".to_owned(),
        "pull".to_owned(),
        "--data-dir".to_owned(),
        hospital._dir.root().display().to_string(),
        pid.to_owned(),
        "--out".to_owned(),
        out.display().to_string(),
    ];
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        crate::cli::symbolon(&args)
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_pulls_to_a_file_prints_its_sha256_and_renews_an_expired_token() {
    use sha2::Digest as _;
    let provider = connector_configured(|options| options.data_token_ttl = Duration::from_secs(1));
    let pull = agreed_on_data(provider, "", content(3_000_000)).await;
    let started = start_pull(&pull).await;
    // The token expires before the pull: the CLI renews it through the hospital's serve.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let out = pull.hospital._tmp.path().join("wards.csv");
    let output = cli_pull(&pull.hospital, &started.consumer_pid, &out).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(std::fs::read(&out).unwrap(), pull.content);
    let sha256 = hex::encode(sha2::Sha256::digest(&pull.content));
    assert!(stdout.contains(&format!("sha256 {sha256}")), "{stdout}");
    assert!(stdout.contains("3000000 bytes"), "{stdout}");
    assert!(!out.with_extension("csv.part").exists());

    // Once completed, a pull is refused with the reason and leaves no file.
    let (status, _) = operator(&pull.provider, &started.provider_pid, "complete", json!({})).await;
    assert_eq!(status, 200);
    transfer_state(&pull.hospital, &started.consumer_pid, "COMPLETED").await;
    let again = pull.hospital._tmp.path().join("again.csv");
    let output = cli_pull(&pull.hospital, &started.consumer_pid, &again).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("COMPLETED"));
    assert!(!again.exists());
}

/// `pull` with a FINALIZED agreement on the provider's further offer `id` (serving `source`)
/// in place of the first.
async fn agreed_on_another(pull: Pull, id: &str, source: Value) -> Pull {
    let policy = DATA_POLICY.replace("EXTRA", "").replace("ward-data", id);
    let (status, body) = pull
        .provider
        .post(
            "/api/v1/offers",
            &json!({"id": id, "title": id, "policy": policy, "source": source}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, negotiation) = pull
        .hospital
        .post(
            "/api/v1/negotiations",
            &json!({"provider_url": pull.provider.dsp(), "offer_id": id, "wait_seconds": 20}),
        )
        .await;
    assert_eq!(status, 200, "{negotiation}");
    assert_eq!(negotiation["state"], "FINALIZED", "{negotiation}");
    state_of(
        &pull.provider,
        negotiation["provider_pid"].as_str().unwrap(),
        "FINALIZED",
    )
    .await;
    Pull {
        agreement: negotiation["agreement_id"].as_str().unwrap().to_owned(),
        ..pull
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_url_dataset_is_relayed_without_the_consumer_learning_the_url() {
    let export = json!({"wards": [{"ward": "A", "beds": 12}, {"ward": "B", "beds": 30}]});
    let upstream = Recorder::start_with(vec![
        ("/internal/export", 200, export.clone()),
        ("/internal/broken", 500, json!({"error": "down"})),
    ])
    .await;
    let pull = agreed_on_data(connector(), "", content(10)).await;
    let pull = agreed_on_another(
        pull,
        "ward-feed",
        json!({"url": format!("{}/internal/export", upstream.url)}),
    )
    .await;
    let started = start_pull(&pull).await;
    assert!(
        !started.address.to_string().contains(&upstream.url),
        "the upstream address leaked: {}",
        started.address
    );
    let (status, headers, body) = fetch(
        reqwest::Method::GET,
        &started.endpoint(),
        Some(&started.token()),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(serde_json::from_slice::<Value>(&body).unwrap(), export);
    // Strangers reach nothing upstream.
    let before = upstream.seen.lock().unwrap().len();
    let (status, _) = get(&started.endpoint(), "forged").await;
    assert_eq!(status, 401);
    assert_eq!(upstream.seen.lock().unwrap().len(), before);

    // An upstream that fails is a 502 that names no address.
    let pull = agreed_on_another(
        pull,
        "ward-broken",
        json!({"url": format!("{}/internal/broken", upstream.url)}),
    )
    .await;
    let broken = start_pull(&pull).await;
    let (status, body) = get(&broken.endpoint(), &broken.token()).await;
    assert_eq!(status, 502);
    assert_eq!(error_code(&body), "bad_gateway");
    assert!(!String::from_utf8_lossy(&body).contains(&upstream.url));
}
