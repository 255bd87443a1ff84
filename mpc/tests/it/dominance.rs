//! The threshold and dominance rules of the magnitude programs against a
//! plaintext oracle: random small tables, the real program with parties in
//! memory, and exactly the cells the plaintext rules suppress are
//! suppressed, by the rule the oracle names, and every other cell is
//! released with its true figures.

use crate::programs::{plan, recipients_result, run};
use proptest::prelude::*;
use serde_json::{json, Value};
use symbolon_mpc::programs::{dominance_comparisons, Dominance, LocalTable, Roles};

/// One record: (input party, group, a, b).
type Row = (usize, i64, i64, i64);

const GROUPS: [i64; 3] = [1, 2, 3];

/// A value that is sometimes large, so that dominated cells occur.
fn value(lo: i64) -> impl Strategy<Value = i64> {
    prop_oneof![4 => lo..20i64, 1 => 200i64..1000]
}

fn rows(parties: usize) -> impl Strategy<Value = Vec<Row>> {
    proptest::collection::vec((0..parties, 1i64..=3, value(0), value(-20)), 0..24)
}

fn tables(rows: &[Row], n: usize, inputs: &[usize]) -> Vec<Option<LocalTable>> {
    let mut out: Vec<Option<LocalTable>> = vec![None; n];
    for (j, &p) in inputs.iter().enumerate() {
        let mine: Vec<&Row> = rows.iter().filter(|r| r.0 == j).collect();
        let mut t = LocalTable::default();
        t.columns
            .insert("g".into(), mine.iter().map(|r| r.1).collect());
        t.columns
            .insert("a".into(), mine.iter().map(|r| r.2).collect());
        t.columns
            .insert("b".into(), mine.iter().map(|r| r.3).collect());
        out[p] = Some(t);
    }
    out
}

/// The (n, k) rule written out: the n largest absolute values exceed k %
/// of the total of absolute values.
fn dominated_plain(values: &[i64], n: usize, k: i64) -> bool {
    let mut abs: Vec<i64> = values.iter().map(|v| v.abs()).collect();
    abs.sort_unstable();
    abs.reverse();
    let total: i64 = abs.iter().sum();
    let top: i64 = abs.iter().take(n).sum();
    top * 100 > k * total
}

/// The plaintext rules for one cell's records: what the program must say.
fn oracle_cell(cell: &[&Row], k: u64, rule: Dominance, columns: &[usize]) -> Value {
    let pick = |r: &Row, c: usize| if c == 0 { r.2 } else { r.3 };
    if (cell.len() as u64) < k {
        return json!({"suppressed": true, "rule": "threshold"});
    }
    let dominated = columns.iter().any(|&c| {
        let values: Vec<i64> = cell.iter().map(|r| pick(r, c)).collect();
        let plain = dominated_plain(&values, rule.n as usize, i64::from(rule.k));
        assert_eq!(
            plain,
            rule.dominated(&values),
            "Dominance::dominated disagrees"
        );
        plain
    });
    if dominated {
        return json!({"suppressed": true, "rule": "dominance",
                      "dominance": {"n": rule.n, "k": rule.k}});
    }
    let mut m = serde_json::Map::new();
    for &c in columns {
        let sum: i64 = cell.iter().map(|r| pick(r, c)).sum();
        m.insert(
            ["a", "b"][c].into(),
            json!({"sum": sum, "mean": sum as f64 / cell.len() as f64}),
        );
    }
    json!({"count": cell.len(), "columns": m})
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// `group-stats` with one or two value columns, two or three input
    /// parties, random k and (n, k): each group suppressed exactly when
    /// the plaintext threshold or dominance rule says so.
    #[test]
    fn group_stats_suppresses_what_the_plaintext_rules_do(
        three_inputs in any::<bool>(),
        two_columns in any::<bool>(),
        rows in rows(3),
        k in 1u64..=4,
        n in 1u32..=3,
        percent in 50u32..=100,
    ) {
        let inputs: Vec<usize> = if three_inputs { vec![0, 1, 2] } else { vec![0, 1] };
        let rows: Vec<Row> = rows.into_iter().filter(|r| r.0 < inputs.len()).collect();
        let rule = Dominance { n, k: percent };
        let columns: Vec<usize> = if two_columns { vec![0, 1] } else { vec![0] };
        let values: Vec<Value> = columns
            .iter()
            .map(|&c| [json!({"column": "a", "max": 1000}),
                       json!({"column": "b", "min": -20, "max": 1000})][c].clone())
            .collect();
        let p = plan("group-stats", json!({
            "group": {"column": "g", "values": GROUPS},
            "values": values,
            "dominance": {"n": n, "k": percent},
        }));
        let roles = Roles { inputs: inputs.clone(), recipients: vec![2] };
        let v = recipients_result(run(3, &p, &roles, &tables(&rows, 3, &inputs), k), &roles);
        let groups = v["groups"].as_array().unwrap();
        prop_assert_eq!(groups.len(), GROUPS.len());
        for (got, g) in groups.iter().zip(GROUPS) {
            let cell: Vec<&Row> = rows.iter().filter(|r| r.1 == g).collect();
            let mut want = oracle_cell(&cell, k, rule, &columns);
            want["group"] = json!(g);
            if want.get("columns").is_some() {
                // Means are floats: compare them closely, the rest exactly.
                for (name, col) in want["columns"].as_object().unwrap() {
                    let m = got["columns"][name]["mean"].as_f64().unwrap();
                    prop_assert!((m - col["mean"].as_f64().unwrap()).abs() < 1e-9);
                }
            }
            prop_assert_eq!(got, &want, "group {} of {}", g, v);
        }
        prop_assert_eq!(&v["dominance"], &json!({"n": n, "k": percent}));
    }

    /// `sum` over all records (negative values allowed: contributions are
    /// absolute values): suppressed exactly when the plaintext rules say so.
    #[test]
    fn sum_suppresses_what_the_plaintext_rules_do(
        rows in rows(2),
        k in 1u64..=3,
        n in 1u32..=2,
        percent in 50u32..=100,
    ) {
        let inputs = vec![0, 1];
        let rule = Dominance { n, k: percent };
        let p = plan("sum", json!({"column": "b", "min": -20, "max": 1000,
                                   "dominance": {"n": n, "k": percent}}));
        let roles = Roles { inputs: inputs.clone(), recipients: vec![2] };
        let v = recipients_result(run(3, &p, &roles, &tables(&rows, 3, &inputs), k), &roles);
        let all: Vec<&Row> = rows.iter().collect();
        let want = oracle_cell(&all, k, rule, &[1]);
        if want.get("count").is_some() {
            prop_assert_eq!(&v["count"], &want["count"]);
            prop_assert_eq!(&v["sum"], &want["columns"]["b"]["sum"]);
            prop_assert!(v.get("suppressed").is_none());
        } else {
            prop_assert_eq!(&v["suppressed"], &want["suppressed"]);
            prop_assert_eq!(&v["rule"], &want["rule"]);
            prop_assert_eq!(&v["dominance"], &json!({"n": n, "k": percent}));
            prop_assert!(v.get("sum").is_none() && v.get("count").is_none());
        }
    }

    /// `variance` (one cell, like `sum`; negative values allowed):
    /// suppressed exactly when the plaintext rules say so, else the true
    /// count, mean and sample variance.
    #[test]
    fn variance_suppresses_what_the_plaintext_rules_do(
        rows in rows(2),
        k in 1u64..=3,
        n in 1u32..=3,
        percent in 50u32..=100,
    ) {
        let inputs = vec![0, 1];
        let rule = Dominance { n, k: percent };
        let p = plan("variance", json!({"column": "b", "min": -20, "max": 1000,
                                        "dominance": {"n": n, "k": percent}}));
        let roles = Roles { inputs: inputs.clone(), recipients: vec![2] };
        let v = recipients_result(run(3, &p, &roles, &tables(&rows, 3, &inputs), k), &roles);
        let all: Vec<&Row> = rows.iter().collect();
        let want = oracle_cell(&all, k, rule, &[1]);
        prop_assert_eq!(&v["dominance"], &json!({"n": n, "k": percent}));
        if want.get("count").is_some() {
            prop_assert_eq!(&v["count"], &want["count"]);
            let xs: Vec<f64> = rows.iter().map(|r| r.3 as f64).collect();
            let mean = xs.iter().sum::<f64>() / xs.len() as f64;
            prop_assert!((v["mean"].as_f64().unwrap() - mean).abs() < 1e-9);
            if xs.len() >= 2 {
                let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>()
                    / (xs.len() - 1) as f64;
                let got = v["variance"].as_f64().unwrap();
                prop_assert!((got - var).abs() <= 1e-9 * var.max(1.0), "{} vs {}", got, var);
            }
            prop_assert!(v.get("suppressed").is_none());
        } else {
            prop_assert_eq!(&v["suppressed"], &want["suppressed"]);
            prop_assert_eq!(&v["rule"], &want["rule"]);
            prop_assert!(v.get("variance").is_none() && v.get("count").is_none());
        }
    }
}

/// One record making up 98.6 % of the total: suppressed by the default
/// (1, 85); released under k = 100, which never suppresses.
#[test]
fn one_dominant_record_is_suppressed_and_k_100_never_suppresses() {
    let x0: Vec<i64> = vec![1; 10];
    let x1: Vec<i64> = vec![1000, 1, 1, 1, 1];
    let tables = vec![
        Some(LocalTable {
            ids: None,
            columns: [("x".to_owned(), x0)].into_iter().collect(),
        }),
        Some(LocalTable {
            ids: None,
            columns: [("x".to_owned(), x1)].into_iter().collect(),
        }),
        None,
    ];
    let roles = Roles {
        inputs: vec![0, 1],
        recipients: vec![2],
    };
    let default = plan("mean", json!({"column": "x", "max": 1000}));
    let v = recipients_result(run(3, &default, &roles, &tables, 10), &roles);
    assert_eq!(v["suppressed"], true, "{v}");
    assert_eq!(v["rule"], "dominance");
    assert_eq!(v["dominance"], json!({"n": 1, "k": 85}));
    assert!(v.get("mean").is_none() && v.get("count").is_none());
    let never = plan(
        "mean",
        json!({"column": "x", "max": 1000, "dominance": {"n": 1, "k": 100}}),
    );
    let v = recipients_result(run(3, &never, &roles, &tables, 10), &roles);
    assert_eq!(v["count"], 15);
    assert!((v["mean"].as_f64().unwrap() - 1014.0 / 15.0).abs() < 1e-9);
}

/// The cost formula, and a study-sized run (two hospitals' 4,000 records
/// each in 8 groups with two value columns) checked against the oracle;
/// its rounds are printed for the record, not asserted.
#[test]
fn comparisons_are_counted_and_a_study_sized_table_is_decided() {
    // n = 1, 2 holders: 1 comparison per unit for the top, 1 for the rule.
    assert_eq!(dominance_comparisons(Dominance::DEFAULT, 1, 1, 2), 2);
    // n = 2, 3 holders: m = 6 candidates, 5 + 4 compare-exchanges per unit,
    // 1 for the rule per unit, 1 per cell to combine two columns.
    let rule = Dominance { n: 2, k: 85 };
    assert_eq!(dominance_comparisons(rule, 8, 2, 3), 16 * 9 + 16 + 8);

    let groups: Vec<i64> = (1..=8).collect();
    let mut rows: Vec<Row> = Vec::new();
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for i in 0..8000usize {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        // Groups 1..=7 take most records; group 8 has 20, one of them huge:
        // dominated.
        let g = if i % 400 == 0 { 8 } else { 1 + (i % 7) as i64 };
        let a = if i == 0 {
            1_000_000
        } else {
            (x >> 8) as i64 % 5000
        };
        rows.push((i % 2, g, a, (x >> 24) as i64 % 100));
    }
    let inputs = vec![0, 1];
    let p = plan(
        "group-stats",
        json!({"group": {"column": "g", "values": groups},
               "values": [{"column": "a", "max": 1_000_000}, {"column": "b", "min": -20, "max": 1000}]}),
    );
    let roles = Roles {
        inputs: inputs.clone(),
        recipients: vec![2],
    };
    let v = recipients_result(run(3, &p, &roles, &tables(&rows, 3, &inputs), 10), &roles);
    let got = v["groups"].as_array().unwrap();
    for (cell, g) in got.iter().zip(&groups) {
        let records: Vec<&Row> = rows.iter().filter(|r| r.1 == *g).collect();
        let want = oracle_cell(&records, 10, Dominance::DEFAULT, &[0, 1]);
        assert_eq!(cell["suppressed"], want["suppressed"], "group {g}: {cell}");
        assert_eq!(cell["rule"], want["rule"], "group {g}: {cell}");
        assert_eq!(cell["count"], want["count"], "group {g}: {cell}");
    }
    assert_eq!(got[7]["rule"], "dominance", "{v}");
    eprintln!(
        "group-stats, 8 groups x 2 columns, 2 holders x 4000 records, (1, 85): {} secure comparisons for the dominance rule",
        dominance_comparisons(Dominance::DEFAULT, 8, 2, 2)
    );
}
