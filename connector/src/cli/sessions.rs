//! `symbolon study create` (a data holder's computation offer with its data bound) and
//! `symbolon session start|list|show|cancel|result` (MPC sessions), through the running
//! server's management API. `session start` follows the session to its end with a progress
//! line on standard error: the phase and each party's status.

use std::io::IsTerminal as _;
use std::time::{Duration, Instant};

use anyhow::anyhow;
use serde_json::{json, Map, Value};

use super::manage::{pid_segment, text, Management};
use super::{print_json, read_input, CommandResult, DataDirArg, Failure};

/// `symbolon study ...`.
#[derive(Debug, clap::Subcommand)]
pub enum StudyCommand {
    /// Publish a computation offer whose data (a CSV file under the data directory's `data/`
    /// folder) stays here: sessions run programs on it, and only secret shares leave.
    Create {
        #[command(flatten)]
        dir: DataDirArg,
        /// The offer's id.
        #[arg(long)]
        id: String,
        /// A title.
        #[arg(long)]
        title: String,
        /// The usage policy file (`-` for standard input).
        #[arg(long)]
        policy: String,
        /// The CSV file, relative to the data directory's `data/` folder.
        #[arg(long)]
        data: String,
        /// A column programs may read: `NAME` or `NAME=CSV_HEADER` (repeat).
        #[arg(long = "column", required = true)]
        columns: Vec<String>,
        /// The CSV column holding each row's identifier (a pseudonym), for linking programs.
        #[arg(long)]
        ids: Option<String>,
        /// Who answers requests: `auto` (the policy) or `manual` (the operator).
        #[arg(long, default_value = "auto")]
        decision: String,
        /// Print the offer as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `symbolon session ...`.
#[derive(Debug, clap::Subcommand)]
pub enum SessionCommand {
    /// Start a session as analyst over agreements with data holders; follows it to its end
    /// and prints the result.
    Start {
        #[command(flatten)]
        dir: DataDirArg,
        /// The program's id in the library (`mean`, `linked-group-stats`, …).
        #[arg(long)]
        program: String,
        /// The program's version (default: the newest in the library).
        #[arg(long)]
        version: Option<String>,
        /// The program's parameters: a JSON object, or `@FILE`.
        #[arg(long, default_value = "{}")]
        params: String,
        /// An agreement with a data holder (repeat, one per holder).
        #[arg(long = "agreement", required = true)]
        agreements: Vec<String>,
        /// This connector's own computation offer, to bring its bound data as an input party.
        #[arg(long)]
        input_offer: Option<String>,
        /// The smallest group a released figure may describe.
        #[arg(long)]
        k: u64,
        /// The purpose, as the agreements' policies name it.
        #[arg(long)]
        purpose: String,
        /// Seconds the parties have to join.
        #[arg(long, default_value_t = 60)]
        join_seconds: u64,
        /// Milliseconds a round may take.
        #[arg(long, default_value_t = 30_000)]
        round_timeout_ms: u64,
        /// Return once the requests are sent, without following the session.
        #[arg(long)]
        no_wait: bool,
        /// Print JSON (the session, then the result).
        #[arg(long)]
        json: bool,
    },
    /// List the sessions this connector takes part in.
    List {
        #[command(flatten)]
        dir: DataDirArg,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one session with each party's status.
    Show {
        #[command(flatten)]
        dir: DataDirArg,
        /// The session's id.
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Cancel a session that has not ended; nothing is released.
    Cancel {
        #[command(flatten)]
        dir: DataDirArg,
        /// The session's id.
        id: String,
    },
    /// Print the result of a completed session (its recipient only).
    Result {
        #[command(flatten)]
        dir: DataDirArg,
        /// The session's id.
        id: String,
    },
}

/// Runs `symbolon study ...`.
pub async fn study(command: StudyCommand) -> CommandResult {
    let StudyCommand::Create {
        dir,
        id,
        title,
        policy,
        data,
        columns,
        ids,
        decision,
        json,
    } = command;
    let policy = read_input(&policy)?;
    let mut bound = Map::new();
    for column in columns {
        let (name, header) = column.split_once('=').unwrap_or((&column, &column));
        bound.insert(name.to_owned(), header.into());
    }
    let offer = Management::for_dir(&dir)?
        .call(
            reqwest::Method::POST,
            "/offers",
            Some(
                json!({"id": id, "title": title, "kind": "computation", "policy": policy,
                        "decision": decision,
                        "binding": {"file": data, "columns": bound, "ids": ids}}),
            ),
        )
        .await?;
    if json {
        return print_json(&offer);
    }
    println!("published computation offer {id} (data `{data}` stays here)");
    Ok(())
}

/// Runs `symbolon session ...`.
pub async fn run(command: SessionCommand) -> CommandResult {
    match command {
        SessionCommand::Start {
            dir,
            program,
            version,
            params,
            agreements,
            input_offer,
            k,
            purpose,
            join_seconds,
            round_timeout_ms,
            no_wait,
            json,
        } => {
            let params = match params.strip_prefix('@') {
                Some(file) => read_input(file)?,
                None => params,
            };
            let params: Value = serde_json::from_str(&params)
                .map_err(|e| Failure::Usage(anyhow!("`--params` is not JSON: {e}")))?;
            let api = Management::for_dir(&dir)?;
            let started = api
                .call(
                    reqwest::Method::POST,
                    "/sessions",
                    Some(json!({
                        "program": {"id": program, "version": version, "params": params},
                        "agreements": agreements, "input_offer": input_offer,
                        "min_group_size": k, "purpose": purpose,
                        "join_seconds": join_seconds, "round_timeout_ms": round_timeout_ms
                    })),
                )
                .await?;
            if no_wait {
                return if json {
                    print_json(&started)
                } else {
                    println!("{}", line(&started));
                    Ok(())
                };
            }
            let id = text(&started, "id");
            let ended = follow(&api, &id, join_seconds).await?;
            if json {
                print_json(&ended)?;
            } else {
                println!("{}", line(&ended));
            }
            match text(&ended, "state").as_str() {
                "completed" => {
                    let result = api
                        .call(
                            reqwest::Method::GET,
                            &format!("/sessions/{}/result", pid_segment(&id)?),
                            None,
                        )
                        .await?;
                    print_json(&result)
                }
                _ => Err(Failure::Failed(anyhow!(
                    "the session {}: {} {}",
                    text(&ended, "state"),
                    text(&ended, "code"),
                    text(&ended, "reason")
                ))),
            }
        }
        SessionCommand::List { dir, json } => {
            let all = Management::for_dir(&dir)?
                .call(reqwest::Method::GET, "/sessions", None)
                .await?;
            if json {
                return print_json(&all);
            }
            for session in all.as_array().into_iter().flatten() {
                println!("{}", line(session));
            }
            Ok(())
        }
        SessionCommand::Show { dir, id, json } => {
            let session = Management::for_dir(&dir)?
                .call(
                    reqwest::Method::GET,
                    &format!("/sessions/{}", pid_segment(&id)?),
                    None,
                )
                .await?;
            if json {
                return print_json(&session);
            }
            println!("{}", line(&session));
            for (i, party) in session["parties"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
            {
                println!("  {}", party_line(i, party));
            }
            Ok(())
        }
        SessionCommand::Cancel { dir, id } => {
            let session = Management::for_dir(&dir)?
                .call(
                    reqwest::Method::POST,
                    &format!("/sessions/{}/cancel", pid_segment(&id)?),
                    None,
                )
                .await?;
            println!("{}", line(&session));
            Ok(())
        }
        SessionCommand::Result { dir, id } => {
            let result = Management::for_dir(&dir)?
                .call(
                    reqwest::Method::GET,
                    &format!("/sessions/{}/result", pid_segment(&id)?),
                    None,
                )
                .await?;
            print_json(&result)
        }
    }
}

/// Follows session `id` until it ends, showing its phase on standard error (a terminal).
async fn follow(api: &Management, id: &str, join_seconds: u64) -> Result<Value, Failure> {
    let visible = std::io::stderr().is_terminal();
    let started = Instant::now();
    // Joining may take the whole join window; a run is bounded by its rounds' timeouts.
    let give_up = Duration::from_secs(join_seconds.saturating_add(3600));
    loop {
        let session = api
            .call(
                reqwest::Method::GET,
                &format!("/sessions/{}?wait_seconds=1", pid_segment(id)?),
                None,
            )
            .await?;
        if visible {
            eprint!("\r\x1b[2K{}", progress(&session, started.elapsed()));
        }
        let state = text(&session, "state");
        if matches!(state.as_str(), "completed" | "failed" | "cancelled") {
            if visible {
                eprintln!();
            }
            return Ok(session);
        }
        if started.elapsed() > give_up {
            return Err(Failure::Failed(anyhow!(
                "session {id} is still {state}; follow it with `symbolon session show {id}`"
            )));
        }
    }
}

/// The phase of a session and its parties, on one line.
fn progress(session: &Value, elapsed: Duration) -> String {
    let parties = session["parties"].as_array().cloned().unwrap_or_default();
    let holders: Vec<&Value> = parties
        .iter()
        .filter(|p| p.get("transfer").is_some())
        .collect();
    let admitted = holders
        .iter()
        .filter(|p| matches!(p["transfer_state"].as_str(), Some("STARTED" | "COMPLETED")))
        .count();
    let phase = match text(session, "state").as_str() {
        "joining" if admitted < holders.len() => {
            format!("admission {admitted}/{} countersigned", holders.len())
        }
        "joining" => "joining: opening the parties' streams".to_owned(),
        "running" => match session.get("progress") {
            Some(p) => format!(
                "running the program: {} messages, {:.1} MiB exchanged",
                p["messages_sent"].as_u64().unwrap_or(0)
                    + p["messages_received"].as_u64().unwrap_or(0),
                (p["bytes_sent"].as_u64().unwrap_or(0) + p["bytes_received"].as_u64().unwrap_or(0))
                    as f64
                    / 1_048_576.0
            ),
            None => "running the program".to_owned(),
        },
        other => other.to_owned(),
    };
    let marks: String = holders
        .iter()
        .map(|p| match p["transfer_state"].as_str() {
            Some("STARTED") => '+',
            Some("COMPLETED") => '#',
            Some("TERMINATED") => 'x',
            _ => '.',
        })
        .collect();
    format!(
        "[{marks}] {phase}  {:.1}s  {}",
        elapsed.as_secs_f64(),
        text(session, "program")
    )
}

/// One line about a session.
fn line(session: &Value) -> String {
    let ended = match session.get("code").and_then(Value::as_str) {
        Some(code) => format!("  {code}: {}", text(session, "reason")),
        None => String::new(),
    };
    format!(
        "{}  {}  {}  {} parties{}{}",
        text(session, "id"),
        text(session, "program"),
        text(session, "state"),
        session["parties"].as_array().map_or(0, Vec::len),
        if session["analyst"] == true {
            "  (analyst)"
        } else {
            ""
        },
        ended
    )
}

/// One line about a party.
fn party_line(index: usize, party: &Value) -> String {
    let roles = party["roles"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join("+");
    let status = match party.get("transfer_state").and_then(Value::as_str) {
        Some(state) => format!(
            "  transfer {state}{}",
            party
                .get("code")
                .and_then(Value::as_str)
                .map(|c| format!(" ({c})"))
                .unwrap_or_default()
        ),
        None => String::new(),
    };
    format!("{index}  {}  {roles}{status}", text(party, "did"))
}
