//! The dominance rule where the contributions are formed in secret: the
//! tournament for the n largest values ([`top_n`]) against sorting in the
//! clear, and `linked-group-stats` against a plaintext oracle of both
//! disclosure rules on the linked records (n = 1 decided per record, n ≥ 2
//! by the tournament).

use crate::programs::{plan, recipients_result, run};
use crate::sim;
use proptest::prelude::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use symbolon_mpc::programs::{
    self as library, linked_dominance_comparisons, top_n, top_n_comparisons, Dominance, LocalTable,
    Plan, ProgramError, ProgramResult, Roles,
};
use symbolon_mpc::{Fp, MemoryTransport, Party};

/// Runs [`top_n`] with three parties on `units` blocks of values (party 0
/// inputs them) and returns the opened result, checked to agree.
fn top_n_in_secret(blocks: &[Vec<u64>], n: usize, bits: u32) -> Vec<i128> {
    let units = blocks.len();
    let values: Vec<Fp> = blocks.iter().flatten().map(|&v| Fp::from_u64(v)).collect();
    let len = values.len();
    let out = sim::agree(sim::run(3, move |p| {
        let mine = (p.index() == 0).then_some(values.as_slice());
        let x = p.input(0, mine, len)?;
        let top = top_n(p, &x, units, n, bits).expect("top_n failed");
        Ok(p.open(&top)?
            .iter()
            .map(|v| v.to_i128())
            .collect::<Vec<_>>())
    }));
    assert_eq!(out.len(), units * n);
    out
}

/// The n largest of each block, sorted descending, padded with zeros.
fn top_n_plain(blocks: &[Vec<u64>], n: usize) -> Vec<i128> {
    blocks
        .iter()
        .flat_map(|b| {
            let mut s: Vec<i128> = b.iter().map(|&v| i128::from(v)).collect();
            s.sort_unstable_by(|a, b| b.cmp(a));
            s.resize(n, 0);
            s
        })
        .collect()
}

/// The tournament alone: R from 0 to 13 (powers of two and not, R < n),
/// units all zeros, with ties, and random, n from 1 to 5.
#[test]
fn top_n_matches_sorting_in_the_clear() {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut next = |m: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % m
    };
    for rows in [0usize, 1, 2, 3, 5, 8, 13] {
        for n in [1usize, 2, 3, 5] {
            let blocks = vec![
                vec![0; rows],
                (0..rows).map(|i| [7, 7, 3][i % 3]).collect(),
                (0..rows).map(|_| next(1000)).collect(),
                (0..rows).map(|_| next(4) * 250).collect(),
            ];
            let bits = 10 + 2;
            assert_eq!(
                top_n_in_secret(&blocks, n, bits),
                top_n_plain(&blocks, n),
                "R = {rows}, n = {n}: {blocks:?}"
            );
        }
    }
    // n = 1 is a tree of maxima: R − 1 comparisons per unit.
    assert_eq!(top_n_comparisons(13, 1), 12);
    assert_eq!(top_n_comparisons(1, 3), 0);
    // The study: 3,990 linked rows, 5 groups × 2 treatments × 2 outcomes.
    // A tournament for n = 1 would take 79,780 comparisons; n = 1 is decided
    // per record instead: one per row and outcome, then 20 + 10.
    assert_eq!(20 * top_n_comparisons(3990, 1), 79_780);
    assert_eq!(
        linked_dominance_comparisons(Dominance::DEFAULT, 3990, 10, 2),
        3990 * 2 + 20 + 10
    );
    let n2 = Dominance { n: 2, k: 85 };
    assert_eq!(
        linked_dominance_comparisons(n2, 3990, 10, 2),
        20 * top_n_comparisons(3990, 2) + 20 + 10
    );
    assert_eq!(
        linked_dominance_comparisons(Dominance::DEFAULT, 0, 10, 1),
        10
    );
}

/// What one party's run of a program returns.
type Outcome = Result<Option<ProgramResult>, ProgramError>;

/// One person: present at parties 0, 1, 2 or not, group, treatment, a, b.
type Person = ([bool; 3], i64, i64, i64, i64);

const GROUPS: [i64; 3] = [1, 2, 3];

fn person() -> impl Strategy<Value = Person> {
    // Mostly present everywhere; otherwise at one party at least.
    let some = any::<[bool; 3]>().prop_map(|mut p| {
        p[0] |= !p[1] && !p[2];
        p
    });
    let present = prop_oneof![6 => Just([true; 3]), 1 => some];
    let a = prop_oneof![4 => 0i64..20, 1 => 200i64..1000];
    let b = prop_oneof![4 => -20i64..20, 1 => -1000i64..-200, 1 => 200i64..1000];
    (present, 1i64..=3, 0i64..=1, a, b)
}

/// Party 0 holds group and treatment, party 1 outcome `a` (≥ 0), party 2
/// outcome `b` (negative values too); each its people's rows.
fn linked_tables(people: &[Person]) -> Vec<Option<LocalTable>> {
    (0..3)
        .map(|p| {
            let mine: Vec<(usize, &Person)> =
                people.iter().enumerate().filter(|(_, q)| q.0[p]).collect();
            let col = |f: fn(&Person) -> i64| mine.iter().map(|(_, q)| f(q)).collect::<Vec<_>>();
            let mut columns = BTreeMap::new();
            match p {
                0 => {
                    columns.insert("g".to_owned(), col(|q| q.1));
                    columns.insert("t".to_owned(), col(|q| q.2));
                }
                1 => {
                    columns.insert("a".to_owned(), col(|q| q.3));
                }
                _ => {
                    columns.insert("b".to_owned(), col(|q| q.4));
                }
            }
            Some(LocalTable {
                ids: Some(mine.iter().map(|(i, _)| format!("id-{i}")).collect()),
                columns,
            })
        })
        .collect()
}

/// What the program must say of one cell: the plaintext rules.
fn oracle(cell: &[&Person], k: u64, rule: Dominance) -> Value {
    if (cell.len() as u64) < k {
        return json!({"suppressed": true, "rule": "threshold"});
    }
    let a: Vec<i64> = cell.iter().map(|q| q.3).collect();
    let b: Vec<i64> = cell.iter().map(|q| q.4).collect();
    if rule.dominated(&a) || rule.dominated(&b) {
        return json!({"suppressed": true, "rule": "dominance",
                      "dominance": {"n": rule.n, "k": rule.k}});
    }
    let (sa, sb): (i64, i64) = (a.iter().sum(), b.iter().sum());
    let n = cell.len() as f64;
    json!({"count": cell.len(), "outcomes": {
        "a": {"sum": sa, "mean": sa as f64 / n},
        "b": {"sum": sb, "mean": sb as f64 / n},
    }})
}

/// Checks a `linked-group-stats` result against the oracle, cells and
/// effects; returns how many cells the dominance rule suppressed.
fn check_linked(v: &Value, people: &[Person], k: u64, rule: Dominance) -> usize {
    let linked: Vec<&Person> = people.iter().filter(|q| q.0 == [true; 3]).collect();
    let cells = v["cells"].as_array().unwrap();
    let effects = v["effects"].as_array().unwrap();
    assert_eq!(cells.len(), 2 * GROUPS.len());
    let mut dominated = 0;
    for (gi, g) in GROUPS.into_iter().enumerate() {
        let mut want_cells = Vec::new();
        for t in 0..2 {
            let got = &cells[2 * gi + t as usize];
            let records: Vec<&Person> = linked
                .iter()
                .copied()
                .filter(|q| q.1 == g && q.2 == t)
                .collect();
            let mut want = oracle(&records, k, rule);
            if want["rule"] == "dominance" {
                dominated += 1;
            }
            if want.get("count").is_some() {
                for o in ["a", "b"] {
                    let m = got["outcomes"][o]["mean"].as_f64().unwrap();
                    assert!((m - want["outcomes"][o]["mean"].as_f64().unwrap()).abs() < 1e-9);
                }
            }
            want["group"] = json!(g);
            want["treatment"] = json!(t);
            assert_eq!(got, &want, "cell ({g}, {t}) of {v}");
            want_cells.push(want);
        }
        let effect = &effects[gi];
        assert_eq!(effect["group"], g);
        match (want_cells[0].get("count"), want_cells[1].get("count")) {
            (Some(_), Some(_)) => {
                let mean = |c: &Value| c["outcomes"]["a"]["mean"].as_f64().unwrap();
                let delta = mean(&want_cells[1]) - mean(&want_cells[0]);
                let got = effect["outcomes"]["a"].as_f64().unwrap();
                assert!((got - delta).abs() < 1e-9, "{effect}");
            }
            _ => {
                let by_dominance = want_cells.iter().any(|c| c["rule"] == "dominance");
                let rule_name = if by_dominance {
                    "dominance"
                } else {
                    "threshold"
                };
                assert_eq!(effect["suppressed"], true, "{effect}");
                assert_eq!(effect["rule"], rule_name, "{effect}");
                assert!(effect.get("outcomes").is_none());
            }
        }
    }
    assert_eq!(v["dominance"], json!({"n": rule.n, "k": rule.k}));
    dominated
}

fn linked_plan(rule: Dominance) -> symbolon_mpc::programs::Plan {
    plan(
        "linked-group-stats",
        json!({"group": {"column": "g", "values": GROUPS}, "treatment": "t",
               "outcomes": [{"column": "a", "max": 1000},
                            {"column": "b", "min": -1000, "max": 1000}],
               "dominance": {"n": rule.n, "k": rule.k}}),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Random small studies (1 to 40 linked records, some present at only
    /// some parties), random k and (n, k): each cell suppressed exactly
    /// when the plaintext threshold or dominance rule says so, by that
    /// rule, and every other cell released with its true figures.
    #[test]
    fn linked_group_stats_suppresses_what_the_plaintext_rules_do(
        people in proptest::collection::vec(person(), 1..=40),
        k in 1u64..=3,
        n in 1u32..=3,
        percent in 50u32..=100,
    ) {
        let rule = Dominance { n, k: percent };
        let roles = Roles { inputs: vec![0, 1, 2], recipients: vec![2] };
        let v = recipients_result(run(3, &linked_plan(rule), &roles, &linked_tables(&people), k), &roles);
        check_linked(&v, &people, k, rule);
    }

    /// The same for n = 1 alone (the default, decided per record), k % from
    /// 50 to 100 and the default 85 often.
    #[test]
    fn linked_group_stats_with_n_1_suppresses_what_the_plaintext_rule_does(
        people in proptest::collection::vec(person(), 1..=40),
        k in 1u64..=3,
        percent in prop_oneof![50u32..=100, Just(85)],
    ) {
        let rule = Dominance { n: 1, k: percent };
        let roles = Roles { inputs: vec![0, 1, 2], recipients: vec![2] };
        let v = recipients_result(run(3, &linked_plan(rule), &roles, &linked_tables(&people), k), &roles);
        check_linked(&v, &people, k, rule);
    }
}

/// Runs `plan` with three parties: each party's outcome and rounds.
fn run_counting_rounds(
    plan: &Plan,
    roles: &Roles,
    tables: &[Option<LocalTable>],
    k: u64,
) -> (Vec<Outcome>, Vec<u64>) {
    let handles: Vec<_> = MemoryTransport::network(3)
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            let (plan, roles) = (plan.clone(), roles.clone());
            let table = tables.get(i).cloned().flatten();
            std::thread::spawn(move || {
                let mut party = Party::new(t, &sim::config()).unwrap();
                let out = library::run(&mut party, &plan, &roles, table.as_ref(), k);
                (out, party.rounds())
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).unzip()
}

/// n = 1 takes the per-record path: its rounds do not grow with the
/// number of linked rows, while the tournament's for n = 2 do. 32 or 33
/// rows (every cell released, none dominated): the comparisons have the
/// same widths (their rounds grow with the width), but a tournament needs
/// 5 levels or 6.
#[test]
fn linked_group_stats_with_n_1_runs_no_tournament() {
    let people = |r: usize| -> Vec<Person> {
        (0..r)
            .map(|i| ([true; 3], GROUPS[i % 3], (i / 3 % 2) as i64, 10, -10))
            .collect()
    };
    let roles = Roles {
        inputs: vec![0, 1, 2],
        recipients: vec![2],
    };
    let mut per_n = Vec::new();
    for n in [1, 2] {
        let plan = linked_plan(Dominance { n, k: 85 });
        let r: Vec<Vec<u64>> = [32, 33]
            .into_iter()
            .map(|r| {
                let p = people(r);
                let (out, rounds) = run_counting_rounds(&plan, &roles, &linked_tables(&p), 1);
                let v = recipients_result(out, &roles);
                assert_eq!(check_linked(&v, &p, 1, Dominance { n, k: 85 }), 0);
                rounds
            })
            .collect();
        per_n.push(r);
    }
    assert_eq!(per_n[0][0], per_n[0][1], "n = 1: {per_n:?}");
    assert!(per_n[1][0] < per_n[1][1], "n = 2: {per_n:?}");
}

/// Fixed data where the boundary matters: in cell (1, 0) one record is
/// 850 of 1000 of `a` (exactly 85 %: released under (1, 85), suppressed
/// under (1, 84); with the next one 86 %); in cell (2, 1) two records of
/// `b` are −450 and 450 of a total of 1000 absolute (90 %: dominated under
/// (2, 89), not under (2, 90) nor (1, 85)). Group 3's records of 900 are
/// not linked (absent at party 1), so they count for nothing. Three
/// parties, then four (ElGamal tags) with a recipient that inputs nothing.
#[test]
fn linked_group_stats_at_the_boundary() {
    let mut people: Vec<Person> = Vec::new();
    let all = [true; 3];
    people.push((all, 1, 0, 850, 1));
    for _ in 0..15 {
        people.push((all, 1, 0, 10, 1));
    }
    people.push((all, 2, 1, 1, -450));
    people.push((all, 2, 1, 1, 450));
    for _ in 0..20 {
        people.push((all, 2, 1, 1, -5));
    }
    for i in 0..12 {
        people.push((all, 3, i % 2, 5, -3));
        people.push(([true, false, true], 3, 0, 900, 900));
    }
    let roles = Roles {
        inputs: vec![0, 1, 2],
        recipients: vec![2],
    };
    let tables = linked_tables(&people);
    for (rule, want_dominated) in [
        (Dominance { n: 1, k: 85 }, 0),
        (Dominance { n: 1, k: 84 }, 1),
        (Dominance { n: 2, k: 85 }, 2),
        (Dominance { n: 2, k: 89 }, 1),
        (Dominance { n: 2, k: 90 }, 0),
        (Dominance { n: 1, k: 100 }, 0),
    ] {
        let v = recipients_result(run(3, &linked_plan(rule), &roles, &tables, 5), &roles);
        assert_eq!(
            check_linked(&v, &people, 5, rule),
            want_dominated,
            "{rule:?}: {v}"
        );
    }
    // Four parties (ElGamal tags), the recipient no input party.
    let roles = Roles {
        inputs: vec![1, 2, 3],
        recipients: vec![0],
    };
    let tables: Vec<Option<LocalTable>> = std::iter::once(None).chain(tables).collect();
    let rule = Dominance { n: 2, k: 85 };
    let v = recipients_result(run(4, &linked_plan(rule), &roles, &tables, 5), &roles);
    assert_eq!(check_linked(&v, &people, 5, rule), 2, "{v}");
}
