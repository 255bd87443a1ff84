//! MPC sessions through the broker, against the bare engine, in one run.
//!
//! `symbolon serve` processes on 127.0.0.1 joined on the peer network: an authority, a
//! statistics bureau (the analyst), an insurer, a hospital and four employees. Measured:
//! - the salary session (four employees, `mean`) end to end, from the analyst's request to
//!   its result;
//! - admission for the study's three parties: from the request to every party joined
//!   (manifest signed and sent, each holder's credential checks and countersignature, the
//!   session streams opened and their countersignatures checked);
//! - the analytics study (`linked-group-stats`, insurer + hospital + bureau) through the
//!   broker, and the same program on the bare engine (three threads, TCP on loopback);
//! - a sum of 10^6 values over three parties (`sum`), broker and bare engine.
//!
//! `cargo bench -p symbolon-connector --bench session -- [--study DIR] [--runs N]`, where
//! DIR holds `insurer.csv`, `hospital.csv`, `cbs.csv` (default: the committed 4,000-patient
//! synthetic study under `mpc/tests/data/ppa-study/n4000`). Prints one JSON line per figure.

mod common;

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use symbolon_connector::datadir::DataDir;
use symbolon_mpc::programs::{self, LocalTable, Roles};
use symbolon_mpc::tcp::loopback_listeners;
use symbolon_mpc::{Party, SessionConfig, TcpConfig, TcpTransport};

/// A `symbolon serve --p2p` process.
struct Node {
    child: Child,
    url: String,
    token: String,
    p2p: Vec<String>,
    _dir: tempfile::TempDir,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Node {
    async fn call(
        &self,
        client: &reqwest::Client,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> Value {
        let response = client
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .expect("request");
        let status = response.status();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{path}: {status} {answer}");
        answer
    }
}

/// Starts `serve` on `dir` (initialised and prepared), on the peer network.
fn serve(dir: tempfile::TempDir, bootstrap: &[String]) -> Node {
    let data = dir.path().to_str().expect("UTF-8 path").to_owned();
    let mut command = Command::new(common::bin());
    command
        .args(["serve", "--data-dir", &data, "--http", "127.0.0.1:0"])
        .args(["--allow-private-callbacks", "--rate-limit", "0"])
        .args(["--p2p", "/ip4/127.0.0.1/tcp/0", "--no-mdns"]);
    for peer in bootstrap {
        command.args(["--bootstrap", peer]);
    }
    let mut child = command
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("symbolon serve");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut url = String::new();
    let mut p2p = Vec::new();
    while p2p.is_empty() {
        let line = lines.next().expect("a listening line").expect("UTF-8");
        let address = line
            .strip_prefix("listening on ")
            .expect("listening")
            .to_owned();
        if address.starts_with("http") {
            url = address;
        } else {
            p2p.push(address);
        }
    }
    std::thread::spawn(move || for _ in lines {});
    let token = DataDir::new(dir.path())
        .admin_token()
        .expect("token")
        .expose()
        .to_owned();
    Node {
        child,
        url,
        token,
        p2p,
        _dir: dir,
    }
}

/// Initialises a connector, installs the trust list and a membership with `role`, writes
/// `files` under its `data/` folder and creates `offers`, through a plain `serve`; returns
/// the directory for [`serve`] on the peer network.
async fn prepare(
    client: &reqwest::Client,
    authority: &common::Serve,
    trust: &str,
    role: &str,
    files: &[(&str, String)],
    offers: &[Value],
) -> tempfile::TempDir {
    let plain = common::Serve::start();
    common::install_trust_list(client, &plain, trust).await;
    common::hold_membership(
        client,
        authority,
        &plain,
        json!({"legalName": format!("{role} B.V."), "registrationNumber": "KvK-1", "role": role}),
        false,
    )
    .await;
    let data = plain.dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data folder");
    for (name, text) in files {
        std::fs::write(data.join(name), text).expect("data file");
    }
    for offer in offers {
        let (status, created) = plain
            .call(
                client,
                reqwest::Method::POST,
                "/api/v1/offers",
                offer.clone(),
            )
            .await;
        assert_eq!(status, 201, "offer: {created}");
    }
    let mut plain = plain;
    let _ = plain.child.kill();
    let _ = plain.child.wait();
    std::mem::replace(&mut plain.dir, tempfile::tempdir().expect("tempdir"))
}

fn policy(offer: &str) -> String {
    format!(
        r#"policy "statistics" {{ permit join_computation on offer "{offer}" when holder.role == "StatisticsBureau" and holder.member_of == "hds" and session.min_group_size >= 4 }}"#
    )
}

fn offer(id: &str, file: &str, ids: Option<&str>, columns: &[&str]) -> Value {
    let columns: serde_json::Map<String, Value> = columns
        .iter()
        .map(|c| ((*c).to_owned(), (*c).into()))
        .collect();
    json!({"id": id, "title": id, "kind": "computation", "policy": policy(id),
           "binding": {"file": file, "ids": ids, "columns": columns}})
}

/// The analyst's agreement on `offer` of `holder`.
async fn agree(client: &reqwest::Client, analyst: &Node, holder: &Node, offer: &str) -> String {
    let negotiation = analyst
        .call(
            client,
            reqwest::Method::POST,
            "/api/v1/negotiations",
            json!({"provider_url": format!("{}/dsp/2025-1", holder.url), "offer_id": offer,
                     "wait_seconds": 30}),
        )
        .await;
    assert_eq!(negotiation["state"], "FINALIZED", "{negotiation}");
    negotiation["agreement_id"]
        .as_str()
        .expect("agreement")
        .to_owned()
}

/// Runs a session; returns (seconds to every party joined, seconds to the result, result,
/// the analyst's view).
async fn session(
    client: &reqwest::Client,
    analyst: &Node,
    body: Value,
) -> (f64, f64, Value, Value) {
    let began = Instant::now();
    let started = analyst
        .call(client, reqwest::Method::POST, "/api/v1/sessions", body)
        .await;
    let id = started["id"].as_str().expect("id").to_owned();
    let mut joined = None;
    let view = loop {
        let view = analyst
            .call(
                client,
                reqwest::Method::GET,
                &format!("/api/v1/sessions/{id}"),
                Value::Null,
            )
            .await;
        let state = view["state"].as_str().unwrap_or_default().to_owned();
        if state != "joining" && joined.is_none() {
            joined = Some(began.elapsed().as_secs_f64());
        }
        if matches!(state.as_str(), "completed" | "failed" | "cancelled") {
            break view;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    assert_eq!(view["state"], "completed", "{view:#}");
    let result = analyst
        .call(
            client,
            reqwest::Method::GET,
            &format!("/api/v1/sessions/{id}/result"),
            Value::Null,
        )
        .await;
    let done = began.elapsed().as_secs_f64();
    (joined.unwrap_or(done), done, result, view)
}

/// Bytes each party sent, from the analyst's transcript reports.
fn bytes_per_party(view: &Value) -> Vec<u64> {
    let mut reports: Vec<(u64, u64)> = view["reports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| symbolon_identity::jose::decode(r.as_str()?).ok())
        .map(|d| {
            (
                d.payload["party"].as_u64().unwrap_or(0),
                d.payload["bytes_sent"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    reports.sort_unstable();
    reports.into_iter().map(|(_, b)| b).collect()
}

/// The same program on the bare engine: three threads over TCP on loopback.
fn bare(
    plan: &programs::Plan,
    tables: Vec<Option<LocalTable>>,
    roles: &Roles,
    k: u64,
) -> (f64, Value) {
    let (listeners, addrs) = loopback_listeners(tables.len()).expect("listeners");
    let config = SessionConfig::new(rand::random()).with_timeout(Duration::from_secs(300));
    let began = Instant::now();
    let handles: Vec<_> = listeners
        .into_iter()
        .zip(tables)
        .enumerate()
        .map(|(i, (listener, table))| {
            let (addrs, config, plan, roles) =
                (addrs.clone(), config.clone(), plan.clone(), roles.clone());
            std::thread::spawn(move || {
                let transport = TcpTransport::connect(i, &listener, &addrs, &TcpConfig::default())
                    .expect("connect");
                let mut party = Party::new(transport, &config).expect("party");
                programs::run(&mut party, &plan, &roles, table.as_ref(), k).expect("run")
            })
        })
        .collect();
    let mut result = Value::Null;
    for handle in handles {
        if let Some(out) = handle.join().expect("party thread") {
            result = out.0;
        }
    }
    (began.elapsed().as_secs_f64(), result)
}

fn load(path: &Path, columns: &[&str]) -> LocalTable {
    let text = std::fs::read_to_string(path).expect("CSV");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let mut table = LocalTable {
        ids: Some(Vec::new()),
        columns: Default::default(),
    };
    for line in lines.filter(|l| !l.is_empty()) {
        let fields: Vec<&str> = line.split(',').collect();
        for (name, value) in header.iter().zip(&fields) {
            if *name == "pseudonym" {
                table
                    .ids
                    .get_or_insert_with(Vec::new)
                    .push((*value).to_owned());
            } else if columns.contains(name) {
                table
                    .columns
                    .entry((*name).to_owned())
                    .or_default()
                    .push(value.parse().expect("integer"));
            }
        }
    }
    table
}

fn column(values: impl Iterator<Item = i64>) -> String {
    let mut csv = String::from("v\n");
    for v in values {
        csv.push_str(&v.to_string());
        csv.push('\n');
    }
    csv
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let mut study =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../mpc/tests/data/ppa-study/n4000");
    let mut runs = 3usize;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--study" => study = PathBuf::from(args.next().expect("--study DIR")),
            "--runs" => runs = args.next().expect("--runs N").parse().expect("a number"),
            _ => {}
        }
    }
    let client = reqwest::Client::new();
    let authority = common::Serve::start();
    let trust = common::trust_list(&client, &authority).await;

    let read = |name: &str| std::fs::read_to_string(study.join(name)).expect("study file");
    let per_party = 1_000_000 / 3 + 1;
    let sums = |seed: i64| column((0..per_party as i64).map(move |i| (i * 7919 + seed) % 100_000));
    let dir = prepare(
        &client,
        &authority,
        &trust,
        "StatisticsBureau",
        &[("cbs.csv", read("cbs.csv")), ("sum.csv", sums(2))],
        &[
            offer("income", "cbs.csv", Some("pseudonym"), &["income_group"]),
            offer("sum-own", "sum.csv", None, &["v"]),
        ],
    )
    .await;
    let analyst = serve(dir, &[]);
    let boot = analyst.p2p.clone();
    let dir = prepare(
        &client,
        &authority,
        &trust,
        "Insurer",
        &[("insurer.csv", read("insurer.csv")), ("sum.csv", sums(0))],
        &[
            offer(
                "costs",
                "insurer.csv",
                Some("pseudonym"),
                &["annual_cost_eur"],
            ),
            offer("sum", "sum.csv", None, &["v"]),
        ],
    )
    .await;
    let insurer = serve(dir, &boot);
    let dir = prepare(
        &client,
        &authority,
        &trust,
        "Hospital",
        &[("hospital.csv", read("hospital.csv")), ("sum.csv", sums(1))],
        &[
            offer(
                "visits",
                "hospital.csv",
                Some("pseudonym"),
                &["uses_app", "outpatient_visits"],
            ),
            offer("sum", "sum.csv", None, &["v"]),
        ],
    )
    .await;
    let hospital = serve(dir, &boot);
    let mut employees = Vec::new();
    for salary in [2500, 3250, 1800, 4320] {
        let dir = prepare(
            &client,
            &authority,
            &trust,
            "Hospital",
            &[("salary.csv", format!("salary\n{salary}\n"))],
            &[offer("salary", "salary.csv", None, &["salary"])],
        )
        .await;
        employees.push(serve(dir, &boot));
    }
    // Everyone authenticated everyone (the peers list of each node).
    let everyone = 2 + employees.len();
    for node in std::iter::once(&analyst)
        .chain([&insurer, &hospital])
        .chain(employees.iter())
    {
        let began = Instant::now();
        loop {
            let peers = node
                .call(&client, reqwest::Method::GET, "/api/v1/peers", Value::Null)
                .await;
            let authenticated = peers.as_array().map_or(0, |p| {
                p.iter().filter(|p| p["authenticated"] == true).count()
            });
            if authenticated >= everyone || began.elapsed() > Duration::from_secs(30) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let costs = agree(&client, &analyst, &insurer, "costs").await;
    let visits = agree(&client, &analyst, &hospital, "visits").await;
    let sum_agreements = [
        agree(&client, &analyst, &insurer, "sum").await,
        agree(&client, &analyst, &hospital, "sum").await,
    ];
    let mut salaries = Vec::new();
    for employee in &employees {
        salaries.push(agree(&client, &analyst, employee, "salary").await);
    }

    let study_params = json!({
        "group": {"column": "income_group", "values": [1, 2, 3, 4, 5]},
        "treatment": "uses_app",
        "outcomes": [{"column": "annual_cost_eur", "max": 200000}, {"column": "outpatient_visits", "max": 60}]});
    let spec = programs::find("linked-group-stats", "3").expect("program");
    let plan = programs::validate(spec, study_params.as_object().expect("object")).expect("plan");
    let tables = || {
        vec![
            Some(load(&study.join("insurer.csv"), &["annual_cost_eur"])),
            Some(load(
                &study.join("hospital.csv"),
                &["uses_app", "outpatient_visits"],
            )),
            Some(load(&study.join("cbs.csv"), &["income_group"])),
        ]
    };
    let roles = Roles {
        inputs: vec![0, 1, 2],
        recipients: vec![2],
    };
    let sum_spec = programs::find("sum", "2").expect("sum");
    let sum_params = json!({"column": "v", "min": 0, "max": 100_000});
    let sum_plan =
        programs::validate(sum_spec, sum_params.as_object().expect("object")).expect("plan");
    let sum_tables = || {
        (0..3)
            .map(|seed| {
                let mut t = LocalTable::default();
                t.columns.insert(
                    "v".into(),
                    (0..per_party as i64)
                        .map(|i| (i * 7919 + seed) % 100_000)
                        .collect(),
                );
                Some(t)
            })
            .collect::<Vec<_>>()
    };

    for run in 0..runs {
        let (_, salary_s, salary, _) = session(
            &client,
            &analyst,
            json!({
            "program": {"id": "mean", "params": {"column": "salary", "min": 0, "max": 100000}},
            "agreements": salaries, "min_group_size": 4, "purpose": "statistics"}),
        )
        .await;
        assert_eq!(
            format!("{:.2}", salary["mean"].as_f64().unwrap_or(0.0)),
            "2967.50"
        );
        println!(
            "{}",
            json!({"case": "salary", "run": run, "seconds": salary_s})
        );

        let (admission_s, broker_s, result, view) = session(
            &client,
            &analyst,
            json!({
            "program": {"id": "linked-group-stats", "params": study_params},
            "agreements": [costs, visits], "input_offer": "income", "min_group_size": 10,
            "purpose": "statistics", "round_timeout_ms": 300000}),
        )
        .await;
        let (bare_s, bare_result) = bare(&plan, tables(), &roles, 10);
        assert_eq!(
            result["cells"], bare_result["cells"],
            "the broker and the bare engine agree"
        );
        println!(
            "{}",
            json!({"case": "study", "run": run, "patients_dir": study.display().to_string(),
            "admission_seconds": admission_s, "broker_seconds": broker_s, "bare_engine_seconds": bare_s,
            "broker_over_bare": broker_s / bare_s, "bytes_sent_per_party": bytes_per_party(&view)})
        );

        let (admission_s, broker_s, result, view) = session(
            &client,
            &analyst,
            json!({
            "program": {"id": "sum", "params": sum_params},
            "agreements": sum_agreements, "input_offer": "sum-own", "min_group_size": 4,
            "purpose": "statistics", "round_timeout_ms": 300000}),
        )
        .await;
        let (bare_s, bare_result) = bare(&sum_plan, sum_tables(), &roles, 4);
        assert_eq!(
            result["sum"], bare_result["sum"],
            "the broker and the bare engine agree"
        );
        println!(
            "{}",
            json!({"case": "sum", "run": run, "values": 3 * per_party,
            "admission_seconds": admission_s, "broker_seconds": broker_s, "bare_engine_seconds": bare_s,
            "broker_over_bare_plus_admission": broker_s / (bare_s + admission_s),
            "bytes_sent_per_party": bytes_per_party(&view)})
        );
    }
    drop((insurer, hospital, employees));
}
