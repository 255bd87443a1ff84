//! HealthDCAT-AP in the catalog: a health offer's description is checked when the offer is
//! created (each defect named by its member), and the catalog the connector emits, read as RDF,
//! is validated against the official HealthDCAT-AP shapes for `NON_PUBLIC` data (release 8,
//! with the DCAT-AP 3.0.0 shapes they import; `tests/data/SOURCE.md`).
//!
//! The validator is pyshacl, run by `tests/shacl/validate.py` in a virtual environment this test
//! creates under the build's target directory on first use (pinned versions from PyPI). Without
//! Python 3 or PyPI the test fails, saying so: it never skips.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use serde_json::{json, Value};
use symbolon_identity::{Identity, KeyAlgorithm};

use crate::dsp::*;

/// The pinned validator: pyshacl and the rdflib it runs on.
const PYSHACL: [&str; 2] = ["pyshacl==0.40.1", "rdflib==7.6.0"];

static VENV: Mutex<Option<PathBuf>> = Mutex::new(None);

/// The Python of the validator's virtual environment, created (once) when missing.
fn validator_python() -> PathBuf {
    let mut done = VENV.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(python) = done.as_ref() {
        return python.clone();
    }
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("healthdcat-pyshacl");
    let python = venv.join("bin").join("python");
    let ready = |python: &Path| {
        Command::new(python)
            .args([
                "-c",
                "import pyshacl, rdflib; assert pyshacl.__version__ == '0.40.1'",
            ])
            .status()
            .is_ok_and(|s| s.success())
    };
    if !ready(&python) {
        let made = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .output()
            .unwrap_or_else(|e| {
                missing_validator(&venv, "`python3 -m venv` did not run", &e.to_string())
            });
        if !made.status.success() {
            missing_validator(
                &venv,
                "`python3 -m venv` failed",
                &String::from_utf8_lossy(&made.stderr),
            );
        }
        let installed = Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(PYSHACL)
            .output()
            .unwrap_or_else(|e| missing_validator(&venv, "pip did not run", &e.to_string()));
        if !installed.status.success() {
            missing_validator(
                &venv,
                "pip failed",
                &String::from_utf8_lossy(&installed.stderr),
            );
        }
        assert!(
            ready(&python),
            "pyshacl is still not importable from `{}`",
            python.display()
        );
    }
    *done = Some(python.clone());
    python
}

/// Fails the test: the validator cannot be installed, `what` went wrong.
fn missing_validator(venv: &Path, what: &str, detail: &str) -> ! {
    panic!(
        "the HealthDCAT-AP validation needs Python 3 with `venv` and access to PyPI to install \
         {} into `{}`; {what}: {detail}",
        PYSHACL.join(" "),
        venv.display()
    )
}

/// The outcome of validating a JSON-LD document: conforms, and each result's (focus, path,
/// constraint component) with its message.
struct Report {
    conforms: bool,
    triples: u64,
    results: Vec<Value>,
}

impl Report {
    /// The (path, constraint component) of each result, the namespaces cut off.
    fn findings(&self) -> Vec<(String, String)> {
        let short = |v: &Value| {
            let text = v.as_str().unwrap_or("");
            text.rsplit(['#', '/']).next().unwrap_or(text).to_owned()
        };
        let mut out: Vec<(String, String)> = self
            .results
            .iter()
            .map(|r| (short(&r["path"]), short(&r["constraint"])))
            .collect();
        out.sort();
        out
    }
}

/// Validates `document` (JSON-LD under the protocol's context) against the HealthDCAT-AP
/// `NON_PUBLIC` shapes, offline, off the runtime's threads.
async fn validate(document: &Value) -> Report {
    let document = document.clone();
    tokio::task::spawn_blocking(move || validate_now(&document))
        .await
        .unwrap()
}

fn validate_now(document: &Value) -> Report {
    let python = validator_python();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let data = root.join("data");
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("catalog.jsonld");
    std::fs::write(&input, serde_json::to_vec(document).unwrap()).unwrap();
    let contexts = dir.path().join("contexts.json");
    let dsp = data.join("dsp-2025-1/context");
    let profile = dir.path().join("healthdcat-ap.jsonld");
    std::fs::write(
        &profile,
        serde_json::to_vec(&symbolon_connector::health::dcat::context_document()).unwrap(),
    )
    .unwrap();
    let mut map = json!({
        "https://w3id.org/dspace/2025/1/context.jsonld": dsp.join("dspace.jsonld"),
        "https://w3id.org/dspace/2025/1/odrl-profile.jsonld": dsp.join("odrl.jsonld"),
    });
    map[symbolon_connector::health::dcat::HEALTHDCAT_CONTEXT] = json!(profile);
    std::fs::write(&contexts, serde_json::to_vec(&map).unwrap()).unwrap();
    let shapes = data.join("healthdcat-ap");
    let output = Command::new(python)
        .arg(root.join("shacl/validate.py"))
        .arg(&input)
        .arg(&contexts)
        .args(
            [
                "release-8/graph-guard.ttl",
                "release-8/range.ttl",
                "release-8/non-public-shapes.ttl",
                "dcat-ap-3.0.0/shapes.ttl",
                "dcat-ap-3.0.0/range.ttl",
            ]
            .map(|f| shapes.join(f)),
        )
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "the validator failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    Report {
        conforms: report["conforms"].as_bool().unwrap(),
        triples: report["triples"].as_u64().unwrap(),
        results: report["results"].as_array().unwrap().clone(),
    }
}

/// A HealthDCAT-AP description of the hospital's ward data.
fn description(hdab: &str, hospital: &str) -> Value {
    json!({
        "hdab": {"id": hdab, "name": "Health Data Access Body", "email": "permits@hdab.example"},
        "publisher": {"id": hospital, "name": "St. Example Hospital",
                      "url": "https://hospital.example/research"},
        "contact_point": {"email": "data@hospital.example"},
        "keywords": ["inpatients", "wards"],
        "health_categories": ["EHRS", "HRAD"],
        "health_themes": [{"iri": "http://www.wikidata.org/entity/Q12136", "label": "disease"}],
        "coding_systems": [{"iri": "http://www.wikidata.org/entity/Q45127", "label": "ICD-10"}],
        "dataset_type": "STATISTICAL",
        "provenance": "Extracted monthly from the hospital's electronic health records",
        "number_of_records": 1200, "number_of_unique_individuals": 900,
        "min_typical_age": 18, "max_typical_age": 95,
        "population_coverage": "Adults admitted to the hospital's wards since 2020",
        "retention_period": {"start": "2020-01-01", "end": "2035-12-31"},
        "legal_basis": ["A6-1-e", "A9-2-j"],
        "personal_data": true,
        "variables": [
            {"name": "ward", "title": "Ward", "description": "The ward's code", "datatype": "string"},
            {"name": "days", "title": "Length of stay", "description": "Days in hospital",
             "datatype": "integer"}
        ]
    })
}

/// The members the Dataspace Protocol's own context gives a meaning the DCAT-AP 3.0.0 shapes
/// refuse; the catalog keeps them as the protocol defines them: a distribution's `format`
/// (`@vocab`: an IRI of no class), its `accessService` (a literal), the data service's
/// `endpointURL` (a literal).
const PROTOCOL_TERMS: [(&str, &str); 3] = [
    ("accessService", "ClassConstraintComponent"),
    ("endpointURL", "NodeKindConstraintComponent"),
    ("format", "ClassConstraintComponent"),
];

/// Asserts that the only findings are the protocol's terms, for `distributions` distributions
/// and `services` data services.
fn assert_only_protocol_terms(report: &Report, distributions: usize, services: usize) {
    let mut expected = Vec::new();
    for (path, constraint) in PROTOCOL_TERMS {
        let times = if path == "endpointURL" {
            services
        } else {
            distributions
        };
        for _ in 0..times {
            expected.push((path.to_owned(), constraint.to_owned()));
        }
    }
    expected.sort();
    assert_eq!(report.findings(), expected, "{:#?}", report.results);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalog_of_health_datasets_validates_against_the_healthdcat_ap_shapes() {
    let provider = connector();
    let hdab = "did:web:hdab.example";
    for (id, kind) in [("ward-stays", "dataset"), ("ward-study", "computation")] {
        let (status, body) = provider
            .post(
                "/api/v1/offers",
                &json!({"id": id, "title": "Ward stays", "kind": kind,
                        "description": "Lengths of stay per ward, for research under a data permit",
                        "health": {"requires_permit": true,
                                   "dcat": description(hdab, provider.did())},
                        "policy": format!(
                            "policy \"{id}\" {{ permit {} on offer \"{id}\" when holder.member_of == \"hds\" }}",
                            if kind == "dataset" { "use" } else { "join_computation" }
                        )}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let caller = Identity::generate(KeyAlgorithm::Ed25519);
    let (status, catalog) = dsp_post(
        &format!("{}/catalog/request", provider.dsp()),
        &token(&caller, provider.did(), &[]).await,
        &json!({"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
                "@type": "CatalogRequestMessage", "filter": []}),
    )
    .await;
    assert_eq!(status, 200, "{catalog}");
    // The catalog's structure is the protocol's; its health policies are not checked against
    // the protocol's catalog schema here: the EHDS standing prohibitions use logical (`or`)
    // constraints and this profile's operators, which that schema does not admit.
    let dataset = &catalog["dataset"][0];
    assert_eq!(
        dataset["dct:accessRights"]["@id"],
        "http://publications.europa.eu/resource/authority/access-right/NON_PUBLIC"
    );
    assert_eq!(dataset["healthdcatap:hdab"]["@id"], hdab);
    assert_eq!(
        dataset["dcatap:applicableLegislation"]["@id"],
        "http://data.europa.eu/eli/reg/2025/327/oj"
    );

    let report = validate(&catalog).await;
    assert!(
        report.triples > 100,
        "the catalog read as RDF: {} triples",
        report.triples
    );
    assert!(!report.conforms);
    assert_only_protocol_terms(&report, 2, 1);

    // The dataset served on its own validates too.
    let document = http()
        .get(format!("{}/catalog/datasets/ward-stays", provider.dsp()))
        .bearer_auth(token(&caller, provider.did(), &[]).await)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_only_protocol_terms(&validate(&document).await, 1, 0);

    // The shapes do bite: each spoilt member is found, named by its path.
    for (spoil, path, constraint) in [
        ("healthdcatap:hdab", "hdab", "MinCountConstraintComponent"),
        (
            "dct:accessRights",
            "accessRights",
            "MinCountConstraintComponent",
        ),
        (
            "healthdcatap:healthCategory",
            "healthCategory",
            "MinCountConstraintComponent",
        ),
        (
            "dct:provenance",
            "provenance",
            "MinCountConstraintComponent",
        ),
    ] {
        let mut spoilt = document.clone();
        spoilt.as_object_mut().unwrap().remove(spoil);
        let findings = validate(&spoilt).await.findings();
        assert!(
            findings.contains(&(path.to_owned(), constraint.to_owned())),
            "{spoil}: {findings:?}"
        );
    }
    let mut public = document.clone();
    public["dct:accessRights"]["@id"] =
        "http://publications.europa.eu/resource/authority/access-right/PUBLIC".into();
    let findings = validate(&public).await.findings();
    assert!(
        findings.contains(&("accessRights".into(), "HasValueConstraintComponent".into())),
        "{findings:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_healthdcat_description_is_refused_naming_the_member() {
    let provider = connector();
    let cases = [
        ("/hdab/email", json!("nobody"), "health.dcat.hdab.email"),
        (
            "/health_categories/0",
            json!("EHR"),
            "health.dcat.health_categories[0]",
        ),
        (
            "/number_of_unique_individuals",
            json!(5000),
            "health.dcat.number_of_unique_individuals",
        ),
        (
            "/retention_period/end",
            json!("2019-01-01"),
            "health.dcat.retention_period.end",
        ),
        (
            "/legal_basis/0",
            json!("consent"),
            "health.dcat.legal_basis[0]",
        ),
        ("/dataset_type", json!("stats"), "health.dcat.dataset_type"),
    ];
    for (pointer, value, member) in cases {
        let mut dcat = description("did:web:hdab.example", provider.did());
        *dcat.pointer_mut(pointer).unwrap() = value;
        let (status, body) = provider
            .post(
                "/api/v1/offers",
                &json!({"id": "bad", "title": "Ward stays", "description": "Stays",
                        "health": {"dcat": dcat}, "policy": POLICY}),
            )
            .await;
        assert_eq!(status, 400, "{member}: {body}");
        assert!(body.to_string().contains(member), "{member}: {body}");
        assert_eq!(body["path"], format!("/health/dcat{pointer}"), "{body}");
    }
    // A member the profile does not know, and a missing one, are named too.
    let mut dcat = description("did:web:hdab.example", provider.did());
    dcat["number_of_patients"] = 3.into();
    let (status, body) = provider
        .post(
            "/api/v1/offers",
            &json!({"id": "bad", "title": "T", "description": "D", "health": {"dcat": dcat},
                    "policy": POLICY}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("number_of_patients"), "{body}");
    let mut dcat = description("did:web:hdab.example", provider.did());
    dcat.as_object_mut().unwrap().remove("hdab");
    let (status, body) = provider
        .post(
            "/api/v1/offers",
            &json!({"id": "bad", "title": "T", "description": "D", "health": {"dcat": dcat},
                    "policy": POLICY}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("hdab"), "{body}");
    // A health dataset described by the profile needs a description.
    let (status, body) = provider
        .post(
            "/api/v1/offers",
            &json!({"id": "bad", "title": "T",
                    "health": {"dcat": description("did:web:hdab.example", provider.did())},
                    "policy": POLICY}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("field `description`"), "{body}");
}
