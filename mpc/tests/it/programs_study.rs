//! `linked-group-stats`: the analytics study on the committed synthetic
//! data (`tests/data/ppa-study`), and on small data against plaintext.

use crate::programs::{plan, run};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use symbolon_mpc::programs::{LocalTable, ProgramError, Roles};

/// A CSV with a header, the first column the identifier, the others integers.
fn load(path: &Path) -> LocalTable {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let mut ids = Vec::new();
    let mut columns: BTreeMap<String, Vec<i64>> = header[1..]
        .iter()
        .map(|h| (h.to_string(), Vec::new()))
        .collect();
    for line in lines.filter(|l| !l.is_empty()) {
        let mut f = line.split(',');
        ids.push(f.next().unwrap().to_owned());
        for (h, v) in header[1..].iter().zip(f) {
            columns.get_mut(*h).unwrap().push(v.parse().unwrap());
        }
    }
    LocalTable {
        ids: Some(ids),
        columns,
    }
}

fn study_params() -> Value {
    json!({
        "group": {"column": "income_group", "values": [1, 2, 3, 4, 5]},
        "treatment": "uses_app",
        "outcomes": [
            {"column": "annual_cost_eur", "max": 200000},
            {"column": "outpatient_visits", "max": 60}
        ]
    })
}

fn rel_close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// Every number anywhere in a JSON value except the labels (`group`,
/// `treatment`, `k`), which are parameters, not results.
fn numbers(v: &Value, out: &mut Vec<f64>) {
    match v {
        Value::Number(n) => out.push(n.as_f64().unwrap()),
        Value::Array(a) => a.iter().for_each(|x| numbers(x, out)),
        Value::Object(o) => o
            .iter()
            .filter(|(k, _)| !["group", "treatment", "k"].contains(&k.as_str()))
            .for_each(|(_, x)| numbers(x, out)),
        _ => {}
    }
}

#[test]
fn the_study_matches_expected_json() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ppa-study/n4000");
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let tables = vec![
        Some(load(&dir.join("insurer.csv"))),
        Some(load(&dir.join("hospital.csv"))),
        Some(load(&dir.join("cbs.csv"))),
    ];
    let roles = Roles {
        inputs: vec![0, 1, 2],
        recipients: vec![2],
    };
    let k = expected["k"].as_u64().unwrap();
    let p = plan("linked-group-stats", study_params());
    assert_eq!(
        p.column_names(),
        [
            "income_group",
            "uses_app",
            "annual_cost_eur",
            "outpatient_visits"
        ]
    );
    assert!(p.needs_ids());
    let out = run(3, &p, &roles, &tables, k);
    let mut out = out.into_iter();
    assert!(
        out.next().unwrap().unwrap().is_none(),
        "the insurer is no recipient"
    );
    assert!(
        out.next().unwrap().unwrap().is_none(),
        "the hospital is no recipient"
    );
    let v = out
        .next()
        .unwrap()
        .unwrap()
        .expect("the bureau is the recipient")
        .0;
    assert_eq!(v["program"], "linked-group-stats");
    // The dominance rule applies (default (1, 85)); no cell of this data is
    // dominated (the largest share of one record in a released cell is
    // 5.5 %), so the expected cells are those of the threshold rule.
    assert_eq!(v["dominance"], json!({"n": 1, "k": 85}));
    let cells = v["cells"].as_array().unwrap();
    let want = expected["cells"].as_array().unwrap();
    assert_eq!(cells.len(), want.len());
    for (c, w) in cells.iter().zip(want) {
        assert_eq!(c["group"], w["income_group"]);
        assert_eq!(c["treatment"], w["uses_app"]);
        if w["suppressed"] == true {
            assert_eq!(
                c,
                &json!({"group": w["income_group"], "treatment": w["uses_app"], "suppressed": true, "rule": "threshold"})
            );
            continue;
        }
        assert_eq!(c["count"], w["count"]);
        let o = &c["outcomes"];
        assert_eq!(o["annual_cost_eur"]["sum"], w["sum_cost_eur"]);
        assert_eq!(o["outpatient_visits"]["sum"], w["sum_visits"]);
        assert!(rel_close(
            o["annual_cost_eur"]["mean"].as_f64().unwrap(),
            w["mean_cost_eur"].as_f64().unwrap()
        ));
        assert!(rel_close(
            o["outpatient_visits"]["mean"].as_f64().unwrap(),
            w["mean_visits"].as_f64().unwrap()
        ));
    }
    let effects = v["effects"].as_array().unwrap();
    for (e, w) in effects
        .iter()
        .zip(expected["effect_cost_app_minus_no_app"].as_array().unwrap())
    {
        assert_eq!(e["group"], w["income_group"]);
        if w["suppressed"] == true {
            assert_eq!(
                e,
                &json!({"group": w["income_group"], "suppressed": true, "rule": "threshold"})
            );
        } else {
            let got = e["outcomes"]["annual_cost_eur"].as_f64().unwrap();
            assert!(
                rel_close(got, w["effect_mean_cost_eur"].as_f64().unwrap()),
                "{got} vs {w}"
            );
        }
    }
    // The suppressed cell's count appears nowhere in the output.
    let hidden: Vec<f64> = expected["plaintext_only_suppressed_counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["count"].as_f64().unwrap())
        .collect();
    let mut all = Vec::new();
    numbers(&v, &mut all);
    for h in hidden {
        assert!(!all.contains(&h), "the suppressed count {h} appears in {v}");
    }
}

/// Four parties, three of them input parties, the group and treatment at
/// one party, outcomes at two others; checked against plaintext.
#[test]
fn linked_group_stats_match_plaintext_with_a_non_input_party() {
    let n_people = 120;
    let id = |i: usize| format!("person-{i:04}");
    let group = |i: usize| (i * 7 % 3) as i64 + 10;
    let treat = |i: usize| i64::from(i % 4 == 1);
    let y1 = |i: usize| (i * 37 % 101) as i64;
    let y2 = |i: usize| (i * 13 % 17) as i64 - 8;
    let held = [
        |i: usize| !i.is_multiple_of(10),
        |i: usize| i % 7 != 3,
        |i: usize| i % 9 != 4,
    ];
    let mk = |p: usize| {
        let rows: Vec<usize> = (0..n_people).filter(|&i| held[p](i)).collect();
        let mut cols = BTreeMap::new();
        let col = |f: &dyn Fn(usize) -> i64| rows.iter().map(|&i| f(i)).collect::<Vec<_>>();
        match p {
            0 => {
                cols.insert("g".to_owned(), col(&group));
                cols.insert("t".to_owned(), col(&treat));
            }
            1 => {
                cols.insert("y1".to_owned(), col(&y1));
            }
            _ => {
                cols.insert("y2".to_owned(), col(&y2));
                cols.insert("unrelated".to_owned(), col(&|_| 5));
            }
        }
        LocalTable {
            ids: Some(rows.iter().map(|&i| id(i)).collect()),
            columns: cols,
        }
    };
    // Party 0 is the non-input (computing) party and the recipient.
    let tables = vec![None, Some(mk(0)), Some(mk(1)), Some(mk(2))];
    let roles = Roles {
        inputs: vec![1, 2, 3],
        recipients: vec![0],
    };
    let p = plan(
        "linked-group-stats",
        json!({"group": {"column": "g", "values": [10, 11, 12]}, "treatment": "t",
               "outcomes": [{"column": "y1", "max": 100}, {"column": "y2", "min": -8, "max": 8}]}),
    );
    let k = 6;
    let out = run(4, &p, &roles, &tables, k);
    let v = out[0].as_ref().unwrap().as_ref().unwrap().0.clone();
    for o in &out[1..] {
        assert!(o.as_ref().unwrap().is_none());
    }
    let common: Vec<usize> = (0..n_people)
        .filter(|&i| held.iter().all(|h| h(i)))
        .collect();
    let mut cells: HashMap<(i64, i64), (i64, i64, i64)> = HashMap::new();
    for &i in &common {
        let e = cells.entry((group(i), treat(i))).or_default();
        e.0 += 1;
        e.1 += y1(i);
        e.2 += y2(i);
    }
    let mut suppressed = HashSet::new();
    for c in v["cells"].as_array().unwrap() {
        let key = (
            c["group"].as_i64().unwrap(),
            c["treatment"].as_i64().unwrap(),
        );
        let (cnt, s1, s2) = cells.get(&key).copied().unwrap_or_default();
        if cnt < k as i64 {
            assert_eq!(c["suppressed"], true, "{c}");
            suppressed.insert(key.0);
        } else {
            assert_eq!(c["count"], cnt);
            assert_eq!(c["outcomes"]["y1"]["sum"], s1);
            assert_eq!(c["outcomes"]["y2"]["sum"], s2);
        }
    }
    for e in v["effects"].as_array().unwrap() {
        let g = e["group"].as_i64().unwrap();
        if suppressed.contains(&g) {
            assert_eq!(e["suppressed"], true);
        } else {
            let (n0, s0, _) = cells[&(g, 0)];
            let (n1, s1, _) = cells[&(g, 1)];
            let want = s1 as f64 / n1 as f64 - s0 as f64 / n0 as f64;
            assert!((e["outcomes"]["y1"].as_f64().unwrap() - want).abs() < 1e-9);
        }
    }
    // A column held by two parties, or by none, is refused by everyone.
    let mut dup = tables.clone();
    let rows = dup[2].as_ref().unwrap().ids.as_ref().unwrap().len();
    dup[2]
        .as_mut()
        .unwrap()
        .columns
        .insert("t".to_owned(), vec![0; rows]);
    for o in run(4, &p, &roles, &dup, k) {
        assert!(matches!(o, Err(ProgramError::Layout(_))), "{o:?}");
    }
    // Treatment values other than 0/1 are refused by their holder.
    let mut bad = tables.clone();
    bad[1].as_mut().unwrap().columns.get_mut("t").unwrap()[3] = 2;
    let out = run(4, &p, &roles, &bad, k);
    assert!(
        matches!(out[1], Err(ProgramError::OutOfRange { row: 3, .. })),
        "{:?}",
        out[1]
    );
    assert!(matches!(
        out[0],
        Err(ProgramError::PeerRefused { party: 1 })
    ));
}
