//! Property tests: the parser and checker never panic on random or mutated input and stay linear
//! on long input; text → ODRL → text keeps every decision.

use std::sync::Arc;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use symbolon_policy::ast::{
    Effect, Expr, ExprKind, Name, Obligation, Op, Param, Policy, PolicySet, Target,
};
use symbolon_policy::loc::SourceFile;
use symbolon_policy::{check, from_odrl, parse, to_odrl, Policies, Request, Schema, Value};

const PPA: &str = include_str!("data/ppa-ibd-2024.policy");

/// Everything downstream of a successful parse must not panic either.
fn exercise(text: &str) {
    let schema = Schema::health();
    match parse("fuzz", text) {
        Ok(set) => {
            if check(&set, &schema).is_ok() {
                let doc = to_odrl(&set, &schema);
                if let Ok(doc) = doc {
                    let _ = from_odrl(&doc, &schema);
                }
                let _ = Policies::compile(set, Arc::new(schema));
            }
        }
        Err(d) => {
            let _ = d.render();
            let _ = d.to_json();
        }
    }
}

const WORDS: &[&str] = &[
    "policy",
    "\"p\"",
    "{",
    "}",
    "permit",
    "forbid",
    "read",
    "*",
    "on",
    "offer",
    "\"o\"",
    "when",
    "holder.role",
    "==",
    "!=",
    "<",
    ">=",
    "in",
    "contains",
    "contains_all",
    "and",
    "or",
    "not",
    "(",
    ")",
    "[",
    "]",
    ",",
    "has",
    "3",
    "2.5",
    "30d",
    "P1D",
    "2027-01-01",
    "true",
    "obligation",
    "delete_after",
    "days",
    "=",
    "session.parties",
    "consent.purposes",
    "\"x\"",
    "now",
    ".",
    "//",
    "\n",
    "-",
    "\"",
    "\\",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn random_strings_never_panic(s in "\\PC{0,200}") {
        exercise(&s);
    }

    #[test]
    fn random_token_soup_never_panics(words in prop::collection::vec(prop::sample::select(WORDS), 0..80)) {
        exercise(&words.join(" "));
    }

    #[test]
    fn mutated_examples_never_panic(edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, any::<char>()), 1..8)) {
        let mut chars: Vec<char> = PPA.chars().collect();
        for (at, kind, c) in edits {
            if chars.is_empty() { break; }
            let i = at.index(chars.len());
            match kind {
                0 => { chars.remove(i); }
                1 => chars.insert(i, c),
                _ => chars[i] = c,
            }
        }
        exercise(&chars.into_iter().collect::<String>());
    }
}

/// The fastest of five runs: a busy machine only ever makes a run slower, so the minimum is
/// the steadiest estimate of the work itself.
fn time<F: Fn()>(f: F) -> Duration {
    (0..5)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

/// Eight times the input takes well under the 64 times a quadratic pass would (with generous
/// slack for a busy machine).
fn assert_linear(name: &str, make: impl Fn(usize) -> String) {
    let small = make(2_000);
    let large = make(16_000);
    let t_small = time(|| exercise(&small)).max(Duration::from_micros(200));
    let t_large = time(|| exercise(&large));
    assert!(
        t_large < t_small * 40,
        "{name}: {t_small:?} for {} bytes but {t_large:?} for {} bytes",
        small.len(),
        large.len()
    );
}

#[test]
fn long_inputs_stay_linear() {
    assert_linear("and chain", |n| {
        let conds: Vec<String> = (0..n).map(|i| format!("session.parties != {i}")).collect();
        format!(
            "policy \"a\" {{ permit read on offer * when {} }}",
            conds.join(" and ")
        )
    });
    assert_linear("or chain of one attribute", |n| {
        let conds = vec!["holder.role == \"x\""; n];
        format!(
            "policy \"a\" {{ permit read on offer * when {} }}",
            conds.join(" or ")
        )
    });
    assert_linear("many policies", |n| {
        (0..n / 10).map(|i| format!("policy \"p{i}\" {{ permit read on offer \"o{i}\" when holder.role == \"x\" }}\n")).collect()
    });
    assert_linear("many broken policies", |n| {
        (0..n / 10)
            .map(|i| {
                format!(
                    "policy \"p{i}\" {{ permit raed on offer \"o{i}\" when holder.rol == 3 }}\n"
                )
            })
            .collect()
    });
    assert_linear("deep nesting", |n| {
        format!(
            "policy \"a\" {{ permit read on offer * when {}true }}",
            "(".repeat(n)
        )
    });
    assert_linear("many nots", |n| {
        format!(
            "policy \"a\" {{ permit read on offer * when {}true }}",
            "not ".repeat(n)
        )
    });
    assert_linear("long string", |n| {
        format!(
            "policy \"{}\" {{ permit read on offer * }}",
            "x".repeat(n * 10)
        )
    });
    assert_linear("unterminated string", |n| {
        format!("policy \"{}", "x".repeat(n * 10))
    });
    assert_linear("many parameters", |n| {
        let params: Vec<String> = (0..n).map(|i| format!("p{i} = {i}")).collect();
        format!(
            "policy \"a\" {{ permit read on offer * obligation log_access {{ {} }} }}",
            params.join(", ")
        )
    });
}

// ---- Round trip: text → ODRL → text keeps every decision ----

const ATTRS: &[(&str, char)] = &[
    ("holder.role", 's'),
    ("request.purpose", 's'),
    ("holder.credentials", 'S'),
    ("consent.purposes", 'S'),
    ("consent.withdrawn", 'b'),
    ("session.parties", 'i'),
    ("usage.count", 'i'),
    ("session.epsilon", 'd'),
    ("now", 't'),
    ("consent.valid_until", 't'),
    ("request.retention", 'u'),
];
const STRS: &[&str] = &["A", "B", "C"];

fn value_of(kind: char) -> BoxedStrategy<Value> {
    match kind {
        's' => prop::sample::select(STRS).prop_map(Value::str).boxed(),
        'S' => prop::sample::subsequence(STRS, 0..=3)
            .prop_map(Value::set)
            .boxed(),
        'b' => any::<bool>().prop_map(Value::Bool).boxed(),
        'i' => (-2i64..6).prop_map(Value::Int).boxed(),
        'd' => prop_oneof![
            prop::sample::select(&[-15_000i64, 0, 5_000, 22_500][..]).prop_map(Value::Decimal),
            (-1i64..3).prop_map(Value::Int)
        ]
        .boxed(),
        't' => prop::sample::select(&[0i64, 1_790_000_000_000, 1_800_000_000_000][..])
            .prop_map(Value::DateTime)
            .boxed(),
        _ => prop::sample::select(&[60_000i64, 86_400_000, 2_592_000_000][..])
            .prop_map(Value::Duration)
            .boxed(),
    }
}

fn lit(v: Value) -> Expr {
    Expr::new(ExprKind::Lit(v))
}

fn attr(a: &str) -> Expr {
    Expr::new(ExprKind::Attr(a.to_owned()))
}

fn bin(op: Op, l: Expr, r: Expr) -> Expr {
    Expr::new(ExprKind::Binary(op, Box::new(l), Box::new(r)))
}

fn leaf() -> BoxedStrategy<Expr> {
    let cmp = (prop::sample::select(ATTRS), any::<bool>(), 0usize..6).prop_flat_map(
        |((name, kind), swap, pick)| {
            let a = attr(name);
            match kind {
                's' => prop_oneof![
                    value_of('s').prop_map({
                        let a = a.clone();
                        move |v| {
                            if swap {
                                bin(Op::Eq, lit(v), a.clone())
                            } else {
                                bin(
                                    if pick % 2 == 0 { Op::Eq } else { Op::Ne },
                                    a.clone(),
                                    lit(v),
                                )
                            }
                        }
                    }),
                    value_of('S').prop_map({
                        let a = a.clone();
                        move |v| bin(Op::In, a.clone(), lit(v))
                    }),
                    Just(bin(
                        Op::Eq,
                        a.clone(),
                        attr(if name == "holder.role" {
                            "request.purpose"
                        } else {
                            "holder.role"
                        })
                    )),
                ]
                .boxed(),
                'S' => prop_oneof![
                    value_of('s').prop_map({
                        let a = a.clone();
                        move |v| {
                            if swap {
                                bin(Op::In, lit(v), a.clone())
                            } else {
                                bin(Op::Contains, a.clone(), lit(v))
                            }
                        }
                    }),
                    value_of('S').prop_map({
                        let a = a.clone();
                        move |v| {
                            let op = [Op::ContainsAll, Op::ContainsAny, Op::Eq, Op::Ne][pick % 4];
                            bin(op, a.clone(), lit(v))
                        }
                    }),
                    Just(bin(Op::Contains, a.clone(), attr("request.purpose"))),
                ]
                .boxed(),
                'b' => prop_oneof![
                    Just(a.clone()),
                    any::<bool>().prop_map(move |b| bin(Op::Eq, a.clone(), lit(Value::Bool(b))))
                ]
                .boxed(),
                k => value_of(k)
                    .prop_map(move |v| {
                        let op = [Op::Eq, Op::Ne, Op::Lt, Op::Le, Op::Gt, Op::Ge][pick];
                        if swap {
                            bin(op, lit(v), a.clone())
                        } else {
                            bin(op, a.clone(), lit(v))
                        }
                    })
                    .boxed(),
            }
        },
    );
    prop_oneof![
        8 => cmp,
        1 => prop::sample::select(ATTRS).prop_map(|(n, _)| Expr::new(ExprKind::Has(n.to_owned()))),
        1 => any::<bool>().prop_map(|b| lit(Value::Bool(b))),
    ]
    .boxed()
}

fn expr() -> impl Strategy<Value = Expr> {
    leaf().prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(|v| Expr::new(ExprKind::And(v))),
            prop::collection::vec(inner.clone(), 2..4).prop_map(|v| Expr::new(ExprKind::Or(v))),
            inner.prop_map(|e| Expr::new(ExprKind::Not(Box::new(e)))),
        ]
    })
}

fn target(names: &'static [&'static str]) -> impl Strategy<Value = Target> {
    prop_oneof![
        1 => Just(Target::Any(Default::default())),
        3 => prop::sample::subsequence(names, 1..=2).prop_map(|v| Target::Some(v.into_iter().map(Name::new).collect())),
    ]
}

fn policy() -> impl Strategy<Value = (bool, Target, Target, Option<Expr>, bool)> {
    (
        prop::bool::weighted(0.7),
        target(&["read", "use", "join_computation"]),
        target(&["o1", "o2"]),
        prop::option::weighted(0.9, expr()),
        any::<bool>(),
    )
}

fn policy_set() -> impl Strategy<Value = PolicySet> {
    prop::collection::vec(policy(), 1..4).prop_map(|ps| {
        let source = SourceFile::new("gen", "");
        PolicySet {
            policies: ps
                .into_iter()
                .enumerate()
                .map(|(i, (permit, actions, offers, condition, obl))| Policy {
                    id: Name::new(&format!("p{i}")),
                    effect: if permit {
                        Effect::Permit
                    } else {
                        Effect::Forbid
                    },
                    effect_span: Default::default(),
                    actions,
                    offers,
                    condition,
                    obligations: if permit && obl {
                        vec![Obligation {
                            name: Name::new("delete_after"),
                            params: vec![Param {
                                name: Name::new("days"),
                                value: Value::Int(30),
                                value_span: Default::default(),
                            }],
                        }]
                    } else {
                        Vec::new()
                    },
                    source: source.clone(),
                })
                .collect(),
        }
    })
}

fn request() -> impl Strategy<Value = Vec<(usize, Option<Value>)>> {
    ATTRS
        .iter()
        .enumerate()
        .map(|(i, (_, kind))| {
            prop::option::weighted(0.85, value_of(*kind)).prop_map(move |v| (i, v))
        })
        .collect::<Vec<_>>()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn odrl_round_trip_keeps_decisions(
        set in policy_set(),
        requests in prop::collection::vec((prop::sample::select(&["read", "use", "join_computation"][..]), prop::sample::select(&["o1", "o2", "o3"][..]), request()), 8),
    ) {
        let schema = Arc::new(Schema::health());
        // Print and parse, as a person would write it; skip sets the checker refuses (contradictions).
        let text = set.to_string();
        let parsed = parse("gen", &text).map_err(|d| TestCaseError::fail(format!("{text}\n{d}")))?;
        prop_assume!(check(&parsed, &schema).is_ok());
        let doc = to_odrl(&parsed, &schema).map_err(|e| TestCaseError::fail(format!("{text}\n{e}")))?;
        let back = from_odrl(&doc, &schema).map_err(|e| TestCaseError::fail(format!("{text}\n{doc:#}\n{e}")))?;
        let original = Policies::compile(parsed, schema.clone()).map_err(|d| TestCaseError::fail(d.to_string()))?;
        let round = Policies::compile(back.clone(), schema.clone()).map_err(|d| TestCaseError::fail(d.to_string()))?;
        for (action, offer, values) in requests {
            let mut req = Request::new(&schema, action, offer);
            for (i, v) in values {
                if let Some(v) = v {
                    req.set(&schema, ATTRS[i].0, v).map_err(|e| TestCaseError::fail(e.to_string()))?;
                }
            }
            let (a, b) = (original.evaluate(&req), round.evaluate(&req));
            prop_assert_eq!(a.outcome, b.outcome, "{}\n--- after ODRL ---\n{}\n{:?}", text, back, req);
            prop_assert_eq!(&a.deciding, &b.deciding, "{}\n--- after ODRL ---\n{}\n{:?}", text, back, req);
            prop_assert_eq!(&a.obligations, &b.obligations);
            prop_assert_eq!(original.authorize(&req).outcome, a.outcome);
        }
    }
}
