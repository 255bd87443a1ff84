//! `symbolon did show|resolve`.

use anyhow::Context as _;
use symbolon_identity::{Did, DidResolver};

use super::{CommandResult, DataDirArg, Failure};
use crate::datadir::DataDir;

/// DID commands.
#[derive(Debug, clap::Subcommand)]
pub enum DidCommand {
    /// Print this connector's DID (and its DID document with --json).
    Show {
        #[command(flatten)]
        dir: DataDirArg,
        /// Print the DID document as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Resolve a DID and print its DID document.
    Resolve {
        /// The DID.
        did: String,
    },
}

/// Runs a DID command.
pub async fn run(command: DidCommand) -> CommandResult {
    match command {
        DidCommand::Show { dir, json } => {
            let identity = DataDir::new(dir.data_dir)
                .identity()
                .context("cannot load the identity")?;
            if json {
                let document = DidResolver::offline()
                    .resolve(&identity.did)
                    .await
                    .context("cannot build the DID document")?;
                super::print_json(&document)
            } else {
                println!("{}", identity.did);
                Ok(())
            }
        }
        DidCommand::Resolve { did } => {
            let did = Did::parse(&did).map_err(|e| Failure::Usage(e.into()))?;
            let document = DidResolver::with_policy(super::OPERATOR_POLICY)
                .resolve(&did)
                .await
                .with_context(|| format!("cannot resolve `{did}`"))?;
            super::print_json(&document)
        }
    }
}
