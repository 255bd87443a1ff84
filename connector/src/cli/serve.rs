//! `symbolon serve`.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{anyhow, Context as _};

use super::{CommandResult, DataDirArg, Failure};
use crate::datadir::DataDir;
use crate::server::{start, ServeOptions};

/// Arguments of `symbolon serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    dir: DataDirArg,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:7800")]
    http: SocketAddr,
    /// PEM certificate chain; serves HTTPS together with --tls-key.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// The public base URL, when it differs from the listening address.
    #[arg(long)]
    public_url: Option<String>,
}

/// Runs `symbolon serve` until interrupted.
pub async fn run(args: ServeArgs) -> CommandResult {
    let dir = DataDir::new(&args.dir.data_dir);
    if !symbolon_identity::keystore::keystore_path(dir.root()).exists() {
        return Err(Failure::Usage(anyhow!(
            "`{}` holds no identity; run `symbolon init` first",
            dir.root().display()
        )));
    }
    let tls = args.tls_cert.zip(args.tls_key);
    let options = ServeOptions {
        tls,
        public_url: args.public_url,
        ..ServeOptions::new(args.http)
    };
    let running = start(dir, options).context("cannot start the server")?;
    println!("listening on {}", running.url);
    running.server.await.context("the server failed")?;
    Ok(())
}
