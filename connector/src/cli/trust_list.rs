//! `symbolon trust-list issue|install|pending|approve|reject`.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{anyhow, Context as _};
use symbolon_identity::{issue_credential, DidResolver, Format, TrustList};

use serde_json::Value;

use super::manage::Management;
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
    /// Verify a trust list and make it the one this connector checks credentials against
    /// (through the running server, which also tells it to its peers on the peer network).
    Install {
        #[command(flatten)]
        dir: DataDirArg,
        /// The trust list credential file (`-` for standard input).
        file: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show the trust list a peer sent that waits for approval (`serve
    /// --trust-list-approval`; through the running server).
    Pending {
        #[command(flatten)]
        dir: DataDirArg,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Install the pending trust list, verified again, and tell it to the peers (through the
    /// running server).
    Approve {
        #[command(flatten)]
        dir: DataDirArg,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Drop the pending trust list (through the running server).
    Reject {
        #[command(flatten)]
        dir: DataDirArg,
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
            print_entries(&trust.entries);
            Ok(())
        }
        TrustListCommand::Pending { dir, json } => {
            let pending = Management::for_dir(&dir)?
                .call(reqwest::Method::GET, "/trust-list/pending", None)
                .await?;
            if json {
                return super::print_json(&pending);
            }
            let text = |name: &str| pending.get(name).and_then(Value::as_str).unwrap_or("?");
            println!(
                "a trust list of data space `{}` signed by {}, valid from {}, sent by {} at {}, \
                 waits for approval",
                text("data_space"),
                text("anchor"),
                text("valid_from"),
                text("from"),
                text("received_at")
            );
            if let Ok(entries) = serde_json::from_value(pending["entries"].clone()) {
                print_entries(&entries);
            }
            println!("approve it with `symbolon trust-list approve`, or `reject` it");
            Ok(())
        }
        TrustListCommand::Approve { dir, json } => {
            let answer = Management::for_dir(&dir)?
                .call(reqwest::Method::POST, "/trust-list/pending/approve", None)
                .await?;
            if json {
                return super::print_json(&answer);
            }
            let trust = &answer["trust_list"];
            let text = |name: &str| trust.get(name).and_then(Value::as_str).unwrap_or("?");
            println!(
                "approved and installed the trust list of data space `{}` signed by {}",
                text("data_space"),
                text("anchor")
            );
            if let Ok(entries) = serde_json::from_value(trust["entries"].clone()) {
                print_entries(&entries);
            }
            Ok(())
        }
        TrustListCommand::Reject { dir, json } => {
            let answer = Management::for_dir(&dir)?
                .call(reqwest::Method::POST, "/trust-list/pending/reject", None)
                .await?;
            if json {
                return super::print_json(&answer);
            }
            println!("rejected the pending trust list; the installed one stays");
            Ok(())
        }
    }
}

/// Prints who may issue what.
fn print_entries(entries: &BTreeMap<String, std::collections::BTreeSet<String>>) {
    for (issuer, types) in entries {
        println!(
            "  {issuer} may issue {}",
            types.iter().cloned().collect::<Vec<_>>().join(", ")
        );
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
