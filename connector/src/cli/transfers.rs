//! `symbolon transfers list|request|start|suspend|complete|terminate|pull`: transfer processes
//! through the running server's management API (and `pull`, from the provider's data plane).

use serde_json::{json, Value};

use super::manage::{own_pid, pid_segment, text, Management};
use super::{print_json, CommandResult, DataDirArg};

/// `symbolon transfers ...`.
#[derive(Debug, clap::Subcommand)]
pub enum TransfersCommand {
    /// List the transfer processes, both roles.
    List {
        #[command(flatten)]
        dir: DataDirArg,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Request, as consumer, the dataset of an agreement this connector holds; waits for the
    /// provider's start.
    Request {
        #[command(flatten)]
        dir: DataDirArg,
        /// The agreement's id.
        #[arg(long)]
        agreement: String,
        /// One of the formats the dataset's distributions name (e.g. `symbolon:dataset`).
        #[arg(long)]
        format: String,
        /// Seconds to wait for the provider's start (at most 60).
        #[arg(long, default_value_t = 30)]
        wait: u64,
        /// Print the transfer as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Start (or restart after a suspension) a transfer, telling the counterparty.
    Start {
        #[command(flatten)]
        dir: DataDirArg,
        /// The transfer's process id here.
        pid: String,
    },
    /// Suspend a started transfer, telling the counterparty why.
    Suspend {
        #[command(flatten)]
        dir: DataDirArg,
        /// The transfer's process id here.
        pid: String,
        /// Why.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Complete a started transfer, telling the counterparty.
    Complete {
        #[command(flatten)]
        dir: DataDirArg,
        /// The transfer's process id here.
        pid: String,
    },
    /// Download the data of a started `HttpData-PULL` transfer to a file, with a progress bar
    /// and the SHA-256 of what was received.
    Pull(super::pull::PullArgs),
    /// End a transfer, telling the counterparty why.
    Terminate {
        #[command(flatten)]
        dir: DataDirArg,
        /// The transfer's process id here.
        pid: String,
        /// Why.
        #[arg(long)]
        reason: String,
        /// End it here even when the counterparty cannot be told.
        #[arg(long)]
        force: bool,
    },
}

/// Runs `symbolon transfers ...`.
pub async fn run(command: TransfersCommand) -> CommandResult {
    match command {
        TransfersCommand::List { dir, json } => {
            let all = Management::for_dir(&dir)?
                .call(reqwest::Method::GET, "/transfers", None)
                .await?;
            if json {
                return print_json(&all);
            }
            for transfer in all.as_array().into_iter().flatten() {
                println!("{}", line(transfer));
            }
            Ok(())
        }
        TransfersCommand::Request {
            dir,
            agreement,
            format,
            wait,
            json,
        } => {
            let requested = Management::for_dir(&dir)?
                .call(
                    reqwest::Method::POST,
                    "/transfers",
                    Some(
                        json!({"agreement_id": agreement, "format": format, "wait_seconds": wait}),
                    ),
                )
                .await?;
            if json {
                return print_json(&requested);
            }
            println!("{}", line(&requested));
            Ok(())
        }
        TransfersCommand::Pull(args) => super::pull::run(args).await,
        TransfersCommand::Start { dir, pid } => moved(&dir, &pid, "start", json!({})).await,
        TransfersCommand::Suspend { dir, pid, reason } => {
            moved(&dir, &pid, "suspend", json!({ "reason": reason })).await
        }
        TransfersCommand::Complete { dir, pid } => moved(&dir, &pid, "complete", json!({})).await,
        TransfersCommand::Terminate {
            dir,
            pid,
            reason,
            force,
        } => {
            moved(
                &dir,
                &pid,
                "terminate",
                json!({ "reason": reason, "force": force }),
            )
            .await
        }
    }
}

/// Makes the operator's move `mv` on `pid` and prints the transfer as it then is.
async fn moved(dir: &DataDirArg, pid: &str, mv: &str, body: Value) -> CommandResult {
    let segment = pid_segment(pid)?;
    let transfer = Management::for_dir(dir)?
        .call(
            reqwest::Method::POST,
            &format!("/transfers/{segment}/{mv}"),
            Some(body),
        )
        .await?;
    println!("{}", line(&transfer));
    Ok(())
}

/// One line about a transfer: this side's process id, role, state, agreement, counterparty.
fn line(transfer: &Value) -> String {
    format!(
        "{}  {}  {}  agreement {}  format {}  with {}",
        own_pid(transfer),
        text(transfer, "role"),
        text(transfer, "state"),
        text(transfer, "agreement_id"),
        text(transfer, "format"),
        text(transfer, "counterparty")
    )
}
