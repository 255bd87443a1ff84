//! Symbolon beside Cedar on the same policies and requests: decisions with 1 and 1,000 loaded
//! policies (each for a different offer), permit and deny, and parse (+ check) of 1 and 1,000.
//!
//! Run: `cargo bench -p symbolon-policy --bench policy -- --warm-up-time 1 --measurement-time 2`
#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented functions"
)]

use std::hint::black_box;
use std::str::FromStr;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::json;
use symbolon_policy::{Policies, Request, Schema};

const FORBID: &str = "policy \"never-for-marketing\" {\n  forbid * on offer * when request.purpose == \"marketing\"\n}\n";

fn symbolon_source(n: usize) -> String {
    let mut s = String::from(FORBID);
    for i in 0..n {
        s.push_str(&format!(
            r#"policy "study-{i}" {{
  permit join_computation, receive_result
  on offer "study-{i}"
  when holder.role in ["Hospital", "Insurer", "StatisticsBureau"]
   and holder.member_of == "health-data-space-nl"
   and consent.purposes contains "scientific-research"
   and request.purpose == "scientific-research"
   and now < 2027-01-01T00:00:00Z
   and session.parties >= 3
  obligation aggregate_only {{ min_group_size = 10 }}
  obligation delete_after {{ days = 30 }}
}}
"#
        ));
    }
    s
}

fn cedar_source(n: usize) -> String {
    let mut s = String::from(
        "forbid(principal, action, resource) when { context.request.purpose == \"marketing\" };\n",
    );
    for i in 0..n {
        s.push_str(&format!(
            r#"@id("study-{i}")
permit(principal, action in [Action::"join_computation", Action::"receive_result"], resource == Offer::"study-{i}")
when {{
  ["Hospital", "Insurer", "StatisticsBureau"].contains(context.holder.role)
  && context.holder.member_of == "health-data-space-nl"
  && context.consent.purposes.contains("scientific-research")
  && context.request.purpose == "scientific-research"
  && context.now < 1798761600
  && context.session.parties >= 3
}};
"#
        ));
    }
    s
}

fn request_json(offer: &str, role: &str) -> serde_json::Value {
    json!({
        "action": "join_computation", "offer": offer, "now": "2026-11-23T20:00:00Z",
        "holder": {"role": role, "member_of": "health-data-space-nl"},
        "consent": {"purposes": ["scientific-research", "care"]},
        "request": {"purpose": "scientific-research"},
        "session": {"parties": 3}
    })
}

fn cedar_request(offer: &str, role: &str) -> cedar_policy::Request {
    let context = cedar_policy::Context::from_json_value(
        json!({
            "now": 1_795_464_000_i64,
            "holder": {"role": role, "member_of": "health-data-space-nl"},
            "consent": {"purposes": ["scientific-research", "care"]},
            "request": {"purpose": "scientific-research"},
            "session": {"parties": 3}
        }),
        None,
    )
    .expect("context");
    cedar_policy::Request::new(
        cedar_policy::EntityUid::from_str(r#"Org::"hospital""#).expect("principal"),
        cedar_policy::EntityUid::from_str(r#"Action::"join_computation""#).expect("action"),
        cedar_policy::EntityUid::from_str(&format!(r#"Offer::"{offer}""#)).expect("resource"),
        context,
        None,
    )
    .expect("request")
}

fn decisions(c: &mut Criterion) {
    let schema = Arc::new(Schema::health());
    let authorizer = cedar_policy::Authorizer::new();
    let entities = cedar_policy::Entities::empty();
    for n in [1usize, 1000] {
        let src = symbolon_source(n);
        let policies =
            Policies::from_sources(&[("bench", &src)], Arc::clone(&schema)).expect("check");
        let cedar: cedar_policy::PolicySet = cedar_source(n).parse().expect("cedar parse");
        let offer = format!("study-{}", n / 2);
        for (case, role) in [("permit", "Hospital"), ("deny", "Pharmacy")] {
            let req = Request::from_json(&schema, &request_json(&offer, role)).expect("request");
            let creq = cedar_request(&offer, role);
            let want_permit = case == "permit";
            assert_eq!(policies.is_permitted(&req), want_permit);
            assert_eq!(
                authorizer
                    .is_authorized(&creq, &cedar, &entities)
                    .decision()
                    == cedar_policy::Decision::Allow,
                want_permit
            );
            let mut g = c.benchmark_group(format!("decide/{case}/{n}"));
            g.bench_function("symbolon-authorize", |b| {
                b.iter(|| policies.authorize(black_box(&req)))
            });
            g.bench_function("symbolon-evaluate-explained", |b| {
                b.iter(|| policies.evaluate(black_box(&req)))
            });
            g.bench_function("cedar", |b| {
                b.iter(|| authorizer.is_authorized(black_box(&creq), &cedar, &entities))
            });
            g.finish();
        }
    }
}

fn parsing(c: &mut Criterion) {
    let schema = Arc::new(Schema::health());
    for n in [1usize, 1000] {
        let src = symbolon_source(n);
        let csrc = cedar_source(n);
        let mut g = c.benchmark_group(format!("parse/{n}"));
        g.bench_function("symbolon-parse-check-compile", |b| {
            b.iter(|| Policies::from_sources(&[("bench", black_box(&src))], Arc::clone(&schema)))
        });
        g.bench_function("cedar-parse", |b| {
            b.iter(|| black_box(&csrc).parse::<cedar_policy::PolicySet>().is_ok())
        });
        g.finish();
    }
}

criterion_group!(benches, decisions, parsing);
criterion_main!(benches);
