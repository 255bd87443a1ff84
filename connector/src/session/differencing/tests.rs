use super::*;

/// A record: (dataset, value, group).
type Record = (&'static str, i64, i64);

const DATASETS: [&str; 2] = ["did:a offer", "did:b offer"];
/// The value domain the oracle enumerates: wider than any bound drawn.
const VALUES: std::ops::RangeInclusive<i64> = -2..=30;
const GROUPS: std::ops::RangeInclusive<i64> = 0..=4;

/// A small deterministic generator (xorshift).
struct Draw(u64);

impl Draw {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> i64 {
        (self.next() % n) as i64
    }
}

/// A query's population: datasets, an optional value interval (nonempty), an optional group.
#[derive(Debug, Clone)]
struct Query {
    datasets: BTreeSet<String>,
    value: Option<Interval>,
    group: Option<i64>,
}

impl Query {
    fn draw(d: &mut Draw) -> Query {
        let datasets: BTreeSet<String> = match d.below(3) {
            0 => [DATASETS[0]].into_iter().map(str::to_owned).collect(),
            1 => [DATASETS[1]].into_iter().map(str::to_owned).collect(),
            _ => DATASETS.iter().map(|s| (*s).to_owned()).collect(),
        };
        let value = (d.below(3) != 0).then(|| {
            let from = (d.below(4) != 0).then(|| d.below(20));
            let to = (d.below(4) != 0).then(|| from.unwrap_or(0) + 1 + d.below(8));
            Interval { from, to }
        });
        let group = (d.below(2) == 0).then(|| 1 + d.below(3));
        Query {
            datasets,
            value,
            group,
        }
    }

    fn population(&self) -> Population {
        let mut bounds = BTreeMap::new();
        if let Some(v) = self.value {
            bounds.insert("value".to_owned(), v);
        }
        if let Some(g) = self.group {
            bounds.insert("group".to_owned(), Interval::point(g));
        }
        Population {
            base: Base::Rows,
            datasets: self.datasets.clone(),
            bounds,
        }
    }

    /// Whether a record with these attributes belongs to the population.
    fn admits(&self, dataset: &str, value: i64, group: i64) -> bool {
        self.datasets.contains(dataset)
            && self
                .value
                .is_none_or(|i| i.from.is_none_or(|f| value >= f) && i.to.is_none_or(|t| value < t))
            && self.group.is_none_or(|g| g == group)
    }

    /// Whether every possible record of `self` belongs to `outer` (by enumeration).
    fn within(&self, outer: &Query) -> bool {
        DATASETS.iter().all(|d| {
            VALUES.clone().all(|v| {
                GROUPS
                    .clone()
                    .all(|g| !self.admits(d, v, g) || outer.admits(d, v, g))
            })
        })
    }

    fn rows(&self, records: &[Record]) -> BTreeSet<usize> {
        records
            .iter()
            .enumerate()
            .filter(|(_, r)| self.admits(r.0, r.1, r.2))
            .map(|(i, _)| i)
            .collect()
    }
}

/// Against a plaintext oracle that knows the records: a sequence of queries by one
/// recipient, each released unless an earlier released query's population is nested with it
/// (decided by enumerating the domain) and their record sets differ by 1..k records. The
/// check must suppress exactly those.
#[test]
fn suppresses_exactly_the_nested_small_differences_the_oracle_finds() {
    let mut d = Draw(0x9e37_79b9_7f4a_7c15);
    let mut suppressed_somewhere = 0;
    let mut released_somewhere = 0;
    for case in 0..200 {
        let records: Vec<Record> = (0..d.below(30) + 5)
            .map(|_| {
                let dataset = DATASETS[d.below(2) as usize];
                (dataset, d.below(20), 1 + d.below(3))
            })
            .collect();
        let k = 1 + d.below(5) as u64;
        let mut history: Vec<Released> = Vec::new();
        let mut released: Vec<(Query, BTreeSet<usize>)> = Vec::new();
        for q in 0..6 {
            let query = Query::draw(&mut d);
            let rows = query.rows(&records);
            let candidate = Released {
                population: query.population(),
                count: rows.len() as u64,
                k,
                session: format!("s{case}-{q}"),
            };
            let verdict = check(&history, std::slice::from_ref(&candidate), false);
            let oracle = released.iter().any(|(earlier, earlier_rows)| {
                let nested = query.within(earlier) || earlier.within(&query);
                let difference = rows.symmetric_difference(earlier_rows).count() as u64;
                nested && difference > 0 && difference < k
            });
            assert_eq!(
                verdict[0].is_some(),
                oracle,
                "case {case} query {q}: {query:?} against {released:?}"
            );
            // Descriptor nesting agrees with the enumeration, both ways.
            for (earlier, _) in &released {
                assert_eq!(
                    query.population().within(&earlier.population()),
                    query.within(earlier),
                    "{query:?} within {earlier:?}"
                );
            }
            if oracle {
                suppressed_somewhere += 1;
            } else {
                released_somewhere += 1;
                history.push(candidate);
                released.push((query, rows));
            }
        }
    }
    // The draw exercises both outcomes.
    assert!(suppressed_somewhere > 20, "{suppressed_somewhere}");
    assert!(released_somewhere > 200, "{released_somewhere}");
}

fn released(bounds: &[(&str, Interval)], count: u64, session: &str) -> Released {
    Released {
        population: Population {
            base: Base::Rows,
            datasets: [DATASETS[0].to_owned()].into_iter().collect(),
            bounds: bounds.iter().map(|(c, i)| ((*c).to_owned(), *i)).collect(),
        },
        count,
        k: 5,
        session: session.to_owned(),
    }
}

#[test]
fn a_histogram_is_suppressed_whole_and_cells_within_one_result_are_checked() {
    let all = released(&[], 40, "s1");
    let bins = [
        released(
            &[(
                "value",
                Interval {
                    from: None,
                    to: Some(10),
                },
            )],
            38,
            "s2",
        ),
        released(
            &[(
                "value",
                Interval {
                    from: Some(10),
                    to: None,
                },
            )],
            2,
            "s2",
        ),
    ];
    // The first bin is 2 records short of the total released before.
    let verdicts = check(std::slice::from_ref(&all), &bins, true);
    assert_eq!(verdicts, vec![Some("s1".to_owned()); 2]);
    // Without the earlier total, both bins pass (they are disjoint).
    assert_eq!(check(&[], &bins, true), vec![None, None]);
    // Equal counts differ by nobody: released.
    let same = released(
        &[(
            "value",
            Interval {
                from: None,
                to: Some(10),
            },
        )],
        40,
        "s3",
    );
    assert_eq!(
        check(std::slice::from_ref(&all), &[same], false),
        vec![None]
    );
}

#[test]
fn results_are_rewritten_with_the_explanation() {
    let datasets: BTreeSet<String> = [DATASETS[0].to_owned()].into_iter().collect();
    let params = json!({"group": {"column": "g", "values": [1, 2]}, "values": []});
    let result = json!({"program": "group-stats", "version": "2", "k": 5, "groups": [
        {"group": 1, "count": 7, "columns": {}},
        {"group": 2, "suppressed": true, "rule": "threshold"},
    ]});
    let found = cells(
        "group-stats",
        params.as_object().unwrap(),
        &result,
        &datasets,
        5,
        "s2",
    );
    assert_eq!(found.len(), 1, "the suppressed group has no count");
    assert_eq!(found[0].index, Some(0));
    assert_eq!(found[0].released.population.bounds["g"], Interval::point(1));
    let out = suppress("group-stats", &result, &[(Some(0), "s1".to_owned())]);
    assert_eq!(
        out["groups"][0],
        json!({"group": 1, "suppressed": true, "rule": "differencing",
               "differencing": {"earlier_session": "s1"}})
    );
    assert_eq!(out["groups"][1], result["groups"][1]);
    let listed = suppressions(&out);
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["rule"], "differencing");
    assert_eq!(listed[1]["rule"], "threshold");
    assert!(!listed[0].to_string().contains('7'), "no count: {listed:?}");

    let sum = json!({"program": "sum", "version": "2", "k": 5, "count": 12, "sum": 99,
                     "dominance": {"n": 1, "k": 85}});
    let out = suppress("sum", &sum, &[(None, "s1".to_owned())]);
    assert_eq!(
        out,
        json!({"program": "sum", "version": "2", "k": 5, "dominance": {"n": 1, "k": 85},
               "suppressed": true, "rule": "differencing",
               "differencing": {"earlier_session": "s1"}})
    );
}
