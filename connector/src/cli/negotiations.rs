//! `symbolon negotiations list|offer|agree|request|accept|verify|terminate`: contract
//! negotiations through the running server's management API, besides `symbolon negotiate`
//! (which starts one as consumer). The operator's answers name the negotiation by its process
//! id here; a move the counterparty could not be told of leaves it unchanged and fails.

use serde_json::{json, Value};

use super::manage::{own_pid, pid_segment, report_outcome, text, Management, OutcomeArgs};
use super::{print_json, read_input, CommandResult, DataDirArg, Failure};

/// `symbolon negotiations ...`.
#[derive(Debug, clap::Subcommand)]
pub enum NegotiationsCommand {
    /// List the negotiations, both roles.
    List {
        #[command(flatten)]
        dir: DataDirArg,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// As provider: offer other terms in answer to a request (`<PID>`: a counter-offer), or
    /// offer one of this connector's offers to a consumer (`--consumer … --offer …`).
    Offer {
        #[command(flatten)]
        dir: DataDirArg,
        /// The negotiation's process id here, to answer its request with a counter-offer.
        #[arg(conflicts_with_all = ["consumer", "consumer_did", "offer"],
              required_unless_present_all = ["consumer", "offer"])]
        pid: Option<String>,
        /// The consumer's Dataspace Protocol base URL (`<its url>/dsp/2025-1`).
        #[arg(long, requires = "offer")]
        consumer: Option<String>,
        /// The consumer's DID (read from its `/.well-known/dspace-version` when omitted).
        #[arg(long, requires = "consumer")]
        consumer_did: Option<String>,
        /// The offer's id in this connector's catalog.
        #[arg(long, requires = "consumer")]
        offer: Option<String>,
        /// A file (`-` for standard input) with the ODRL offer of a counter-offer; it must be
        /// one the policy permits (its rules exactly, duties may be added). Default: the
        /// policy's own offer.
        #[arg(long, requires = "pid")]
        odrl: Option<String>,
        /// Print the negotiation as JSON.
        #[arg(long)]
        json: bool,
    },
    /// As provider: agree to a request or acceptance the policy's verdict permits.
    Agree {
        #[command(flatten)]
        dir: DataDirArg,
        /// The negotiation's process id here.
        pid: String,
        /// Print the negotiation as JSON.
        #[arg(long)]
        json: bool,
    },
    /// As consumer: ask for other terms in answer to an offer (a counter-request).
    Request {
        #[command(flatten)]
        dir: DataDirArg,
        /// The negotiation's process id here.
        pid: String,
        /// A file (`-` for standard input) with the ODRL offer asked for. Default: the
        /// provider's last offer.
        #[arg(long)]
        odrl: Option<String>,
        /// The purpose to state.
        #[arg(long)]
        purpose: Option<String>,
        /// Print the negotiation as JSON.
        #[arg(long)]
        json: bool,
    },
    /// As consumer: verify the agreement received.
    Verify {
        #[command(flatten)]
        dir: DataDirArg,
        /// The negotiation's process id here.
        pid: String,
        /// Print the negotiation as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Accept an offer a provider made (as consumer); exit 0 when FINALIZED, 1 otherwise.
    Accept {
        #[command(flatten)]
        dir: DataDirArg,
        /// The negotiation's process id here.
        pid: String,
        #[command(flatten)]
        outcome: OutcomeArgs,
    },
    /// End a negotiation that is still open, telling the counterparty why.
    Terminate {
        #[command(flatten)]
        dir: DataDirArg,
        /// The negotiation's process id here.
        pid: String,
        /// Why.
        #[arg(long)]
        reason: String,
        /// End it here even when the counterparty cannot be told.
        #[arg(long)]
        force: bool,
    },
}

/// Runs `symbolon negotiations ...`.
pub async fn run(command: NegotiationsCommand) -> CommandResult {
    match command {
        NegotiationsCommand::List { dir, json } => {
            let all = Management::for_dir(&dir)?
                .call(reqwest::Method::GET, "/negotiations", None)
                .await?;
            if json {
                return print_json(&all);
            }
            for n in all.as_array().into_iter().flatten() {
                println!("{}", line(n));
            }
            Ok(())
        }
        NegotiationsCommand::Offer {
            dir,
            pid: Some(pid),
            odrl,
            json,
            ..
        } => {
            let body = match odrl {
                Some(path) => json!({ "offer": odrl_from(&path)? }),
                None => json!({}),
            };
            let path = format!("/negotiations/{}/offer", pid_segment(&pid)?);
            answer(&dir, &path, body, json).await
        }
        NegotiationsCommand::Offer {
            dir,
            pid: None,
            consumer,
            consumer_did,
            offer,
            json,
            ..
        } => {
            let offered = Management::for_dir(&dir)?
                .call(
                    reqwest::Method::POST,
                    "/negotiations/offers",
                    Some(json!({"consumer_url": consumer, "consumer_did": consumer_did, "offer_id": offer})),
                )
                .await?;
            if json {
                return print_json(&offered);
            }
            println!("{}", line(&offered));
            if text(&offered, "state") == "TERMINATED" {
                return report_outcome(&offered, false);
            }
            Ok(())
        }
        NegotiationsCommand::Accept { dir, pid, outcome } => {
            let answered = Management::for_dir(&dir)?
                .call(
                    reqwest::Method::POST,
                    &format!("/negotiations/{}/accept", pid_segment(&pid)?),
                    Some(json!({"purpose": outcome.purpose, "wait_seconds": outcome.wait})),
                )
                .await?;
            report_outcome(&answered, outcome.json)
        }
        NegotiationsCommand::Agree { dir, pid, json } => {
            let path = format!("/negotiations/{}/agree", pid_segment(&pid)?);
            answer(&dir, &path, json!({}), json).await
        }
        NegotiationsCommand::Request {
            dir,
            pid,
            odrl,
            purpose,
            json,
        } => {
            let offer = odrl.map(|path| odrl_from(&path)).transpose()?;
            let path = format!("/negotiations/{}/request", pid_segment(&pid)?);
            let body = json!({ "offer": offer, "purpose": purpose });
            answer(&dir, &path, body, json).await
        }
        NegotiationsCommand::Verify { dir, pid, json } => {
            let path = format!("/negotiations/{}/verify", pid_segment(&pid)?);
            answer(&dir, &path, json!({}), json).await
        }
        NegotiationsCommand::Terminate {
            dir,
            pid,
            reason,
            force,
        } => {
            let ended = Management::for_dir(&dir)?
                .call(
                    reqwest::Method::POST,
                    &format!("/negotiations/{}/terminate", pid_segment(&pid)?),
                    Some(json!({ "reason": reason, "force": force })),
                )
                .await?;
            println!("{}", line(&ended));
            Ok(())
        }
    }
}

/// Makes the operator's move at `path` with `body` and prints the negotiation it leaves.
async fn answer(dir: &DataDirArg, path: &str, body: Value, json: bool) -> CommandResult {
    let negotiation = Management::for_dir(dir)?
        .call(reqwest::Method::POST, path, Some(body))
        .await?;
    if json {
        return print_json(&negotiation);
    }
    println!("{}", line(&negotiation));
    if let Some(verdict) = negotiation.get("recommendation") {
        println!("policy verdict: {}", verdict_text(verdict));
    }
    Ok(())
}

/// The ODRL offer in the file at `path` (`-`: standard input).
fn odrl_from(path: &str) -> Result<Value, Failure> {
    let text = read_input(path)?;
    serde_json::from_str(&text)
        .map_err(|e| Failure::Usage(anyhow::anyhow!("`{path}` is not a JSON ODRL offer: {e}")))
}

/// The policy's verdict kept on a `manual` negotiation, in a few words.
fn verdict_text(verdict: &Value) -> String {
    let list = |member: &str, key: Option<&str>| -> Vec<String> {
        verdict[member]
            .as_array()
            .into_iter()
            .flatten()
            .map(|item| match key {
                Some(key) => text(item, key),
                None => item.as_str().unwrap_or_default().to_owned(),
            })
            .collect()
    };
    if verdict["agree"] == true {
        format!(
            "agree (obligations: {})",
            list("obligations", Some("name")).join(", ")
        )
    } else {
        format!("refuse ({})", list("reasons", None).join("; "))
    }
}

/// One line about a negotiation: this side's process id, role, state, offer, counterparty,
/// and `(manual)` when its operator answers.
fn line(negotiation: &Value) -> String {
    let manual = if negotiation["decision"] == "manual" {
        "  (manual)"
    } else {
        ""
    };
    // A terminated negotiation says why, on the same line.
    let reasons: Vec<&str> = negotiation["reason"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let why = if negotiation["state"] == "TERMINATED" && !reasons.is_empty() {
        format!("  why: {}", reasons.join("; "))
    } else {
        String::new()
    };
    format!(
        "{}  {}  {}  offer {}  with {}{manual}{why}",
        own_pid(negotiation),
        text(negotiation, "role"),
        text(negotiation, "state"),
        text(negotiation, "offer_id"),
        text(negotiation, "counterparty")
    )
}
