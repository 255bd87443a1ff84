//! Data-driven cases: each `tests/cases/*.json` names policies, whether they should check, and
//! requests with the expected decision, deciding policies, obligations, failed conditions and
//! missing attributes.

use std::path::Path;
use std::sync::Arc;

use serde_json::Value as J;
use symbolon_policy::{Policies, Request, Schema};

fn strings(v: Option<&J>) -> Option<Vec<String>> {
    v.and_then(J::as_array)
        .map(|a| a.iter().map(|s| s.as_str().unwrap().to_owned()).collect())
}

fn run_case(path: &Path) {
    let name = path.display().to_string();
    let case: J = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let (file, text) = match case["policies"].as_str() {
        Some(f) if f.ends_with(".policy") => {
            let p = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/data")
                .join(f);
            (f.to_owned(), std::fs::read_to_string(p).unwrap())
        }
        Some(inline) => ("case.policy".to_owned(), inline.to_owned()),
        None => panic!("{name}: `policies` must be a file name or policy text"),
    };
    let schema = Arc::new(Schema::health());
    let compiled = Policies::from_sources(&[(&file, &text)], schema.clone());
    if case["shouldCheck"] == J::Bool(false) {
        let diags = compiled.expect_err(&name);
        let got: Vec<String> = diags.items.iter().map(|d| d.message.clone()).collect();
        assert_eq!(Some(got), strings(case.get("errors")), "{name}:\n{diags}");
        return;
    }
    let policies = compiled.unwrap_or_else(|d| panic!("{name}:\n{d}"));
    for r in case["requests"].as_array().unwrap() {
        let desc = format!("{name}: {}", r["description"]);
        let req =
            Request::from_json(&schema, &r["request"]).unwrap_or_else(|e| panic!("{desc}: {e}"));
        let d = policies.evaluate(&req);
        let verdict = policies.authorize(&req);
        assert_eq!(d.outcome, verdict.outcome, "{desc}: fast path disagrees");
        assert_eq!(
            r["decision"].as_str(),
            Some(if d.is_permit() { "permit" } else { "deny" }),
            "{desc}\n{d}"
        );
        let got: Vec<String> = d.deciding.iter().map(|s| s.to_string()).collect();
        if let Some(want) = strings(r.get("deciding")) {
            assert_eq!(got, want, "{desc}: deciding\n{d}");
        }
        if let Some(want) = strings(r.get("obligations")) {
            let got: Vec<String> = d
                .obligations
                .iter()
                .map(|o| {
                    let params: Vec<String> =
                        o.params.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                    format!("{} {{ {} }}", o.name, params.join(", "))
                })
                .collect();
            assert_eq!(got, want, "{desc}: obligations\n{d}");
        }
        if let Some(want) = strings(r.get("reasons")) {
            assert_eq!(d.reasons(), want, "{desc}: reasons\n{d}");
        }
        if let Some(want) = strings(r.get("missing")) {
            let got: Vec<String> = d.missing.iter().map(|s| s.to_string()).collect();
            assert_eq!(got, want, "{desc}: missing\n{d}");
        }
    }
}

#[test]
fn every_case_file() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 3, "expected case files, found {files:?}");
    for f in files {
        run_case(&f);
    }
}
