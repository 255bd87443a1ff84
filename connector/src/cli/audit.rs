//! `symbolon audit export|fetch|present|show|verify`: export the audit trail as a bundle, fetch
//! another organisation's as an auditor, present the auditor's credential for a web console's
//! sign-in, show a bundle as a readable timeline, and verify bundles offline (one log, or two
//! organisations' logs against each other).

use std::collections::BTreeMap;

use anyhow::{anyhow, Context as _};
use symbolon_audit::{verify_bundle, verify_pair, AuditBundle};

use super::manage::Management;
use super::{print_json, CommandResult, DataDirArg, Failure};
use crate::context::{Connector, OpenError, Settings};
use crate::datadir::{DataDir, SERVE_URL_FILE};
use crate::domain::HeldCredential;
use crate::store::StoreError;
use symbolon_identity::Secured;

/// Audit commands.
#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// Export the audit trail (entries, signed heads, DID documents, credentials) as a bundle.
    Export {
        #[command(flatten)]
        dir: DataDirArg,
        /// Where to write the bundle.
        #[arg(long)]
        out: String,
    },
    /// Fetch another organisation's audit trail as an auditor: presents this connector's
    /// `AuditorCredential` to the organisation's `serve`, writes the bundle and verifies it
    /// offline (exit 0 valid, 1 invalid or refused).
    Fetch {
        #[command(flatten)]
        dir: DataDirArg,
        /// The organisation's base URL (where its `symbolon serve` answers).
        #[arg(long)]
        from: String,
        /// The organisation's DID (the audience of the presentation).
        #[arg(long)]
        did: String,
        /// Where to write the bundle.
        #[arg(long)]
        out: String,
    },
    /// Present this connector's `AuditorCredential` to another organisation's web console:
    /// prints a self-issued token for the console's challenge (its `jti`), carrying a
    /// presentation bound to the challenge and the organisation's DID, to paste into the
    /// console's sign-in within two minutes.
    Present {
        #[command(flatten)]
        dir: DataDirArg,
        /// The organisation's DID (the console shows it with the challenge).
        #[arg(long)]
        to: String,
        /// The challenge the console shows (base64url: it may begin with `-`).
        #[arg(long, allow_hyphen_values = true)]
        challenge: String,
    },
    /// Show a bundle as a readable timeline: who did what, when, with which outcome (it does
    /// not verify it: `audit verify` does).
    Show {
        /// Only events whose type starts with this (e.g. `negotiation`, `session.result`).
        #[arg(long)]
        kind: Option<String>,
        /// Print the events as JSON.
        #[arg(long)]
        json: bool,
        /// The bundle.
        bundle: String,
    },
    /// Verify one bundle offline, or two organisations' bundles against each other
    /// (exit 0 valid, 1 invalid).
    Verify {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// One bundle, or two.
        #[arg(required = true, num_args = 1..=2)]
        bundles: Vec<String>,
    },
}

/// Runs an audit command.
pub async fn run(command: AuditCommand) -> CommandResult {
    match command {
        AuditCommand::Export { dir, out } => export(dir, &out).await,
        AuditCommand::Fetch {
            dir,
            from,
            did,
            out,
        } => fetch(&dir, &from, &did, &out).await,
        AuditCommand::Present { dir, to, challenge } => present(&dir, &to, &challenge).await,
        AuditCommand::Show { kind, json, bundle } => show(&bundle, kind.as_deref(), json),
        AuditCommand::Verify { json, bundles } => verify(&bundles, json),
    }
}

async fn export(dir: DataDirArg, out: &str) -> CommandResult {
    let data = DataDir::new(&dir.data_dir);
    let bundle = match Connector::open(&data, Settings::offline()) {
        Ok(connector) => {
            let credentials = connector
                .store()
                .credentials
                .list()
                .context("cannot read the wallet")?;
            connector
                .audit()
                .export(credentials.into_iter().map(|c| c.credential).collect())
                .context("cannot export the audit log")?
        }
        Err(OpenError::Store(StoreError::InUse { .. })) => from_server(&data).await?,
        Err(error) => {
            return Err(Failure::Failed(
                anyhow!(error).context("cannot open the store"),
            ))
        }
    };
    let text = bundle
        .to_json_pretty()
        .map_err(|e| Failure::Failed(e.into()))?;
    std::fs::write(out, text).map_err(|e| Failure::Failed(anyhow!("cannot write `{out}`: {e}")))?;
    println!(
        "exported {} entries and {} signed heads of {} to {out}",
        bundle.entries.len(),
        bundle.heads.len(),
        bundle.log_id
    );
    Ok(())
}

/// The bundle from the running server (which holds the store).
async fn from_server(data: &DataDir) -> Result<AuditBundle, Failure> {
    let url = data
        .read_text(SERVE_URL_FILE)
        .context("cannot read the server's URL")?
        .ok_or_else(|| anyhow!("the store is in use but no server URL is recorded"))?;
    let token = data.admin_token().context("cannot read the admin token")?;
    let response = reqwest::Client::new()
        .get(format!(
            "{}/api/v1/audit/export",
            url.trim().trim_end_matches('/')
        ))
        .bearer_auth(token.expose())
        .send()
        .await
        .context("cannot reach the running server")?;
    if !response.status().is_success() {
        return Err(Failure::Failed(anyhow!(
            "the server refused the export: {}",
            response.status()
        )));
    }
    let bytes = response.bytes().await.context("cannot read the bundle")?;
    AuditBundle::from_slice(&bytes).map_err(|e| Failure::Failed(e.into()))
}

/// How long fetching a bundle may take.
const FETCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// The `AuditorCredential`s in the wallet: from the store, or from the running server that
/// holds it.
async fn auditor_credentials(dir: &DataDirArg) -> Result<Vec<Secured>, Failure> {
    let held: Vec<HeldCredential> = match crate::store::Store::open(&dir.data_dir) {
        Ok(store) => store.credentials.list().context("cannot read the wallet")?,
        Err(StoreError::InUse { .. }) => {
            let listed = Management::for_dir(dir)?
                .call(reqwest::Method::GET, "/credentials", None)
                .await?;
            serde_json::from_value(listed).context("the server's wallet listing")?
        }
        Err(error) => {
            return Err(Failure::Failed(
                anyhow!(error).context("cannot open the store"),
            ))
        }
    };
    Ok(held
        .iter()
        .filter(|c| c.types.iter().any(|t| t == "AuditorCredential"))
        .map(HeldCredential::secured)
        .collect())
}

/// Longest challenge `audit present` accepts.
const MAX_CHALLENGE_CHARS: usize = 128;

/// A self-issued token for `audience` whose `jti` is `challenge` (a fresh one when `None`),
/// carrying a presentation of the wallet's `AuditorCredential`s bound to that `jti` and
/// `audience`: what `audit fetch` sends and `audit present` prints.
async fn auditor_token(
    dir: &DataDirArg,
    audience: &str,
    challenge: Option<&str>,
) -> Result<String, Failure> {
    let identity = DataDir::new(&dir.data_dir)
        .identity()
        .context("cannot load the identity")?;
    let credentials = auditor_credentials(dir).await?;
    if credentials.is_empty() {
        return Err(Failure::Failed(anyhow!(
            "no AuditorCredential in the wallet of `{}`: ask the data space's authority for one, \
             then store it (`symbolon credential store`)",
            dir.data_dir.display()
        )));
    }
    crate::negotiation::auth::presenting(&identity, &credentials, audience, challenge)
        .await
        .context("cannot present the AuditorCredential")
        .map_err(Failure::Failed)
}

async fn present(dir: &DataDirArg, to: &str, challenge: &str) -> CommandResult {
    let challenge = challenge.trim();
    if challenge.is_empty()
        || challenge.chars().count() > MAX_CHALLENGE_CHARS
        || challenge.chars().any(char::is_whitespace)
    {
        return Err(Failure::Usage(anyhow!(
            "--challenge: paste the challenge the console shows (1 to {MAX_CHALLENGE_CHARS} \
             characters, no spaces)"
        )));
    }
    if symbolon_identity::Did::parse(to).is_err() {
        return Err(Failure::Usage(anyhow!(
            "--to: `{to}` is not a DID; paste the one the console shows"
        )));
    }
    let token = auditor_token(dir, to, Some(challenge)).await?;
    println!("{token}");
    Ok(())
}

async fn fetch(dir: &DataDirArg, from: &str, did: &str, out: &str) -> CommandResult {
    let token = auditor_token(dir, did, None).await?;
    let url = format!("{}/api/v1/audit/export", from.trim_end_matches('/'));
    let response = reqwest::Client::builder()
        .timeout(FETCH_TIMEOUT)
        .build()
        .context("cannot build an HTTP client")?
        .get(&url)
        .bearer_auth(token)
        .send()
        .await
        .with_context(|| format!("cannot reach `{url}`"))?;
    match response.status().as_u16() {
        200 => {}
        401 => {
            return Err(Failure::Failed(anyhow!(
                "`{from}` refused the AuditorCredential: check that `{did}` is the organisation's \
                 DID and that it trusts your credential's issuer for AuditorCredential"
            )))
        }
        status => {
            return Err(Failure::Failed(anyhow!(
                "`{url}` answered {status}: is `{from}` a Symbolon connector's base URL?"
            )))
        }
    }
    let bytes = response.bytes().await.context("cannot read the bundle")?;
    let bundle = AuditBundle::from_slice(&bytes).map_err(|e| Failure::Failed(e.into()))?;
    if bundle.log_id != did {
        return Err(Failure::Failed(anyhow!(
            "`{from}` sent the trail of `{}`, not of `{did}`",
            bundle.log_id
        )));
    }
    std::fs::write(out, &bytes)
        .map_err(|e| Failure::Failed(anyhow!("cannot write `{out}`: {e}")))?;
    let report = verify_bundle(&bundle);
    println!(
        "fetched {} entries and {} signed heads of {did} to {out}\n{report}",
        bundle.entries.len(),
        bundle.heads.len()
    );
    if report.is_valid() {
        Ok(())
    } else {
        Err(Failure::Rejected)
    }
}

/// Most characters of a detail shown on a timeline line.
const DETAIL_CHARS: usize = 160;

/// The one detail worth a line's end: why, or what was decided on.
fn headline(event: &serde_json::Value) -> Option<String> {
    let details = event.get("details")?;
    [
        "reason", "error", "code", "program", "offer", "format", "state",
    ]
    .iter()
    .find_map(|key| {
        let value = details.get(*key)?;
        let text = match value {
            serde_json::Value::String(s) if !s.is_empty() => s.clone(),
            serde_json::Value::Array(items) if !items.is_empty() => items
                .iter()
                .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                .collect::<Vec<_>>()
                .join("; "),
            serde_json::Value::Object(o) => o.get("id")?.as_str()?.to_owned(),
            _ => return None,
        };
        let mut text: String = text.chars().take(DETAIL_CHARS).collect();
        if text.chars().count() == DETAIL_CHARS {
            text.push('…');
        }
        Some(format!("{key}: {text}"))
    })
}

/// One event on one line: when, what, how it ended, on what, by whom (as `who` names the
/// actor) and why; for `audit show` and `events`.
pub(super) fn event_line(event: &serde_json::Value, who: &dyn Fn(&str) -> String) -> String {
    let text = |k: &str| event[k].as_str().unwrap_or_default().to_owned();
    let tail = headline(event)
        .map(|h| format!("  ({h})"))
        .unwrap_or_default();
    format!(
        "{}  {:<24} {:<10} {}  by {}{tail}",
        text("time"),
        text("type"),
        text("outcome"),
        text("subject"),
        who(&text("actor")),
    )
}

fn show(path: &str, kind: Option<&str>, json: bool) -> CommandResult {
    let bundle = AuditBundle::from_path(std::path::Path::new(path))
        .map_err(|e| Failure::Failed(anyhow!("`{path}`: {e}")))?;
    let events: Vec<(u64, &serde_json::Value)> = bundle
        .entries
        .iter()
        .enumerate()
        .filter_map(|(i, entry)| {
            let index = entry["index"].as_u64().unwrap_or(i as u64);
            Some((index, entry.get("event")?))
        })
        .filter(|(_, e)| kind.is_none_or(|k| e["type"].as_str().is_some_and(|t| t.starts_with(k))))
        .collect();
    if json {
        return print_json(&serde_json::Value::Array(
            events
                .iter()
                .map(|(index, e)| serde_json::json!({"index": index, "event": e}))
                .collect(),
        ));
    }
    let who = |did: &str| -> String {
        if did == bundle.log_id {
            "this connector".into()
        } else if did.chars().count() > 32 {
            format!("{}…", did.chars().take(32).collect::<String>())
        } else {
            did.to_owned()
        }
    };
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, e) in &events {
        *counts.entry(e["type"].as_str().unwrap_or("?")).or_default() += 1;
    }
    let first = events
        .first()
        .and_then(|(_, e)| e["time"].as_str())
        .unwrap_or("-");
    let last = events
        .last()
        .and_then(|(_, e)| e["time"].as_str())
        .unwrap_or("-");
    println!(
        "the audit trail of {} ({} of {} entries, {first} .. {last}; {} signed heads; not verified here: run `symbolon audit verify`)",
        bundle.log_id,
        events.len(),
        bundle.entries.len(),
        bundle.heads.len()
    );
    for (k, n) in &counts {
        println!("  {n:>5}  {k}");
    }
    println!();
    for (index, e) in &events {
        println!("#{index:<5} {}", event_line(e, &who));
    }
    Ok(())
}

fn verify(paths: &[String], json: bool) -> CommandResult {
    let bundles = paths
        .iter()
        .map(|path| {
            AuditBundle::from_path(std::path::Path::new(path))
                .map_err(|e| Failure::Failed(anyhow!("`{path}`: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let reports: Vec<_> = bundles.iter().map(verify_bundle).collect();
    let pair = match bundles.as_slice() {
        [a, b] => Some(verify_pair(a, b)),
        _ => None,
    };
    let valid = reports.iter().all(|r| r.is_valid()) && pair.as_ref().is_none_or(|p| p.is_valid());
    if json {
        print_json(&serde_json::json!({
            "valid": valid,
            "bundles": reports.iter().map(|r| r.to_json()).collect::<Vec<_>>(),
            "pair": pair.as_ref().map(|p| p.to_json()),
        }))?;
    } else {
        for (path, report) in paths.iter().zip(&reports) {
            println!("{path}:\n{report}");
        }
        if let Some(pair) = &pair {
            println!("{pair}");
        }
    }
    if valid {
        Ok(())
    } else {
        Err(Failure::Rejected)
    }
}
