//! The seed's analytics study: does an eHealth app lower care costs, per income group?
//!
//! An insurer (annual costs), a hospital (who uses the app, outpatient visits) and a statistics
//! bureau (income groups) each hold one table of the same 4,000 synthetic patients, keyed by
//! pseudonym. Insurer and hospital offer theirs as health data under the European Health Data
//! Space profile, which asks for a data permit (Art. 68). The authority, also the data space's
//! health data access body, grants the bureau one for scientific research (Art. 53(1)(e)),
//! anonymised statistics only (Art. 69); the bureau wins an agreement with each and runs
//! `linked-group-stats`: the rows are linked on pseudonyms inside MPC and only the per-group
//! figures come out, groups under ten patients suppressed. The same request for marketing is
//! refused by Art. 54(c).
//!
//! ```sh
//! cargo run --example analytics_study
//! ```

use std::path::Path;

use serde_json::{json, Value};
use symbolon::connector::demo::{form, join_peer_network, Org};

/// The synthetic study's three tables (`mpc/tests/data/ppa-study/n4000`).
const INSURER_CSV: &str = include_str!("../mpc/tests/data/ppa-study/n4000/insurer.csv");
const HOSPITAL_CSV: &str = include_str!("../mpc/tests/data/ppa-study/n4000/hospital.csv");
const BUREAU_CSV: &str = include_str!("../mpc/tests/data/ppa-study/n4000/cbs.csv");

/// The policy of each table: the statistics bureau may run the linked study, groups of ten.
fn policy(offer: &str) -> String {
    format!(
        r#"policy "{offer}-computation" {{
  permit join_computation on offer "{offer}"
  when holder.role == "StatisticsBureau" and holder.member_of == "hds"
   and session.program in ["linked-group-stats"] and session.min_group_size >= 10
}}"#
    )
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let outcome = run(dir.path()).await?;
    println!(
        "a marketing request was refused: {}",
        outcome.marketing_refusal
    );
    println!("income group   the app's effect on mean annual costs (users minus non-users)");
    for effect in outcome.result["effects"].as_array().into_iter().flatten() {
        let euros = match effect["outcomes"]["annual_cost_eur"].as_f64() {
            Some(euros) => format!("{euros:+.2} EUR"),
            None => "suppressed: a group under 10 patients".to_owned(),
        };
        println!("{:>12}   {euros}", effect["group"].to_string());
    }
    Ok(())
}

/// What the example found.
pub struct Outcome {
    /// The study's result, as the statistics bureau received it.
    pub result: Value,
    /// Why the hospital refused the same data for marketing.
    pub marketing_refusal: String,
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

    // Each party binds its table to a computation offer; the tables never leave their owners.
    insurer.write_data("costs.csv", INSURER_CSV)?;
    let costs = json!({"file": "costs.csv", "ids": "pseudonym",
                       "columns": {"annual_cost_eur": "annual_cost_eur"}});
    insurer
        .offer_computation("study", "Annual costs", &policy("study"), costs, true)
        .await?;
    hospital.write_data("app.csv", HOSPITAL_CSV)?;
    let app = json!({"file": "app.csv", "ids": "pseudonym",
                     "columns": {"uses_app": "uses_app", "outpatient_visits": "outpatient_visits"}});
    hospital
        .offer_computation("study", "App use and visits", &policy("study"), app, true)
        .await?;
    bureau.write_data("income.csv", BUREAU_CSV)?;
    let income = json!({"file": "income.csv", "ids": "pseudonym",
                        "columns": {"income_group": "income_group"}});
    bureau
        .offer_computation("income", "Income groups", &policy("income"), income, false)
        .await?;

    // The bureau's data permit: scientific research on the study's tables; marketing is a use
    // the EHDS prohibits whatever the permit.
    authority
        .grant_permit(
            &bureau,
            "HDAB-PPA-2026-0001",
            "scientific-research",
            &["study"],
        )
        .await?;
    let purpose = Some("scientific-research");
    let agreements = vec![
        bureau.agree_for(&insurer, "study", purpose).await?,
        bureau.agree_for(&hospital, "study", purpose).await?,
    ];
    let marketing = bureau
        .negotiate(&hospital, "study", Some("marketing"))
        .await?;
    anyhow::ensure!(
        marketing["state"] == "TERMINATED",
        "marketing was not refused"
    );
    let marketing_refusal = marketing["reason"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join("; ");

    let (_, result) = bureau
        .session(&json!({
            "program": {"id": "linked-group-stats", "params": {
                "group": {"column": "income_group", "values": [1, 2, 3, 4, 5]},
                "treatment": "uses_app",
                "outcomes": [{"column": "annual_cost_eur", "max": 200000},
                             {"column": "outpatient_visits", "max": 60}]}},
            "agreements": agreements, "input_offer": "income", "min_group_size": 10,
            "purpose": "scientific-research", "join_seconds": 30, "round_timeout_ms": 30000,
            "wait_seconds": 110,
        }))
        .await?;
    Ok(Outcome {
        result,
        marketing_refusal,
    })
}
