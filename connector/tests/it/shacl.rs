//! The SHACL validator of the HealthDCAT-AP tests: pyshacl, run by `tests/shacl/validate.py`
//! offline (every JSON-LD context from the repository, none fetched) in a virtual environment
//! this harness creates under the build's target directory on first use, with exactly the
//! packages `tests/shacl/requirements.txt` pins (from PyPI). The environment is reused only
//! when it holds exactly those pins; without Python 3 (with `venv`) or PyPI the tests fail,
//! saying so: they never skip.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use serde_json::{json, Value};

/// The shapes the HealthData@EU validator applies to `NON_PUBLIC` data, as vendored in
/// `tests/data/healthdcat-ap` (`tests/data/SOURCE.md`).
const SHAPES: [&str; 5] = [
    "release-8/graph-guard.ttl",
    "release-8/range.ttl",
    "release-8/non-public-shapes.ttl",
    "dcat-ap-3.0.0/shapes.ttl",
    "dcat-ap-3.0.0/range.ttl",
];

/// The base IRI the documents are read against (the protocol's relative ids, such as a
/// dataset's, resolve against it).
pub const BASE: &str = "urn:symbolon:test:";

static PYTHON: Mutex<Option<PathBuf>> = Mutex::new(None);

fn shacl_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/shacl")
}

/// The Python of the validator's virtual environment, created (once per pin set) when missing.
fn validator_python() -> PathBuf {
    let mut done = PYTHON
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(python) = done.as_ref() {
        return python.clone();
    }
    let requirements = shacl_dir().join("requirements.txt");
    let pins = std::fs::read_to_string(&requirements)
        .unwrap_or_else(|e| panic!("`{}`: {e}", requirements.display()));
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("healthdcat-pyshacl");
    let python = venv.join("bin").join("python");
    // Written once every pin is installed: an environment without it, or with other pins, is
    // made again from nothing.
    let stamp = venv.join("symbolon-requirements.txt");
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(pins.as_str()) {
        if venv.exists() {
            std::fs::remove_dir_all(&venv)
                .unwrap_or_else(|e| panic!("removing `{}`: {e}", venv.display()));
        }
        let run = |what: &str, command: &mut Command| {
            let output = command.output().unwrap_or_else(|e| {
                missing_validator(&venv, &format!("{what} did not run"), &e.to_string())
            });
            if !output.status.success() {
                missing_validator(
                    &venv,
                    &format!("{what} failed"),
                    &String::from_utf8_lossy(&output.stderr),
                );
            }
        };
        run(
            "`python3 -m venv`",
            Command::new("python3").args(["-m", "venv"]).arg(&venv),
        );
        run(
            "pip",
            Command::new(&python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "--no-input",
                    "-r",
                ])
                .arg(&requirements),
        );
        std::fs::write(&stamp, &pins).unwrap();
    }
    *done = Some(python.clone());
    python
}

/// Fails the test: the validator cannot be installed, `what` went wrong.
fn missing_validator(venv: &Path, what: &str, detail: &str) -> ! {
    panic!(
        "the HealthDCAT-AP validation needs Python 3 with `venv` (Debian: python3-venv) and \
         access to PyPI to install tests/shacl/requirements.txt into `{}`; {what}: {detail}",
        venv.display()
    )
}

/// One validation result.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    /// The focus node's IRI (a blank node's label is not stable).
    pub focus: String,
    /// The path's IRI.
    pub path: String,
    /// The constraint component, without its namespace (`NodeKindConstraintComponent`).
    pub constraint: String,
}

impl Finding {
    /// A finding at `focus`, on `path`, of `constraint`.
    pub fn new(focus: &str, path: &str, constraint: &str) -> Finding {
        Finding {
            focus: focus.to_owned(),
            path: path.to_owned(),
            constraint: constraint.to_owned(),
        }
    }
}

/// The outcome of validating a JSON-LD document.
pub struct Report {
    /// Whether the document conforms.
    pub conforms: bool,
    /// How many triples the document was read as.
    pub triples: u64,
    /// Each result as the validator gave it.
    pub results: Vec<Value>,
}

impl Report {
    /// Each result as a [`Finding`], sorted.
    pub fn findings(&self) -> Vec<Finding> {
        let text = |r: &Value, k: &str| r[k].as_str().unwrap_or("").to_owned();
        let mut out: Vec<Finding> = self
            .results
            .iter()
            .map(|r| Finding {
                focus: text(r, "focus"),
                path: text(r, "path"),
                constraint: text(r, "constraint")
                    .rsplit('#')
                    .next()
                    .unwrap_or("")
                    .to_owned(),
            })
            .collect();
        out.sort();
        out
    }

    /// The (path, constraint) of each result, the path's namespace cut off.
    pub fn paths(&self) -> Vec<(String, String)> {
        self.findings()
            .into_iter()
            .map(|f| {
                let path = f.path.rsplit(['#', '/']).next().unwrap_or("").to_owned();
                (path, f.constraint)
            })
            .collect()
    }
}

/// Validates `document` (JSON-LD under the protocol's context and the HealthDCAT-AP one)
/// against the HealthDCAT-AP `NON_PUBLIC` shapes, offline, off the runtime's threads.
pub async fn validate(document: &Value) -> Report {
    let document = document.clone();
    tokio::task::spawn_blocking(move || validate_now(&document))
        .await
        .unwrap()
}

fn validate_now(document: &Value) -> Report {
    let python = validator_python();
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("catalog.jsonld");
    std::fs::write(&input, serde_json::to_vec(document).unwrap()).unwrap();
    let profile = dir.path().join("healthdcat-ap.jsonld");
    std::fs::write(
        &profile,
        serde_json::to_vec(&symbolon_connector::health::dcat::context_document()).unwrap(),
    )
    .unwrap();
    let dsp = data.join("dsp-2025-1/context");
    let mut contexts = json!({
        "https://w3id.org/dspace/2025/1/context.jsonld": dsp.join("dspace.jsonld"),
        "https://w3id.org/dspace/2025/1/odrl-profile.jsonld": dsp.join("odrl.jsonld"),
    });
    // The HealthDCAT-AP context, under the IRI the document names (its connector's).
    let ours = document["@context"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|iri| iri.ends_with(symbolon_connector::health::dcat::HEALTHDCAT_CONTEXT_PATH));
    for iri in ours {
        contexts[iri] = json!(profile);
    }
    let map = dir.path().join("contexts.json");
    std::fs::write(&map, serde_json::to_vec(&contexts).unwrap()).unwrap();
    let shapes = data.join("healthdcat-ap");
    let output = Command::new(python)
        // Isolated: no user site-packages, no PYTHON* variables of the caller.
        .arg("-I")
        .arg(shacl_dir().join("validate.py"))
        .arg(&input)
        .arg(&map)
        .arg(BASE)
        .args(SHAPES.map(|f| shapes.join(f)))
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
