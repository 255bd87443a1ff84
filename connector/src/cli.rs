//! The `symbolon` command line: flags are parsed here and each command delegates to its module.
//!
//! Output is human text by default and JSON with `--json`; errors go to stderr with a non-zero
//! exit code (1 for a failure or a rejected credential, 2 for a usage error).

mod audit;
mod credential;
mod demo;
mod did;
mod init;
mod issuer;
mod manage;
mod negotiations;
mod policy;
mod presentation;
mod pull;
mod serve;
mod sessions;
mod store;
mod transfers;
mod trust_list;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit code of a usage error.
pub const EXIT_USAGE: u8 = 2;

/// The address policy of one-shot commands (`credential verify`, `presentation verify`,
/// `did resolve`, `trust-list install`): they run on the operator's behalf, on input the
/// operator chose, so they may reach private addresses. `serve`, which acts for callers,
/// reaches public addresses only unless `--allow-private-callbacks` is given.
const OPERATOR_POLICY: symbolon_identity::net::AddressPolicy =
    symbolon_identity::net::AddressPolicy::ALLOW_PRIVATE;

/// Symbolon: verifiable identity plus shared secrets for health data spaces.
#[derive(Debug, Parser)]
#[command(name = "symbolon", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create this connector's keystore, DID and admin token.
    Init(init::InitArgs),
    /// Show or resolve DIDs.
    #[command(subcommand)]
    Did(did::DidCommand),
    /// Issue, verify, revoke, store and list credentials.
    #[command(subcommand)]
    Credential(credential::CredentialCommand),
    /// Create and verify presentations.
    #[command(subcommand)]
    Presentation(presentation::PresentationCommand),
    /// Issue and install the data space's trust list; approve or reject one a peer sent.
    #[command(subcommand, name = "trust-list")]
    TrustList(trust_list::TrustListCommand),
    /// Check, evaluate and convert usage policies.
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
    /// Serve the connector (VC-API, Dataspace Protocol, management API) over HTTP or HTTPS.
    Serve(serve::ServeArgs),
    /// Publish offers (through the running server) and list them.
    #[command(subcommand)]
    Offer(manage::OfferCommand),
    /// Negotiate a contract for a provider's offer, as consumer (through the running server).
    Negotiate(manage::NegotiateArgs),
    /// List, offer, accept and terminate contract negotiations (through the running server).
    #[command(subcommand)]
    Negotiations(negotiations::NegotiationsCommand),
    /// List contract agreements (through the running server).
    Agreements(manage::AgreementsArgs),
    /// List the peers on the peer network (through the running server).
    Peers(manage::PeersArgs),
    /// List the federated catalog: offers peers announced on the peer network (through the
    /// running server).
    Catalog(manage::CatalogArgs),
    /// List what happened here: the recorded events, filtered by type (through the running
    /// server).
    Events(manage::EventsArgs),
    /// Export and verify the audit trail.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// List, request, start, suspend, complete and terminate transfer processes (through the
    /// running server).
    #[command(subcommand)]
    Transfers(transfers::TransfersCommand),
    /// Maintain the embedded store.
    #[command(subcommand)]
    Store(store::StoreCommand),
    /// Publish a computation offer over data that stays here (through the running server).
    #[command(subcommand)]
    Study(sessions::StudyCommand),
    /// Decide credential requests as the data space's authority: list, approve, reject; the
    /// registry of organisations and the issuance policy (through the running server).
    #[command(subcommand)]
    Issuer(issuer::IssuerCommand),
    /// Ask an authority for a credential (Decentralized Claims Protocol issuance) and wait for
    /// the decision (through the running server).
    Join(issuer::JoinArgs),
    /// Start, follow, cancel MPC sessions and read their results (through the running
    /// server).
    #[command(subcommand)]
    Session(sessions::SessionCommand),
    /// Start a whole health data space on this machine and run the seed's scenarios through
    /// it, checking and narrating each step.
    Demo(demo::DemoArgs),
}

/// Options shared by commands that act on a data directory.
#[derive(Debug, clap::Args)]
pub struct DataDirArg {
    /// The connector's data directory.
    #[arg(long, env = "SYMBOLON_DATA_DIR", value_parser = existing_dir)]
    pub data_dir: PathBuf,
}

/// Parses a `--data-dir` that must exist (`init`, which creates one, has its own flag): a
/// mistyped directory is named as such, not reported as a missing file inside it.
pub fn existing_dir(text: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(text);
    if path.is_dir() {
        return Ok(path);
    }
    let what = if path.exists() {
        "not a directory"
    } else {
        "no such directory"
    };
    Err(format!(
        "{what}: check the path (or SYMBOLON_DATA_DIR), or create a data directory there with \
         `symbolon init --data-dir {text}`"
    ))
}

/// A failure that maps to an exit code.
#[derive(Debug)]
pub enum Failure {
    /// A usage error (exit 2).
    Usage(anyhow::Error),
    /// Any other failure (exit 1).
    Failed(anyhow::Error),
    /// The verdict was negative and already reported (exit 1).
    Rejected,
    /// Exit with this code; everything was already reported.
    Exit(u8),
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        Failure::Failed(error)
    }
}

/// Result of a command.
pub type CommandResult = Result<(), Failure>;

/// Parses the arguments and runs the command.
pub fn main() -> ExitCode {
    quiet_on_closed_pipe();
    let cli = Cli::parse();
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(run(cli));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Rejected) => ExitCode::from(1),
        Err(Failure::Exit(code)) => ExitCode::from(code),
        Err(Failure::Usage(error)) => {
            eprintln!("error: {}", render(&error));
            ExitCode::from(EXIT_USAGE)
        }
        Err(Failure::Failed(error)) if is_closed_pipe(&error) => ExitCode::SUCCESS,
        Err(Failure::Failed(error)) => {
            eprintln!("error: {}", render(&error));
            ExitCode::from(1)
        }
    }
}

/// The error and its causes on one line, each cause once: a message that already includes
/// its source's text (`cannot bind: Address already in use (os error 98)` over that OS
/// error) is not followed by the source again.
pub fn render(error: &anyhow::Error) -> String {
    let mut rendered = String::new();
    let mut previous = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if text.is_empty() || previous.contains(&text) {
            continue;
        }
        if !rendered.is_empty() {
            rendered.push_str(": ");
        }
        rendered.push_str(&text);
        previous = text;
    }
    rendered
}

/// Whether `error` is a write to a closed pipe (`symbolon … | head -1`).
fn is_closed_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Output piped to a reader that stopped reading (`symbolon … | head -1`) ends the command
/// quietly, with success, as for any Unix filter: `println!` panics on a closed pipe, so the
/// panic hook recognises that panic and exits; any other panic is reported as before.
fn quiet_on_closed_pipe() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        report(info);
    }));
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SYMBOLON_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if std::env::var("SYMBOLON_LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

async fn run(cli: Cli) -> CommandResult {
    match cli.command {
        Command::Init(args) => init::run(args),
        Command::Did(command) => did::run(command).await,
        Command::Credential(command) => credential::run(command).await,
        Command::Presentation(command) => presentation::run(command).await,
        Command::TrustList(command) => trust_list::run(command).await,
        Command::Policy(command) => policy::finish(policy::run(command)?),
        Command::Serve(args) => serve::run(args).await,
        Command::Offer(command) => manage::offer(command).await,
        Command::Negotiate(args) => manage::negotiate(args).await,
        Command::Negotiations(command) => negotiations::run(command).await,
        Command::Agreements(args) => manage::agreements(args).await,
        Command::Audit(command) => audit::run(command).await,
        Command::Store(command) => store::run(command).await,
        Command::Transfers(command) => transfers::run(command).await,
        Command::Peers(args) => manage::peers(args).await,
        Command::Catalog(args) => manage::catalog(args).await,
        Command::Events(args) => manage::events(args).await,
        Command::Study(command) => sessions::study(command).await,
        Command::Session(command) => sessions::run(command).await,
        Command::Issuer(command) => issuer::run(command).await,
        Command::Join(args) => issuer::join(args).await,
        Command::Demo(args) => demo::run(args).await,
    }
}

/// Reads a file argument (`-` for standard input), as a usage error when unreadable.
pub fn read_input(path: &str) -> Result<String, Failure> {
    use std::io::Read as _;
    let mut text = String::new();
    let limit = symbolon_identity::limits::MAX_INPUT_BYTES as u64 + 1;
    let result = if path == "-" {
        std::io::stdin().take(limit).read_to_string(&mut text)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(limit).read_to_string(&mut text))
    };
    result.map_err(|e| Failure::Usage(anyhow::anyhow!("cannot read `{path}`: {e}")))?;
    Ok(text)
}

/// Prints JSON, pretty.
pub fn print_json(value: &impl serde::Serialize) -> CommandResult {
    use std::io::Write as _;
    let text = serde_json::to_string_pretty(value).map_err(|e| Failure::Failed(e.into()))?;
    writeln!(std::io::stdout().lock(), "{text}").map_err(|e| Failure::Failed(e.into()))
}

/// Prints a verification report: JSON on stdout with `--json`, else a summary; a rejection's
/// reason goes to stderr and yields [`Failure::Rejected`].
pub fn print_report(report: &symbolon_identity::Report, json: bool) -> CommandResult {
    if json {
        print_json(report)?;
    } else if report.verified {
        println!(
            "verified {}{}",
            report.kind,
            report
                .signer
                .as_ref()
                .map(|s| format!(" signed by {s}"))
                .unwrap_or_default()
        );
        for check in &report.checks {
            println!(
                "  {:<15} {:?}{}",
                check.check,
                check.outcome,
                check
                    .reason
                    .as_ref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            );
        }
    }
    if report.verified {
        Ok(())
    } else {
        eprintln!(
            "rejected: {}",
            report
                .error
                .clone()
                .unwrap_or_else(|| "verification failed".into())
        );
        Err(Failure::Rejected)
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::{audit::AuditCommand, Cli, Command};

    // A base64url challenge or nonce begins with `-` one time in 64: it is a value, not a flag.
    #[test]
    fn a_challenge_or_nonce_may_begin_with_a_hyphen() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_str().unwrap();
        let cli = Cli::try_parse_from([
            "symbolon",
            "audit",
            "present",
            "--data-dir",
            dir,
            "--to",
            "did:web:example.org",
            "--challenge",
            "-jQ2v_x",
        ])
        .map_err(|e| e.to_string())
        .unwrap();
        let Command::Audit(AuditCommand::Present { challenge, .. }) = cli.command else {
            panic!("parsed as another command");
        };
        assert_eq!(challenge, "-jQ2v_x");
        let create = [
            "symbolon",
            "presentation",
            "create",
            "--data-dir",
            dir,
            "--audience",
            "did:web:x",
            "--nonce",
            "-n0nce",
        ];
        let verify = [
            "symbolon",
            "presentation",
            "verify",
            "vp.jwt",
            "--audience",
            "did:web:x",
            "--nonce",
            "-n0nce",
        ];
        for args in [&create[..], &verify[..]] {
            let parsed = Cli::try_parse_from(args);
            assert!(
                parsed.is_ok(),
                "{args:?}: {:?}",
                parsed.err().map(|e| e.to_string())
            );
        }
    }
}
