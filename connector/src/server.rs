//! `symbolon serve`: the HTTP(S) server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, App, HttpServer};
use symbolon_identity::nonce::MemoryNonceStore;
use symbolon_identity::status_list::HttpStatusSource;
use symbolon_identity::DidResolver;

use crate::api::{self, AppState};
use crate::datadir::{DataDir, DataDirError, SERVE_URL_FILE};
use crate::negotiation::{Negotiator, NegotiatorParts, DSP_PATH};
use crate::store::Store;

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
}

/// How often `serve` signs a tree head over new audit entries by default.
pub const DEFAULT_HEAD_INTERVAL: Duration = Duration::from_secs(5);

impl ServeOptions {
    /// Plain HTTP on `http`, with the default status list cache of 30 seconds and a tree
    /// head signed every [`DEFAULT_HEAD_INTERVAL`] while there are new audit entries.
    pub fn new(http: SocketAddr) -> Self {
        ServeOptions {
            http,
            tls: None,
            public_url: None,
            status_cache_ttl: Duration::from_secs(30),
            head_interval: DEFAULT_HEAD_INTERVAL,
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
    /// The store cannot be opened.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The TLS certificate or key is unusable.
    #[error("TLS: {0}")]
    Tls(String),
}

/// A started server.
pub struct Running {
    /// The server future; await it to serve until stopped.
    pub server: actix_web::dev::Server,
    /// The bound address.
    pub addr: SocketAddr,
    /// The base URL (`http://…` or `https://…`).
    pub url: String,
    /// The application state (to join the peer network).
    pub state: web::Data<AppState>,
}

impl Running {
    /// Joins the peer network with `options`; returns the listen addresses.
    pub async fn join_peers(
        &self,
        options: &crate::p2p::PeerOptions,
    ) -> Result<Vec<symbolon_p2p::Multiaddr>, crate::p2p::JoinError> {
        join_peers(&self.state, options).await
    }
}

/// Joins the peer network for the server whose state is `state`; returns the listen addresses.
pub async fn join_peers(
    state: &AppState,
    options: &crate::p2p::PeerOptions,
) -> Result<Vec<symbolon_p2p::Multiaddr>, crate::p2p::JoinError> {
    {
        crate::p2p::join(
            crate::p2p::JoinParts {
                dir: &state.dir,
                identity: &state.identity,
                store: &state.store,
                resolver: state.resolver.clone(),
                status_source: state.status_source.clone(),
                negotiator: &state.negotiator,
                slot: &state.peers,
                local_url: &state.local_url,
            },
            options,
        )
        .await
    }
}

/// Binds and starts the connector's HTTP server on `dir`.
pub fn start(dir: DataDir, options: ServeOptions) -> Result<Running, ServeError> {
    let identity = dir.identity()?;
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
    let store = Store::open(dir.root())?;
    dir.write_bytes(SERVE_URL_FILE, url.as_bytes())?;
    let resolver = Arc::new(DidResolver::new());
    let status_source = Arc::new(HttpStatusSource::new(options.status_cache_ttl));
    let peers: crate::p2p::PeerSlot = Default::default();
    let negotiator = Negotiator::new(NegotiatorParts {
        identity: identity.clone(),
        store: store.clone(),
        dir: dir.clone(),
        resolver: resolver.clone(),
        status_source: status_source.clone(),
        dsp_url: format!("{}{DSP_PATH}", url.trim_end_matches('/')),
        peers: peers.clone(),
    });
    let state = web::Data::new(AppState {
        identity,
        store,
        negotiator,
        peers,
        local_url: format!(
            "{scheme}://{}",
            std::net::SocketAddr::new(loopback_of(addr.ip()), addr.port())
        ),
        admin_token,
        status: crate::issuer::StatusRegistry::new(dir.clone()),
        dir,
        resolver,
        public_url: url.clone(),
        status_source,
        nonces: Arc::new(MemoryNonceStore::default()),
    });
    let shared = state.clone();
    spawn_head_signer(&state, options.head_interval);
    let factory = move || {
        App::new()
            .wrap(actix_web::middleware::Logger::new("%r %s %Dms"))
            .configure(api::configure(state.clone()))
    };
    let server = HttpServer::new(factory).workers(2).shutdown_timeout(2);
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
        state: shared,
    })
}

/// Signs a tree head every `interval` while the log grows, so that a rewritten entry is
/// located between two heads a few seconds apart. Runs while the server's state lives, on the
/// caller's Tokio runtime (none: no periodic heads, which only a library caller outside a
/// runtime would see).
fn spawn_head_signer(state: &web::Data<AppState>, interval: Duration) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        tracing::warn!("no async runtime: tree heads are signed only on request");
        return;
    };
    let weak = Arc::downgrade(&state.clone().into_inner());
    runtime.spawn(async move {
        let mut ticks = tokio::time::interval(interval.max(Duration::from_millis(10)));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            let Some(state) = weak.upgrade() else { break };
            let (store, identity) = (state.store.clone(), state.identity.clone());
            drop(state);
            let signed =
                tokio::task::spawn_blocking(move || crate::audit::current_head(&store, &identity))
                    .await;
            match signed {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!("cannot sign a tree head: {e}"),
                Err(e) => tracing::warn!("the tree head signer stopped: {e}"),
            }
        }
    });
}

/// The loopback address that reaches a socket bound to `ip` (itself, unless unspecified).
fn loopback_of(ip: std::net::IpAddr) -> std::net::IpAddr {
    match ip {
        std::net::IpAddr::V4(v4) if v4.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
        std::net::IpAddr::V6(v6) if v6.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
        other => other,
    }
}

fn tls_config(cert: &PathBuf, key: &PathBuf) -> Result<rustls::ServerConfig, ServeError> {
    let read = |path: &PathBuf| {
        std::fs::read(path).map_err(|e| ServeError::Tls(format!("`{}`: {e}", path.display())))
    };
    let cert_pem = read(cert)?;
    let key_pem = read(key)?;
    let certs = rustls_pemfile::certs(&mut cert_pem.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ServeError::Tls(format!("certificate `{}`: {e}", cert.display())))?;
    if certs.is_empty() {
        return Err(ServeError::Tls(format!(
            "`{}` holds no PEM certificate",
            cert.display()
        )));
    }
    let key = rustls_pemfile::private_key(&mut key_pem.as_slice())
        .map_err(|e| ServeError::Tls(format!("key `{}`: {e}", key.display())))?
        .ok_or_else(|| ServeError::Tls(format!("`{}` holds no PEM private key", key.display())))?;
    rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| ServeError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| ServeError::Tls(e.to_string()))
}
