//! What the unit tests share: an offer with its policy, and members of a data space holding
//! credentials from its authority.

use serde_json::json;
use symbolon_identity::{issue_credential, Format, Identity, KeyAlgorithm, Secured, TrustList};

use crate::domain::{now, Offer, OfferKind};

/// A policy letting hospitals and insurers of `hds` use `ward-statistics`.
pub const POLICY: &str = r#"
policy "hospital-statistics" {
  permit use on offer "ward-statistics"
  when holder.role in ["Hospital", "Insurer"] and holder.member_of == "hds"
  obligation delete_after { days = 30 }
}
"#;

/// The offer `ward-statistics` under [`POLICY`].
pub fn offer() -> Offer {
    Offer {
        id: "ward-statistics".into(),
        title: "Ward statistics".into(),
        description: String::new(),
        kind: OfferKind::Dataset,
        action: "use".into(),
        policy: POLICY.into(),
        source: None,
        binding: None,
        decision: Default::default(),
        health: None,
        created: now(),
    }
}

/// A data space's authority.
pub struct Authority {
    /// Its identity.
    pub identity: Identity,
}

impl Authority {
    /// A new authority.
    pub fn new() -> Self {
        Authority {
            identity: Identity::generate(KeyAlgorithm::Ed25519),
        }
    }

    /// Its signed trust list naming it for memberships of `hds`.
    pub async fn trust_list(&self) -> Secured {
        let credential = TrustList::credential(&self.identity.did, "hds", &self.entries()).unwrap();
        issue_credential(&self.identity, credential, Format::Jwt)
            .await
            .unwrap()
    }

    /// The trust list's content, as a verifier holds it.
    pub fn list(&self) -> TrustList {
        let credential = TrustList::credential(&self.identity.did, "hds", &self.entries()).unwrap();
        TrustList::from_verified_credential(&credential).unwrap()
    }

    fn entries(&self) -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
        [(
            self.identity.did.as_str().to_owned(),
            ["DataSpaceMembershipCredential".to_owned()].into(),
        )]
        .into()
    }

    /// A membership of `hds` with `role` for `holder`.
    pub async fn membership(&self, holder: &Identity, role: &str) -> Secured {
        let membership = json!({
            "@context": ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/symbolon/v1"],
            "type": ["VerifiableCredential", "DataSpaceMembershipCredential"],
            "issuer": self.identity.did.as_str(),
            "validFrom": now(),
            "credentialSubject": {"id": holder.did.as_str(), "legalName": "Ward B.V.",
                                  "registrationNumber": "KvK-1", "role": role, "dataSpaceId": "hds"}
        });
        issue_credential(&self.identity, membership, Format::Jwt)
            .await
            .unwrap()
    }
}
