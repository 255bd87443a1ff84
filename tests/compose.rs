//! `compose/compose.yaml` against the Compose Specification's JSON schema
//! (`compose/schema/compose-spec.json`, see its `SOURCE.md`), and against the cast the
//! network-namespace script runs (`compose/cast.txt`): the same organisations, each a service
//! with its own data volume, its DID, a health check, and the scenarios as a one-shot service
//! that waits for every organisation to be healthy.
#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use std::path::Path;

use serde_json::Value;

fn read(path: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn compose() -> Value {
    serde_yaml_ng::from_str(&read("compose/compose.yaml")).unwrap()
}

fn validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(&read("compose/schema/compose-spec.json")).unwrap();
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .build(&schema)
        .unwrap()
}

/// The schema's findings for `instance`, one line each.
fn findings(instance: &Value) -> Vec<String> {
    validator()
        .iter_errors(instance)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

/// One organisation of `compose/cast.txt`.
struct Member {
    name: String,
    did: String,
    p2p: String,
}

fn cast() -> Vec<Member> {
    read("compose/cast.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(fields.len(), 4, "cast line `{line}`");
            Member {
                name: fields[0].to_owned(),
                did: fields[2].to_owned(),
                p2p: fields[3].to_owned(),
            }
        })
        .collect()
}

#[test]
fn the_compose_file_is_valid_under_the_compose_specification() {
    let errors = findings(&compose());
    assert!(errors.is_empty(), "{errors:#?}");
}

/// The validator does reject what the specification forbids, so that the test above means
/// something: a misspelt service key, a health check whose `test` is a number, a dependency
/// condition the specification does not know.
#[test]
fn the_schema_rejects_what_the_specification_forbids() {
    let mut misspelt = compose();
    misspelt["services"]["hospital"]["healthcheck"]["intervall"] = "5s".into();
    assert!(!findings(&misspelt).is_empty());

    let mut wrong_type = compose();
    wrong_type["services"]["hospital"]["healthcheck"]["test"] = 7.into();
    assert!(!findings(&wrong_type).is_empty());

    let mut unknown_condition = compose();
    unknown_condition["services"]["scenarios"]["depends_on"]["hospital"]["condition"] =
        "service_ready".into();
    assert!(!findings(&unknown_condition).is_empty());

    let mut unknown_top_level = compose();
    unknown_top_level["service"] = serde_json::json!({});
    assert!(!findings(&unknown_top_level).is_empty());
}

#[test]
fn every_organisation_of_the_cast_is_a_healthy_service_with_its_own_data_volume() {
    let compose = compose();
    let services = compose["services"].as_object().unwrap();
    let cast = cast();
    assert!(cast.len() >= 5, "the cast has {} organisations", cast.len());
    let mut organisations: Vec<&str> = services
        .keys()
        .map(String::as_str)
        .filter(|name| !["pki", "scenarios"].contains(name))
        .collect();
    organisations.sort_unstable();
    let mut names: Vec<&str> = cast.iter().map(|m| m.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        organisations, names,
        "compose.yaml's organisations and cast.txt's"
    );

    for member in &cast {
        let service = &services[&member.name];
        let environment = &service["environment"];
        assert_eq!(environment["ORG_NAME"], member.name.as_str());
        assert_eq!(
            environment["ORG_DID"],
            member.did.as_str(),
            "{}",
            member.name
        );
        assert_eq!(
            environment["ORG_P2P"],
            member.p2p.as_str(),
            "{}",
            member.name
        );
        if member.did != "key" {
            assert_eq!(
                member.did,
                format!("did:web:{}%3A8443", member.name),
                "a did:web organisation's DID names its host"
            );
        }
        assert_eq!(service["hostname"], member.name.as_str());
        assert_eq!(
            service["healthcheck"]["test"],
            serde_json::json!(["CMD", "org.sh", "health"])
        );
        let volumes: Vec<&str> = service["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let data = format!("{}-data:/space/{}", member.name, member.name);
        assert!(
            volumes.contains(&data.as_str()),
            "{}: {volumes:?}",
            member.name
        );
        assert!(compose["volumes"]
            .as_object()
            .unwrap()
            .contains_key(&format!("{}-data", member.name)));
        assert_eq!(
            service["depends_on"]["pki"]["condition"],
            "service_completed_successfully"
        );
    }

    let pki = services["pki"]["command"].as_array().unwrap();
    let mut certified: Vec<&str> = pki.iter().skip(2).filter_map(Value::as_str).collect();
    certified.sort_unstable();
    assert_eq!(
        certified, names,
        "pki.sh makes a certificate for every host"
    );
}

#[test]
fn the_scenarios_run_once_every_organisation_is_healthy() {
    let compose = compose();
    let scenarios = &compose["services"]["scenarios"];
    assert_eq!(scenarios["restart"], "no");
    assert_eq!(
        scenarios["command"],
        serde_json::json!(["scenarios.sh", "all"])
    );
    for member in cast() {
        assert_eq!(
            scenarios["depends_on"][&member.name]["condition"], "service_healthy",
            "{}",
            member.name
        );
        let data = format!("{}-data:/space/{}", member.name, member.name);
        assert!(
            scenarios["volumes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|v| v == data.as_str()),
            "the scenarios act as {}'s operator: its data directory is mounted",
            member.name
        );
    }
}

/// The image is built from source, in two stages, with the locked dependencies.
#[test]
fn the_dockerfile_builds_from_source_in_two_stages() {
    let dockerfile = read("compose/Dockerfile");
    let stages = dockerfile
        .lines()
        .filter(|l| l.starts_with("FROM "))
        .count();
    assert_eq!(stages, 2, "{dockerfile}");
    assert!(dockerfile.contains("cargo build --release --locked"));
    assert!(dockerfile.contains("COPY --from=build"));
    for script in ["org.sh", "pki.sh", "scenarios.sh"] {
        assert!(
            dockerfile.contains(&format!("compose/{script}")),
            "{script}"
        );
    }
}
