//! ODRL export and import: the example's shape, round trips, and refusals that name the construct.

use std::sync::Arc;

use serde_json::json;
use symbolon_policy::{from_odrl, from_odrl_text, parse, to_odrl, OdrlError, Policies, Schema};

const PPA: &str = include_str!("data/ppa-ibd-2024.policy");

#[test]
fn exports_the_example_as_odrl() {
    let schema = Schema::health();
    let set = parse("ppa", PPA).unwrap();
    let doc = to_odrl(&set, &schema).unwrap();
    let p = &doc["@graph"][0];
    assert_eq!(p["uid"], "urn:symbolon:policy:ppa-ibd-2024");
    assert_eq!(p["profile"], "https://w3id.org/symbolon/odrl/health");
    let perm = &p["permission"][0];
    assert_eq!(perm["target"], "ppa-ibd-2024");
    assert_eq!(
        perm["action"],
        json!(["symbolon:join_computation", "symbolon:receive_result"])
    );
    assert_eq!(
        perm["constraint"][0],
        json!({"leftOperand": "symbolon:role", "operator": "isAnyOf", "rightOperand": ["Hospital", "Insurer", "StatisticsBureau"]})
    );
    assert_eq!(
        perm["constraint"][2],
        json!({"leftOperand": "symbolon:consentPurpose", "operator": "isAllOf", "rightOperand": ["scientific-research"]})
    );
    assert_eq!(
        perm["constraint"][4],
        json!({"leftOperand": "dateTime", "operator": "lt", "rightOperand": {"@value": "2027-01-01T00:00:00Z", "@type": "xsd:dateTime"}})
    );
    assert_eq!(perm["constraint"][5]["leftOperand"], "symbolon:partyCount");
    assert_eq!(
        perm["duty"][0],
        json!({"action": [{"rdf:value": {"@id": "symbolon:aggregate_only"}, "refinement": [{"leftOperand": "symbolon:minGroupSize", "operator": "eq", "rightOperand": 10}]}]})
    );
    let proh = &doc["@graph"][1]["prohibition"][0];
    assert_eq!(proh["action"], "use");
    assert!(proh.get("target").is_none());
}

#[test]
fn round_trip_keeps_the_text() {
    let schema = Schema::health();
    let set = parse("ppa", PPA).unwrap();
    let doc = to_odrl(&set, &schema).unwrap();
    let text = from_odrl_text(&doc, &schema).unwrap();
    assert_eq!(text, set.to_string());
    let again = from_odrl(&doc, &schema).unwrap();
    Policies::compile(again, Arc::new(schema)).unwrap();
}

#[test]
fn negation_and_logic_round_trip() {
    let schema = Schema::health();
    let src = r#"policy "n" {
  permit read on offer ["a", "b"]
  when not (holder.role in ["Pharmacy"] or consent.purposes contains_all ["x", "y"])
   and not has consent.withdrawn
   and request.retention <= 30d
   and session.epsilon < 1.5
}
"#;
    let set = parse("n", src).unwrap();
    let doc = to_odrl(&set, &schema).unwrap();
    let c = &doc["@graph"][0]["permission"][0]["constraint"];
    assert_eq!(c[0]["and"][0]["operator"], "isNoneOf");
    assert_eq!(
        c[0]["and"][1]["or"][0],
        json!({"leftOperand": "symbolon:consentPurpose", "operator": "isNoneOf", "rightOperand": ["x"]})
    );
    assert_eq!(
        c[1],
        json!({"leftOperand": "symbolon:consentWithdrawn", "operator": "symbolon:isPresent", "rightOperand": false})
    );
    let text = from_odrl_text(&doc, &schema).unwrap();
    assert!(
        text.contains("when not holder.role in [\"Pharmacy\"]"),
        "{text}"
    );
}

#[test]
fn unsupported_constructs_are_named() {
    let schema = Schema::health();
    let base = |constraint: serde_json::Value| json!({"@type": "Set", "uid": "x", "permission": [{"target": "o", "action": "symbolon:read", "constraint": [constraint]}]});
    let e = from_odrl(
        &base(json!({"leftOperand": "symbolon:role", "operator": "hasPart", "rightOperand": "x"})),
        &schema,
    )
    .unwrap_err();
    assert!(
        matches!(&e, OdrlError::Unsupported { construct, .. } if construct == "hasPart"),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        "unsupported ODRL construct `hasPart` at /permission/0/constraint/0/operator: the operators are eq, neq, gt, gteq, lt, lteq, isAnyOf, isAllOf, isNoneOf and symbolon:isPresent"
    );
    let e = from_odrl(&base(json!({"xone": [{"leftOperand": "symbolon:role", "operator": "eq", "rightOperand": "x"}]})), &schema).unwrap_err();
    assert!(e.to_string().contains("`xone`"), "{e}");
    let e = from_odrl(
        &base(json!({"leftOperand": "spatial", "operator": "eq", "rightOperand": "NL"})),
        &schema,
    )
    .unwrap_err();
    assert!(e.to_string().contains("`spatial`"), "{e}");
    let e = from_odrl(
        &json!({"uid": "x", "permission": [{"action": "symbolon:read", "assignee": "did:web:x"}]}),
        &schema,
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("unsupported ODRL construct `assignee` at /permission/0/assignee"),
        "{e}"
    );
    let e = from_odrl(&json!({"uid": "x", "obligation": []}), &schema).unwrap_err();
    assert!(e.to_string().contains("`obligation`"), "{e}");
    let e = from_odrl(
        &json!({"uid": "x", "permission": [{"action": "odrl:print"}]}),
        &schema,
    )
    .unwrap_err();
    assert!(e.to_string().contains("`odrl:print`"), "{e}");
    let e = from_odrl(&base(json!({"leftOperand": "symbolon:partyCount", "operator": "gteq", "rightOperand": "three"})), &schema).unwrap_err();
    assert_eq!(e.to_string(), "invalid ODRL at /permission/0/constraint/0/rightOperand: expected an integer, found \"three\"");
}

#[test]
fn imports_plain_dsp_style_odrl() {
    let schema = Schema::health();
    let doc = json!({
        "@context": "http://www.w3.org/ns/odrl.jsonld",
        "@type": "Offer",
        "uid": "urn:uuid:1234",
        "permission": [{
            "target": {"@id": "registry-extract"},
            "action": {"@id": "odrl:use"},
            "constraint": [{"or": {"@list": [
                {"leftOperand": "odrl:purpose", "operator": "odrl:eq", "rightOperand": "scientific-research"},
                {"leftOperand": "count", "operator": "lteq", "rightOperand": {"@value": "5", "@type": "xsd:integer"}}
            ]}}]
        }]
    });
    let text = from_odrl_text(&doc, &schema).unwrap();
    assert_eq!(
        text,
        "policy \"urn:uuid:1234\" {\n  permit *\n  on offer \"registry-extract\"\n  when request.purpose == \"scientific-research\" or usage.count <= 5\n}\n"
    );
}
