//! A fraud signal: how many of an insurer's members are also a hospital's patients — and
//! nothing else.
//!
//! Insurer and hospital each offer their list of pseudonyms for `psi-cardinality` only. The
//! statistics bureau, the honest third party the engine's three-party protocol needs, agrees
//! with both and runs the private set intersection over the peer network: it learns how many
//! pseudonyms match, not which; insurer and hospital learn nothing of each other's lists and
//! hold no result.
//!
//! ```sh
//! cargo run --example fraud_signal
//! ```

use std::path::Path;

use serde_json::json;
use symbolon::connector::demo::{form, join_peer_network, Org};

/// The policy of both lists: the statistics bureau may count the matches, nothing more.
const POLICY: &str = r#"policy "pseudonyms-computation" {
  permit join_computation on offer "pseudonyms"
  when holder.role == "StatisticsBureau" and holder.member_of == "hds"
   and session.program in ["psi-cardinality"] and session.min_group_size >= 2
}"#;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let outcome = run(dir.path()).await?;
    println!(
        "the statistics bureau learned that {} of the insurer's {} members are among the \
         hospital's {} patients",
        outcome.matches, outcome.members, outcome.patients
    );
    println!(
        "result held by the insurer: {}, by the hospital: {}",
        outcome.insurer_holds_result, outcome.hospital_holds_result
    );
    Ok(())
}

/// What the example found.
pub struct Outcome {
    /// How many pseudonyms both lists hold.
    pub matches: u64,
    /// The size of the insurer's list.
    pub members: usize,
    /// The size of the hospital's list.
    pub patients: usize,
    /// Whether the insurer holds a result (it should not).
    pub insurer_holds_result: bool,
    /// Whether the hospital holds a result (it should not).
    pub hospital_holds_result: bool,
}

/// Runs the example with the connectors' data directories under `root`.
pub async fn run(root: &Path) -> anyhow::Result<Outcome> {
    let authority = Org::start(root, "authority", "Authority")?;
    let insurer = Org::start(root, "insurer", "Insurer")?;
    let hospital = Org::start(root, "hospital", "Hospital")?;
    let bureau = Org::start(root, "statistics-bureau", "StatisticsBureau")?;
    let members = [&bureau, &insurer, &hospital];
    form(&authority, &members, None).await?;
    join_peer_network(&members).await?;

    // Synthetic pseudonyms: the insurer's m0..m1999, the hospital's m1500..m2999.
    let insured: Vec<String> = (0..2000).map(|i| format!("m{i}")).collect();
    let treated: Vec<String> = (1500..3000).map(|i| format!("m{i}")).collect();
    for (org, file, list) in [
        (&insurer, "members.csv", &insured),
        (&hospital, "patients.csv", &treated),
    ] {
        org.write_data(file, &format!("pseudonym\n{}\n", list.join("\n")))?;
        let binding = json!({"file": file, "ids": "pseudonym", "columns": {}});
        org.offer_computation("pseudonyms", "Pseudonyms", POLICY, binding, false)
            .await?;
    }
    let agreements = vec![
        bureau.agree(&insurer, "pseudonyms").await?,
        bureau.agree(&hospital, "pseudonyms").await?,
    ];

    let (session, result) = bureau
        .session(&json!({
            "program": {"id": "psi-cardinality", "params": {}},
            "agreements": agreements, "min_group_size": 2, "purpose": "fraud-detection",
            "join_seconds": 30, "round_timeout_ms": 30000, "wait_seconds": 60,
        }))
        .await?;
    let matches = result["intersection"]
        .as_u64()
        .ok_or_else(|| anyhow::anyhow!("no count in the result: {result}"))?;

    // The session as the other two parties see it: they took part, and hold no result.
    let id = session["id"].as_str().unwrap_or_default();
    let path = format!("/api/v1/sessions/{id}");
    Ok(Outcome {
        matches,
        members: insured.len(),
        patients: treated.len(),
        insurer_holds_result: insurer.get(&path).await?["has_result"] == true,
        hospital_holds_result: hospital.get(&path).await?["has_result"] == true,
    })
}
