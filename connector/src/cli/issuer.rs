//! `symbolon issuer requests|approve|reject|registry|config` (the authority's side of
//! credential issuance) and `symbolon join` (an organisation asks an authority for a
//! credential), through the running server's management API.

use serde_json::{json, Value};

use super::manage::{pid_segment, text, Management};
use super::{print_json, read_input, CommandResult, DataDirArg, Failure};

/// `symbolon issuer ...`.
#[derive(Debug, clap::Subcommand)]
pub enum IssuerCommand {
    /// List the issuance requests received.
    Requests {
        #[command(flatten)]
        dir: DataDirArg,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Approve a received request: its credentials are issued and delivered.
    Approve {
        #[command(flatten)]
        dir: DataDirArg,
        /// The request's issuer pid.
        id: String,
    },
    /// Reject a received request, telling the holder why.
    Reject {
        #[command(flatten)]
        dir: DataDirArg,
        /// The request's issuer pid.
        id: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Deliver a decided request's credentials (or rejection) to the holder again.
    Deliver {
        #[command(flatten)]
        dir: DataDirArg,
        /// The request's issuer pid.
        id: String,
    },
    /// Install the registry of organisations (a JSON file: `{"organisations": {"<DID>":
    /// {"legalName", "registrationNumber", "role", "dataSpaceId"}}}`), or show it.
    Registry {
        #[command(flatten)]
        dir: DataDirArg,
        /// The registry file (`-` for standard input); shows the installed one when omitted.
        #[arg(long)]
        file: Option<String>,
    },
    /// Set who decides (`--approval auto|manual`) and the issuance policy, or show them.
    Config {
        #[command(flatten)]
        dir: DataDirArg,
        /// `auto` (the policy decides) or `manual` (the operator decides).
        #[arg(long, value_parser = ["auto", "manual"])]
        approval: Option<String>,
        /// The issuance policy file (`-` for standard input): action `enroll`, offer the
        /// credential type.
        #[arg(long)]
        policy: Option<String>,
    },
}

/// `symbolon join`.
#[derive(Debug, clap::Args)]
pub struct JoinArgs {
    #[command(flatten)]
    dir: DataDirArg,
    /// The authority: its URL (its base URL, or its issuer service `…/dcp/issuer`), or its DID
    /// (a did:web whose DID document names its `IssuerService`).
    #[arg(long)]
    authority: String,
    /// The credential to ask for.
    #[arg(long, default_value = "DataSpaceMembershipCredential")]
    credential: String,
    /// Seconds to wait for the decision (at most 60).
    #[arg(long, default_value_t = 30)]
    wait: u64,
    /// Print the request as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `symbolon issuer ...`.
pub async fn run(command: IssuerCommand) -> CommandResult {
    match command {
        IssuerCommand::Requests { dir, json } => {
            let requests = Management::for_dir(&dir)?
                .call(reqwest::Method::GET, "/issuer/requests", None)
                .await?;
            if json {
                return print_json(&requests);
            }
            for request in requests.as_array().into_iter().flatten() {
                print_request(request);
            }
            Ok(())
        }
        IssuerCommand::Approve { dir, id } => {
            let request = Management::for_dir(&dir)?
                .call(
                    reqwest::Method::POST,
                    &format!("/issuer/requests/{}/approve", pid_segment(&id)?),
                    None,
                )
                .await?;
            print_request(&request);
            Ok(())
        }
        IssuerCommand::Reject { dir, id, reason } => {
            let request = Management::for_dir(&dir)?
                .call(
                    reqwest::Method::POST,
                    &format!("/issuer/requests/{}/reject", pid_segment(&id)?),
                    Some(json!({ "reason": reason })),
                )
                .await?;
            print_request(&request);
            Ok(())
        }
        IssuerCommand::Deliver { dir, id } => {
            let request = Management::for_dir(&dir)?
                .call(
                    reqwest::Method::POST,
                    &format!("/issuer/requests/{}/deliver", pid_segment(&id)?),
                    None,
                )
                .await?;
            println!("{}", text(&request, "delivery"));
            Ok(())
        }
        IssuerCommand::Registry { dir, file } => {
            let api = Management::for_dir(&dir)?;
            let registry = match file {
                Some(file) => {
                    let body: Value = serde_json::from_str(&read_input(&file)?).map_err(|e| {
                        Failure::Usage(anyhow::anyhow!("`{file}` is not JSON: {e}"))
                    })?;
                    api.call(reqwest::Method::PUT, "/issuer/registry", Some(body))
                        .await?
                }
                None => {
                    api.call(reqwest::Method::GET, "/issuer/registry", None)
                        .await?
                }
            };
            print_json(&registry)
        }
        IssuerCommand::Config {
            dir,
            approval,
            policy,
        } => {
            let api = Management::for_dir(&dir)?;
            let mut config = api
                .call(reqwest::Method::GET, "/issuer/config", None)
                .await?;
            if approval.is_some() || policy.is_some() {
                if let Some(approval) = approval {
                    config["approval"] = approval.into();
                }
                if let Some(policy) = policy {
                    config["policy"] = read_input(&policy)?.into();
                }
                config = api
                    .call(reqwest::Method::PUT, "/issuer/config", Some(config))
                    .await?;
            }
            print_json(&config)
        }
    }
}

fn print_request(request: &Value) {
    let reasons: Vec<&str> = request["reasons"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    println!(
        "{}  {}  {}  {}  {}",
        text(request, "issuer_pid"),
        text(request, "status"),
        text(request, "holder"),
        request["credential_types"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(","),
        reasons.join("; ")
    );
}

/// Runs `symbolon join`: asks the authority for a credential and reports the outcome; exit 1
/// when it was rejected or is still undecided.
pub async fn join(args: JoinArgs) -> CommandResult {
    let onboarding = Management::for_dir(&args.dir)?
        .call(
            reqwest::Method::POST,
            "/onboarding",
            Some(json!({
                "authority_url": args.authority,
                "credential_type": args.credential,
                "wait_seconds": args.wait.min(60),
            })),
        )
        .await?;
    if args.json {
        print_json(&onboarding)?;
    }
    match onboarding["status"].as_str() {
        Some("ISSUED") => {
            if !args.json {
                println!(
                    "ISSUED: {} from {} is in the wallet",
                    text(&onboarding, "credential_type"),
                    text(&onboarding, "issuer")
                );
            }
            Ok(())
        }
        Some("REJECTED") => {
            let reasons: Vec<&str> = onboarding["reasons"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            eprintln!("REJECTED: {}", reasons.join("; "));
            Err(Failure::Rejected)
        }
        _ => {
            eprintln!(
                "RECEIVED: the request {} waits for the authority's operator; see `GET /api/v1/onboarding`",
                text(&onboarding, "holder_pid")
            );
            Err(Failure::Exit(1))
        }
    }
}
