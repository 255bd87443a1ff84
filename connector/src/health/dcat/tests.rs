use super::*;

pub(crate) fn sample() -> HealthDcat {
    serde_json::from_value(json!({
        "hdab": {"id": "did:web:hdab.example", "name": "Health Data Access Body",
                 "email": "permits@hdab.example"},
        "publisher": {"id": "did:web:hospital.example", "name": "Hospital",
                      "url": "https://hospital.example/data"},
        "contact_point": {"email": "data@hospital.example"},
        "keywords": ["wards"], "health_categories": ["EHRS"],
        "dataset_type": "STATISTICAL", "provenance": "The hospital's EHR",
        "number_of_records": 1200, "number_of_unique_individuals": 900,
        "personal_data": true
    }))
    .unwrap()
}

#[test]
fn a_sound_description_checks() {
    sample().check().unwrap();
    let error = refuse("health_categories[1]", "x");
    assert_eq!(error.pointer(), "/health/dcat/health_categories/1");
}

#[test]
fn each_defect_is_refused_naming_its_member() {
    type Spoil = Box<dyn Fn(&mut HealthDcat)>;
    let cases: Vec<(Spoil, &str)> = vec![
        (
            Box::new(|d: &mut HealthDcat| d.hdab.email = Some("nobody".into())),
            "hdab.email",
        ),
        (
            Box::new(|d: &mut HealthDcat| {
                d.hdab.email = None;
                d.hdab.url = None;
            }),
            "hdab",
        ),
        (
            Box::new(|d: &mut HealthDcat| d.publisher.id = Some("not an iri".into())),
            "publisher.id",
        ),
        (
            Box::new(|d: &mut HealthDcat| d.contact_point.email = None),
            "contact_point",
        ),
        (
            Box::new(|d: &mut HealthDcat| d.keywords.clear()),
            "keywords",
        ),
        (
            Box::new(|d: &mut HealthDcat| d.health_categories.push("EHR".into())),
            "health_categories[1]",
        ),
        (
            Box::new(|d: &mut HealthDcat| d.dataset_type = "statistical".into()),
            "dataset_type",
        ),
        (
            Box::new(|d: &mut HealthDcat| d.provenance = " ".into()),
            "provenance",
        ),
        (
            Box::new(|d: &mut HealthDcat| d.number_of_unique_individuals = Some(1201)),
            "number_of_unique_individuals",
        ),
        (
            Box::new(|d: &mut HealthDcat| {
                d.min_typical_age = Some(70);
                d.max_typical_age = Some(20);
            }),
            "min_typical_age",
        ),
        (
            Box::new(|d: &mut HealthDcat| d.max_typical_age = Some(151)),
            "max_typical_age",
        ),
        (
            Box::new(|d: &mut HealthDcat| {
                d.retention_period = Some(Period {
                    start: "2026-13-01".into(),
                    end: None,
                })
            }),
            "retention_period.start",
        ),
        (
            Box::new(|d: &mut HealthDcat| {
                d.retention_period = Some(Period {
                    start: "2026-01-01".into(),
                    end: Some("2025-01-01".into()),
                })
            }),
            "retention_period.end",
        ),
        (
            Box::new(|d: &mut HealthDcat| d.legal_basis = vec!["A9-2-z".into()]),
            "legal_basis[0]",
        ),
    ];
    for (spoil, member) in cases {
        let mut description = sample();
        spoil(&mut description);
        let error = description.check().unwrap_err();
        assert_eq!(error.member, member, "{error}");
        assert!(
            error
                .to_string()
                .starts_with(&format!("field `health.dcat.{member}`: ")),
            "{error}"
        );
        assert!(
            error.pointer().starts_with("/health/dcat/"),
            "{}",
            error.pointer()
        );
    }
}

#[test]
fn the_fixed_terms_of_a_non_public_health_dataset_are_always_there() {
    let members = sample().members("o", "Title", "Description");
    assert_eq!(members["dct:accessRights"]["@id"], NON_PUBLIC);
    assert_eq!(members["dcatap:applicableLegislation"]["@id"], EHDS_ELI);
    assert_eq!(members["healthdcatap:hasStructuredData"], false);
    assert_eq!(
        members["healthdcatap:numberOfRecords"],
        json!({"@value": "1200", "@type": "xsd:nonNegativeInteger"})
    );
}
