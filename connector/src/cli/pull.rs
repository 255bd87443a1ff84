//! `symbolon transfers pull`: downloads the data of a started pull transfer from its provider
//! to a file, with a progress bar, and prints the bytes' SHA-256. The data address and token
//! come from the running server; an expired token is renewed once through it.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context as _};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use tokio::io::AsyncWriteExt as _;

use super::manage::{pid_segment, Management};
use super::{CommandResult, DataDirArg, Failure};
use crate::protocol::messages::DataAddress;

/// `symbolon transfers pull`.
#[derive(Debug, clap::Args)]
pub struct PullArgs {
    #[command(flatten)]
    dir: DataDirArg,
    /// The transfer's process id here (a STARTED `HttpData-PULL` transfer).
    pid: String,
    /// Where to write the data (written to `<out>.part`, renamed when complete).
    #[arg(long)]
    out: PathBuf,
    /// A file under a directory dataset (its path in the dataset's listing).
    #[arg(long)]
    path: Option<String>,
}

/// What a pull got.
struct Pulled {
    bytes: u64,
    sha256: String,
}

/// Runs `symbolon transfers pull`.
pub async fn run(args: PullArgs) -> CommandResult {
    let api = Management::for_dir(&args.dir)?;
    let segment = pid_segment(&args.pid)?;
    let mut transfer = api
        .call(reqwest::Method::GET, &format!("/transfers/{segment}"), None)
        .await?;
    let mut renewed = false;
    let pulled = loop {
        let (url, token) = address(&transfer, args.path.as_deref())?;
        match download(&url, &token, &args.out).await? {
            Download::Done(pulled) => break pulled,
            Download::Expired if !renewed => {
                renewed = true;
                transfer = api
                    .call(
                        reqwest::Method::POST,
                        &format!("/transfers/{segment}/refresh"),
                        None,
                    )
                    .await?;
            }
            Download::Expired => {
                return Err(Failure::Failed(anyhow!(
                    "the provider refused the renewed token as expired"
                )))
            }
        }
    };
    println!(
        "{} bytes written to {}\nsha256 {}",
        pulled.bytes,
        args.out.display(),
        pulled.sha256
    );
    Ok(())
}

/// The URL to pull and the bearer token, from the transfer's data address.
fn address(transfer: &Value, path: Option<&str>) -> Result<(String, String), Failure> {
    let state = transfer["state"].as_str().unwrap_or("?");
    let address = &transfer["data_address"];
    if state != "STARTED" || address.is_null() {
        return Err(Failure::Failed(anyhow!(
            "transfer `{}` is {state} and has no data address to pull from (a STARTED \
             `HttpData-PULL` transfer of this consumer has one)",
            transfer["consumer_pid"].as_str().unwrap_or("?")
        )));
    }
    let address: DataAddress = serde_json::from_value(address.clone())
        .map_err(|e| anyhow!("the transfer's data address is malformed: {e}"))?;
    let endpoint = address
        .endpoint()
        .ok_or_else(|| anyhow!("the data address names no endpoint"))?
        .to_owned();
    let token = address
        .property("authorization")
        .ok_or_else(|| anyhow!("the data address carries no token"))?
        .to_owned();
    let url = match path {
        Some(path) => format!(
            "{}/{}",
            endpoint.trim_end_matches('/'),
            path.trim_start_matches('/')
        ),
        None => endpoint,
    };
    Ok((url, token))
}

enum Download {
    Done(Pulled),
    Expired,
}

/// Streams `url` into `<out>.part`, hashing as it goes, then renames it to `out`.
async fn download(url: &str, token: &str, out: &Path) -> Result<Download, Failure> {
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(Duration::from_secs(60))
        .build()
        .context("cannot build an HTTP client")?;
    let mut response = client
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .with_context(|| format!("cannot reach `{url}`"))?;
    let status = response.status();
    if !status.is_success() {
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        if status == reqwest::StatusCode::UNAUTHORIZED && answer["error"] == "token_expired" {
            return Ok(Download::Expired);
        }
        let message = answer["message"].as_str().unwrap_or("no explanation");
        return Err(Failure::Failed(anyhow!(
            "the provider answered {status}: {message}"
        )));
    }
    let total = response.content_length();
    let part = out.with_extension(match out.extension() {
        Some(ext) => format!("{}.part", ext.to_string_lossy()),
        None => "part".into(),
    });
    let mut file = tokio::fs::File::create(&part)
        .await
        .with_context(|| format!("cannot create `{}`", part.display()))?;
    let mut hash = Sha256::new();
    let mut progress = Progress::new(total);
    let mut bytes = 0u64;
    while let Some(chunk) = response
        .chunk()
        .await
        .with_context(|| format!("the download from `{url}` broke off after {bytes} bytes"))?
    {
        hash.update(&chunk);
        file.write_all(&chunk)
            .await
            .with_context(|| format!("cannot write `{}`", part.display()))?;
        bytes += chunk.len() as u64;
        progress.show(bytes);
    }
    progress.finish(bytes);
    if total.is_some_and(|total| total != bytes) {
        return Err(Failure::Failed(anyhow!(
            "the download ended after {bytes} of {} bytes; `{}` is incomplete",
            total.unwrap_or_default(),
            part.display()
        )));
    }
    file.sync_all()
        .await
        .with_context(|| format!("cannot flush `{}`", part.display()))?;
    tokio::fs::rename(&part, out)
        .await
        .with_context(|| format!("cannot write `{}`", out.display()))?;
    Ok(Download::Done(Pulled {
        bytes,
        sha256: hex::encode(hash.finalize()),
    }))
}

/// A progress bar on standard error, when it is a terminal.
struct Progress {
    total: Option<u64>,
    shown: Option<Instant>,
    started: Instant,
    visible: bool,
}

impl Progress {
    fn new(total: Option<u64>) -> Self {
        Progress {
            total,
            shown: None,
            started: Instant::now(),
            visible: std::io::stderr().is_terminal(),
        }
    }

    fn show(&mut self, bytes: u64) {
        if !self.visible
            || self
                .shown
                .is_some_and(|at| at.elapsed() < Duration::from_millis(100))
        {
            return;
        }
        self.shown = Some(Instant::now());
        eprint!("\r{}", self.line(bytes));
    }

    fn finish(&mut self, bytes: u64) {
        if self.visible {
            eprintln!("\r{}", self.line(bytes));
        }
    }

    fn line(&self, bytes: u64) -> String {
        let seconds = self.started.elapsed().as_secs_f64().max(1e-3);
        let rate = bytes as f64 / seconds / 1_048_576.0;
        match self.total {
            Some(total) if total > 0 => {
                let done = (bytes as f64 / total as f64).min(1.0);
                let filled = (done * 30.0) as usize;
                format!(
                    "[{}{}] {:>5.1}%  {:.1}/{:.1} MiB  {rate:.1} MiB/s",
                    "#".repeat(filled),
                    " ".repeat(30 - filled),
                    done * 100.0,
                    bytes as f64 / 1_048_576.0,
                    total as f64 / 1_048_576.0
                )
            }
            _ => format!("{:.1} MiB  {rate:.1} MiB/s", bytes as f64 / 1_048_576.0),
        }
    }
}
