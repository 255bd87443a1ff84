//! Command-line wrappers for the management API of a running `symbolon serve`:
//! `offer create|list`, `negotiate`, `agreements`, `peers` (and the client `negotiations` uses).
//! They read the server's URL (`serve.url`) and
//! the admin token from the data directory.

use anyhow::{anyhow, Context as _};
use serde_json::{json, Value};

use super::{print_json, read_input, CommandResult, DataDirArg, Failure};
use crate::datadir::{DataDir, SERVE_URL_FILE};

/// `symbolon offer ...`.
#[derive(Debug, clap::Subcommand)]
#[allow(
    clippy::large_enum_variant,
    reason = "parsed once per run from the command line"
)]
pub enum OfferCommand {
    /// Publish an offer with its usage policy (the policy must check).
    Create {
        #[command(flatten)]
        dir: DataDirArg,
        /// The offer's id (the name its policy uses in `on offer "<id>"`).
        #[arg(long)]
        id: String,
        /// A title.
        #[arg(long)]
        title: String,
        /// A description.
        #[arg(long, default_value = "")]
        description: String,
        /// `dataset` or `computation`.
        #[arg(long, default_value = "dataset")]
        kind: String,
        /// The action an agreement grants (default: `use`, or `join_computation`).
        #[arg(long)]
        action: Option<String>,
        /// The policy file (`-` for standard input).
        #[arg(long)]
        policy: String,
        /// Serve this file (a path under the data directory's `data/`) as the dataset, pulled
        /// over HTTP (`HttpData-PULL`).
        #[arg(long, group = "source")]
        serve_file: Option<String>,
        /// Serve the files of this directory (under `data/`) as the dataset.
        #[arg(long, group = "source")]
        serve_directory: Option<String>,
        /// Relay this http(s) URL as the dataset (the consumer never learns it).
        #[arg(long, group = "source")]
        serve_url: Option<String>,
        /// Who answers requests: `auto` (the policy decides) or `manual` (the operator
        /// answers with `symbolon negotiations offer|agree|terminate`).
        #[arg(long, default_value = "auto", value_parser = ["auto", "manual"])]
        decision: String,
        /// Print the stored offer as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the published offers (from the store, or through the running server).
    List {
        #[command(flatten)]
        dir: DataDirArg,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `symbolon negotiate`.
#[derive(Debug, clap::Args)]
pub struct NegotiateArgs {
    #[command(flatten)]
    dir: DataDirArg,
    /// The provider's Dataspace Protocol base URL (`<its url>/dsp/2025-1`).
    #[arg(long)]
    provider: String,
    /// The provider's DID (read from its `/.well-known/dspace-version` when omitted).
    #[arg(long)]
    provider_did: Option<String>,
    /// The offer's id in the provider's catalog.
    #[arg(long)]
    offer: String,
    /// Who answers the provider on this side: `auto` (an agreement is verified at once) or
    /// `manual` (verify it with `symbolon negotiations verify`).
    #[arg(long, default_value = "auto", value_parser = ["auto", "manual"])]
    decision: String,
    #[command(flatten)]
    outcome: OutcomeArgs,
}

/// What a consumer states and how it waits for a negotiation's outcome.
#[derive(Debug, clap::Args)]
pub struct OutcomeArgs {
    /// The purpose to state.
    #[arg(long)]
    pub purpose: Option<String>,
    /// Seconds to wait for the outcome (at most 60).
    #[arg(long, default_value_t = 30)]
    pub wait: u64,
    /// Print the negotiation as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `symbolon agreements`.
#[derive(Debug, clap::Args)]
pub struct AgreementsArgs {
    #[command(flatten)]
    dir: DataDirArg,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Withdraw this agreement (made here as provider): from now on it admits no transfer,
    /// no pull and no MPC session, and its open transfers are terminated.
    #[arg(long, value_name = "AGREEMENT_ID", requires = "reason")]
    withdraw: Option<String>,
    /// Why it is withdrawn (the consumer is told; with `--withdraw`).
    #[arg(long, requires = "withdraw")]
    reason: Option<String>,
}

/// `symbolon catalog`.
#[derive(Debug, clap::Args)]
pub struct CatalogArgs {
    #[command(flatten)]
    dir: DataDirArg,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// `symbolon events`.
#[derive(Debug, clap::Args)]
pub struct EventsArgs {
    #[command(flatten)]
    dir: DataDirArg,
    /// Only events whose type starts with this (e.g. `negotiation`, `session.result`).
    #[arg(long, value_name = "PREFIX")]
    kind: Option<String>,
    /// Only the last N events (after filtering).
    #[arg(long, value_name = "N")]
    last: Option<usize>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// `symbolon peers`.
#[derive(Debug, clap::Args)]
pub struct PeersArgs {
    #[command(flatten)]
    dir: DataDirArg,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `symbolon peers`.
pub async fn peers(args: PeersArgs) -> CommandResult {
    let peers = Management::for_dir(&args.dir)?
        .call(reqwest::Method::GET, "/peers", None)
        .await?;
    if args.json {
        return print_json(&peers);
    }
    for peer in peers.as_array().into_iter().flatten() {
        let status = if peer["authenticated"] == true {
            "authenticated".to_owned()
        } else {
            format!("not authenticated: {}", text(peer, "reason"))
        };
        let roles: Vec<&str> = peer["roles"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        println!(
            "{}  {}  [{}]  {status}",
            text(peer, "did"),
            text(peer, "peer_id"),
            roles.join(",")
        );
    }
    Ok(())
}

/// Lists the federated catalog: the offers authenticated peers announced on the peer network.
pub async fn catalog(args: CatalogArgs) -> CommandResult {
    let offers = Management::for_dir(&args.dir)?
        .call(reqwest::Method::GET, "/catalog/federated", None)
        .await?;
    if args.json {
        return print_json(&offers);
    }
    let offers = offers.as_array().cloned().unwrap_or_default();
    if offers.is_empty() {
        println!("no offers announced by peers yet (see `symbolon peers` for who is connected)");
    }
    for announced in &offers {
        let offer = &announced["offer"];
        println!(
            "{}  \"{}\"  by {}  at {}  (announced {})",
            text(offer, "id"),
            text(offer, "title"),
            text(announced, "issuer"),
            text(offer, "provider_url"),
            text(announced, "issued_at")
        );
    }
    Ok(())
}

/// Most events read, page by page.
const MAX_EVENTS: u64 = 1_000_000;

/// Lists the recorded events, oldest first, filtered by type.
pub async fn events(args: EventsArgs) -> CommandResult {
    let api = Management::for_dir(&args.dir)?;
    let mut all: Vec<Value> = Vec::new();
    let mut from = 0u64;
    loop {
        let page = api
            .call(reqwest::Method::GET, &format!("/events?from={from}"), None)
            .await?;
        let events = page["events"].as_array().cloned().unwrap_or_default();
        let to = page["to"].as_u64().unwrap_or(from);
        let total = page["total"].as_u64().unwrap_or(0);
        all.extend(events.into_iter().filter(|e| {
            args.kind
                .as_deref()
                .is_none_or(|k| e["type"].as_str().is_some_and(|t| t.starts_with(k)))
        }));
        if to <= from || to >= total || to >= MAX_EVENTS {
            break;
        }
        from = to;
    }
    if let Some(last) = args.last {
        let skip = all.len().saturating_sub(last);
        all.drain(..skip);
    }
    if args.json {
        return print_json(&Value::Array(all));
    }
    for event in &all {
        println!(
            "{}",
            super::audit::event_line(event, &|actor| actor.to_owned())
        );
    }
    Ok(())
}

/// A client of the running server's management API.
pub(super) struct Management {
    url: String,
    token: String,
    http: reqwest::Client,
}

impl Management {
    pub(super) fn for_dir(dir: &DataDirArg) -> Result<Self, Failure> {
        let dir = DataDir::new(&dir.data_dir);
        let url = dir
            .read_text(SERVE_URL_FILE)
            .context("cannot read the server's URL")?
            .ok_or_else(|| {
                anyhow!(
                    "no `{SERVE_URL_FILE}` in `{}`: start `symbolon serve` on this data directory first",
                    dir.root().display()
                )
            })?;
        let token = dir.admin_token().context("cannot read the admin token")?;
        Ok(Management {
            url: url.trim().trim_end_matches('/').to_owned(),
            token: token.expose().to_owned(),
            http: symbolon_identity::net::client_builder()
                .build()
                .unwrap_or_default(),
        })
    }

    pub(super) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, Failure> {
        self.call_at(method, &format!("/api/v1{path}"), body).await
    }

    /// Calls `path` under the server's base URL (the VC-API's routes sit at the root).
    pub(super) async fn call_at(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, Failure> {
        let url = format!("{}{path}", self.url);
        let mut request = self.http.request(method, &url).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("cannot reach `{url}` (is `symbolon serve` running?)"))?;
        let status = response.status();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(answer);
        }
        if let Some(rendered) = answer.get("rendered").and_then(Value::as_str) {
            eprint!("{rendered}");
        }
        let message = answer
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("no explanation");
        Err(Failure::Failed(anyhow!("{status}: {message}")))
    }
}

/// Runs `symbolon offer ...`.
pub async fn offer(command: OfferCommand) -> CommandResult {
    match command {
        OfferCommand::Create {
            dir,
            id,
            title,
            description,
            kind,
            action,
            policy,
            serve_file,
            serve_directory,
            serve_url,
            decision,
            json,
        } => {
            let policy = read_input(&policy)?;
            let source = match (serve_file, serve_directory, serve_url) {
                (Some(file), _, _) => json!({ "file": file }),
                (_, Some(directory), _) => json!({ "directory": directory }),
                (_, _, Some(url)) => json!({ "url": url }),
                _ => Value::Null,
            };
            let api = Management::for_dir(&dir)?;
            let offer = api
                .call(
                    reqwest::Method::POST,
                    "/offers",
                    Some(
                        json!({ "id": id, "title": title, "description": description,
                                 "kind": kind, "action": action, "policy": policy,
                                 "source": source, "decision": decision }),
                    ),
                )
                .await?;
            if json {
                print_json(&offer)
            } else {
                println!("published offer {id}");
                Ok(())
            }
        }
        OfferCommand::List { dir, json } => {
            let offers = list_offers(&dir).await?;
            if json {
                return print_json(&offers);
            }
            for offer in offers.as_array().into_iter().flatten() {
                println!(
                    "{}  {}  ({}, grants {})",
                    text(offer, "id"),
                    text(offer, "title"),
                    text(offer, "kind"),
                    text(offer, "action")
                );
            }
            Ok(())
        }
    }
}

/// The published offers: read from the store, or from the running server that holds it.
async fn list_offers(dir: &DataDirArg) -> Result<Value, Failure> {
    use crate::store::{Store, StoreError};
    match Store::open(&dir.data_dir) {
        Ok(store) => {
            let offers = store
                .blocking(|s| s.offers.list())
                .await
                .context("cannot read the offers")?;
            Ok(serde_json::to_value(offers).context("cannot show the offers")?)
        }
        Err(StoreError::InUse { .. }) => {
            Management::for_dir(dir)?
                .call(reqwest::Method::GET, "/offers", None)
                .await
        }
        Err(error) => Err(Failure::Failed(
            anyhow!(error).context("cannot open the store"),
        )),
    }
}

/// Runs `symbolon negotiate`: exit 0 when FINALIZED, 1 otherwise (the reasons on stderr).
pub async fn negotiate(args: NegotiateArgs) -> CommandResult {
    let api = Management::for_dir(&args.dir)?;
    let negotiation = api
        .call(
            reqwest::Method::POST,
            "/negotiations",
            Some(json!({
                "provider_url": args.provider,
                "provider_did": args.provider_did,
                "offer_id": args.offer,
                "purpose": args.outcome.purpose,
                "decision": args.decision,
                "wait_seconds": args.outcome.wait,
            })),
        )
        .await?;
    if args.decision == "manual" && text(&negotiation, "state") != "TERMINATED" {
        // The operator verifies the agreement: an open negotiation is where it should be.
        return if args.outcome.json {
            print_json(&negotiation)
        } else {
            println!(
                "negotiation {} is {}; verify its agreement with `symbolon negotiations verify`",
                text(&negotiation, "consumer_pid"),
                text(&negotiation, "state")
            );
            Ok(())
        };
    }
    report_outcome(&negotiation, args.outcome.json)
}

/// Prints a negotiation as it ended (or stands): exit 0 when FINALIZED, 1 otherwise, with the
/// reasons of a termination on stderr.
pub(super) fn report_outcome(negotiation: &Value, json: bool) -> CommandResult {
    let state = text(negotiation, "state");
    if json {
        print_json(negotiation)?;
    } else {
        let pid = match text(negotiation, "role").as_str() {
            "provider" => text(negotiation, "provider_pid"),
            _ => text(negotiation, "consumer_pid"),
        };
        println!("negotiation {pid} is {state}");
        if let Some(agreement) = negotiation.get("agreement_id").and_then(Value::as_str) {
            println!("agreement {agreement}");
        }
    }
    match state.as_str() {
        "FINALIZED" => Ok(()),
        "TERMINATED" => {
            eprintln!("refused:");
            for reason in negotiation["reason"].as_array().into_iter().flatten() {
                eprintln!("  - {}", reason.as_str().unwrap_or_default());
            }
            Err(Failure::Rejected)
        }
        other => {
            eprintln!("no outcome yet (state {other}); check `symbolon agreements` later");
            Err(Failure::Rejected)
        }
    }
}

/// Runs `symbolon agreements`.
pub async fn agreements(args: AgreementsArgs) -> CommandResult {
    let api = Management::for_dir(&args.dir)?;
    if let (Some(id), Some(reason)) = (&args.withdraw, &args.reason) {
        let withdrawn = api
            .call(
                reqwest::Method::POST,
                &format!("/agreements/{}/withdraw", pid_segment(id)?),
                Some(json!({ "reason": reason })),
            )
            .await?;
        if args.json {
            return print_json(&withdrawn);
        }
        println!(
            "{}  withdrawn at {}: its transfers are terminated and nothing more is admitted under it",
            text(&withdrawn, "id"),
            withdrawn["withdrawn"]["at"].as_str().unwrap_or_default()
        );
        return Ok(());
    }
    let agreements = api.call(reqwest::Method::GET, "/agreements", None).await?;
    if args.json {
        return print_json(&agreements);
    }
    for agreement in agreements.as_array().into_iter().flatten() {
        let status = match agreement["withdrawn"]["at"].as_str() {
            Some(at) => format!("  WITHDRAWN at {at}"),
            None => String::new(),
        };
        println!(
            "{}  offer {}  provider {}  assignee {}{status}",
            text(agreement, "id"),
            text(agreement, "offer_id"),
            text(agreement, "provider"),
            text(agreement, "assignee")
        );
    }
    Ok(())
}

/// This side's process id of a negotiation or transfer as the management API answers it.
pub(super) fn own_pid(process: &Value) -> String {
    if text(process, "role") == "provider" {
        text(process, "provider_pid")
    } else {
        text(process, "consumer_pid")
    }
}

/// `pid` percent-encoded as one path segment (a process id is checked when it arrives; this
/// keeps whatever was typed inside its segment).
pub(super) fn pid_segment(pid: &str) -> Result<String, Failure> {
    crate::protocol::pid::segment(pid).map_err(|e| Failure::Usage(e.into()))
}

pub(super) fn text(value: &Value, name: &str) -> String {
    value
        .get(name)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}
