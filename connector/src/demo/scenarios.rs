//! Scenarios 2–6, each through the connectors' own APIs: MPC sessions through the broker
//! (salary, study, fraud signal), trial onboarding with a revocation, and the auditor's offline
//! verification of every trail.

use serde_json::{json, Value};
use symbolon_identity::{create_presentation, issue_credential, Format, Secured};

use super::cast::Org;
use super::onboarding::{register_sites, DataSpace};
use super::study_data::StudyData;
use super::{DemoError, Narrator};
use crate::negotiation::auth::TokenDraft;

const SALARIES: [i64; 4] = [2500, 3250, 1800, 4320];

/// A policy letting the statistics bureau (or `analyst_role`) run `program` on `offer` with
/// groups of at least `k`.
fn computation_policy(offer: &str, analyst_role: &str, program: &str, k: u64) -> String {
    format!(
        r#"policy "{offer}-computation" {{
  permit join_computation on offer "{offer}"
  when holder.role == "{analyst_role}" and holder.member_of == "hds"
   and session.program in ["{program}"] and session.min_group_size >= {k}
}}"#
    )
}

/// Scenario 2: the mean of four salaries; only the analyst learns it.
pub async fn salary(space: &DataSpace, narrator: &mut Narrator<'_>) -> Result<f64, DemoError> {
    const S: &str = "salary";
    narrator.scenario("2. Four employees' average salary, computed without anyone seeing one");
    let policy = computation_policy("salary", "StatisticsBureau", "mean", 4);
    let mut agreements = Vec::new();
    for (employee, salary) in space.employees.iter().zip(SALARIES) {
        employee.write_data("salary.csv", &format!("salary\n{salary}\n"))?;
        employee
            .offer_computation(
                "salary",
                "My salary",
                &policy,
                json!({"file": "salary.csv", "columns": {"salary": "salary"}}),
                false,
            )
            .await?;
        agreements.push(space.bureau.agree(employee, "salary").await?);
    }
    narrator.step(
        S,
        "each employee offered a computation on its salary, allowed only to a statistics \
         bureau running `mean` over at least 4 people; the bureau's credentials won an \
         agreement with each",
    );
    let (done, result) = space
        .bureau
        .session(&json!({
            "program": {"id": "mean", "params": {"column": "salary", "min": 0, "max": 100000}},
            "agreements": agreements, "min_group_size": 4, "purpose": "official-statistics",
            "join_seconds": 30, "round_timeout_ms": 10000, "wait_seconds": 60,
        }))
        .await?;
    let id = done["id"].as_str().unwrap_or_default();
    let mean = result["mean"].as_f64().unwrap_or(f64::NAN);
    if format!("{mean:.2}") != "2967.50" {
        return Err(DemoError::Check(format!("the mean is {mean}, not 2967.50")));
    }
    for employee in &space.employees {
        let view = employee.get(&format!("/api/v1/sessions/{id}")).await?;
        if view["has_result"] == true {
            return Err(DemoError::Check(format!(
                "{} holds a result",
                employee.name
            )));
        }
    }
    narrator.step(
        S,
        format!(
            "an MPC session over the peer network: only the bureau learned the mean, {mean:.2}; \
             no employee holds a result, and all {} parties signed the same transcript",
            done["reports"].as_array().map_or(0, Vec::len)
        ),
    );
    Ok(mean)
}

/// Scenario 3: the analytics study over `data`'s synthetic patients (4,000 unless the demo
/// was given another study).
pub async fn study(
    space: &DataSpace,
    data: &StudyData,
    narrator: &mut Narrator<'_>,
) -> Result<Value, DemoError> {
    const S: &str = "study";
    narrator.scenario(
        "3. The eHealth app's effect per income group: insurer, hospital and statistics bureau, \
         linked on pseudonyms",
    );
    let policy = computation_policy("study", "StatisticsBureau", "linked-group-stats", 10);
    space.insurer.write_data("costs.csv", &data.insurer)?;
    space
        .insurer
        .offer_computation(
            "study",
            "Annual costs per pseudonym",
            &policy,
            json!({"file": "costs.csv", "ids": "pseudonym",
                   "columns": {"annual_cost_eur": "annual_cost_eur"}}),
            true,
        )
        .await?;
    space.hospital.write_data("app.csv", &data.hospital)?;
    space
        .hospital
        .offer_computation(
            "study",
            "App use and visits per pseudonym",
            &policy,
            json!({"file": "app.csv", "ids": "pseudonym",
                   "columns": {"uses_app": "uses_app", "outpatient_visits": "outpatient_visits"}}),
            true,
        )
        .await?;
    space.bureau.write_data("income.csv", &data.bureau)?;
    space
        .bureau
        .offer_computation(
            "income",
            "Income groups per pseudonym",
            &computation_policy("income", "StatisticsBureau", "linked-group-stats", 10),
            json!({"file": "income.csv", "ids": "pseudonym",
                   "columns": {"income_group": "income_group"}}),
            false,
        )
        .await?;
    // The bureau's data permit from the health data access body (the authority): scientific
    // research on both tables, anonymised statistics only.
    space
        .authority
        .grant_permit(
            &space.bureau,
            "HDAB-PPA-2026-0001",
            "scientific-research",
            &["study"],
        )
        .await?;
    let purpose = Some("scientific-research");
    let agreements = vec![
        space
            .bureau
            .agree_for(&space.insurer, "study", purpose)
            .await?,
        space
            .bureau
            .agree_for(&space.hospital, "study", purpose)
            .await?,
    ];
    narrator.step(
        S,
        "insurer and hospital offered their tables as health data requiring a data permit (the \
         EHDS profile): each agreed to a linked computation with the bureau, which holds permit \
         HDAB-PPA-2026-0001 for scientific research (Art. 53(1)(e)) with anonymised statistics \
         as output (Art. 69), groups of at least 10",
    );
    let marketing = space
        .bureau
        .negotiate(&space.hospital, "study", Some("marketing"))
        .await?;
    let refusal = marketing["reason"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .find(|r| r.contains("ehds-art-54-c"))
        .map(str::to_owned);
    match refusal {
        Some(reason) if marketing["state"] == "TERMINATED" => narrator.step(
            S,
            format!("the same request for marketing was refused: {reason} (Art. 54(c))"),
        ),
        _ => {
            return Err(DemoError::Check(format!(
                "a marketing request was not refused by Art. 54: {marketing}"
            )))
        }
    }
    let (_, result) = space
        .bureau
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
    let cells = result["cells"].as_array().cloned().unwrap_or_default();
    let want = data.expected["cells"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut suppressed = 0;
    for (cell, want) in cells.iter().zip(&want) {
        if want["suppressed"] == true {
            if cell["suppressed"] != true {
                return Err(DemoError::Check(format!("a small cell was shown: {cell}")));
            }
            suppressed += 1;
        } else if cell["count"] != want["count"]
            || cell["outcomes"]["annual_cost_eur"]["sum"] != want["sum_cost_eur"]
        {
            return Err(DemoError::Check(format!(
                "a cell differs from the plaintext answer: {cell} vs {want}"
            )));
        }
    }
    if cells.len() != want.len() || cells.is_empty() {
        return Err(DemoError::Check("the study's cells are missing".into()));
    }
    narrator.step(
        S,
        format!(
            "{} patients linked on pseudonyms inside MPC; every one of the {} cells equals the \
             plaintext answer, {suppressed} small cell(s) suppressed; only the bureau holds the result",
            grouped(data.patients()),
            cells.len()
        ),
    );
    Ok(result)
}

/// `n` with its thousands separated by commas, as the narration writes numbers.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// Scenario 4: how many of the insurer's members are the hospital's patients (PSI).
pub async fn fraud_signal(
    space: &DataSpace,
    narrator: &mut Narrator<'_>,
) -> Result<u64, DemoError> {
    const S: &str = "fraud signal";
    narrator.scenario("4. A fraud signal: how many records match, and nothing else");
    let members: String = (0..2000).map(|i| format!("m{i}\n")).collect();
    let patients: String = (1500..3000).map(|i| format!("m{i}\n")).collect();
    space
        .insurer
        .write_data("members.csv", &format!("pseudonym\n{members}"))?;
    space
        .hospital
        .write_data("patients.csv", &format!("pseudonym\n{patients}"))?;
    let policy = computation_policy("pseudonyms", "StatisticsBureau", "psi-cardinality", 2);
    for (org, file) in [
        (&space.hospital, "patients.csv"),
        (&space.insurer, "members.csv"),
    ] {
        org.offer_computation(
            "pseudonyms",
            "Pseudonyms, for a match count",
            &policy,
            json!({"file": file, "ids": "pseudonym", "columns": {}}),
            false,
        )
        .await?;
    }
    let agreements = vec![
        space.bureau.agree(&space.insurer, "pseudonyms").await?,
        space.bureau.agree(&space.hospital, "pseudonyms").await?,
    ];
    let (_, result) = space
        .bureau
        .session(&json!({
            "program": {"id": "psi-cardinality", "params": {}},
            "agreements": agreements, "min_group_size": 2,
            "purpose": "fraud-detection", "join_seconds": 30, "round_timeout_ms": 30000,
            "wait_seconds": 60,
        }))
        .await?;
    let matches = result["intersection"]
        .as_u64()
        .ok_or_else(|| DemoError::Check(format!("no count in the result: {result}")))?;
    if matches != 500 {
        return Err(DemoError::Check(format!("{matches} matches, not 500")));
    }
    narrator.step(
        S,
        format!(
            "private set intersection of the insurer's 2,000 members and the hospital's 1,500 \
             patients, with the statistics bureau as the third party the engine's honest \
             majority needs: the bureau learned that {matches} match, not which; insurer and \
             hospital learned nothing of each other's lists"
        ),
    );
    Ok(matches)
}

/// Scenario 5: the sponsor onboards three sites, revokes one, which is then refused.
pub async fn trial(space: &DataSpace, narrator: &mut Narrator<'_>) -> Result<(), DemoError> {
    const S: &str = "trial";
    narrator.scenario("5. A trial sponsor onboards its sites, and revokes one");
    let sites: Vec<&Org> = space.sites.iter().collect();
    register_sites(&space.sponsor, &sites, "CARDIO-7").await?;
    for site in &sites {
        site.request_credential(&space.sponsor, "TrialSiteCredential")
            .await?;
    }
    narrator.step(
        S,
        "three sites asked the sponsor for their TrialSiteCredential over DCP; the sponsor's \
         registry and policy issued each",
    );
    let policy = r#"policy "trial" { permit use on offer "protocol-v3" when holder.trial_id == "CARDIO-7" }"#;
    space
        .sponsor
        .post(
            "/api/v1/offers",
            &json!({"id": "protocol-v3", "title": "CARDIO-7 protocol, version 3", "policy": policy}),
        )
        .await?;
    for site in &space.sites {
        site.agree(&space.sponsor, "protocol-v3").await?;
    }
    narrator.step(
        S,
        "every site obtained the trial protocol by presenting its site credential",
    );
    let revoked = &space.sites[2];
    let issued = space.sponsor.get("/api/v1/issuer/requests").await?;
    let id = issued
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["holder"] == revoked.did())
        .and_then(|r| r["issued"][0]["id"].as_str())
        .map(str::to_owned)
        .ok_or_else(|| {
            DemoError::Check(format!(
                "no credential issued to {}: {issued}",
                revoked.name
            ))
        })?;
    space
        .sponsor
        .post(
            "/credentials/status",
            &json!({"credentialId": id, "credentialStatus": [{"type": "BitstringStatusListEntry",
                    "statusPurpose": "revocation", "status": true}]}),
        )
        .await?;
    let refused = revoked
        .post(
            "/api/v1/negotiations",
            &json!({"provider_url": space.sponsor.dsp(), "offer_id": "protocol-v3", "wait_seconds": 20}),
        )
        .await?;
    let reasons = refused["reason"].to_string();
    if refused["state"] != "TERMINATED" || !reasons.contains("revoked") {
        return Err(DemoError::Check(format!(
            "the revoked site was not refused: {refused}"
        )));
    }
    narrator.step(
        S,
        format!(
            "the sponsor revoked {}'s credential; its next request was refused: {}",
            revoked.name,
            refused["reason"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .find(|r| r.contains("revoked"))
                .unwrap_or_default()
        ),
    );
    Ok(())
}

/// Scenario 6: the auditor reads every trail with its credential and verifies each offline.
pub async fn audit(space: &DataSpace, narrator: &mut Narrator<'_>) -> Result<(), DemoError> {
    const S: &str = "audit";
    narrator.scenario("6. The auditor verifies every organisation's trail, offline");
    let everyone = space.everyone();
    let scope: Vec<&str> = everyone.iter().map(|o| o.did()).collect();
    let unsigned = symbolon_identity::credential::build(
        &space.authority.identity.did,
        "AuditorCredential",
        &space.auditor.identity.did,
        &json!({ "scope": scope }),
        None,
    )
    .map_err(|e| DemoError::Check(e.to_string()))?;
    let credential = issue_credential(&space.authority.identity, unsigned, Format::Jwt)
        .await
        .map_err(|e| DemoError::Check(e.to_string()))?;
    let mut entries = 0;
    let client = symbolon_identity::net::client_builder()
        .build()
        .unwrap_or_default();
    for org in everyone.iter().filter(|o| o.name != "auditor") {
        let draft = TokenDraft::new(org.did());
        let presentation = create_presentation(
            &space.auditor.identity,
            &[Secured::Jwt(credential.to_text())],
            Format::Jwt,
            &draft.jti,
            org.did(),
        )
        .await
        .map_err(|e| DemoError::Check(e.to_string()))?;
        let token = draft.sign(&space.auditor.identity, Some(&presentation.to_text()), None);
        let response = client
            .get(format!("{}/api/v1/audit/export", org.url))
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| DemoError::Check(format!("{}: {e}", org.name)))?;
        if !response.status().is_success() {
            return Err(DemoError::Check(format!(
                "{} refused the auditor: {}",
                org.name,
                response.status()
            )));
        }
        let bundle: symbolon_audit::AuditBundle = response
            .json()
            .await
            .map_err(|e| DemoError::Check(format!("{}'s bundle: {e}", org.name)))?;
        let report = symbolon_audit::verify_bundle(&bundle);
        if !report.is_valid() {
            return Err(DemoError::Check(format!(
                "{}'s trail does not verify: {:?}",
                org.name, report.findings
            )));
        }
        entries += report.entries;
    }
    narrator.step(
        S,
        format!(
            "the auditor presented its AuditorCredential to each of {} connectors, exported \
             their trails and verified all {entries} entries offline: chains, Merkle trees and \
             signed heads intact",
            everyone.len() - 1
        ),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbers_are_grouped_by_thousands() {
        for (n, text) in [
            (0, "0"),
            (999, "999"),
            (4000, "4,000"),
            (100_000, "100,000"),
            (1_234_567, "1,234,567"),
        ] {
            assert_eq!(super::grouped(n), text);
        }
    }
}
