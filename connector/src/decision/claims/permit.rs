//! `permit.*`: the attributes a policy reads from a verified `DataPermitCredential`, the data
//! permit a health data access body (HDAB) issued to the holder (EHDS Art. 68).
//!
//! Only a credential that verified reaches here: signed by an issuer the trust list trusts for
//! `DataPermitCredential`, within its validity, its status entry not revoked or suspended, about
//! the holder. A holder may present several permits; the decision reads the one that covers the
//! dataset asked for (`permit covers request.dataset`), else the first.

use serde_json::{Map, Value};

/// The credential type of a data permit.
pub(crate) const TYPE: &str = "DataPermitCredential";

/// The `permit` attributes of a verified data permit `document` signed by `issuer`.
pub(crate) fn attributes(issuer: &str, document: &Value) -> Map<String, Value> {
    let subject = symbolon_identity::json::one_or_many(document.get("credentialSubject"))
        .first()
        .and_then(|s| s.as_object())
        .cloned()
        .unwrap_or_default();
    let mut out = Map::new();
    let mut put = |name: &str, value: Option<Value>| {
        if let Some(value) = value.filter(|v| !v.is_null()) {
            out.insert(name.into(), value);
        }
    };
    put("id", subject.get("permitId").cloned());
    put("issuer", Some(issuer.into()));
    put("purpose", subject.get("purpose").cloned());
    put("datasets", subject.get("datasets").cloned());
    let persons = subject
        .get("authorisedPersons")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let ids: Vec<Value> = persons
        .iter()
        .filter_map(|p| p.get("id").and_then(Value::as_str).map(Value::from))
        .collect();
    put("persons", Some(Value::Array(ids)));
    put(
        "principal_investigator",
        persons
            .iter()
            .find(|p| p.get("principalInvestigator") == Some(&Value::Bool(true)))
            .and_then(|p| p.get("id").cloned()),
    );
    put("output", subject.get("outputMode").cloned());
    put("min_cell_size", subject.get("minimumCellSize").cloned());
    put("valid_from", document.get("validFrom").cloned());
    put("valid_until", document.get("validUntil").cloned());
    out
}

/// Whether the permit attributes `permit` name `dataset`.
fn names_dataset(permit: &Map<String, Value>, dataset: &str) -> bool {
    permit
        .get("datasets")
        .and_then(Value::as_array)
        .is_some_and(|d| d.iter().any(|d| d.as_str() == Some(dataset)))
}

/// The index of the permit a decision on `dataset` reads: the first that names it, else the
/// first.
pub(crate) fn choose(permits: &[Map<String, Value>], dataset: Option<&str>) -> Option<usize> {
    if permits.is_empty() {
        return None;
    }
    let covering = dataset.and_then(|d| permits.iter().position(|p| names_dataset(p, d)));
    Some(covering.unwrap_or(0))
}

/// `"<permit id>" of <issuer>` for a data permit document, to name it in a refusal.
pub(crate) fn reference(document: &Value) -> Option<String> {
    let types = symbolon_identity::credential::specific_types(document);
    if !types.iter().any(|t| t == TYPE) {
        return None;
    }
    let id = symbolon_identity::json::one_or_many(document.get("credentialSubject"))
        .first()
        .and_then(|s| s.get("permitId"))
        .and_then(Value::as_str)
        .unwrap_or("(no permitId)")
        .to_owned();
    let issuer = symbolon_identity::credential::issuer_id(document).unwrap_or("(no issuer)");
    Some(format!("\"{id}\" of {issuer}"))
}

/// The output mode of a permit that releases anonymised statistics only (EHDS Art. 69).
pub(crate) const ANONYMISED_STATISTICS: &str = "anonymised-statistics";

/// Why a record-level transfer of `dataset` is refused under an agreement resting on
/// `grounds`: one of them is a data permit covering the dataset whose output mode is
/// `anonymised-statistics` (Art. 69: only anonymised statistical results leave, which an MPC
/// computation releases through disclosure control). `None`: no such permit.
pub(crate) fn statistics_only(grounds: &[Value], dataset: &str) -> Option<String> {
    grounds.iter().find_map(|document| {
        let named = reference(document)?;
        let subject = symbolon_identity::json::one_or_many(document.get("credentialSubject"))
            .first()
            .cloned()
            .cloned()
            .unwrap_or(Value::Null);
        let covers = subject
            .get("datasets")
            .and_then(Value::as_array)
            .is_some_and(|d| d.iter().any(|d| d.as_str() == Some(dataset)));
        let mode = subject.get("outputMode").and_then(Value::as_str);
        (covers && mode == Some(ANONYMISED_STATISTICS)).then(|| {
            format!(
                "data permit {named} has output mode `{ANONYMISED_STATISTICS}` (EHDS Art. 69): \
                 only anonymised statistics may leave under it, so a record-level transfer of \
                 dataset `{dataset}` is refused; ask for an aggregate computation instead"
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn document() -> Value {
        json!({
            "type": ["VerifiableCredential", TYPE],
            "issuer": "did:web:hdab.example",
            "validFrom": "2026-01-01T00:00:00Z",
            "validUntil": "2027-01-01T00:00:00Z",
            "credentialSubject": {
                "id": "did:web:insurer.example", "permitId": "P-1",
                "purpose": "scientific-research", "datasets": ["a", "b"],
                "authorisedPersons": [{"id": "did:web:pi.example", "principalInvestigator": true},
                                      {"id": "did:web:insurer.example"}],
                "outputMode": "anonymised-statistics", "minimumCellSize": 10
            }
        })
    }

    #[test]
    fn every_claim_becomes_its_attribute() {
        let permit = attributes("did:web:hdab.example", &document());
        assert_eq!(
            Value::Object(permit),
            json!({"id": "P-1", "issuer": "did:web:hdab.example", "purpose": "scientific-research",
                   "datasets": ["a", "b"], "persons": ["did:web:pi.example", "did:web:insurer.example"],
                   "principal_investigator": "did:web:pi.example",
                   "output": "anonymised-statistics", "min_cell_size": 10,
                   "valid_from": "2026-01-01T00:00:00Z", "valid_until": "2027-01-01T00:00:00Z"})
        );
    }

    #[test]
    fn the_permit_naming_the_dataset_is_chosen() {
        let first = attributes("i", &document());
        let mut other = document();
        other["credentialSubject"]["datasets"] = json!(["c"]);
        let second = attributes("i", &other);
        let both = [first, second];
        assert_eq!(choose(&both, Some("c")), Some(1));
        assert_eq!(choose(&both, Some("a")), Some(0));
        assert_eq!(choose(&both, Some("z")), Some(0));
        assert_eq!(choose(&[], Some("a")), None);
        assert_eq!(
            reference(&document()).as_deref(),
            Some("\"P-1\" of did:web:hdab.example")
        );
    }

    #[test]
    fn only_an_anonymised_statistics_permit_covering_the_dataset_refuses_records() {
        let why = statistics_only(
            &[json!({"type": ["VerifiableCredential", "X"]}), document()],
            "a",
        )
        .unwrap();
        assert!(why.contains("\"P-1\" of did:web:hdab.example"), "{why}");
        assert!(why.contains("Art. 69"), "{why}");
        assert_eq!(statistics_only(&[document()], "c"), None, "another dataset");
        let mut secure = document();
        secure["credentialSubject"]["outputMode"] = "secure-processing".into();
        assert_eq!(statistics_only(&[secure], "a"), None);
        assert_eq!(statistics_only(&[], "a"), None);
    }
}
