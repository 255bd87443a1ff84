//! `symbolon credential store|remove|list`: the wallet, whether or not `serve` runs. Without a
//! server the commands open the store; while `serve` holds it, they go through its management
//! API (`POST`, `GET /api/v1/credentials`, `DELETE /api/v1/credentials/{id}`).

use anyhow::{anyhow, Context as _};
use symbolon_identity::{credential, Input};

use super::{usage, verifier, Trust};
use crate::cli::manage::Management;
use crate::cli::{print_json, read_input, CommandResult, DataDirArg, Failure};
use crate::datadir::DataDir;
use crate::domain::HeldCredential;
use crate::store::{Store, StoreError};

/// Where the wallet is reached.
enum Wallet {
    /// The store, opened here.
    Store(Store),
    /// The running `serve`, which holds the store.
    Server(Management),
}

impl Wallet {
    fn open(dir: &DataDirArg) -> Result<Wallet, Failure> {
        match Store::open(&dir.data_dir) {
            Ok(store) => Ok(Wallet::Store(store)),
            Err(StoreError::InUse { .. }) => Ok(Wallet::Server(Management::for_dir(dir)?)),
            Err(error) => Err(Failure::Failed(
                anyhow!(error).context("cannot open the wallet"),
            )),
        }
    }

    async fn list(&self) -> Result<Vec<HeldCredential>, Failure> {
        match self {
            Wallet::Store(store) => {
                let store = store.clone();
                Ok(store
                    .blocking(|s| s.credentials.list())
                    .await
                    .context("cannot read the wallet")?)
            }
            Wallet::Server(api) => {
                let held = api.call(reqwest::Method::GET, "/credentials", None).await?;
                Ok(serde_json::from_value(held)
                    .context("the server's list of credentials is not readable")?)
            }
        }
    }
}

/// Runs `symbolon credential store`: verifies a credential issued to this connector and keeps
/// it.
pub async fn store(dir: DataDirArg, file: &str) -> CommandResult {
    let text = read_input(file)?;
    let input = Input::parse(&text).map_err(usage)?;
    let store = match Wallet::open(&dir)? {
        Wallet::Server(api) => {
            let body = serde_json::json!({ "verifiableCredential": input_value(&input) });
            let held = api
                .call(reqwest::Method::POST, "/credentials", Some(body))
                .await?;
            let held: HeldCredential =
                serde_json::from_value(held).context("the server's answer is not readable")?;
            println!("stored {} ({})", held.types.join(", "), held.key);
            return Ok(());
        }
        Wallet::Store(store) => store,
    };
    let data_dir = DataDir::new(&dir.data_dir);
    let identity = data_dir.identity().context("cannot load the identity")?;
    let verifier = verifier(Trust::InstalledIfAny(data_dir.root())).await?;
    let report = verifier.verify_credential(&input).await;
    if !report.verified {
        return Err(Failure::Failed(anyhow!(
            "refusing a credential that does not verify: {}",
            report.error.unwrap_or_default()
        )));
    }
    let document = report.document.clone().unwrap_or_default();
    let subjects = credential::subject_ids(&document);
    if subjects.is_empty() || subjects.iter().any(|s| *s != identity.did.as_str()) {
        return Err(Failure::Failed(anyhow!(
            "refusing a credential about `{}`: this connector is `{}`",
            subjects.join(", "),
            identity.did
        )));
    }
    let held = HeldCredential::new(
        &input,
        &document,
        report.format.as_deref().unwrap_or_default(),
    );
    let record = held.clone();
    store
        .blocking(move |s| s.credentials.put(&record))
        .await
        .context("cannot store the credential")?;
    println!("stored {} ({})", report.types.join(", "), held.key);
    Ok(())
}

/// The credential as the management API takes it: the compact JWS, or the JSON document.
fn input_value(input: &Input) -> serde_json::Value {
    match input {
        Input::Jwt(token) => serde_json::Value::String(token.clone()),
        Input::Json(value) => value.clone(),
    }
}

/// Runs `symbolon credential remove`: the credential named by its wallet key or id is no
/// longer held (nor presented).
pub async fn remove(dir: DataDirArg, name: &str) -> CommandResult {
    let removed = match Wallet::open(&dir)? {
        Wallet::Server(api) => {
            let segment =
                percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC);
            let path = format!("/credentials/{segment}");
            api.call(reqwest::Method::DELETE, &path, None).await?;
            true
        }
        Wallet::Store(store) => {
            let wanted = name.to_owned();
            store
                .blocking(move |s| {
                    let held = s.credentials.list()?;
                    match held.iter().find(|c| c.is_named(&wanted)) {
                        Some(credential) => s.credentials.remove(&credential.key),
                        None => Ok(false),
                    }
                })
                .await
                .context("cannot change the wallet")?
        }
    };
    if !removed {
        return Err(Failure::Failed(anyhow!(
            "no credential `{name}` in the wallet: `symbolon credential list --data-dir {}` \
             shows each one's key",
            dir.data_dir.display()
        )));
    }
    println!("removed {name}");
    Ok(())
}

/// Runs `symbolon credential list`.
pub async fn list(dir: DataDirArg, json: bool) -> CommandResult {
    let held = Wallet::open(&dir)?.list().await?;
    if json {
        return print_json(&held);
    }
    if held.is_empty() {
        println!("the wallet is empty");
    }
    for credential in held {
        println!(
            "{}  {}  {}  from {}  ({})",
            credential.key,
            credential.stored_at,
            credential.types.join(","),
            credential.issuer,
            credential.format
        );
    }
    Ok(())
}
