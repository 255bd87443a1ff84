//! HealthDCAT-AP in the catalog: a health offer's description is checked when the offer is
//! created (each defect named by its member); the catalog the connector emits, read as RDF, is
//! validated against the official HealthDCAT-AP shapes for `NON_PUBLIC` data (release 8, with
//! the DCAT-AP 3.0.0 shapes they import; `tests/data/SOURCE.md`) by pyshacl (`shacl.rs`); and
//! a health offer's catalog, dataset and offer follow the Dataspace Protocol's schemas.

use serde_json::{json, Value};
use symbolon_identity::{Identity, KeyAlgorithm};

use crate::dsp::*;
use crate::shacl::{validate, Finding};

/// A HealthDCAT-AP description of the hospital's ward data.
pub(crate) fn description(hdab: &str, hospital: &str) -> Value {
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

/// The legal name in the provider's membership (`membership_document`, role `Hospital`).
const LEGAL_NAME: &str = "Hospital B.V.";

/// A provider holding its membership, with the health offers `ward-stays` (a dataset) and
/// `ward-study` (a computation), each described by the profile and requiring a data permit.
async fn health_provider() -> Connector {
    let authority = connector();
    let provider = connector();
    trust(&authority, &provider).await;
    let (credential, _) = membership(&authority, provider.did(), "Hospital").await;
    hold(&provider, &credential).await;
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
    provider
}

/// The provider's catalog, as a stranger asks for it over the protocol.
async fn catalog_of(provider: &Connector) -> Value {
    let caller = Identity::generate(KeyAlgorithm::Ed25519);
    let (status, catalog) = dsp_post(
        &format!("{}/catalog/request", provider.dsp()),
        &token(&caller, provider.did(), &[]).await,
        &json!({"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
                "@type": "CatalogRequestMessage", "filter": []}),
    )
    .await;
    assert_eq!(status, 200, "{catalog}");
    catalog
}

/// The provider's dataset `id`, served on its own.
async fn dataset_of(provider: &Connector, id: &str) -> Value {
    let caller = Identity::generate(KeyAlgorithm::Ed25519);
    let response = http()
        .get(format!("{}/catalog/datasets/{id}", provider.dsp()))
        .bearer_auth(token(&caller, provider.did(), &[]).await)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json::<Value>().await.unwrap()
}

/// The one finding the shapes make, on any catalog of the protocol, and why it stays: the
/// Dataspace Protocol's context (`@protected`) defines a data service's `endpointURL` as a
/// plain term, so its string value is a literal, and the protocol's schema wants a string
/// there; DCAT-AP 3.0.0 wants `dcat:endpointURL` to be an IRI (`sh:nodeKind
/// sh:BlankNodeOrIRI`). No member of a catalog that follows the protocol can change that.
fn endpoint_url_is_a_literal(provider: &Connector) -> Finding {
    Finding::new(
        &format!("urn:symbolon:service:{}", provider.did()),
        "http://www.w3.org/ns/dcat#endpointURL",
        "NodeKindConstraintComponent",
    )
}

/// The HealthDCAT-AP context a health catalog names is served by its connector, so a JSON-LD
/// processor reading the catalog can fetch it; a catalog without health offers names none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_healthdcat_context_a_catalog_names_is_served_by_its_connector() {
    let provider = health_provider().await;
    let catalog = catalog_of(&provider).await;
    let contexts: Vec<&str> = catalog["@context"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(contexts.len(), 2, "{contexts:?}");
    assert_eq!(contexts[0], "https://w3id.org/dspace/2025/1/context.jsonld");
    let iri = contexts[1];
    assert!(
        iri.starts_with("http://127.0.0.1:") && iri.ends_with("/contexts/healthdcat-ap/v1"),
        "{iri}"
    );
    assert_eq!(
        dataset_of(&provider, "ward-stays").await["@context"][1],
        iri,
        "a dataset served on its own names the same context"
    );
    // Fetched without any credential, as a JSON-LD processor would.
    let response = http().get(iri).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/ld+json"
    );
    let served: Value = response.json().await.unwrap();
    assert_eq!(served, symbolon_connector::health::dcat::context_document());
    assert_eq!(
        served["@context"]["healthdcatap"],
        "http://healthdataportal.eu/ns/health#"
    );
    // Only GET: anything else is refused, as JSON.
    let response = http().post(iri).send().await.unwrap();
    assert_eq!(response.status(), 405);
    let refusal: Value = response.json().await.unwrap();
    assert_eq!(refusal["error"], "method_not_allowed", "{refusal}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalog_of_health_datasets_validates_against_the_healthdcat_ap_shapes() {
    let provider = health_provider().await;
    let catalog = catalog_of(&provider).await;
    let dataset = &catalog["dataset"][0];
    assert_eq!(
        dataset["dct:accessRights"]["@id"],
        "http://publications.europa.eu/resource/authority/access-right/NON_PUBLIC"
    );
    assert_eq!(dataset["healthdcatap:hdab"]["@id"], "did:web:hdab.example");
    assert_eq!(
        dataset["dcatap:applicableLegislation"]["@id"],
        "http://data.europa.eu/eli/reg/2025/327/oj"
    );
    // The catalog's publisher is the organisation, named as its membership names it.
    assert_eq!(catalog["dct:publisher"]["@id"], provider.did());
    assert_eq!(catalog["dct:publisher"]["foaf:name"], LEGAL_NAME);
    // A distribution's format is the protocol's, restated as a DCAT-AP format; its access
    // service is the catalog's data service.
    let distribution = &dataset["distribution"][0];
    assert_eq!(distribution["format"], distribution["dct:format"]["@id"]);
    assert_eq!(distribution["dct:format"]["@type"], "dct:MediaTypeOrExtent");
    assert_eq!(
        distribution["accessService"]["@id"],
        catalog["service"][0]["@id"]
    );

    let report = validate(&catalog).await;
    assert!(
        report.triples > 100,
        "the catalog read as RDF: {} triples",
        report.triples
    );
    assert!(!report.conforms);
    assert_eq!(
        report.findings(),
        vec![endpoint_url_is_a_literal(&provider)],
        "{:#?}",
        report.results
    );

    // The dataset served on its own validates too (its distributions carry the service).
    let document = dataset_of(&provider, "ward-stays").await;
    let report = validate(&document).await;
    assert_eq!(
        report.findings(),
        vec![endpoint_url_is_a_literal(&provider)],
        "{:#?}",
        report.results
    );

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
        let findings = validate(&spoilt).await.paths();
        assert!(
            findings.contains(&(path.to_owned(), constraint.to_owned())),
            "{spoil}: {findings:?}"
        );
    }
    let mut public = document.clone();
    public["dct:accessRights"]["@id"] =
        "http://publications.europa.eu/resource/authority/access-right/PUBLIC".into();
    let findings = validate(&public).await.paths();
    assert!(
        findings.contains(&("accessRights".into(), "HasValueConstraintComponent".into())),
        "{findings:?}"
    );
    // The format restated without its class, the access service as a bare id and the HDAB
    // with a second contact point: each is what the shapes refuse.
    let mut spoilt = document.clone();
    spoilt["distribution"][0]
        .as_object_mut()
        .unwrap()
        .remove("dct:format");
    spoilt["distribution"][0]["accessService"] =
        format!("urn:symbolon:service:{}", provider.did()).into();
    let second = json!({"@type": "cv:ContactPoint", "cv:email": "other@hdab.example"});
    spoilt["healthdcatap:hdab"]["cv:contactPoint"] = json!([
        spoilt["healthdcatap:hdab"]["cv:contactPoint"].clone(),
        second
    ]);
    let findings = validate(&spoilt).await.paths();
    for expected in [
        ("format", "ClassConstraintComponent"),
        ("accessService", "ClassConstraintComponent"),
        ("contactPoint", "MaxCountConstraintComponent"),
    ] {
        assert!(
            findings.contains(&(expected.0.into(), expected.1.into())),
            "{expected:?}: {findings:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_health_offers_catalog_dataset_and_offer_follow_the_protocol_schemas() {
    let provider = health_provider().await;
    let schemas = Schemas::load();
    let catalog = catalog_of(&provider).await;
    schemas.check("catalog/catalog-schema.json", &catalog);
    let dataset = dataset_of(&provider, "ward-stays").await;
    schemas.check("catalog/dataset-schema.json", &dataset);

    // Each EHDS rule is published as a rule of the offer named after its article, with the
    // protocol's operators only.
    let offer = &dataset["hasPolicy"][0];
    let prohibitions: Vec<&str> = offer["prohibition"]
        .as_array()
        .unwrap()
        .iter()
        .map(|rule| rule["@id"].as_str().unwrap())
        .collect();
    let mut expected: Vec<String> = [
        "ehds-art-53-1-a-c-public-sector",
        "ehds-art-53-1-purposes",
        "ehds-art-54-a-detrimental-decisions",
        "ehds-art-54-b-employment-insurance-credit",
        "ehds-art-54-c-advertising-marketing",
        "ehds-art-54-d-harmful-products",
        "ehds-art-68-data-permit",
        "ehds-art-68-data-permit-cell-size",
        "ehds-art-68-data-permit-required",
    ]
    .iter()
    .map(|article| format!("urn:symbolon:offer:ward-stays#{article}"))
    .collect();
    expected.sort();
    let mut named: Vec<String> = prohibitions.iter().map(|s| (*s).to_owned()).collect();
    named.sort();
    assert_eq!(named, expected);
    assert_eq!(
        offer["permission"][0]["@id"],
        "urn:symbolon:offer:ward-stays#ward-stays"
    );
    assert!(!offer.to_string().contains("isPresent"), "{offer:#}");
    let required = offer["prohibition"]
        .as_array()
        .unwrap()
        .iter()
        .find(|rule| rule["@id"] == expected[8])
        .unwrap();
    assert_eq!(
        required["constraint"][0],
        json!({"leftOperand": "https://w3id.org/symbolon/odrl/health#permitId", "operator": "eq",
               "rightOperand": {"@id": "https://w3id.org/symbolon/odrl/health#absent"}})
    );

    // The offer as the provider sends it to a consumer.
    let consumer = Identity::generate(KeyAlgorithm::Ed25519);
    let answer = json!({
        "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
        "@type": "ContractNegotiation",
        "providerPid": "urn:uuid:filled-in-by-the-test",
        "consumerPid": "urn:uuid:c-1",
        "state": "OFFERED",
    });
    let recorder = Recorder::start_with(vec![("/negotiations/offers", 201, answer)]).await;
    let (status, offered) = provider
        .post(
            "/api/v1/negotiations/offers",
            &json!({"consumer_url": format!("{}/dsp", recorder.url),
                    "consumer_did": consumer.did.as_str(), "offer_id": "ward-study"}),
        )
        .await;
    assert_eq!(status, 200, "{offered}");
    let message = recorder.wait_for("/dsp/negotiations/offers").await;
    assert_eq!(message["offer"]["target"], "ward-study");
    schemas.check("negotiation/contract-offer-message-schema.json", &message);
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
