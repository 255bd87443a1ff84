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

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use common::{data_space_with, Serve};

const VERIFY_CLIENTS: usize = 16;
const VERIFY_SECONDS: u64 = 5;

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
        let (_authority, insurer, hospital, credential) =
            data_space_with(&client, |_| {}, None).await;
        let hospital = Arc::new(hospital);
        // One negotiation first, so that caches are warm as in a running data space.
        burst(&client, &insurer, &hospital, 1).await;
        for n in bursts {
            burst(&client, &insurer, &hospital, n).await;
        }
        verifications(&client, &Arc::new(insurer), &credential).await;
    });
}
