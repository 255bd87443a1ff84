//! What a recipient's run does with a program's result before it seals it: the differencing
//! check against the counts this recipient received before ([`super::differencing`], the
//! record in the store's `released_cells`), and one audit record (`session.result`,
//! `suppressed`) naming every suppressed figure and the rule that suppressed it — the
//! threshold and dominance rules decided inside the MPC, differencing here. Never a count.

use std::collections::BTreeSet;

use serde_json::{json, Value};
use symbolon_audit::EventKind;

use super::differencing;
use super::manifest::{Manifest, PartyRole};
use super::runner::{Failure, Part};
use crate::context::Connector;

/// Applies the differencing check to `result` (this connector is its recipient), records the
/// released counts and audits the suppressions; returns the result to seal. A store failure
/// fails the run: nothing is released unchecked.
pub(super) async fn control(
    connector: &Connector,
    part: &Part,
    result: Value,
) -> Result<Value, Failure> {
    let manifest = &part.manifest;
    let program = manifest.program.id.clone();
    let datasets = datasets(connector, manifest).await?;
    let cells = differencing::cells(
        &program,
        &manifest.program.params,
        &result,
        &datasets,
        manifest.min_group_size,
        &manifest.session_id,
    );
    let released = cells.iter().map(|c| c.released.clone()).collect::<Vec<_>>();
    let recipient = connector.did().to_owned();
    let whole = differencing::whole(&program);
    let verdicts = connector
        .store()
        .blocking(move |s| s.releases.check_and_record(&recipient, released, whole))
        .await
        .map_err(|e| {
            Failure::new(
                "mpc:internal",
                format!("the differencing check could not read or record this recipient's releases: {e}"),
            )
        })?;
    let suppress: Vec<(Option<usize>, String)> = cells
        .iter()
        .zip(verdicts)
        .filter_map(|(cell, earlier)| earlier.map(|e| (cell.index, e)))
        .collect();
    let result = differencing::suppress(&program, &result, &suppress);
    let suppressed = differencing::suppressions(&result);
    if !suppressed.is_empty() {
        let audit = connector.audit();
        let event = audit.event(
            EventKind::SessionResult,
            &manifest.session_id,
            "suppressed",
            json!({"program": program, "suppressed": suppressed}),
        );
        if let Err(error) = audit.record(event).await {
            tracing::error!(%error, "cannot record a result's suppressions");
        }
    }
    Ok(result)
}

/// The session's input datasets: each input party's DID with the offer its agreement is for,
/// when this connector holds that agreement (the analyst does), else with the agreement.
async fn datasets(connector: &Connector, manifest: &Manifest) -> Result<BTreeSet<String>, Failure> {
    let mut out = BTreeSet::new();
    for party in &manifest.parties {
        if !party.roles.contains(&PartyRole::Input) {
            continue;
        }
        let Some(agreement) = party.agreement.clone() else {
            out.insert(party.did.clone());
            continue;
        };
        let key = agreement.clone();
        let offer = connector
            .store()
            .blocking(move |s| s.agreements.get(&key))
            .await
            .map_err(|e| Failure::new("mpc:internal", format!("cannot read an agreement: {e}")))?
            .map(|a| a.offer_id);
        out.insert(match offer {
            Some(offer) => format!("{} offer {offer}", party.did),
            None => format!("{} agreement {agreement}", party.did),
        });
    }
    Ok(out)
}
