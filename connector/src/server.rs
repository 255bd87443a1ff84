//! `symbolon serve`: the HTTP(S) server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{App, HttpServer};

use crate::api;
use crate::context::{Connector, OpenError, Settings};
use crate::datadir::{DataDir, DataDirError, SERVE_URL_FILE};
use crate::issuer::StatusRegistry;
use crate::negotiation::Negotiations;
use crate::transfer::Transfers;

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The address to bind (port 0 picks a free port).
    pub http: SocketAddr,
    /// PEM certificate chain and private key for HTTPS.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// The public base URL, when it differs from the bound address.
    pub public_url: Option<String>,
    /// How long fetched status lists are cached when verifying.
    pub status_cache_ttl: Duration,
    /// How often a tree head is signed over new audit entries (none when nothing was
    /// appended since the last head).
    pub head_interval: Duration,
    /// The per-caller rate limit of the endpoints anyone may call (VC-API verification, the
    /// Dataspace Protocol, DID resolution, status lists); `None` for none.
    pub rate_limit: Option<api::RateLimit>,
    /// Whether loopback, private, shared, link-local and unique-local addresses may be reached
    /// (callbacks, status lists, did:web, counterparties): off by default; a demo or test on
    /// one machine needs it.
    pub allow_private_callbacks: bool,
    /// How long an access token of the data plane is valid.
    pub data_token_ttl: Duration,
    /// How this connector, as consumer, presents its credentials.
    pub presentations: crate::negotiation::PresentationMode,
    /// How often credentials obtained by request are checked for renewal.
    pub renewal_interval: Duration,
    /// How this connector, as issuer, re-delivers what did not reach a holder.
    pub redelivery: crate::dcp::redelivery::Redelivery,
    /// The Credential Service a did:key connector announces in its self-issued tokens (its
    /// DID document cannot name one), e.g. `https://host/dcp/holder`; see
    /// [`crate::context::Settings::credential_service`].
    pub credential_service: Option<String>,
    /// Whether a newer trust list received from a peer waits for the operator's approval
    /// (`--trust-list-approval`) instead of being installed at once.
    pub trust_list_approval: bool,
    /// How long an auditor's console challenge and session live, and how many are kept.
    pub auditor_sign_in: api::console::signin::SignInLimits,
}

/// How often `serve` signs a tree head over new audit entries by default.
pub const DEFAULT_HEAD_INTERVAL: Duration = Duration::from_secs(5);

impl ServeOptions {
    /// Plain HTTP on `http`, with the default status list cache of 30 seconds, a tree head
    /// signed every [`DEFAULT_HEAD_INTERVAL`] while there are new audit entries, the default
    /// rate limit ([`api::RateLimit::default`]), and public addresses only.
    pub fn new(http: SocketAddr) -> Self {
        ServeOptions {
            http,
            tls: None,
            public_url: None,
            status_cache_ttl: Duration::from_secs(30),
            head_interval: DEFAULT_HEAD_INTERVAL,
            rate_limit: Some(api::RateLimit::default()),
            allow_private_callbacks: false,
            data_token_ttl: crate::dataplane::DEFAULT_TOKEN_TTL,
            presentations: crate::negotiation::PresentationMode::Auto,
            renewal_interval: crate::dcp::renewal::DEFAULT_INTERVAL,
            redelivery: crate::dcp::redelivery::Redelivery::default(),
            credential_service: None,
            trust_list_approval: false,
            auditor_sign_in: api::console::signin::SignInLimits::default(),
        }
    }
}

/// An error while starting the server.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The data directory failed.
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    /// Binding the socket failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The connector cannot be opened.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// The store failed while resuming open negotiations.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// A TLS file cannot be read.
    #[error("TLS: `{path}`: {source}")]
    TlsFile {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A TLS file holds no certificate or key.
    #[error("TLS: `{0}` holds no PEM certificate or private key")]
    TlsEmpty(String),
    /// The TLS certificate or key is unusable.
    #[error("TLS: {0}")]
    Tls(#[from] rustls::Error),
}

/// A started server.
pub struct Running {
    /// The server future; await it to serve until stopped.
    pub server: actix_web::dev::Server,
    /// The bound address.
    pub addr: SocketAddr,
    /// The base URL (`http://…` or `https://…`).
    pub url: String,
    /// The connector it serves (to join the peer network).
    pub connector: Connector,
}

impl Running {
    /// Joins the peer network with `options`; returns the listen addresses.
    pub async fn join_peers(
        &self,
        options: &crate::p2p::PeerOptions,
    ) -> Result<Vec<symbolon_p2p::Multiaddr>, crate::p2p::JoinError> {
        crate::p2p::join(&self.connector, options).await
    }
}

/// Binds and starts the connector's HTTP server on `dir`: opens the connector once, resumes
/// the negotiations that wait for its own move and the transfers it has yet to start, and
/// serves its APIs. Call it within a Tokio
/// runtime.
pub fn start(dir: DataDir, options: ServeOptions) -> Result<Running, ServeError> {
    let admin_token = dir.admin_token()?;
    let scheme = if options.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let tls = options
        .tls
        .as_ref()
        .map(|(cert, key)| tls_config(cert, key))
        .transpose()?;
    let listener =
        std::net::TcpListener::bind(options.http).map_err(|source| ServeError::Bind {
            addr: options.http,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServeError::Bind {
        addr: options.http,
        source,
    })?;
    let url = options
        .public_url
        .clone()
        .unwrap_or_else(|| format!("{scheme}://{addr}"));
    let connector = Connector::open(
        &dir,
        Settings {
            public_url: url.clone(),
            status_cache_ttl: options.status_cache_ttl,
            allow_private_callbacks: options.allow_private_callbacks,
            data_token_ttl: options.data_token_ttl,
            presentations: options.presentations,
            redelivery: options.redelivery,
            credential_service: options.credential_service.clone(),
            trust_list_approval: options.trust_list_approval,
        },
    )?;
    dir.write_bytes(SERVE_URL_FILE, url.as_bytes())?;
    Negotiations::new(connector.clone()).resume()?;
    Transfers::new(connector.clone()).resume()?;
    crate::session::start::end_interrupted(&connector)?;
    spawn_head_signer(&connector, options.head_interval);
    spawn_nonce_pruner(&connector, NONCE_PRUNE_INTERVAL);
    crate::dcp::renewal::spawn(&connector, options.renewal_interval);
    crate::dcp::redelivery::spawn(&connector);
    let parts = api::Parts {
        connector: connector.clone(),
        admin_token,
        status: StatusRegistry::new(dir, &url),
        throttle: api::Throttle::new(options.rate_limit),
        auditor_sign_in: api::console::signin::AuditorSignIn::new(options.auditor_sign_in),
    };
    let factory = move || {
        App::new()
            .wrap(actix_web::middleware::Logger::new("%r %s %Dms"))
            .configure(api::configure(parts.clone()))
    };
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let server = HttpServer::new(factory)
        .workers(workers)
        .keep_alive(KEEP_ALIVE)
        .shutdown_timeout(2);
    let server = match tls {
        Some(config) => server.listen_rustls_0_23(listener, config),
        None => server.listen(listener),
    }
    .map_err(|source| ServeError::Bind { addr, source })?
    .run();
    Ok(Running {
        server,
        addr,
        url,
        connector,
    })
}

/// How long an idle client connection is kept open (actix-web's default, stated): a stranger
/// cannot hold connections for long, and the connector's own clients give up an idle connection
/// well before ([`symbolon_identity::net::IDLE_CONNECTION_REUSE`]), so that none writes a request
/// into a connection this server is closing.
const KEEP_ALIVE: Duration = Duration::from_secs(5);
const _: () = assert!(
    symbolon_identity::net::IDLE_CONNECTION_REUSE.as_millis() * 2 <= KEEP_ALIVE.as_millis(),
    "clients must give up an idle connection well before the server closes it"
);

/// How often nonces past their expiry are deleted from the store.
const NONCE_PRUNE_INTERVAL: Duration = Duration::from_secs(600);

/// Deletes the nonces and token ids that expired (a token carrying one is refused as expired
/// anyway) every `interval`, so that the table holds only the live ones.
fn spawn_nonce_pruner(connector: &Connector, interval: Duration) {
    connector.every(interval, |connector| async move {
        let store = connector.store().clone();
        drop(connector);
        let now = chrono::Utc::now();
        match store.blocking(move |s| s.nonces.prune(now)).await {
            Ok(0) => {}
            Ok(pruned) => tracing::debug!(pruned, "expired nonces deleted"),
            Err(error) => tracing::warn!(%error, "cannot delete expired nonces"),
        }
    });
}

/// Signs a tree head every `interval` while the log grows, so that a rewritten entry is
/// located between two heads a few seconds apart. Runs while the server's state lives, on the
/// caller's Tokio runtime (none: no periodic heads, which only a library caller outside a
/// runtime would see).
fn spawn_head_signer(connector: &Connector, interval: Duration) {
    let scheduled = connector.every(interval, |connector| async move {
        let trail = connector.audit().clone();
        drop(connector);
        if let Err(error) = trail.head_jws().await {
            tracing::warn!(%error, "cannot sign a tree head");
        }
    });
    if !scheduled {
        tracing::warn!("no async runtime: tree heads are signed only on request");
    }
}

fn tls_config(cert: &PathBuf, key: &PathBuf) -> Result<rustls::ServerConfig, ServeError> {
    let read = |path: &PathBuf| {
        std::fs::read(path).map_err(|source| ServeError::TlsFile {
            path: path.display().to_string(),
            source,
        })
    };
    let cert_pem = read(cert)?;
    let key_pem = read(key)?;
    let certs = rustls_pemfile::certs(&mut cert_pem.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| ServeError::TlsFile {
            path: cert.display().to_string(),
            source,
        })?;
    if certs.is_empty() {
        return Err(ServeError::TlsEmpty(cert.display().to_string()));
    }
    let key = rustls_pemfile::private_key(&mut key_pem.as_slice())
        .map_err(|source| ServeError::TlsFile {
            path: key.display().to_string(),
            source,
        })?
        .ok_or_else(|| ServeError::TlsEmpty(key.display().to_string()))?;
    Ok(rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(certs, key)?)
}
