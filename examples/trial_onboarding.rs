//! A trial sponsor onboards three sites, revokes one, and the revoked site is refused.
//!
//! The data space's authority trusts the sponsor to issue `TrialSiteCredential`s. The sponsor
//! registers its three sites for trial CARDIO-7 and runs its own Issuer Service; each site asks
//! for its credential over DCP and gets it. The sponsor offers the trial protocol to sites of
//! CARDIO-7; every site obtains it by presenting its credential. Then the sponsor revokes
//! site-3's credential, and site-3's next request is refused, the reason naming the revocation.
//!
//! ```sh
//! cargo run --example trial_onboarding
//! ```

use std::path::Path;

use serde_json::{json, Value};
use symbolon::connector::demo::{form, register_sites, Org};

/// The sponsor's offer: the trial protocol, for sites of CARDIO-7 only.
const POLICY: &str = r#"policy "trial" {
  permit use on offer "protocol-v3" when holder.trial_id == "CARDIO-7"
}"#;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let outcome = run(dir.path()).await?;
    println!(
        "sites that obtained the protocol: {}",
        outcome.agreed.join(", ")
    );
    println!(
        "{} was revoked; its next request was refused:",
        outcome.revoked
    );
    for reason in &outcome.refusal {
        println!("  {reason}");
    }
    Ok(())
}

/// What the example found.
pub struct Outcome {
    /// The sites that obtained the protocol while their credentials were valid.
    pub agreed: Vec<String>,
    /// The site whose credential the sponsor revoked.
    pub revoked: String,
    /// The reasons its next request was refused.
    pub refusal: Vec<String>,
}

/// Runs the example with the connectors' data directories under `root`.
pub async fn run(root: &Path) -> anyhow::Result<Outcome> {
    let authority = Org::start(root, "authority", "Authority")?;
    let sponsor = Org::start(root, "trial-sponsor", "TrialSponsor")?;
    let sites = (1..=3)
        .map(|i| Org::start(root, &format!("site-{i}"), "TrialSite"))
        .collect::<Result<Vec<_>, _>>()?;
    let sites: Vec<&Org> = sites.iter().collect();
    let mut members = vec![&sponsor];
    members.extend(&sites);
    // The trust list names the sponsor as the issuer of trial-site credentials.
    form(&authority, &members, Some(&sponsor)).await?;

    // The sponsor registers its sites; each asks it for its TrialSiteCredential over DCP.
    register_sites(&sponsor, &sites, "CARDIO-7").await?;
    for site in &sites {
        site.request_credential(&sponsor, "TrialSiteCredential")
            .await?;
    }

    // The protocol, for CARDIO-7's sites: each site's credential wins it an agreement.
    sponsor
        .post(
            "/api/v1/offers",
            &json!({"id": "protocol-v3", "title": "CARDIO-7 protocol, version 3", "policy": POLICY}),
        )
        .await?;
    let mut agreed = Vec::new();
    for site in &sites {
        site.agree(&sponsor, "protocol-v3").await?;
        agreed.push(site.name.clone());
    }

    // The sponsor revokes site-3's credential through its VC-API's status route.
    let revoked = sites[2];
    let requests = sponsor.get("/api/v1/issuer/requests").await?;
    let credential = requests
        .as_array()
        .into_iter()
        .flatten()
        .find(|request| request["holder"] == revoked.did())
        .and_then(|request| request["issued"][0]["id"].as_str())
        .ok_or_else(|| anyhow::anyhow!("no credential was issued to {}", revoked.name))?;
    sponsor
        .post(
            "/credentials/status",
            &json!({"credentialId": credential, "credentialStatus": [{
                "type": "BitstringStatusListEntry", "statusPurpose": "revocation", "status": true}]}),
        )
        .await?;

    // Its next request is refused, with the reason.
    let refused = revoked.negotiate(&sponsor, "protocol-v3", None).await?;
    anyhow::ensure!(
        refused["state"] == "TERMINATED",
        "the revoked site was not refused: {refused}"
    );
    let refusal = refused["reason"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    Ok(Outcome {
        agreed,
        revoked: revoked.name.clone(),
        refusal,
    })
}
