//! `symbolon audit export|verify`: export the audit trail as a bundle, and verify bundles
//! offline (one log, or two organisations' logs against each other).

use anyhow::{anyhow, Context as _};
use symbolon_audit::{verify_bundle, verify_pair, AuditBundle};

use super::{print_json, CommandResult, DataDirArg, Failure};
use crate::context::{Connector, OpenError, Settings};
use crate::datadir::{DataDir, SERVE_URL_FILE};
use crate::store::StoreError;

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
