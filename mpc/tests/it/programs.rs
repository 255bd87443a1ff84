//! The program library against plaintext answers, with 3–5 parties in memory.

use serde_json::{json, Map, Value};
use symbolon_mpc::programs::{
    self, find, validate, LocalTable, Plan, ProgramError, ProgramResult, Roles,
};
use symbolon_mpc::{MemoryTransport, Party};

type Outcome = Result<Option<ProgramResult>, ProgramError>;

pub fn plan(id: &str, params: Value) -> Plan {
    let spec = programs::latest(id).unwrap();
    validate(spec, params.as_object().unwrap()).unwrap()
}

/// Runs `plan` with n parties; `tables[i]` is party i's input; per-party k.
pub fn run_with_k(
    n: usize,
    plan: &Plan,
    roles: &Roles,
    tables: &[Option<LocalTable>],
    ks: &[u64],
) -> Vec<Outcome> {
    let handles: Vec<_> = MemoryTransport::network(n)
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            let (plan, roles) = (plan.clone(), roles.clone());
            let table = tables.get(i).cloned().flatten();
            let k = ks[i];
            std::thread::spawn(move || -> Outcome {
                let mut party = Party::new(t, &crate::sim::config())?;
                programs::run(&mut party, &plan, &roles, table.as_ref(), k)
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

pub fn run(
    n: usize,
    plan: &Plan,
    roles: &Roles,
    tables: &[Option<LocalTable>],
    k: u64,
) -> Vec<Outcome> {
    run_with_k(n, plan, roles, tables, &vec![k; n])
}

/// The recipients' results (all equal), checking the others got `None`.
pub fn recipients_result(out: Vec<Outcome>, roles: &Roles) -> Value {
    let mut got = None;
    for (i, o) in out.into_iter().enumerate() {
        let o = o.unwrap_or_else(|e| panic!("party {i} failed: {e}"));
        if roles.recipients.contains(&i) {
            let v = o.expect("recipient got no result").0;
            if let Some(prev) = &got {
                assert_eq!(prev, &v);
            }
            got = Some(v);
        } else {
            assert!(o.is_none(), "party {i} is no recipient but got a result");
        }
    }
    got.unwrap()
}

fn table(cols: &[(&str, Vec<i64>)]) -> LocalTable {
    LocalTable {
        ids: None,
        columns: cols
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    }
}

/// Deterministic pseudo-random integers in [lo, hi].
fn data(seed: u64, len: usize, lo: i64, hi: i64) -> Vec<i64> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            lo + (x % (hi - lo + 1) as u64) as i64
        })
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()))
}

#[test]
fn catalog_is_complete_and_hashes_are_stable() {
    let ids: Vec<&str> = programs::catalog().iter().map(|s| s.id).collect();
    assert_eq!(
        ids,
        [
            "sum",
            "count",
            "mean",
            "variance",
            "histogram",
            "group-stats",
            "linear-regression",
            "psi-cardinality",
            "psi-membership",
            "linked-group-stats"
        ]
    );
    let mut hashes = std::collections::BTreeSet::new();
    for s in programs::catalog() {
        let h = s.hash();
        assert_eq!(h.len(), 64);
        assert!(h
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert!(hashes.insert(h.clone()));
        assert_eq!(h, s.hash());
        let canon = s.canonical();
        assert!(canon.starts_with(programs::CANONICAL_HEADER));
        assert_eq!(canon.lines().count(), 5 + s.params.len());
        assert!(find(s.id, s.version).is_some());
    }
    // Pinned: a changed description is a new version, never a new hash
    // under an old version (manifests already signed name these).
    // `sum` 1 (hash d17551d7…) is gone: version 2 adds the dominance rule.
    assert!(find("sum", "1").is_none());
    assert_eq!(
        find("sum", "2").unwrap().hash(),
        "d79dd760d4321b84d40f93c9875d5808c10d450022e681153afd7aeb2183b206"
    );
    // `linked-group-stats` 2 (hash ccf2dbe3…) and `variance` 1 are gone:
    // the next versions add the dominance rule.
    assert!(find("linked-group-stats", "2").is_none());
    assert!(find("variance", "1").is_none());
    assert_eq!(
        find("linked-group-stats", "3").unwrap().hash(),
        "2f9603a4143a9718ad0d3543033eab49fd052268744afe981fe674bba54cd213"
    );
    // The hash is SHA-256 of the canonical text, as documented.
    let spec = find("sum", "2").unwrap();
    let canon = spec.canonical();
    assert!(canon.starts_with("symbolon-mpc program description v1\nid=sum\nversion=2\nsummary="));
    assert!(canon.contains("\nparam=dominance;"));
    assert!(canon.contains("\nparam=max;"));
    assert!(!canon.ends_with('\n'));
    let digest: String = <sha2::Sha256 as sha2::Digest>::digest(canon.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(digest, spec.hash());
    assert!(find("sum", "3").is_none());
    assert!(find("nope", "1").is_none());
}

#[test]
fn bad_params_are_refused_naming_the_parameter() {
    let sum = find("sum", "2").unwrap();
    let check = |spec: &programs::ProgramSpec, params: Value, param: &str| match validate(
        spec,
        params.as_object().unwrap(),
    ) {
        Err(ProgramError::Param { param: p, reason }) => {
            assert_eq!(p, param, "reason: {reason}")
        }
        other => panic!("expected a param error for {param}, got {other:?}"),
    };
    check(sum, json!({"column": "x"}), "max");
    check(sum, json!({"column": "x", "max": 10, "extra": 1}), "extra");
    check(sum, json!({"column": 5, "max": 10}), "column");
    check(sum, json!({"column": "", "max": 10}), "column");
    check(sum, json!({"column": "x", "max": 1.5}), "max");
    check(sum, json!({"column": "x", "max": "10"}), "max");
    check(sum, json!({"column": "x", "min": 5, "max": 4}), "max");
    check(sum, json!({"column": "x", "max": 1u64 << 41}), "max");
    // The dominance rule (n, k): n in 1..=10, k in 1..=100, both required.
    check(
        sum,
        json!({"column": "x", "max": 9, "dominance": 85}),
        "dominance",
    );
    for (d, param) in [
        (json!({"n": 0, "k": 85}), "dominance.n"),
        (json!({"n": 11, "k": 85}), "dominance.n"),
        (json!({"n": 1, "k": 0}), "dominance.k"),
        (json!({"n": 1, "k": 101}), "dominance.k"),
        (json!({"n": 1, "k": 85.5}), "dominance.k"),
        (json!({"n": 1}), "dominance.k"),
        (json!({"n": 1, "k": 85, "p": 1}), "dominance.p"),
    ] {
        check(sum, json!({"column": "x", "max": 9, "dominance": d}), param);
    }
    let with_rule = json!({"column": "x", "max": 9, "dominance": {"n": 2, "k": 90}});
    let planned = validate(sum, with_rule.as_object().unwrap()).unwrap();
    assert_eq!(planned.dominance, Some(programs::Dominance { n: 2, k: 90 }));
    let default = validate(sum, json!({"column": "x", "max": 9}).as_object().unwrap()).unwrap();
    assert_eq!(default.dominance, Some(programs::Dominance::DEFAULT));
    // Programs on counts have no dominance rule and no such parameter.
    let count_spec = find("count", "1").unwrap();
    check(
        count_spec,
        json!({"column": "x", "max": 9, "dominance": {"n": 1, "k": 85}}),
        "dominance",
    );
    let hist = find("histogram", "1").unwrap();
    check(
        hist,
        json!({"column": "x", "max": 9, "edges": [3, 3]}),
        "edges",
    );
    check(hist, json!({"column": "x", "max": 9, "edges": []}), "edges");
    check(
        hist,
        json!({"column": "x", "max": 9, "edges": [1, "a"]}),
        "edges[1]",
    );
    let count = find("count", "1").unwrap();
    check(
        count,
        json!({"column": "x", "max": 9, "from": 5, "to": 5}),
        "to",
    );
    let lgs = find("linked-group-stats", "3").unwrap();
    let ok = json!({"group": {"column": "g", "values": [1, 2]}, "treatment": "t",
        "outcomes": [{"column": "y", "max": 100}]});
    assert!(validate(lgs, ok.as_object().unwrap()).is_ok());
    check(
        lgs,
        json!({"group": {"column": "g", "values": [1, 1]}, "treatment": "t",
        "outcomes": [{"column": "y", "max": 100}]}),
        "group.values",
    );
    check(
        lgs,
        json!({"group": {"column": "g", "values": [1]}, "treatment": "t",
        "outcomes": [{"column": "y", "max": 100, "mix": 0}]}),
        "outcomes[0].mix",
    );
    check(
        lgs,
        json!({"group": {"column": "g", "values": [1]}, "treatment": "t",
        "outcomes": [{"column": "y"}]}),
        "outcomes[0].max",
    );
    check(
        lgs,
        json!({"group": {"column": "g", "values": [1]}, "treatment": "t",
        "outcomes": []}),
        "outcomes",
    );
    check(
        lgs,
        json!({"group": {"column": "g", "values": [1]}, "treatment": "g",
        "outcomes": [{"column": "y", "max": 1}]}),
        "column",
    );
    let reg = find("linear-regression", "1").unwrap();
    check(
        reg,
        json!({"outcome": {"column": "y", "max": 9}, "covariates": "x"}),
        "covariates",
    );
    let psi = find("psi-cardinality", "2").unwrap();
    check(psi, json!({"k": 3}), "k");
    assert!(validate(psi, &Map::new()).is_ok());
}

/// Three to five parties; inputs 0 and 2 (and 3 with five) hold x; one
/// input party holds nothing.
#[test]
fn sum_count_mean_variance_match_plaintext() {
    for n in [3usize, 4, 5] {
        let inputs: Vec<usize> = if n == 5 {
            vec![0, 1, 2, 3]
        } else {
            vec![0, 1, 2]
        };
        let mut tables: Vec<Option<LocalTable>> = vec![None; n];
        let mut all = Vec::new();
        for (j, &p) in inputs.iter().enumerate() {
            if p == 1 {
                tables[p] = Some(table(&[("other", vec![1, 2])]));
                continue;
            }
            let x = data(n as u64 * 10 + j as u64, 20 + 7 * j, -500, 1000);
            all.extend_from_slice(&x);
            tables[p] = Some(table(&[("x", x), ("unused", vec![0; 20 + 7 * j])]));
        }
        let roles = Roles {
            inputs,
            recipients: vec![n - 1],
        };
        let col = json!({"column": "x", "min": -500, "max": 1000});
        let cnt = all.len() as i64;
        let sum: i64 = all.iter().sum();
        let mean = sum as f64 / cnt as f64;
        let var = all.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / (cnt - 1) as f64;

        let v = recipients_result(
            run(n, &plan("sum", col.clone()), &roles, &tables, 5),
            &roles,
        );
        assert_eq!(v["count"], cnt);
        assert_eq!(v["sum"], sum);
        assert_eq!(v["program"], "sum");
        assert_eq!(v["k"], 5);

        let v = recipients_result(
            run(n, &plan("mean", col.clone()), &roles, &tables, 5),
            &roles,
        );
        assert!(close(v["mean"].as_f64().unwrap(), mean));
        assert!(v.get("sum").is_none());

        let v = recipients_result(
            run(n, &plan("variance", col.clone()), &roles, &tables, 5),
            &roles,
        );
        assert!(close(v["mean"].as_f64().unwrap(), mean));
        assert!(close(v["variance"].as_f64().unwrap(), var), "{v}");

        let c = json!({"column": "x", "min": -500, "max": 1000, "from": 0, "to": 300});
        let want = all.iter().filter(|&&v| (0..300).contains(&v)).count() as i64;
        let v = recipients_result(
            run(n, &plan("count", c.clone()), &roles, &tables, 5),
            &roles,
        );
        assert_eq!(v["count"], want);
        // k above the count: suppressed, no number anywhere.
        let v = recipients_result(
            run(n, &plan("count", c), &roles, &tables, want as u64 + 1),
            &roles,
        );
        assert_eq!(v["suppressed"], true);
        assert!(v.get("count").is_none());
        let v = recipients_result(
            run(n, &plan("sum", col), &roles, &tables, cnt as u64 + 1),
            &roles,
        );
        assert_eq!(v["suppressed"], true);
        assert!(v.get("sum").is_none());
    }
}

#[test]
fn histogram_is_released_whole_or_suppressed_whole() {
    let n = 4;
    let x0 = data(1, 40, 0, 99);
    let x1 = data(2, 35, 0, 99);
    let tables = vec![
        Some(table(&[("age", x0.clone())])),
        Some(table(&[("age", x1.clone())])),
        None,
        None,
    ];
    let roles = Roles {
        inputs: vec![0, 1],
        recipients: vec![2, 3],
    };
    let p = plan(
        "histogram",
        json!({"column": "age", "max": 99, "edges": [18, 40, 65]}),
    );
    let mut want = [0i64; 4];
    for v in x0.iter().chain(&x1) {
        want[[18, 40, 65].iter().filter(|&&e| *v >= e).count()] += 1;
    }
    let v = recipients_result(run(n, &p, &roles, &tables, 1), &roles);
    let bins = v["bins"].as_array().unwrap();
    assert_eq!(bins.len(), 4);
    for (b, w) in bins.iter().zip(want) {
        assert_eq!(b["count"], w);
    }
    assert_eq!(bins[0]["from"], Value::Null);
    assert_eq!(bins[0]["to"], 18);
    assert_eq!(bins[3]["from"], 65);
    assert_eq!(bins[3]["to"], Value::Null);
    let smallest = *want.iter().min().unwrap() as u64;
    let v = recipients_result(run(n, &p, &roles, &tables, smallest + 1), &roles);
    assert_eq!(v["suppressed"], true);
    assert!(v.get("bins").is_none());
}

#[test]
fn group_stats_and_regression_match_plaintext() {
    let n = 5;
    let mut tables: Vec<Option<LocalTable>> = vec![None; n];
    let (mut g_all, mut a_all, mut b_all, mut y_all) = (vec![], vec![], vec![], vec![]);
    for p in [1usize, 3, 4] {
        let len = 30 + p * 5;
        let g = data(p as u64 + 100, len, 1, 3);
        let a = data(p as u64 + 200, len, 0, 1000);
        let b = data(p as u64 + 300, len, -50, 50);
        let y: Vec<i64> = a
            .iter()
            .zip(&b)
            .enumerate()
            .map(|(i, (a, b))| 7 + 2 * a - 3 * b + (i % 5) as i64)
            .collect();
        g_all.extend_from_slice(&g);
        a_all.extend_from_slice(&a);
        b_all.extend_from_slice(&b);
        y_all.extend_from_slice(&y);
        tables[p] = Some(table(&[("g", g), ("a", a), ("b", b), ("y", y)]));
    }
    let roles = Roles {
        inputs: vec![1, 3, 4],
        recipients: vec![0],
    };
    // Group 4 has no rows: suppressed for any k ≥ 1.
    let p = plan(
        "group-stats",
        json!({"group": {"column": "g", "values": [1, 2, 3, 4]},
               "values": [{"column": "a", "max": 1000}, {"column": "b", "min": -50, "max": 50}]}),
    );
    let v = recipients_result(run(n, &p, &roles, &tables, 2), &roles);
    let groups = v["groups"].as_array().unwrap();
    for (gi, gv) in [1i64, 2, 3].iter().enumerate() {
        let rows: Vec<usize> = (0..g_all.len()).filter(|&r| g_all[r] == *gv).collect();
        let sa: i64 = rows.iter().map(|&r| a_all[r]).sum();
        let sb: i64 = rows.iter().map(|&r| b_all[r]).sum();
        assert_eq!(groups[gi]["group"], *gv);
        assert_eq!(groups[gi]["count"], rows.len() as i64);
        assert_eq!(groups[gi]["columns"]["a"]["sum"], sa);
        assert_eq!(groups[gi]["columns"]["b"]["sum"], sb);
        assert!(close(
            groups[gi]["columns"]["b"]["mean"].as_f64().unwrap(),
            sb as f64 / rows.len() as f64
        ));
    }
    assert_eq!(
        groups[3],
        json!({"group": 4, "suppressed": true, "rule": "threshold"})
    );
    assert_eq!(v["dominance"], json!({"n": 1, "k": 85}));

    let p = plan(
        "linear-regression",
        json!({"outcome": {"column": "y", "min": -10000, "max": 10000},
               "covariates": [{"column": "a", "max": 1000}, {"column": "b", "min": -50, "max": 50}]}),
    );
    let v = recipients_result(run(n, &p, &roles, &tables, 10), &roles);
    // Plaintext normal equations.
    let rows = y_all.len();
    let x = |c: usize, r: usize| [1.0, a_all[r] as f64, b_all[r] as f64][c];
    let mut m = [[0.0f64; 4]; 3];
    #[allow(
        clippy::needless_range_loop,
        reason = "matrix code reads best with indices"
    )]
    for r in 0..rows {
        for i in 0..3 {
            for j in 0..3 {
                m[i][j] += x(i, r) * x(j, r);
            }
            m[i][3] += x(i, r) * y_all[r] as f64;
        }
    }
    #[allow(
        clippy::needless_range_loop,
        reason = "matrix code reads best with indices"
    )]
    for c in 0..3 {
        let piv = m[c][c];
        for k in 0..4 {
            m[c][k] /= piv;
        }
        for r in 0..3 {
            if r != c {
                let f = m[r][c];
                for k in 0..4 {
                    m[r][k] -= f * m[c][k];
                }
            }
        }
    }
    assert_eq!(v["count"], rows as i64);
    assert!(
        (v["intercept"].as_f64().unwrap() - m[0][3]).abs() < 1e-6,
        "{v}"
    );
    assert!((v["coefficients"]["a"].as_f64().unwrap() - m[1][3]).abs() < 1e-6);
    assert!((v["coefficients"]["b"].as_f64().unwrap() - m[2][3]).abs() < 1e-6);
    assert!((v["coefficients"]["a"].as_f64().unwrap() - 2.0).abs() < 0.01);
    let v = recipients_result(run(n, &p, &roles, &tables, rows as u64 + 1), &roles);
    assert_eq!(
        v,
        json!({"suppressed": true, "rule": "threshold", "program": "linear-regression", "version": "1", "k": rows + 1})
    );
}

#[test]
fn out_of_range_data_is_refused_before_any_input() {
    let n = 3;
    let tables = vec![
        Some(table(&[("x", vec![1, 2, 3])])),
        Some(table(&[("x", vec![4, 1001, 6])])),
        None,
    ];
    let roles = Roles {
        inputs: vec![0, 1],
        recipients: vec![2],
    };
    let out = run(
        n,
        &plan("sum", json!({"column": "x", "max": 1000})),
        &roles,
        &tables,
        1,
    );
    match &out[1] {
        Err(ProgramError::OutOfRange {
            column,
            row,
            min,
            max,
        }) => {
            assert_eq!((column.as_str(), *row, *min, *max), ("x", 1, 0, 1000));
        }
        other => panic!("{other:?}"),
    }
    let msg = out[1].as_ref().unwrap_err().to_string();
    assert!(!msg.contains("1001"), "the value must not appear: {msg}");
    for i in [0, 2] {
        assert!(
            matches!(out[i], Err(ProgramError::PeerRefused { party: 1 })),
            "{:?}",
            out[i]
        );
    }
    // A group value outside the declared list, a missing input, ragged columns.
    let p = plan(
        "group-stats",
        json!({"group": {"column": "x", "values": [1, 2, 3]}, "values": []}),
    );
    let out = run(n, &p, &roles, &tables, 1);
    assert!(
        matches!(out[1], Err(ProgramError::NotAGroup { row: 0, .. })),
        "{:?}",
        out[1]
    );
    assert!(matches!(
        out[0],
        Err(ProgramError::PeerRefused { party: 1 })
    ));
    let bad = vec![None, Some(table(&[("x", vec![1])])), None];
    let out = run(
        n,
        &plan("sum", json!({"column": "x", "max": 9})),
        &roles,
        &bad,
        1,
    );
    assert!(
        matches!(out[0], Err(ProgramError::InputMissing)),
        "{:?}",
        out[0]
    );
    assert!(matches!(
        out[1],
        Err(ProgramError::PeerRefused { party: 0 })
    ));
    let ragged = vec![
        Some(table(&[("x", vec![1]), ("y", vec![1, 2])])),
        Some(table(&[("x", vec![1])])),
        None,
    ];
    let out = run(
        n,
        &plan("sum", json!({"column": "x", "max": 9})),
        &roles,
        &ragged,
        1,
    );
    assert!(
        matches!(out[0], Err(ProgramError::Table(_))),
        "{:?}",
        out[0]
    );
}

#[test]
fn parties_disagreeing_on_k_or_roles_are_named() {
    let tables = vec![Some(table(&[("x", vec![1, 2, 3])])), None, None];
    let roles = Roles {
        inputs: vec![0],
        recipients: vec![1],
    };
    let p = plan("sum", json!({"column": "x", "max": 9}));
    let out = run_with_k(3, &p, &roles, &tables, &[1, 1, 2]);
    assert!(
        matches!(out[0], Err(ProgramError::Disagreement { party: 2 })),
        "{:?}",
        out[0]
    );
    assert!(matches!(
        out[2],
        Err(ProgramError::Disagreement { party: 0 })
    ));
    let bad_roles = Roles {
        inputs: vec![0, 0],
        recipients: vec![1],
    };
    assert!(matches!(
        run(3, &p, &bad_roles, &tables, 1)[0],
        Err(ProgramError::Roles(_))
    ));
    let out = run(3, &p, &roles, &tables, 0);
    assert!(matches!(out[0], Err(ProgramError::InvalidK)));
    let out = run(3, &p, &roles, &tables, (1 << 32) + 1);
    assert!(matches!(out[1], Err(ProgramError::InvalidK)));
}
