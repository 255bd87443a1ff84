//! Scenario 1: the data space forms. The authority publishes the trust list and runs its
//! Issuer Service; every organisation asks it for its membership (Decentralized Claims
//! Protocol issuance) and gets it only because the authority's registry and issuance policy
//! say so; the ones that compute together join the peer network and authenticate each other by
//! those credentials.

use std::path::Path;

use serde_json::{json, Value};
use symbolon_identity::{issue_credential, Format, TrustList};

use super::cast::Org;
use super::{DemoError, Narrator};

/// The organisations, onboarded.
pub struct DataSpace {
    /// The data space's authority (issuer of memberships, anchor of the trust list).
    pub authority: Org,
    /// The insurer.
    pub insurer: Org,
    /// The hospital.
    pub hospital: Org,
    /// The statistics bureau: the analyst of the sessions.
    pub bureau: Org,
    /// Four employees, each holding its own salary.
    pub employees: Vec<Org>,
    /// The trial sponsor.
    pub sponsor: Org,
    /// Its three sites.
    pub sites: Vec<Org>,
    /// The auditor.
    pub auditor: Org,
}

impl DataSpace {
    /// Every organisation.
    pub fn everyone(&self) -> Vec<&Org> {
        let mut all = vec![&self.authority, &self.insurer, &self.hospital, &self.bureau];
        all.extend(&self.employees);
        all.push(&self.sponsor);
        all.extend(&self.sites);
        all.push(&self.auditor);
        all
    }
}

const SCENARIO: &str = "onboarding";

/// The authority's issuance policy: a membership for every registered organisation of a role
/// the data space knows.
const ISSUANCE_POLICY: &str = r#"
policy "members" {
  permit enroll on offer "DataSpaceMembershipCredential"
  when holder.role in ["Hospital", "Insurer", "StatisticsBureau", "TrialSponsor", "TrialSite", "Auditor"]
}
"#;

/// The sponsor's: a site credential for the sites it registered.
const SITE_POLICY: &str = r#"
policy "sites" {
  permit enroll on offer "TrialSiteCredential" when holder.role == "TrialSite"
}
"#;

/// Starts every organisation and onboards it.
pub async fn run(root: &Path, narrator: &mut Narrator<'_>) -> Result<DataSpace, DemoError> {
    narrator.scenario("1. Onboarding: every organisation asks the authority for its membership");
    let start = |name: &str, role: &str| Org::start(root, name, role);
    let space = DataSpace {
        authority: start("authority", "Authority")?,
        insurer: start("insurer", "Insurer")?,
        hospital: start("hospital", "Hospital")?,
        bureau: start("statistics-bureau", "StatisticsBureau")?,
        employees: (1..=4)
            .map(|i| start(&format!("employee-{i}"), "Hospital"))
            .collect::<Result<_, _>>()?,
        sponsor: start("trial-sponsor", "TrialSponsor")?,
        sites: (1..=3)
            .map(|i| start(&format!("site-{i}"), "TrialSite"))
            .collect::<Result<_, _>>()?,
        auditor: start("auditor", "Auditor")?,
    };
    narrator.step(
        SCENARIO,
        format!(
            "{} connectors started, each with its own DID, keystore and store",
            space.everyone().len()
        ),
    );

    let list = trust_list(&space).await?;
    for org in space.everyone() {
        org.put("/api/v1/trust-list", &json!({ "credential": list }))
            .await?;
    }
    narrator.step(
        SCENARIO,
        "the authority signed the trust list (itself for memberships and audits, the sponsor \
         for trial sites); every connector verified and installed it",
    );

    let registry: serde_json::Map<String, Value> = space
        .everyone()
        .into_iter()
        .filter(|org| org.name != "authority")
        .map(|org| {
            (
                org.did().to_owned(),
                json!({"legalName": format!("{} B.V.", org.name), "registrationNumber": format!("KvK-{}", org.name.len()),
                       "role": org.role, "dataSpaceId": "hds",
                       // The statistics bureau is a public-sector body (EHDS Art. 53(1)(c)).
                       "publicSector": org.role == "StatisticsBureau"}),
            )
        })
        .collect();
    space
        .authority
        .put(
            "/api/v1/issuer/registry",
            &json!({ "organisations": registry }),
        )
        .await?;
    space
        .authority
        .put(
            "/api/v1/issuer/config",
            &json!({"approval": "auto", "policy": ISSUANCE_POLICY}),
        )
        .await?;
    let mut issued = 0;
    for org in space
        .everyone()
        .into_iter()
        .filter(|o| o.name != "authority")
    {
        let onboarding = org
            .post(
                "/api/v1/onboarding",
                &json!({"authority_url": space.authority.url,
                        "credential_type": "DataSpaceMembershipCredential", "wait_seconds": 20}),
            )
            .await?;
        if onboarding["status"] != "ISSUED" {
            return Err(DemoError::Check(format!(
                "{}'s membership was not issued: {onboarding}",
                org.name
            )));
        }
        issued += 1;
    }
    narrator.step(
        SCENARIO,
        format!(
            "{issued} organisations asked for their membership over DCP; the authority's \
             registry and issuance policy approved each, signed it with a revocable status \
             entry and delivered it to the holder's Credential Service"
        ),
    );

    let computing: Vec<&Org> = [&space.bureau, &space.insurer, &space.hospital]
        .into_iter()
        .chain(&space.employees)
        .collect();
    let bootstrap = computing[0].join_peers(&[]).await?;
    for org in &computing[1..] {
        org.join_peers(&bootstrap).await?;
    }
    for org in &computing {
        org.wait_for_peers(computing.len() - 1).await?;
    }
    narrator.step(
        SCENARIO,
        format!(
            "{} connectors joined the peer network; each authenticated every other by its \
             membership presentation before anything else was allowed",
            computing.len()
        ),
    );
    Ok(space)
}

/// The data space's trust list, signed by the authority.
async fn trust_list(space: &DataSpace) -> Result<String, DemoError> {
    let entries = [
        (
            space.authority.did().to_owned(),
            [
                "DataSpaceMembershipCredential".to_owned(),
                "AuditorCredential".to_owned(),
            ]
            .into(),
        ),
        (
            space.sponsor.did().to_owned(),
            ["TrialSiteCredential".to_owned()].into(),
        ),
    ]
    .into();
    let unsigned = TrustList::credential(&space.authority.identity.did, "hds", &entries)
        .map_err(|e| DemoError::Check(e.to_string()))?;
    let signed = issue_credential(&space.authority.identity, unsigned, Format::Jwt)
        .await
        .map_err(|e| DemoError::Check(e.to_string()))?;
    Ok(signed.to_text())
}

/// The sponsor registers its sites and runs its own Issuer Service for them.
pub async fn configure_sponsor(space: &DataSpace) -> Result<(), DemoError> {
    let registry: serde_json::Map<String, Value> = space
        .sites
        .iter()
        .map(|site| {
            (
                site.did().to_owned(),
                json!({"legalName": format!("{} B.V.", site.name), "registrationNumber": "KvK-site",
                       "role": "TrialSite", "trialId": "CARDIO-7", "siteId": site.name}),
            )
        })
        .collect();
    space
        .sponsor
        .put(
            "/api/v1/issuer/registry",
            &json!({ "organisations": registry }),
        )
        .await?;
    space
        .sponsor
        .put(
            "/api/v1/issuer/config",
            &json!({"approval": "auto", "policy": SITE_POLICY}),
        )
        .await
        .map(drop)
}
