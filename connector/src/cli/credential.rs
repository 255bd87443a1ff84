//! `symbolon credential issue|verify|revoke|suspend|reinstate|store|remove|list|types`.

mod types;
mod wallet;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context as _};
use serde_json::Value;
use symbolon_identity::status_list::{HttpStatusSource, StatusPurpose};
use symbolon_identity::{credential, issue_credential, Did, DidResolver, Format, Input, Verifier};

use super::manage::Management;
use super::{print_report, read_input, CommandResult, DataDirArg, Failure};
use symbolon_audit::EventKind;

use crate::context::{Connector, OpenError, Settings};
use crate::datadir::{DataDir, SERVE_URL_FILE};
use crate::issuer::StatusRegistry;
use crate::store::StoreError;

/// Credential commands.
#[derive(Debug, clap::Subcommand)]
pub enum CredentialCommand {
    /// Issue a credential signed by this connector and print it.
    Issue(IssueArgs),
    /// Verify a credential (exit 0 valid, 1 invalid, 2 usage error).
    Verify(VerifyArgs),
    /// Revoke a credential this connector issued (a credential file, or its id).
    Revoke(StatusArgs),
    /// Suspend a credential this connector issued.
    Suspend(StatusArgs),
    /// Lift the suspension of a credential this connector issued.
    Reinstate(StatusArgs),
    /// Keep a credential issued to this connector's DID in its wallet (through the running
    /// server, if `serve` runs).
    Store {
        #[command(flatten)]
        dir: DataDirArg,
        /// The credential file (`-` for standard input).
        file: String,
    },
    /// Remove a credential from the wallet, e.g. one its issuer revoked: it is no longer
    /// presented.
    Remove {
        #[command(flatten)]
        dir: DataDirArg,
        /// Its key (as `credential list` shows it) or its id.
        credential: String,
    },
    /// List the credentials in the wallet.
    List {
        #[command(flatten)]
        dir: DataDirArg,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show the credential types, the claims each requires and may carry, and an example.
    Types {
        /// One type only (e.g. DataSpaceMembershipCredential).
        credential_type: Option<String>,
        /// Print the JSON Schemas of the types' subjects.
        #[arg(long)]
        json: bool,
    },
}

/// Arguments of `credential issue`.
#[derive(Debug, clap::Args)]
pub struct IssueArgs {
    #[command(flatten)]
    dir: DataDirArg,
    /// The credential type, e.g. DataSpaceMembershipCredential (`symbolon credential types`
    /// lists them with their claims).
    #[arg(long = "type")]
    credential_type: String,
    /// The subject's DID.
    #[arg(long)]
    subject: String,
    /// Subject claims as JSON, or @FILE.
    #[arg(long)]
    claims: Option<String>,
    /// jwt (VC-JOSE), di (eddsa-rdfc-2022), di-jcs (eddsa-jcs-2022) or sd-jwt (SD-JWT VC).
    #[arg(long, default_value = "jwt")]
    format: String,
    /// With sd-jwt: the subject claims to make selectively disclosable (`name`, or `name[]`
    /// for each element of an array claim), comma-separated or repeated (default: the type's,
    /// shown by `credential types`).
    #[arg(long, value_delimiter = ',')]
    disclosable: Option<Vec<String>>,
    /// The VC Data Model version: 2.0, or 1.1 (`credentials/v1`, `issuanceDate`; Data
    /// Integrity formats only).
    #[arg(long, default_value = "2.0")]
    vc_version: String,
    /// Expiry (RFC 3339).
    #[arg(long)]
    valid_until: Option<String>,
    /// Add revocation and suspension status entries.
    #[arg(long)]
    status: bool,
    /// Base URL of the status lists (default: the URL `symbolon serve` recorded).
    #[arg(long)]
    status_base: Option<String>,
}

/// Arguments of `credential verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    trust: TrustArgs,
    /// Print the full report as JSON.
    #[arg(long)]
    json: bool,
    /// The credential file (`-` for standard input).
    file: String,
}

/// Where a verification finds the trust list its issuers are checked against. One is
/// required: without it, any key can sign a credential that verifies.
#[derive(Debug, clap::Args)]
pub struct TrustArgs {
    /// A trust list credential to check the issuer against.
    #[arg(long, conflicts_with = "no_trust")]
    trust_list: Option<String>,
    /// Use the trust list installed in this data directory.
    #[arg(long, conflicts_with = "no_trust", value_parser = super::existing_dir)]
    data_dir: Option<std::path::PathBuf>,
    /// Skip the issuer check: accept credentials signed by anyone (signature, validity and
    /// status are still checked).
    #[arg(long)]
    no_trust: bool,
}

/// Arguments of the status commands.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    #[command(flatten)]
    dir: DataDirArg,
    /// A credential file or a credential id.
    credential: String,
}

/// Runs a credential command.
pub async fn run(command: CredentialCommand) -> CommandResult {
    match command {
        CredentialCommand::Issue(args) => issue(args).await,
        CredentialCommand::Verify(args) => verify(args).await,
        CredentialCommand::Revoke(args) => set_status(args, StatusPurpose::Revocation, true).await,
        CredentialCommand::Suspend(args) => set_status(args, StatusPurpose::Suspension, true).await,
        CredentialCommand::Reinstate(args) => {
            set_status(args, StatusPurpose::Suspension, false).await
        }
        CredentialCommand::Store { dir, file } => wallet::store(dir, &file).await,
        CredentialCommand::Remove { dir, credential } => wallet::remove(dir, &credential).await,
        CredentialCommand::List { dir, json } => wallet::list(dir, json).await,
        CredentialCommand::Types {
            credential_type,
            json,
        } => types::run(credential_type.as_deref(), json),
    }
}

fn usage(error: impl Into<anyhow::Error>) -> Failure {
    Failure::Usage(error.into())
}

async fn issue(args: IssueArgs) -> CommandResult {
    let dir = DataDir::new(&args.dir.data_dir);
    let identity = dir.identity().context("cannot load the identity")?;
    let format: Format = args.format.parse().map_err(|e: String| usage(anyhow!(e)))?;
    let subject = Did::parse(&args.subject).map_err(usage)?;
    let claims: Value = match args.claims.as_deref() {
        None => Value::Null,
        Some(text) => {
            let text = match text.strip_prefix('@') {
                Some(path) => read_input(path)?,
                None => text.to_owned(),
            };
            serde_json::from_str(&text).map_err(|e| usage(anyhow!("--claims is not JSON: {e}")))?
        }
    };
    if args.credential_type == crate::dcp::issuer::permits::TYPE && !args.status {
        return Err(usage(anyhow!(
            "a DataPermitCredential needs a status entry, since health data access bodies revoke \
             permits: add --status (and --valid-until, the end of the permit)"
        )));
    }
    let valid_until = args
        .valid_until
        .as_deref()
        .map(|t| {
            credential::parse_time(t)
                .ok_or_else(|| usage(anyhow!("--valid-until `{t}` is not an RFC 3339 date-time")))
        })
        .transpose()?;
    let mut unsigned = credential::build(
        &identity.did,
        &args.credential_type,
        &subject,
        &claims,
        valid_until,
    )
    .context("the credential is not valid")?;
    match args.vc_version.as_str() {
        "2.0" | "2" => {}
        "1.1" => unsigned = credential::to_v1_1(&unsigned),
        other => {
            return Err(usage(anyhow!(
                "--vc-version `{other}`: expected 2.0 or 1.1"
            )))
        }
    }
    if args.disclosable.is_some() && format != Format::SdJwt {
        return Err(usage(anyhow!(
            "--disclosable applies to --format sd-jwt only"
        )));
    }
    if args.status {
        let base = match args.status_base {
            Some(base) => base,
            None => dir
                .read_text(SERVE_URL_FILE)
                .context("cannot read the serve URL")?
                .map(|u| u.trim().to_owned())
                .ok_or_else(|| usage(anyhow!("--status needs --status-base URL, or a `symbolon serve` started on this data directory")))?,
        };
        StatusRegistry::new(dir.clone(), &base)
            .assign(&mut unsigned, &base)
            .context("cannot assign a status index")?;
    }
    let Some(connector) = open_trail(&dir)? else {
        // `serve` holds the store: it issues, so that the issuance lands in its audit trail.
        let answer = Management::for_dir(&args.dir)?
            .call_at(
                reqwest::Method::POST,
                "/credentials/issue",
                Some(serde_json::json!({"credential": unsigned, "options": {
                    "format": args.format,
                    "selectivelyDisclosable": args.disclosable,
                }})),
            )
            .await?;
        println!("{}", unenvelop(answer.get("verifiableCredential")));
        return Ok(());
    };
    let signed = match format {
        Format::SdJwt => symbolon_identity::issue::issue_sd_jwt(
            &identity,
            &unsigned,
            args.disclosable.map(symbolon_identity::sd_jwt::Disclosable),
            None,
        ),
        _ => issue_credential(&identity, unsigned, format).await,
    }
    .context("cannot issue the credential")?;
    let text = signed.to_text();
    let id = credential_id(&text);
    let audit = connector.audit();
    audit
        .record(audit.event_with_document(
            EventKind::CredentialIssued,
            id,
            "ok",
            "credential",
            serde_json::json!(text),
        ))
        .await
        .context("cannot record the issuance in the audit trail")?;
    println!("{text}");
    Ok(())
}

/// Opens the connector to record an issuer's action in its audit trail; `None` when `symbolon
/// serve` holds the store (the action then goes through the server, which records it).
fn open_trail(dir: &DataDir) -> Result<Option<Connector>, Failure> {
    match Connector::open(dir, Settings::offline()) {
        Ok(connector) => Ok(Some(connector)),
        Err(OpenError::Store(StoreError::InUse { .. })) => Ok(None),
        Err(error) => Err(Failure::Failed(
            anyhow!(error).context("cannot open the store for the audit trail"),
        )),
    }
}

/// The `id` of a secured credential (compact JWS or JSON), or "" when it has none.
fn credential_id(text: &str) -> String {
    symbolon_identity::verify::peek_jwt_payload(text)
        .or_else(|| serde_json::from_str::<Value>(text).ok())
        .and_then(|c| {
            c.get("id")
                .or_else(|| c.get("jti"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_default()
}

/// The printed form of a credential the VC-API returned: the compact JWS inside an
/// `EnvelopedVerifiableCredential`, or the JSON document.
fn unenvelop(credential: Option<&Value>) -> String {
    let credential = credential.cloned().unwrap_or(Value::Null);
    let enveloped = credential
        .get("id")
        .and_then(Value::as_str)
        .and_then(|id| id.strip_prefix("data:application/"))
        .and_then(|rest| rest.split_once(','))
        .map(|(_, token)| token.to_owned());
    enveloped.unwrap_or_else(|| serde_json::to_string_pretty(&credential).unwrap_or_default())
}

/// Which trust list a verifier checks issuers against.
#[derive(Debug, Clone, Copy)]
pub enum Trust<'a> {
    /// The trust list credential in this file (`-` for standard input).
    File(&'a str),
    /// The trust list installed in this data directory, which must have one.
    Installed(&'a std::path::Path),
    /// The trust list installed in this data directory, if it has one.
    InstalledIfAny(&'a std::path::Path),
    /// None: issuers are not checked.
    Skipped,
}

impl TrustArgs {
    /// The trust list the flags name; an error saying how to name one when they name none.
    pub fn trust(&self) -> Result<Trust<'_>, Failure> {
        match (&self.trust_list, &self.data_dir, self.no_trust) {
            (Some(file), _, _) => Ok(Trust::File(file)),
            (None, Some(dir), _) => Ok(Trust::Installed(dir)),
            (None, None, true) => Ok(Trust::Skipped),
            (None, None, false) => Err(Failure::Failed(anyhow!(
                "no trust list to check the issuer against: pass `--trust-list FILE`, or \
                 `--data-dir DIR` of a connector that installed one (`symbolon trust-list \
                 install`), or `--no-trust` to accept any issuer"
            ))),
        }
    }
}

/// A verifier with an HTTP status source and the trust list `trust` names. A command runs on
/// the operator's behalf, so it may reach private addresses (see [`super::OPERATOR_POLICY`]).
pub async fn verifier(trust: Trust<'_>) -> Result<Verifier, Failure> {
    let resolver = Arc::new(DidResolver::with_policy(super::OPERATOR_POLICY));
    let verifier = Verifier::new(resolver.clone()).with_status_source(Arc::new(
        HttpStatusSource::with_policy(Duration::from_secs(30), super::OPERATOR_POLICY),
    ));
    let (dir, required) = match trust {
        Trust::Skipped => return Ok(verifier),
        Trust::File(path) => {
            let token = read_input(path)?;
            let trust = crate::trust::verify_trust_list(&token, resolver)
                .await
                .map_err(|e| Failure::Failed(e.into()))?;
            return Ok(verifier.with_trust_list(trust));
        }
        Trust::Installed(dir) => (dir, true),
        Trust::InstalledIfAny(dir) => (dir, false),
    };
    let anchor = crate::trust::TrustAnchor::load(&DataDir::new(dir))
        .context("cannot read the installed trust list")?;
    match anchor.list() {
        Some(trust) => Ok(verifier.with_trust_list(trust)),
        None if !required => Ok(verifier),
        None => Err(Failure::Failed(anyhow!(
            "`{}` has no trust list installed: install one with `symbolon trust-list install \
             --data-dir {} FILE`, pass `--trust-list FILE`, or `--no-trust` to accept any issuer",
            dir.display(),
            dir.display()
        ))),
    }
}

async fn verify(args: VerifyArgs) -> CommandResult {
    let text = read_input(&args.file)?;
    let verifier = verifier(args.trust.trust()?).await?;
    let report = match Input::parse(&text) {
        Ok(input) => verifier.verify_credential(&input).await,
        Err(error) => {
            if args.json {
                super::print_json(
                    &serde_json::json!({"verified": false, "kind": "credential", "error": error.to_string()}),
                )?;
            }
            eprintln!("rejected: {error}");
            return Err(Failure::Rejected);
        }
    };
    print_report(&report, args.json)
}

async fn set_status(args: StatusArgs, purpose: StatusPurpose, value: bool) -> CommandResult {
    let dir = DataDir::new(&args.dir.data_dir);
    let id = if std::path::Path::new(&args.credential).is_file() {
        let text = read_input(&args.credential)?;
        let document = match Input::parse(&text).map_err(usage)? {
            Input::Jwt(token) => symbolon_identity::verify::peek_jwt_payload(&token)
                .ok_or_else(|| usage(anyhow!("not a credential")))?,
            Input::Json(value) => value,
        };
        document
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| usage(anyhow!("the credential has no id")))?
    } else {
        args.credential.clone()
    };
    let verb = match (purpose, value) {
        (StatusPurpose::Revocation, _) => "revoked",
        (StatusPurpose::Suspension, true) => "suspended",
        (StatusPurpose::Suspension, false) => "reinstated",
    };
    let Some(connector) = open_trail(&dir)? else {
        // `serve` holds the store: it changes the status and records the change.
        let answer = Management::for_dir(&args.dir)?
            .call_at(
                reqwest::Method::POST,
                "/credentials/status",
                Some(serde_json::json!({
                    "credentialId": id,
                    "credentialStatus": [{"statusPurpose": purpose.as_str(), "status": value}],
                })),
            )
            .await?;
        let index = answer.get("statusIndex").and_then(Value::as_u64);
        println!("{verb} {id} (status index {})", index.unwrap_or_default());
        return Ok(());
    };
    let record = StatusRegistry::new(dir, "")
        .set(&id, purpose, value)
        .context("cannot change the status")?;
    let outcome = if record.revoked {
        "revoked"
    } else if record.suspended {
        "suspended"
    } else {
        "active"
    };
    let audit = connector.audit();
    audit
        .record(audit.event(
            EventKind::CredentialStatus,
            &id,
            outcome,
            serde_json::json!({ "revoked": record.revoked, "suspended": record.suspended }),
        ))
        .await
        .context("cannot record the status change in the audit trail")?;
    println!("{verb} {id} (status index {})", record.index);
    Ok(())
}
