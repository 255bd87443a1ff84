//! Data permits as credentials: a health data access body's Issuer Service issues each permit
//! its registry grants an organisation as a `DataPermitCredential` about it, valid for the
//! permit's own period (not the issuer's default validity), with a status entry so the body can
//! revoke it.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::domain::{GrantedPermit, Organisation};

/// The credential type of a data permit.
pub const TYPE: &str = "DataPermitCredential";

/// The unsigned credential of `permit`, issued by `issuer` about `holder`.
pub fn document(issuer: &str, holder: &str, permit: &GrantedPermit) -> Value {
    json!({
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/symbolon/v1"],
        "type": ["VerifiableCredential", TYPE],
        "issuer": issuer,
        "validFrom": permit.valid_from,
        "validUntil": permit.valid_until,
        "credentialSubject": {
            "id": holder,
            "permitId": permit.permit_id,
            "purpose": permit.purpose,
            "datasets": permit.datasets,
            "authorisedPersons": permit.authorised_persons,
            "outputMode": permit.output_mode,
            "minimumCellSize": permit.minimum_cell_size,
        },
    })
}

/// The credentials of the permits `organisation` holds that have not ended at `now`; why none
/// can be issued.
pub fn documents(
    issuer: &str,
    holder: &str,
    organisation: &Organisation,
    now: DateTime<Utc>,
) -> Result<Vec<Value>, String> {
    let current: Vec<Value> = organisation
        .permits
        .iter()
        .filter(|p| {
            symbolon_identity::credential::parse_time(&p.valid_until).is_none_or(|t| t > now)
        })
        .map(|p| document(issuer, holder, p))
        .collect();
    if current.is_empty() {
        return Err(format!(
            "the registry holds no current data permit for `{holder}`"
        ));
    }
    Ok(current)
}

/// Checks the permits of a registry entry as their credentials would be checked, so a
/// malformed permit is refused when the operator stores it, not when it is asked for: the
/// error names the organisation, the permit and the claim.
pub fn check(holder: &str, organisation: &Organisation) -> Result<(), String> {
    for (i, permit) in organisation.permits.iter().enumerate() {
        // A placeholder issuer: only the document's shape is checked here.
        let draft = document("did:web:issuer.invalid", holder, permit);
        let checked = symbolon_identity::credential::validate(&draft)
            .and_then(|()| symbolon_identity::schemas::check(&draft));
        if let Err(error) = checked {
            return Err(format!(
                "field `organisations/{holder}/permits/{i}` (permit `{}`): {error}",
                permit.permit_id
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::AuthorisedPerson;

    fn permit(until: &str) -> GrantedPermit {
        GrantedPermit {
            permit_id: "P-1".into(),
            purpose: "scientific-research".into(),
            datasets: vec!["ward-statistics".into()],
            authorised_persons: vec![AuthorisedPerson {
                id: "did:web:pi.example".into(),
                principal_investigator: true,
            }],
            output_mode: "anonymised-statistics".into(),
            minimum_cell_size: 10,
            valid_from: "2000-01-01T00:00:00Z".into(),
            valid_until: until.into(),
        }
    }

    fn organisation(permits: Vec<GrantedPermit>) -> Organisation {
        Organisation {
            legal_name: "Insurer B.V.".into(),
            registration_number: "KvK-9".into(),
            role: "Insurer".into(),
            data_space_id: Some("hds".into()),
            trial_id: None,
            site_id: None,
            public_sector: None,
            permits,
        }
    }

    #[test]
    fn each_current_permit_is_a_valid_credential_for_its_own_period() {
        let now = chrono::Utc::now();
        let org = organisation(vec![
            permit("2999-01-01T00:00:00Z"),
            permit("2001-01-01T00:00:00Z"),
        ]);
        let documents =
            documents("did:web:hdab.example", "did:web:insurer.example", &org, now).unwrap();
        assert_eq!(documents.len(), 1, "the ended permit is not issued");
        assert_eq!(documents[0]["validUntil"], "2999-01-01T00:00:00Z");
        symbolon_identity::credential::validate(&documents[0]).unwrap();
        check("did:web:insurer.example", &org).unwrap();
    }

    #[test]
    fn a_malformed_permit_is_refused_naming_the_claim() {
        let mut bad = permit("2999-01-01T00:00:00Z");
        bad.output_mode = "raw-export".into();
        let error = check("did:web:x", &organisation(vec![bad])).unwrap_err();
        assert!(
            error.contains("permits/0") && error.contains("outputMode"),
            "{error}"
        );
        let none = documents(
            "i",
            "did:web:x",
            &organisation(Vec::new()),
            chrono::Utc::now(),
        )
        .unwrap_err();
        assert!(none.contains("no current data permit"), "{none}");
    }
}
