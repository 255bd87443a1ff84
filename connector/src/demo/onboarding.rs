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

    /// Every organisation but the authority: the members.
    pub fn members(&self) -> Vec<&Org> {
        let mut all = self.everyone();
        all.remove(0);
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

    install_trust_list(&space.authority, &space.members(), Some(&space.sponsor)).await?;
    narrator.step(
        SCENARIO,
        "the authority signed the trust list (itself for memberships, audits and, as health \
         data access body, data permits; the sponsor for trial sites); every connector \
         verified and installed it",
    );
    let issued = admit(&space.authority, &space.members()).await?;
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
    join_peer_network(&computing).await?;
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

/// Forms a data space (`hds`) of `members` around `authority`, as their operators would
/// through their management APIs: [`install_trust_list`], then [`admit`]. The number of
/// memberships issued.
pub async fn form(
    authority: &Org,
    members: &[&Org],
    site_issuer: Option<&Org>,
) -> Result<usize, DemoError> {
    install_trust_list(authority, members, site_issuer).await?;
    admit(authority, members).await
}

/// The authority signs the data space's trust list — itself trusted for memberships, audits and
/// data permits (it is the health data access body), `site_issuer` (a trial sponsor) for trial
/// sites — and it and every member verify and install it.
pub async fn install_trust_list(
    authority: &Org,
    members: &[&Org],
    site_issuer: Option<&Org>,
) -> Result<(), DemoError> {
    let list = trust_list(authority, site_issuer).await?;
    for org in std::iter::once(authority).chain(members.iter().copied()) {
        org.put("/api/v1/trust-list", &json!({ "credential": list }))
            .await?;
    }
    Ok(())
}

/// The authority registers each member under its role ([`Org::role`]) and issues memberships
/// by its issuance policy; each member asks for its `DataSpaceMembershipCredential` over DCP and
/// holds it once issued. The number issued.
pub async fn admit(authority: &Org, members: &[&Org]) -> Result<usize, DemoError> {
    let registry: serde_json::Map<String, Value> = members
        .iter()
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
    authority
        .put(
            "/api/v1/issuer/registry",
            &json!({ "organisations": registry }),
        )
        .await?;
    authority
        .put(
            "/api/v1/issuer/config",
            &json!({"approval": "auto", "policy": ISSUANCE_POLICY}),
        )
        .await?;
    for org in members {
        org.request_credential(authority, "DataSpaceMembershipCredential")
            .await?;
    }
    Ok(members.len())
}

/// Joins `orgs` to the peer network on 127.0.0.1, the first one the others bootstrap from, and
/// waits until each has authenticated every other by its membership presentation.
pub async fn join_peer_network(orgs: &[&Org]) -> Result<(), DemoError> {
    let Some((first, others)) = orgs.split_first() else {
        return Ok(());
    };
    let bootstrap = first.join_peers(&[]).await?;
    for org in others {
        org.join_peers(&bootstrap).await?;
    }
    for org in orgs {
        org.wait_for_peers(orgs.len() - 1).await?;
    }
    Ok(())
}

/// The data space's trust list, signed by the authority.
async fn trust_list(authority: &Org, site_issuer: Option<&Org>) -> Result<String, DemoError> {
    let mut entries: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> = [(
        authority.did().to_owned(),
        [
            "DataSpaceMembershipCredential".to_owned(),
            "AuditorCredential".to_owned(),
            // The authority is also the space's health data access body (EHDS Art. 55).
            "DataPermitCredential".to_owned(),
        ]
        .into(),
    )]
    .into();
    if let Some(sponsor) = site_issuer {
        entries.insert(
            sponsor.did().to_owned(),
            ["TrialSiteCredential".to_owned()].into(),
        );
    }
    let unsigned = TrustList::credential(&authority.identity.did, "hds", &entries)
        .map_err(|e| DemoError::Check(e.to_string()))?;
    let signed = issue_credential(&authority.identity, unsigned, Format::Jwt)
        .await
        .map_err(|e| DemoError::Check(e.to_string()))?;
    Ok(signed.to_text())
}

/// The sponsor registers `sites` for trial `trial_id` and runs its own Issuer Service for them:
/// a registered trial site that asks for a `TrialSiteCredential` gets one, naming the trial and
/// the site (its name).
pub async fn register_sites(
    sponsor: &Org,
    sites: &[&Org],
    trial_id: &str,
) -> Result<(), DemoError> {
    let registry: serde_json::Map<String, Value> = sites
        .iter()
        .map(|site| {
            (
                site.did().to_owned(),
                json!({"legalName": format!("{} B.V.", site.name), "registrationNumber": "KvK-site",
                       "role": "TrialSite", "trialId": trial_id, "siteId": site.name}),
            )
        })
        .collect();
    sponsor
        .put(
            "/api/v1/issuer/registry",
            &json!({ "organisations": registry }),
        )
        .await?;
    sponsor
        .put(
            "/api/v1/issuer/config",
            &json!({"approval": "auto", "policy": SITE_POLICY}),
        )
        .await
        .map(drop)
}
