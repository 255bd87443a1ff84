//! `symbolon trust-list issue|install`.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{anyhow, Context as _};
use symbolon_identity::{issue_credential, DidResolver, Format, TrustList};

use super::{read_input, CommandResult, DataDirArg, Failure};
use crate::datadir::DataDir;

/// Trust list commands.
#[derive(Debug, clap::Subcommand)]
pub enum TrustListCommand {
    /// Print a trust list credential signed by this (authority) connector.
    Issue {
        #[command(flatten)]
        dir: DataDirArg,
        /// The data space id.
        #[arg(long)]
        data_space: String,
        /// ISSUER_DID=TYPE[,TYPE...] (repeatable).
        #[arg(long = "entry", required = true)]
        entries: Vec<String>,
    },
    /// Verify a trust list and make it the one this connector checks credentials against.
    Install {
        #[command(flatten)]
        dir: DataDirArg,
        /// The trust list credential file (`-` for standard input).
        file: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a trust list command.
pub async fn run(command: TrustListCommand) -> CommandResult {
    match command {
        TrustListCommand::Issue {
            dir,
            data_space,
            entries,
        } => {
            let identity = DataDir::new(&dir.data_dir)
                .identity()
                .context("cannot load the identity")?;
            let mut parsed: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
            for entry in &entries {
                let (issuer, types) = symbolon_identity::trust::parse_entry(entry)
                    .map_err(|e| Failure::Usage(anyhow!(e)))?;
                parsed.entry(issuer).or_default().extend(types);
            }
            let credential = TrustList::credential(&identity.did, &data_space, &parsed)
                .map_err(|e| Failure::Usage(e.into()))?;
            let signed = issue_credential(&identity, credential, Format::Jwt)
                .await
                .context("cannot sign the trust list")?;
            println!("{}", signed.to_text());
            Ok(())
        }
        TrustListCommand::Install { dir, file, json } => {
            let dir_arg = dir;
            let dir = DataDir::new(&dir_arg.data_dir);
            let token = read_input(&file)?;
            let trust = install(&dir, &dir_arg, &token).await?;
            if json {
                return super::print_json(&trust);
            }
            println!(
                "installed the trust list of data space `{}` signed by {}",
                trust.data_space, trust.anchor
            );
            for (issuer, types) in &trust.entries {
                println!(
                    "  {issuer} may issue {}",
                    types.iter().cloned().collect::<Vec<_>>().join(", ")
                );
            }
            Ok(())
        }
    }
}

/// Verifies and installs a trust list: through the running `serve` when it holds the store
/// (so that it takes effect there at once), in the data directory otherwise.
async fn install(dir: &DataDir, arg: &DataDirArg, token: &str) -> Result<TrustList, Failure> {
    let resolver = Arc::new(DidResolver::with_policy(super::OPERATOR_POLICY));
    match crate::store::Store::open(dir.root()) {
        Err(crate::store::StoreError::InUse { .. }) => {
            let trust = crate::trust::verify_trust_list(token, resolver)
                .await
                .context("cannot install the trust list")?;
            super::manage::Management::for_dir(arg)?
                .call_at(
                    reqwest::Method::PUT,
                    "/api/v1/trust-list",
                    Some(serde_json::json!({ "credential": token.trim() })),
                )
                .await?;
            Ok(trust)
        }
        Err(error) => Err(Failure::Failed(
            anyhow!(error).context("cannot open the store"),
        )),
        Ok(store) => {
            drop(store);
            let anchor =
                crate::trust::TrustAnchor::load(dir).context("cannot read the trust list")?;
            Ok(anchor
                .install(token, resolver)
                .await
                .context("cannot install the trust list")?)
        }
    }
}
