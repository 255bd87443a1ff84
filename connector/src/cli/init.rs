//! `symbolon init`.

use anyhow::Context as _;
use symbolon_identity::KeyAlgorithm;

use super::{CommandResult, Failure};
use crate::datadir::DataDir;

/// Arguments of `symbolon init`.
#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// The data directory to create (or an empty one to fill).
    #[arg(long, env = "SYMBOLON_DATA_DIR")]
    data_dir: std::path::PathBuf,
    /// The key type.
    #[arg(long, default_value = "ed25519", value_parser = ["ed25519", "p256"])]
    key: String,
    /// Use a did:web DID instead of a did:key, e.g. `did:web:connector.example` or
    /// `did:web:127.0.0.1%3A8443` (a port is `%3A`-encoded): `serve` then publishes its DID
    /// document, with the Credential Service other connectors query (Decentralized Claims
    /// Protocol), at the DID's address. A did:web connector does not join the peer network.
    #[arg(long, value_name = "DID")]
    did_web: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `symbolon init`.
pub fn run(args: InitArgs) -> CommandResult {
    let algorithm: KeyAlgorithm = args
        .key
        .parse()
        .map_err(|e| Failure::Usage(anyhow::Error::new(e)))?;
    let dir = DataDir::new(&args.data_dir);
    let passphrase = std::env::var(symbolon_identity::keystore::PASSPHRASE_ENV)
        .ok()
        .filter(|p| !p.is_empty());
    let key = symbolon_identity::KeyPair::generate(algorithm);
    let identity = match &args.did_web {
        Some(did) => symbolon_identity::Identity::with_web_did(key, did)
            .map_err(|e| Failure::Usage(anyhow::Error::new(e).context("`--did-web`")))?,
        None => symbolon_identity::Identity::from_key(key),
    };
    let identity = dir
        .init_with(identity, passphrase.as_deref())
        .context("cannot create the identity")?;
    if args.json {
        super::print_json(&serde_json::json!({
            "did": identity.did.as_str(),
            "keystore": symbolon_identity::keystore::keystore_path(dir.root()),
            "admin_token_file": dir.path(crate::datadir::ADMIN_TOKEN_FILE),
            "encrypted": passphrase.is_some(),
        }))
    } else {
        println!("{}", identity.did);
        Ok(())
    }
}
