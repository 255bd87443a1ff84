//! The Symbolon credential vocabulary as an embedded JSON-LD context.
//!
//! It is registered with the JSON-LD loader on both the signing and the verifying side, so no
//! context is ever fetched from the network.

/// The URL of the Symbolon credentials context.
pub const SYMBOLON_CONTEXT: &str = "https://w3id.org/symbolon/v1";
/// The VC Data Model 2.0 base context.
pub const CREDENTIALS_V2_CONTEXT: &str = "https://www.w3.org/ns/credentials/v2";

/// The VC Data Model 1.1 base context (bundled with the JSON-LD loader, never fetched).
pub const CREDENTIALS_V1_CONTEXT: &str = "https://www.w3.org/2018/credentials/v1";
/// The Data Integrity context, which a VC 1.1 credential secured with a `DataIntegrityProof`
/// adds to its `@context` (VC 1.1's own context does not define the proof's terms).
pub const DATA_INTEGRITY_V2_CONTEXT: &str = "https://w3id.org/security/data-integrity/v2";

/// The Symbolon context document.
pub const SYMBOLON_CONTEXT_DOCUMENT: &str = r##"{
  "@context": {
    "@version": 1.1,
    "@protected": true,
    "sym": "https://w3id.org/symbolon/vocab#",
    "DataSpaceMembershipCredential": "sym:DataSpaceMembershipCredential",
    "ConsentCredential": "sym:ConsentCredential",
    "TrialSiteCredential": "sym:TrialSiteCredential",
    "AuditorCredential": "sym:AuditorCredential",
    "TrustListCredential": "sym:TrustListCredential",
    "DataPermitCredential": "sym:DataPermitCredential",
    "legalName": "sym:legalName",
    "registrationNumber": "sym:registrationNumber",
    "publicSector": {"@id": "sym:publicSector", "@type": "http://www.w3.org/2001/XMLSchema#boolean"},
    "role": "sym:role",
    "dataSpaceId": "sym:dataSpaceId",
    "datasetId": "sym:datasetId",
    "cohortId": "sym:cohortId",
    "purposes": {"@id": "sym:purposes", "@container": "@set"},
    "scope": "sym:scope",
    "consentGivenAt": {"@id": "sym:consentGivenAt", "@type": "http://www.w3.org/2001/XMLSchema#dateTime"},
    "trialId": "sym:trialId",
    "siteId": "sym:siteId",
    "sponsor": {"@id": "sym:sponsor", "@type": "@id"},
    "auditScope": "sym:auditScope",
    "trustedIssuers": {"@id": "sym:trustedIssuers", "@container": "@set"},
    "issuerDid": {"@id": "sym:issuerDid", "@type": "@id"},
    "credentialTypes": {"@id": "sym:credentialTypes", "@container": "@set"},
    "permitId": "sym:permitId",
    "purpose": "sym:purpose",
    "datasets": {"@id": "sym:datasets", "@container": "@set"},
    "authorisedPersons": {"@id": "sym:authorisedPersons", "@container": "@set"},
    "principalInvestigator": {"@id": "sym:principalInvestigator", "@type": "http://www.w3.org/2001/XMLSchema#boolean"},
    "outputMode": "sym:outputMode",
    "minimumCellSize": {"@id": "sym:minimumCellSize", "@type": "http://www.w3.org/2001/XMLSchema#integer"}
  }
}"##;

/// Every context this crate embeds, by URL.
pub fn embedded() -> &'static [(&'static str, &'static str)] {
    &[(SYMBOLON_CONTEXT, SYMBOLON_CONTEXT_DOCUMENT)]
}

/// Contexts a Symbolon verifier accepts in a credential's `@context`.
pub fn is_known_context(url: &str) -> bool {
    matches!(
        url,
        CREDENTIALS_V2_CONTEXT
            | CREDENTIALS_V1_CONTEXT
            | SYMBOLON_CONTEXT
            | DATA_INTEGRITY_V2_CONTEXT
            | "https://www.w3.org/ns/credentials/examples/v2"
            | "https://w3id.org/security/multikey/v1"
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn embedded_contexts_are_json() {
        for (url, body) in super::embedded() {
            let value: serde_json::Value = serde_json::from_str(body).unwrap();
            assert!(value.get("@context").is_some(), "{url}");
        }
    }
}
