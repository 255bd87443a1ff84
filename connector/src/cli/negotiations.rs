//! `symbolon negotiations list|offer|accept|terminate`: contract negotiations through the
//! running server's management API, besides `symbolon negotiate` (which starts one as
//! consumer).

use serde_json::{json, Value};

use super::manage::{own_pid, pid_segment, report_outcome, text, Management, OutcomeArgs};
use super::{print_json, CommandResult, DataDirArg};

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
    /// Offer one of this connector's offers to a consumer as a contract (as provider).
    Offer {
        #[command(flatten)]
        dir: DataDirArg,
        /// The consumer's Dataspace Protocol base URL (`<its url>/dsp/2025-1`).
        #[arg(long)]
        consumer: String,
        /// The consumer's DID (read from its `/.well-known/dspace-version` when omitted).
        #[arg(long)]
        consumer_did: Option<String>,
        /// The offer's id in this connector's catalog.
        #[arg(long)]
        offer: String,
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
            consumer,
            consumer_did,
            offer,
            json,
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
        NegotiationsCommand::Terminate { dir, pid, reason } => {
            let ended = Management::for_dir(&dir)?
                .call(
                    reqwest::Method::POST,
                    &format!("/negotiations/{}/terminate", pid_segment(&pid)?),
                    Some(json!({ "reason": reason })),
                )
                .await?;
            println!("{}", line(&ended));
            Ok(())
        }
    }
}

/// One line about a negotiation: this side's process id, role, state, offer, counterparty.
fn line(negotiation: &Value) -> String {
    format!(
        "{}  {}  {}  offer {}  with {}",
        own_pid(negotiation),
        text(negotiation, "role"),
        text(negotiation, "state"),
        text(negotiation, "offer_id"),
        text(negotiation, "counterparty")
    )
}
