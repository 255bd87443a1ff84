//! `symbolon serve`.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{anyhow, Context as _};

use super::{CommandResult, DataDirArg, Failure};
use crate::api::RateLimit;
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
    /// Serve plain HTTP on a non-loopback `--http` address: the admin token and everything
    /// else then cross the network unencrypted. Only for a network where that is acceptable,
    /// or behind a proxy that terminates TLS on the same host.
    #[arg(long)]
    insecure_http: bool,
    /// The public base URL, when it differs from the listening address.
    #[arg(long)]
    public_url: Option<String>,
    /// Join the peer network, listening on this multiaddr (repeatable), e.g.
    /// `/ip4/0.0.0.0/tcp/0`.
    #[arg(long)]
    p2p: Vec<String>,
    /// A bootstrap peer, `…/p2p/<PeerId>` (repeatable; any connector can serve as one).
    #[arg(long, requires = "p2p")]
    bootstrap: Vec<String>,
    /// Do not discover peers on the local network with mDNS.
    #[arg(long, requires = "p2p")]
    no_mdns: bool,
    /// Seconds between signed tree heads while audit entries are appended.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    head_interval: u64,
    /// Requests a second each client address may make, sustained, to the endpoints anyone may
    /// call (VC-API verification, the Dataspace Protocol, DID resolution, status lists); more
    /// are answered 429. 0 turns the limit off.
    #[arg(long, default_value_t = RateLimit::default().per_second)]
    rate_limit: u32,
    /// Requests a client address may make at once after being idle.
    #[arg(long, default_value_t = RateLimit::default().burst, value_parser = clap::value_parser!(u32).range(1..))]
    rate_limit_burst: u32,
    /// Reach loopback, private (RFC 1918), shared (100.64/10), link-local and unique-local
    /// addresses too: callbacks, status lists, did:web hosts and counterparties. Off by
    /// default; a demo or test with several connectors on one machine needs it.
    #[arg(long)]
    allow_private_callbacks: bool,
    /// Seconds a data plane access token is valid (a consumer renews it with its refresh
    /// token); a pull in progress is not cut when its token expires.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    data_token_ttl: u64,
    /// How long a fetched status list is trusted before it is fetched again (seconds; 0: never
    /// cached, so a revocation takes effect at the next verification). A list that states its
    /// own shorter `ttl` is cached for that long only.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(0..=86_400))]
    status_cache_seconds: u64,
    /// How this connector presents its credentials to a provider: `auto` (inside the token
    /// when the provider advertises it, as Symbolon providers do; else by the Decentralized
    /// Claims Protocol) or `dcp` (always by the Decentralized Claims Protocol: the provider
    /// queries this connector's Credential Service; needs a did:web identity).
    #[arg(long, value_enum, default_value_t = crate::negotiation::PresentationMode::Auto)]
    presentations: crate::negotiation::PresentationMode,
    /// As issuer: seconds to wait before delivering again a credential the holder's Storage
    /// API did not take; doubled after each failure, up to an hour.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    redelivery_backoff: u64,
    /// As issuer: the most delivery attempts of one decision (the holder can still fetch it
    /// afterwards).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=50))]
    redelivery_attempts: u32,
    /// A did:key connector's Credential Service (e.g. `https://host/dcp/holder`), announced in
    /// its signed self-issued tokens since its DID document cannot name one: providers then
    /// query it by the Decentralized Claims Protocol. Ignored by a did:web connector.
    #[arg(long, value_name = "URL", value_parser = credential_service_url)]
    credential_service: Option<String>,
    /// On the peer network, keep a newer trust list that a peer sends (verified: signed by the
    /// installed list's anchor, for the same data space) for the operator's approval instead
    /// of installing it at once: `symbolon trust-list pending|approve|reject`. Without it, a
    /// verified newer list is installed and passed on to the other peers.
    #[arg(long)]
    trust_list_approval: bool,
}

/// An `http(s)` URL of at most 2048 bytes, for `--credential-service`.
fn credential_service_url(text: &str) -> Result<String, String> {
    let url = url::Url::parse(text).map_err(|e| format!("`{text}` is not a URL: {e}"))?;
    if !matches!(url.scheme(), "https" | "http") || text.len() > 2048 {
        return Err(format!(
            "`{text}` must be an http(s) URL of at most 2048 bytes"
        ));
    }
    Ok(text.to_owned())
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
    if tls.is_none() && !args.http.ip().is_loopback() && !args.insecure_http {
        return Err(Failure::Usage(anyhow!(
            "refusing to serve plain HTTP on `{}`, which other machines can reach: the admin \
             token and the management API would cross the network unencrypted. Serve HTTPS \
             with `--tls-cert FILE --tls-key FILE`, listen on a loopback address (e.g. \
             `--http 127.0.0.1:{}`) behind a TLS-terminating proxy, or pass `--insecure-http` \
             if the network is trusted",
            args.http,
            args.http.port()
        )));
    }
    let options = ServeOptions {
        tls,
        public_url: args.public_url,
        head_interval: std::time::Duration::from_secs(args.head_interval),
        rate_limit: (args.rate_limit > 0).then(|| RateLimit {
            per_second: args.rate_limit,
            burst: args.rate_limit_burst,
            ..RateLimit::default()
        }),
        allow_private_callbacks: args.allow_private_callbacks,
        data_token_ttl: std::time::Duration::from_secs(args.data_token_ttl),
        status_cache_ttl: std::time::Duration::from_secs(args.status_cache_seconds),
        presentations: args.presentations,
        credential_service: args.credential_service,
        trust_list_approval: args.trust_list_approval,
        redelivery: crate::dcp::redelivery::Redelivery {
            backoff: std::time::Duration::from_secs(args.redelivery_backoff),
            max_attempts: args.redelivery_attempts,
            ..Default::default()
        },
        ..ServeOptions::new(args.http)
    };
    let running = start(dir, options).context("cannot start the server")?;
    println!("listening on {}", running.url);
    if !args.p2p.is_empty() {
        let peers = crate::p2p::PeerOptions {
            listen: args.p2p,
            bootstrap: args.bootstrap,
            mdns: !args.no_mdns,
            ..Default::default()
        };
        let addresses = running
            .join_peers(&peers)
            .await
            .context("cannot join the peer network")?;
        for address in addresses {
            println!("listening on {address}");
        }
    }
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    running.server.await.context("the server failed")?;
    Ok(())
}
