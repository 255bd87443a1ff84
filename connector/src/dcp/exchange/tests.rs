use super::*;

fn membership() -> Value {
    json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential", "DataSpaceMembershipCredential"],
        "issuer": "did:web:authority.example",
        "credentialSubject": {"id": "did:web:h.example", "role": "Hospital",
                              "memberships": ["hds", "eu"]},
    })
}

fn definition(descriptors: Value) -> Value {
    json!({"id": "pd-1", "input_descriptors": descriptors})
}

fn descriptor(fields: Value) -> Value {
    definition(json!([{"id": "d", "constraints": {"fields": fields}}]))
}

fn chooses(definition: &Value, document: &Value) -> bool {
    Definition::parse(definition)
        .unwrap()
        .choose(document, "vc+jwt")
        .is_some()
}

#[test]
fn paths_of_the_common_forms_select_what_they_name() {
    let document = membership();
    let equal = |path: &str, expected: Value| {
        let segments = parse_path(path).unwrap();
        let found: Vec<Value> = select(&document, &segments).into_iter().cloned().collect();
        assert_eq!(found, vec![expected], "{path}");
    };
    equal("$.type", document["type"].clone());
    equal("$.vc.type", document["type"].clone());
    equal("$.credentialSubject.role", json!("Hospital"));
    equal("$['credentialSubject']['role']", json!("Hospital"));
    equal("$[\"credentialSubject\"].role", json!("Hospital"));
    equal("$.type[1]", json!("DataSpaceMembershipCredential"));
    let all = select(
        &document,
        &parse_path("$.credentialSubject.memberships[*]").unwrap(),
    );
    assert_eq!(all, [&json!("hds"), &json!("eu")]);
    assert!(select(&document, &parse_path("$.nothing.here").unwrap()).is_empty());
    for bad in [
        "type",
        "$..type",
        "$.type[?(@ == 'x')]",
        "$.",
        "$[1:2]",
        "$['a",
    ] {
        assert!(parse_path(bad).is_err(), "{bad}");
    }
}

#[test]
fn filters_read_type_const_enum_pattern_and_contains() {
    let document = membership();
    let yes = [
        json!([{"path": ["$.type"], "filter": {"type": "string", "pattern": "Membership"}}]),
        json!([{"path": ["$.vc.type"], "filter": {"type": "array",
                "contains": {"const": "DataSpaceMembershipCredential"}}}]),
        json!([{"path": ["$.credentialSubject.role"],
                "filter": {"enum": ["Hospital", "Insurer"]}}]),
        json!([{"path": ["$.credentialSubject.role"], "filter": {"const": "Hospital"}}]),
        json!([{"path": ["$.credentialSubject.missing", "$.credentialSubject.role"],
                "filter": {"type": "string"}}]),
        json!([{"path": ["$.issuer"]}]),
        json!([{"path": ["$.nothing"], "optional": true}, {"path": ["$.issuer"]}]),
    ];
    for fields in yes {
        assert!(chooses(&descriptor(fields.clone()), &document), "{fields}");
    }
    let no = [
        json!([{"path": ["$.type"], "filter": {"type": "string", "pattern": "^Trial"}}]),
        json!([{"path": ["$.type"], "filter": {"type": "array",
                "contains": {"const": "TrialSiteCredential"}}}]),
        json!([{"path": ["$.credentialSubject.role"], "filter": {"enum": ["Insurer"]}}]),
        json!([{"path": ["$.credentialSubject.role"], "filter": {"type": "number"}}]),
        json!([{"path": ["$.nothing"]}]),
    ];
    for fields in no {
        assert!(!chooses(&descriptor(fields.clone()), &document), "{fields}");
    }
}

#[test]
fn formats_select_jose_credentials_or_nothing() {
    let document = membership();
    let with_format = |format: Value| {
        definition(json!([{"id": "d", "format": format,
                           "constraints": {"fields": [{"path": ["$.type"]}]}}]))
    };
    let jose = Definition::parse(&with_format(json!({"jwt_vc": {"alg": ["EdDSA"]}}))).unwrap();
    assert!(jose.choose(&document, "vc+jwt").is_some());
    assert!(jose.choose(&document, "eddsa-rdfc-2022").is_none());
    let other = Definition::parse(&with_format(json!({"ldp_vc": {}}))).unwrap();
    assert!(other.choose(&document, "vc+jwt").is_none());
    // No format at all: any credential; a definition's format applies to its descriptors.
    let any = Definition::parse(&descriptor(json!([{"path": ["$.type"]}]))).unwrap();
    assert!(any.choose(&document, "eddsa-rdfc-2022").is_some());
    let mut outer = descriptor(json!([{"path": ["$.type"]}]));
    outer["format"] = json!({"ldp_vp": {}});
    assert!(Definition::parse(&outer)
        .unwrap()
        .choose(&document, "vc+jwt")
        .is_none());
}

#[test]
fn the_submission_maps_each_descriptor_to_its_credential() {
    let definition = Definition::parse(&definition(json!([
        {"id": "member", "constraints": {"fields": [{"path": ["$.type"],
            "filter": {"type": "string", "const": "DataSpaceMembershipCredential"}}]}},
        {"id": "anything"},
    ])))
    .unwrap();
    let chosen = definition.choose(&membership(), "vc+jwt").unwrap();
    assert_eq!(chosen.descriptors, ["member", "anything"]);
    let submission = definition.submission(&[chosen]);
    assert_eq!(submission["definition_id"], "pd-1");
    let map = submission["descriptor_map"].as_array().unwrap();
    assert_eq!(map.len(), 2);
    assert_eq!(map[0]["id"], "member");
    assert_eq!(map[0]["format"], "jwt_vp");
    assert_eq!(map[0]["path"], "$.presentation[0]");
    assert_eq!(map[0]["path_nested"]["path"], "$.verifiableCredential[0]");
    assert_eq!(map[0]["path_nested"]["format"], "jwt_vc");
}

#[test]
fn malformed_and_unsupported_definitions_are_refused_with_the_member_named() {
    let malformed = [
        (json!([]), "presentationDefinition"),
        (
            json!({"input_descriptors": [{"id": "d"}]}),
            "presentationDefinition/id",
        ),
        (
            definition(json!([])),
            "presentationDefinition/input_descriptors",
        ),
        (
            definition(json!([{}])),
            "presentationDefinition/input_descriptors/0/id",
        ),
        (
            descriptor(json!([{"path": []}])),
            "presentationDefinition/input_descriptors/0/constraints/fields/0/path",
        ),
        (
            descriptor(json!([{"path": ["$..x"]}])),
            "presentationDefinition/input_descriptors/0/constraints/fields/0/path/0",
        ),
        (
            descriptor(json!([{"path": ["$.x"], "filter": {"pattern": "("}}])),
            "presentationDefinition/input_descriptors/0/constraints/fields/0/filter/pattern",
        ),
        (
            descriptor(json!([{"path": ["$.x"], "filter": {"type": "text"}}])),
            "presentationDefinition/input_descriptors/0/constraints/fields/0/filter/type",
        ),
        (
            definition(json!(vec![json!({"id": "d"}); MAX_ITEMS + 1])),
            "presentationDefinition/input_descriptors",
        ),
    ];
    for (value, field) in malformed {
        match Definition::parse(&value) {
            Err(ExchangeError::Malformed(error)) => assert_eq!(error.field, field, "{value}"),
            other => panic!("{value}: {other:?}"),
        }
    }
    let mut requirements = descriptor(json!([{"path": ["$.type"]}]));
    requirements["submission_requirements"] = json!([{"rule": "all", "from": "A"}]);
    let unsupported = [
        (
            requirements,
            "presentationDefinition/submission_requirements",
        ),
        (
            definition(json!([{"id": "d", "constraints": {"limit_disclosure": "required"}}])),
            "presentationDefinition/input_descriptors/0/constraints/limit_disclosure",
        ),
        (
            descriptor(json!([{"path": ["$.x"], "predicate": "required"}])),
            "presentationDefinition/input_descriptors/0/constraints/fields/0/predicate",
        ),
        (
            descriptor(json!([{"path": ["$.x"], "filter": {"minimum": 3}}])),
            "presentationDefinition/input_descriptors/0/constraints/fields/0/filter/minimum",
        ),
    ];
    for (value, member) in unsupported {
        match Definition::parse(&value) {
            Err(error @ ExchangeError::Unsupported { .. }) => {
                assert!(
                    error.to_string().contains(&format!("`{member}`")),
                    "{error}"
                );
            }
            other => panic!("{value}: {other:?}"),
        }
    }
}
