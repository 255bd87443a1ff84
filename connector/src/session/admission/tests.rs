use std::sync::Arc;

use serde_json::json;
use symbolon_identity::{Identity, KeyAlgorithm};
use symbolon_policy::Schema;

use super::*;
use crate::domain::{now, Offer, OfferKind};
use crate::session::manifest::tests::salary;

const POLICY: &str = r#"
policy "salary-statistics" {
  permit join_computation on offer "salaries"
  when holder.role == "StatisticsBureau" and holder.member_of == "hds"
   and session.program in ["mean", "sum"] and session.min_group_size >= 4
   and request.purpose == "official-statistics"
}
"#;

/// A change to a manifest.
type Change = Box<dyn FnOnce(&mut Manifest)>;

/// The `salaries` computation offer with `policy`, compiled.
fn compiled(policy: &str) -> CompiledOffer {
    let offer = Offer {
        id: "salaries".into(),
        title: "Salaries".into(),
        description: String::new(),
        kind: OfferKind::Computation,
        action: "join_computation".into(),
        policy: policy.into(),
        source: None,
        binding: None,
        decision: Default::default(),
        health: None,
        created: now(),
    };
    CompiledOffer::compile(&offer, &Arc::new(Schema::health())).unwrap()
}

struct Case {
    analyst: Identity,
    holder: Identity,
    agreement: Agreement,
    offer: CompiledOffer,
}

fn case(role: &str) -> Case {
    let (analyst, holder) = (
        Identity::generate(KeyAlgorithm::Ed25519),
        Identity::generate(KeyAlgorithm::Ed25519),
    );
    let membership = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential", "DataSpaceMembershipCredential"],
        "issuer": "did:key:z6MkAuthority",
        "credentialSubject": {"id": analyst.did.as_str(), "role": role, "dataSpaceId": "hds"}
    });
    let offer = compiled(POLICY);
    let agreement = Agreement {
        id: "urn:uuid:agreement-1".into(),
        offer_id: "salaries".into(),
        provider: holder.did.as_str().to_owned(),
        assignee: analyst.did.as_str().to_owned(),
        provider_pid: "urn:uuid:p".into(),
        consumer_pid: "urn:uuid:c".into(),
        action: "join_computation".into(),
        obligations: Vec::new(),
        policy: Some(POLICY.into()),
        odrl: json!({}),
        signature: None,
        timestamp: now(),
        grounds: vec![membership],
        withdrawn: None,
    };
    Case {
        analyst,
        holder,
        agreement,
        offer,
    }
}

impl Case {
    fn manifest(&self) -> Manifest {
        salary(&self.analyst, &[(&self.holder, &self.agreement.id)])
    }

    fn admit(&self, manifest: &Manifest) -> Result<(), Refusal> {
        self.admit_with_roles(manifest, &["StatisticsBureau", "Insurer"])
    }

    fn admit_with_roles(&self, manifest: &Manifest, roles: &[&str]) -> Result<(), Refusal> {
        let roles = roles.iter().map(|r| (*r).to_owned()).collect();
        admit(Admission {
            manifest,
            holder: self.holder.did.as_str(),
            agreement: &self.agreement,
            offer: &self.offer,
            party_roles: &roles,
            now: chrono::Utc::now(),
        })
    }

    fn refused(&self, change: impl FnOnce(&mut Manifest)) -> Refusal {
        let mut manifest = self.manifest();
        change(&mut manifest);
        self.admit(&manifest).unwrap_err()
    }
}

#[test]
fn a_manifest_within_the_agreement_and_the_policy_is_admitted() {
    let case = case("StatisticsBureau");
    assert_eq!(case.admit(&case.manifest()), Ok(()));
}

#[test]
fn each_way_out_of_the_agreement_is_refused_with_its_code() {
    let case = case("StatisticsBureau");
    let holder = case.holder.did.as_str().to_owned();
    let cases: Vec<(&str, Change)> = vec![
        (
            "mpc:program-not-allowed",
            Box::new(|m| m.program.id = "histogram".into()),
        ),
        ("mpc:k-too-small", Box::new(|m| m.min_group_size = 2)),
        (
            "mpc:purpose-not-allowed",
            Box::new(|m| m.purpose = "marketing".into()),
        ),
        (
            "mpc:recipient-not-allowed",
            Box::new(|m| m.recipients.push("did:key:z6MkSomeoneElse".into())),
        ),
        (
            "mpc:not-a-party",
            Box::new(move |m| m.parties.retain(|p| p.did != holder)),
        ),
        (
            "mpc:no-agreement",
            Box::new(|m| m.parties[0].agreement = Some("urn:uuid:another".into())),
        ),
        (
            "mpc:no-agreement",
            Box::new(|m| m.iss = "did:key:z6MkAnotherAnalyst".into()),
        ),
        (
            "mpc:expired",
            Box::new(|m| m.join_deadline = "2020-01-01T00:00:00Z".into()),
        ),
        (
            "mpc:malformed",
            Box::new(|m| m.join_deadline = "tomorrow".into()),
        ),
    ];
    for (code, change) in cases {
        let refusal = case.refused(change);
        assert_eq!(refusal.code, code, "{refusal}");
        assert!(!refusal.reason.is_empty());
    }
}

#[test]
fn an_analyst_whose_credentials_do_not_fit_the_policy_is_refused() {
    let case = case("Pharmacy");
    let refusal = case.admit(&case.manifest()).unwrap_err();
    assert_eq!(refusal.code, "mpc:analyst-not-entitled");
    assert!(refusal.reason.contains("Pharmacy"), "{}", refusal.reason);
}

#[test]
fn a_policy_naming_only_some_session_attributes_admits() {
    let mut case = case("StatisticsBureau");
    let policy = r#"policy "statistics" { permit join_computation on offer "salaries" when holder.role == "StatisticsBureau" and holder.member_of == "hds" and session.min_group_size >= 4 }"#;
    case.offer = compiled(policy);
    assert_eq!(case.admit(&case.manifest()), Ok(()));
}

#[test]
fn a_policy_can_require_the_roles_of_the_other_parties() {
    let mut case = case("StatisticsBureau");
    let policy = r#"policy "statistics" { permit join_computation on offer "salaries" when holder.role == "StatisticsBureau" and session.party_roles contains_all ["Insurer", "StatisticsBureau"] }"#;
    case.offer = compiled(policy);
    assert_eq!(case.admit(&case.manifest()), Ok(()));
    let refusal = case
        .admit_with_roles(&case.manifest(), &["StatisticsBureau", "Pharmacy"])
        .unwrap_err();
    assert_eq!(refusal.code, "mpc:roster-unverified", "{refusal}");
    assert!(refusal.reason.contains("party_roles"), "{}", refusal.reason);
}
