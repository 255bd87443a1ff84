//! Load on real processes: three `symbolon serve` processes on loopback (an authority, an
//! insurer as provider, a hospital as consumer). Reports, for bursts of concurrent contract
//! negotiations (request → FINALIZED, every step durable on both sides), the throughput,
//! p50/p99 latency, failures and each side's peak RSS; and for 16 clients calling
//! `POST /credentials/verify`, the verifications per second.
//!
//! Run: `cargo bench -p symbolon-connector --bench load` (add `-- 8 200 1000` to choose the
//! burst sizes; `SYMBOLON_LOAD_BIN` names another `symbolon` binary to load). Targets: 0 failures; ≥ 500 negotiations/s; ≥ 5,000 verifications/s.
#![allow(missing_docs, reason = "a load tool, not a library")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a load tool fails loudly"
)]

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use symbolon_connector::datadir::DataDir;

/// The `symbolon` binary: `SYMBOLON_LOAD_BIN` when set (to load a release build from a quick
/// build of this tool), else the one Cargo built with this benchmark.
fn bin() -> String {
    std::env::var("SYMBOLON_LOAD_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_symbolon").to_owned())
}
const VERIFY_CLIENTS: usize = 16;
const VERIFY_SECONDS: u64 = 5;

/// One `symbolon serve` process.
struct Serve {
    child: Child,
    url: String,
    token: String,
    did: String,
    _dir: tempfile::TempDir,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Serve {
    fn start() -> Serve {
        let dir = tempfile::tempdir().expect("temporary directory");
        let data = dir.path().to_str().expect("UTF-8 path").to_owned();
        let init = Command::new(bin())
            .args(["init", "--data-dir", &data])
            .output()
            .expect("symbolon init");
        assert!(init.status.success(), "init failed");
        let did = String::from_utf8(init.stdout)
            .expect("UTF-8")
            .trim()
            .to_owned();
        let mut child = Command::new(bin())
            // Three connectors on one machine reach each other on loopback, and the 16
            // verifying clients all come from one address: no per-caller rate limit.
            .args(["serve", "--data-dir", &data, "--http", "127.0.0.1:0"])
            .args(["--allow-private-callbacks", "--rate-limit", "0"])
            .args(serve_flags())
            .env("RUST_LOG", "error")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("symbolon serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the listening line");
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected: {line}"))
            .to_owned();
        let token = DataDir::new(dir.path())
            .admin_token()
            .expect("admin token")
            .expose()
            .to_owned();
        Serve {
            child,
            url,
            token,
            did,
            _dir: dir,
        }
    }

    /// The CPU time (user + system) the process used so far.
    fn cpu(&self) -> Duration {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // Fields after the command name (which is in parentheses): utime and stime are the
        // 12th and 13th, in clock ticks (100 per second on Linux).
        let ticks: u64 = stat
            .rsplit_once(')')
            .map(|(_, rest)| {
                rest.split_whitespace()
                    .skip(11)
                    .take(2)
                    .filter_map(|field| field.parse::<u64>().ok())
                    .sum()
            })
            .unwrap_or(0);
        Duration::from_millis(ticks * 10)
    }

    /// The peak resident set size so far, in MiB.
    fn peak_rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|kib| kib.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(f64::NAN, |kib| kib / 1024.0)
    }

    async fn call(
        &self,
        client: &reqwest::Client,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> (u16, Value) {
        let response = client
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

/// Flags every `serve` of the load gets: the three processes share one machine.
fn serve_flags() -> Vec<String> {
    std::env::var("SYMBOLON_LOAD_SERVE_FLAGS")
        .map(|flags| flags.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// The authority's trust list on the insurer, a membership held by the hospital, an offer.
async fn data_space(client: &reqwest::Client) -> (Serve, Serve, Serve, String) {
    let (authority, insurer, hospital) = (Serve::start(), Serve::start(), Serve::start());
    let anchor = symbolon_identity::Did::parse(&authority.did).expect("the authority's DID");
    let entries = [(
        authority.did.clone(),
        ["DataSpaceMembershipCredential".to_owned()].into(),
    )]
    .into();
    let document =
        symbolon_identity::TrustList::credential(&anchor, "hds", &entries).expect("trust list");
    let (status, trust) = authority
        .call(
            client,
            reqwest::Method::POST,
            "/credentials/issue",
            json!({ "credential": document }),
        )
        .await;
    assert_eq!(status, 201, "trust list: {trust}");
    let (status, answer) = insurer
        .call(
            client,
            reqwest::Method::PUT,
            "/api/v1/trust-list",
            json!({"credential": compact(&trust["verifiableCredential"])}),
        )
        .await;
    assert!(status < 300, "install trust list: {answer}");
    let (status, membership) = authority
        .call(
            client,
            reqwest::Method::POST,
            "/credentials/issue",
            json!({"credential": {
                "@context": ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/symbolon/v1"],
                "type": ["VerifiableCredential", "DataSpaceMembershipCredential"],
                "credentialSubject": {"id": hospital.did, "legalName": "Ziekenhuis", "registrationNumber": "KvK-7",
                                      "role": "Hospital", "dataSpaceId": "hds"}
            }, "options": {"credentialStatus": true}}),
        )
        .await;
    assert_eq!(status, 201, "membership: {membership}");
    let credential = membership["verifiableCredential"].clone();
    let (status, held) = hospital
        .call(
            client,
            reqwest::Method::POST,
            "/api/v1/credentials",
            json!({"verifiableCredential": credential}),
        )
        .await;
    assert_eq!(status, 201, "hold: {held}");
    let policy = r#"policy "members" { permit use on offer "ward-statistics" when holder.role == "Hospital" and holder.member_of == "hds" obligation delete_after { days = 30 } }"#;
    let (status, offer) = insurer
        .call(
            client,
            reqwest::Method::POST,
            "/api/v1/offers",
            json!({"id": "ward-statistics", "title": "Ward statistics", "policy": policy}),
        )
        .await;
    assert_eq!(status, 201, "offer: {offer}");
    (authority, insurer, hospital, compact(&credential))
}

/// The compact JWT of an issued credential, bare or enveloped as a `data:` URL.
fn compact(credential: &Value) -> String {
    match credential {
        Value::String(token) => token.clone(),
        other => other["id"]
            .as_str()
            .and_then(|id| id.split_once(',').map(|(_, token)| token.to_owned()))
            .unwrap_or_default(),
    }
}

/// The `q`-quantile of sorted `values`.
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let at = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

/// `n` negotiations started at once; prints their figures.
async fn burst(client: &reqwest::Client, insurer: &Serve, hospital: &Arc<Serve>, n: usize) {
    let dsp = format!("{}/dsp/2025-1", insurer.url);
    let cpu_before = (insurer.cpu(), hospital.cpu());
    let started = Instant::now();
    let runs: Vec<_> = (0..n)
        .map(|_| {
            let (client, hospital, dsp) = (client.clone(), hospital.clone(), dsp.clone());
            tokio::spawn(async move {
                let began = Instant::now();
                let (status, outcome) = hospital
                    .call(
                        &client,
                        reqwest::Method::POST,
                        "/api/v1/negotiations",
                        json!({"provider_url": dsp, "offer_id": "ward-statistics", "wait_seconds": 300}),
                    )
                    .await;
                (status == 200 && outcome["state"] == "FINALIZED", began.elapsed())
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(n);
    let mut failures = 0;
    for run in runs {
        match run.await {
            Ok((true, latency)) => latencies.push(latency),
            _ => failures += 1,
        }
    }
    let wall = started.elapsed();
    let per = |before: Duration, after: Duration| {
        after.saturating_sub(before).as_secs_f64() * 1000.0 / n as f64
    };
    latencies.sort();
    println!(
        "negotiations  concurrent {n:5}  {:8.1}/s  p50 {:8.1} ms  p99 {:8.1} ms  failures {failures}  \
         CPU per negotiation provider {:5.2} ms consumer {:5.2} ms  peak RSS provider {:6.1} MiB consumer {:6.1} MiB",
        latencies.len() as f64 / wall.as_secs_f64(),
        quantile(&latencies, 0.50).as_secs_f64() * 1000.0,
        quantile(&latencies, 0.99).as_secs_f64() * 1000.0,
        per(cpu_before.0, insurer.cpu()),
        per(cpu_before.1, hospital.cpu()),
        insurer.peak_rss_mib(),
        hospital.peak_rss_mib(),
    );
}

/// 16 clients verifying `credential` for a few seconds; prints the rate.
async fn verifications(client: &reqwest::Client, node: &Arc<Serve>, credential: &str) {
    let deadline = Instant::now() + Duration::from_secs(VERIFY_SECONDS);
    let cpu_before = node.cpu();
    let started = Instant::now();
    let clients: Vec<_> = (0..VERIFY_CLIENTS)
        .map(|_| {
            let (client, node, credential) = (client.clone(), node.clone(), credential.to_owned());
            tokio::spawn(async move {
                let (mut ok, mut failed) = (0u64, 0u64);
                while Instant::now() < deadline {
                    let (status, _) = node
                        .call(
                            &client,
                            reqwest::Method::POST,
                            "/credentials/verify",
                            json!({"verifiableCredential": credential}),
                        )
                        .await;
                    if status == 200 {
                        ok += 1;
                    } else {
                        failed += 1;
                    }
                }
                (ok, failed)
            })
        })
        .collect();
    let (mut ok, mut failed) = (0, 0);
    for run in clients {
        let (o, f) = run.await.expect("client");
        ok += o;
        failed += f;
    }
    println!(
        "verifications clients {VERIFY_CLIENTS:5}  {:8.1}/s  failures {failed}  CPU per verification {:5.3} ms  peak RSS {:6.1} MiB",
        ok as f64 / started.elapsed().as_secs_f64(),
        node.cpu().saturating_sub(cpu_before).as_secs_f64() * 1000.0 / (ok + failed).max(1) as f64,
        node.peak_rss_mib(),
    );
}

fn main() {
    let bursts: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|arg| arg.parse().ok())
        .collect();
    let bursts = if bursts.is_empty() {
        vec![8, 200, 1000]
    } else {
        bursts
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(2048)
            .build()
            .expect("client");
        let (_authority, insurer, hospital, credential) = data_space(&client).await;
        let hospital = Arc::new(hospital);
        // One negotiation first, so that caches are warm as in a running data space.
        burst(&client, &insurer, &hospital, 1).await;
        for n in bursts {
            burst(&client, &insurer, &hospital, n).await;
        }
        verifications(&client, &Arc::new(insurer), &credential).await;
    });
}
