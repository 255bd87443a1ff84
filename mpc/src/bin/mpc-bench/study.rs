//! `mpc-bench --op study`: the program `linked-group-stats` on the study's
//! three CSVs, checked against `expected.json`.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};
use symbolon_mpc::programs::{self, LocalTable, Roles};
use symbolon_mpc::{Party, SessionConfig, TcpTransport};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The digest party 2 reports when every figure matches.
pub const CORRECT: &str = "correct";

const FILES: [&str; 3] = ["insurer.csv", "hospital.csv", "cbs.csv"];

fn expected(dir: &Path) -> Result<Value, BoxError> {
    Ok(serde_json::from_str(&std::fs::read_to_string(
        dir.join("expected.json"),
    )?)?)
}

/// The study's size (`n` in expected.json).
pub fn expected_n(dir: &Path) -> Result<usize, BoxError> {
    let n = expected(dir)?["n"]
        .as_u64()
        .ok_or("expected.json has no n")?;
    Ok(usize::try_from(n)?)
}

/// A CSV with a header: the first column the identifier, the others integers.
fn load(path: &Path) -> Result<LocalTable, BoxError> {
    let text = std::fs::read_to_string(path)?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().ok_or("empty CSV")?.split(',').collect();
    let names = header.get(1..).unwrap_or(&[]);
    let mut ids = Vec::new();
    let mut cols: Vec<Vec<i64>> = vec![Vec::new(); names.len()];
    for line in lines.filter(|l| !l.is_empty()) {
        let mut f = line.split(',');
        ids.push(f.next().unwrap_or_default().to_owned());
        for (c, v) in cols.iter_mut().zip(f) {
            c.push(v.trim().parse()?);
        }
    }
    Ok(LocalTable {
        ids: Some(ids),
        columns: names.iter().map(|n| n.to_string()).zip(cols).collect(),
    })
}

/// The study's parameters, as a manifest would carry them.
pub fn params() -> Value {
    json!({
        "group": {"column": "income_group", "values": [1, 2, 3, 4, 5]},
        "treatment": "uses_app",
        "outcomes": [
            {"column": "annual_cost_eur", "max": 200000},
            {"column": "outpatient_visits", "max": 60}
        ]
    })
}

/// Runs party `me`; returns (seconds, cpu seconds, bytes sent, digest).
pub fn run(
    transport: TcpTransport,
    session: [u8; 16],
    timeout: Duration,
    dir: &Path,
    me: usize,
    cpu_seconds: fn() -> Option<f64>,
) -> Result<(f64, Option<f64>, u64, String), BoxError> {
    let want = expected(dir)?;
    let k = want["k"].as_u64().ok_or("expected.json has no k")?;
    let table = load(&dir.join(FILES.get(me).ok_or("the study has three parties")?))?;
    let spec = programs::find("linked-group-stats", "3").ok_or("no program")?;
    let plan = programs::validate(spec, params().as_object().ok_or("params")?)?;
    let roles = Roles {
        inputs: vec![0, 1, 2],
        recipients: vec![2],
    };
    let mut party = Party::new(
        transport,
        &SessionConfig::new(session).with_timeout(timeout),
    )?;
    party.barrier()?;
    let before = party.bytes_sent();
    let cpu0 = cpu_seconds();
    let start = Instant::now();
    let out = programs::run(&mut party, &plan, &roles, Some(&table), k)?;
    let seconds = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds().zip(cpu0).map(|(b, a)| b - a);
    let bytes = party.bytes_sent() - before;
    party.barrier()?;
    let digest = match out {
        Some(result) => match check(&result.0, &want) {
            Ok(()) => CORRECT.to_owned(),
            Err(e) => format!("incorrect: {e}"),
        },
        None => String::new(),
    };
    Ok((seconds, cpu, bytes, digest))
}

fn close(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0),
        _ => false,
    }
}

/// Every cell and effect of `got` against expected.json.
fn check(got: &Value, want: &Value) -> Result<(), String> {
    let cells = got["cells"].as_array().ok_or("no cells")?;
    let wcells = want["cells"]
        .as_array()
        .ok_or("expected.json has no cells")?;
    if cells.len() != wcells.len() {
        return Err("cell count".into());
    }
    for (c, w) in cells.iter().zip(wcells) {
        let label = format!("cell {} {}", w["income_group"], w["uses_app"]);
        if c["group"] != w["income_group"] || c["treatment"] != w["uses_app"] {
            return Err(format!("{label}: order"));
        }
        if w["suppressed"] == true {
            let only: BTreeMap<_, _> = c.as_object().ok_or("cell")?.iter().collect();
            // group, treatment, suppressed and the rule: no figure.
            if c["suppressed"] != true || c["rule"] != "threshold" || only.len() != 4 {
                return Err(format!("{label}: not suppressed"));
            }
            continue;
        }
        let o = &c["outcomes"];
        let ok = c["count"] == w["count"]
            && o["annual_cost_eur"]["sum"] == w["sum_cost_eur"]
            && o["outpatient_visits"]["sum"] == w["sum_visits"]
            && close(&o["annual_cost_eur"]["mean"], &w["mean_cost_eur"])
            && close(&o["outpatient_visits"]["mean"], &w["mean_visits"]);
        if !ok {
            return Err(label);
        }
    }
    let effects = got["effects"].as_array().ok_or("no effects")?;
    let weffects = want["effect_cost_app_minus_no_app"]
        .as_array()
        .ok_or("expected.json has no effects")?;
    if effects.len() != weffects.len() {
        return Err("effect count".into());
    }
    for (e, w) in effects.iter().zip(weffects) {
        let ok = if w["suppressed"] == true {
            e["suppressed"] == true && e.get("outcomes").is_none()
        } else {
            close(
                &e["outcomes"]["annual_cost_eur"],
                &w["effect_mean_cost_eur"],
            )
        };
        if !ok || e["group"] != w["income_group"] {
            return Err(format!("effect {}", w["income_group"]));
        }
    }
    Ok(())
}
