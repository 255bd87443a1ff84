//! The [`Connector`] context: built once (by `serve`, or by a command that runs without it)
//! and handed to the APIs, the protocol service and the peer network. Each part it holds has
//! one concern; nothing reaches around it.

use crate::negotiation::PresentationMode;
use crate::session::links::SessionLinks;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use symbolon_identity::net::AddressPolicy;
use symbolon_identity::status_list::HttpStatusSource;
use symbolon_identity::verify::VerifiedLists;
use symbolon_identity::{DidResolver, Identity, TrustList, Verifier};
use symbolon_policy::Schema;
use tokio::sync::broadcast;

use crate::audit::AuditTrail;
use crate::catalog::PolicyCache;
use crate::datadir::{DataDir, DataDirError};
use crate::messenger::{Network, PeerSlot};
use crate::negotiation::inflight::InFlight;
use crate::negotiation::state::NegotiationState;
use crate::protocol::DSP_PATH;
use crate::store::{Store, StoreError};
use crate::transfer::state::TransferState;
use crate::trust::TrustAnchor;

/// The folder of the data directory that dataset offers' files are served from.
pub const DATA_FOLDER: &str = "data";

/// How a connector is reached and verifies.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The base URL this connector is reachable at (`https://…`; status lists and the
    /// protocol's callbacks point here). Empty when it does not serve.
    pub public_url: String,
    /// How long fetched status lists are cached when verifying.
    pub status_cache_ttl: Duration,
    /// Whether callbacks, status lists, did:web documents and counterparties may be reached
    /// at loopback, private, shared, link-local and unique-local addresses (see
    /// [`AddressPolicy`]); `serve` allows only public addresses unless
    /// `--allow-private-callbacks` is given.
    pub allow_private_callbacks: bool,
    /// How long an access token of the data plane is valid.
    pub data_token_ttl: Duration,
    /// How this connector, as consumer, presents its credentials.
    pub presentations: PresentationMode,
    /// How this connector, as issuer, re-delivers what did not reach a holder.
    pub redelivery: crate::dcp::redelivery::Redelivery,
    /// The Credential Service (its base URL, `…/dcp/holder`) a did:key connector announces in
    /// its self-issued tokens, since its DID document cannot name one: with it, the connector
    /// presents by the Decentralized Claims Protocol like a did:web one. A did:web connector
    /// ignores it (its DID document names its service).
    pub credential_service: Option<String>,
    /// Whether a newer trust list received from a peer waits for the operator's approval
    /// (`serve --trust-list-approval`) instead of being installed at once.
    pub trust_list_approval: bool,
}

impl Settings {
    /// A connector that does not serve (a command-line run, on the operator's behalf): no
    /// public URL, status lists cached for 30 seconds, private addresses reachable.
    pub fn offline() -> Self {
        Settings {
            public_url: String::new(),
            status_cache_ttl: Duration::from_secs(30),
            allow_private_callbacks: true,
            data_token_ttl: crate::dataplane::DEFAULT_TOKEN_TTL,
            presentations: PresentationMode::Auto,
            redelivery: crate::dcp::redelivery::Redelivery::default(),
            credential_service: None,
            trust_list_approval: false,
        }
    }

    /// The address policy these settings give.
    pub fn address_policy(&self) -> AddressPolicy {
        AddressPolicy::new(self.allow_private_callbacks)
    }
}

/// Why a connector could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The data directory (keystore, trust list) failed.
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    /// The store cannot be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Everything that verifies what others present: the DID resolver, the status lists and the
/// data space's trust list.
pub struct Verification {
    /// Resolves DIDs.
    pub resolver: Arc<DidResolver>,
    /// Fetches status lists (cached).
    pub status_source: Arc<HttpStatusSource>,
    /// The installed trust list.
    pub trust: TrustAnchor,
    /// Status lists verified in the last minute, shared by every verifier.
    pub lists: Arc<VerifiedLists>,
}

impl std::fmt::Debug for Verification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verification")
            .field("trust", &self.trust)
            .finish_non_exhaustive()
    }
}

impl Verification {
    /// A verifier with the status lists and, when one is installed, the trust list.
    pub fn verifier(&self) -> Verifier {
        let verifier = Verifier::new(self.resolver.clone())
            .with_status_source(self.status_source.clone())
            .with_verified_lists(self.lists.clone());
        match self.trust.list() {
            Some(list) => verifier.with_trust_list(list),
            None => verifier,
        }
    }

    /// A verifier for strangers' calls: as [`Verification::verifier`], but a credential's
    /// status list is fetched only when its issuer is trusted for it by the trust list, or is
    /// `own_did` (whose lists this connector publishes); nothing is fetched for any other.
    pub fn public_verifier(&self, own_did: &str) -> Verifier {
        self.verifier()
            .fetch_status_only_when_trusted(vec![own_did.to_owned()])
    }

    /// A verifier that trusts the installed trust list's issuers, or `None` when none is
    /// installed (then no issuer is trusted).
    pub fn trusted_verifier(&self) -> Option<(Verifier, TrustList)> {
        let list = self.trust.list()?;
        let verifier = Verifier::new(self.resolver.clone())
            .with_status_source(self.status_source.clone())
            .with_verified_lists(self.lists.clone())
            .with_trust_list(list.clone());
        Some((verifier, list))
    }
}

/// A change of a negotiation's state, as stored: its process id here and its new state.
pub type NegotiationChange = (String, NegotiationState);

/// A change of a transfer process's state, as stored: its process id here and its new state.
pub type TransferChange = (String, TransferState);

struct Parts {
    identity: Identity,
    public_url: String,
    presentations: PresentationMode,
    redelivery: crate::dcp::redelivery::Redelivery,
    credential_service: Option<String>,
    data_root: PathBuf,
    data_token_ttl: Duration,
    store: Store,
    audit: AuditTrail,
    verification: Verification,
    trust_updates: crate::trust::updates::TrustUpdates,
    network: Network,
    offers: PolicyCache,
    changes: broadcast::Sender<NegotiationChange>,
    transfer_changes: broadcast::Sender<TransferChange>,
    negotiation_moves: InFlight,
    session_links: SessionLinks,
}

/// One connector: its identity, store, audit trail, verification, network and compiled
/// offers. Cloning is cheap (one shared context).
#[derive(Clone)]
pub struct Connector {
    parts: Arc<Parts>,
}

/// A [`Connector`] handle for background tasks that should end when the connector closes.
#[derive(Clone)]
pub struct WeakConnector(std::sync::Weak<Parts>);

impl WeakConnector {
    /// The connector, while it is open.
    pub fn upgrade(&self) -> Option<Connector> {
        self.0.upgrade().map(|parts| Connector { parts })
    }
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector")
            .field("did", &self.did())
            .finish_non_exhaustive()
    }
}

impl Connector {
    /// Opens the connector of `dir`: its identity, store and trust list.
    pub fn open(dir: &DataDir, settings: Settings) -> Result<Connector, OpenError> {
        let identity = dir.identity()?;
        let store = Store::open(dir.root())?;
        let trust = TrustAnchor::load(dir)?;
        let trust_updates =
            crate::trust::updates::TrustUpdates::open(dir, settings.trust_list_approval)?;
        let dsp_url = format!("{}{DSP_PATH}", settings.public_url.trim_end_matches('/'));
        let policy = settings.address_policy();
        let (changes, _) = broadcast::channel(1024);
        let resolver = Arc::new(DidResolver::with_policy(policy));
        let (transfer_changes, _) = broadcast::channel(1024);
        Ok(Connector {
            parts: Arc::new(Parts {
                public_url: settings.public_url.trim_end_matches('/').to_owned(),
                presentations: settings.presentations,
                redelivery: settings.redelivery,
                credential_service: settings
                    .credential_service
                    .filter(|_| identity.did.method() == "key")
                    .map(|url| url.trim_end_matches('/').to_owned()),
                data_root: dir.path(DATA_FOLDER),
                data_token_ttl: settings.data_token_ttl,
                audit: AuditTrail::new(
                    store.log.clone(),
                    store.did_documents.clone(),
                    resolver.clone(),
                    identity.clone(),
                ),
                identity,
                store,
                verification: Verification {
                    resolver,
                    status_source: Arc::new(HttpStatusSource::with_policy(
                        settings.status_cache_ttl,
                        policy,
                    )),
                    trust,
                    lists: Arc::default(),
                },
                trust_updates,
                network: Network::new(dsp_url, PeerSlot::default(), policy),
                offers: PolicyCache::new(Arc::new(Schema::health())),
                changes,
                transfer_changes,
                negotiation_moves: InFlight::default(),
                session_links: SessionLinks::default(),
            }),
        })
    }

    /// The connector's identity.
    pub fn identity(&self) -> &Identity {
        &self.parts.identity
    }

    /// The connector's DID.
    pub fn did(&self) -> &str {
        self.parts.identity.did.as_str()
    }

    /// The base URL this connector is reachable at (no trailing `/`; empty when it does not
    /// serve).
    pub fn public_url(&self) -> &str {
        &self.parts.public_url
    }

    /// How this connector, as consumer, presents its credentials.
    pub fn presentation_mode(&self) -> PresentationMode {
        self.parts.presentations
    }

    /// How this connector, as issuer, re-delivers what did not reach a holder.
    pub fn redelivery(&self) -> crate::dcp::redelivery::Redelivery {
        self.parts.redelivery
    }

    /// The Credential Service this did:key connector announces in its tokens, if configured
    /// (see [`Settings::credential_service`]).
    pub fn credential_service(&self) -> Option<&str> {
        self.parts.credential_service.as_deref()
    }

    /// The folder dataset offers' files are served from (`data/` in the data directory).
    pub fn data_root(&self) -> &Path {
        &self.parts.data_root
    }

    /// How long an access token of the data plane is valid.
    pub fn data_token_ttl(&self) -> Duration {
        self.parts.data_token_ttl
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.parts.store
    }

    /// The audit trail.
    pub fn audit(&self) -> &AuditTrail {
        &self.parts.audit
    }

    /// The resolver, status lists and trust list.
    pub fn verification(&self) -> &Verification {
        &self.parts.verification
    }

    /// New trust lists: the one pending approval, and how updates are taken in.
    pub fn trust_updates(&self) -> &crate::trust::updates::TrustUpdates {
        &self.parts.trust_updates
    }

    /// The transports to counterparties and this connector's own addresses.
    pub fn network(&self) -> &Network {
        &self.parts.network
    }

    /// The offers' compiled policies.
    pub fn offers(&self) -> &PolicyCache {
        &self.parts.offers
    }

    /// Announces a stored change of a negotiation's state.
    pub(crate) fn announce_change(&self, pid: &str, state: NegotiationState) {
        // No receiver is no error: nobody is waiting.
        let _ = self.parts.changes.send((pid.to_owned(), state));
    }

    /// Announces a stored change of a transfer process's state.
    pub(crate) fn announce_transfer(&self, pid: &str, state: TransferState) {
        // No receiver is no error: nobody is waiting.
        let _ = self.parts.transfer_changes.send((pid.to_owned(), state));
    }

    /// The changes of transfer processes' states from now on.
    pub fn watch_transfers(&self) -> broadcast::Receiver<TransferChange> {
        self.parts.transfer_changes.subscribe()
    }

    /// A handle that does not keep the connector open.
    pub fn downgrade(&self) -> WeakConnector {
        WeakConnector(Arc::downgrade(&self.parts))
    }

    /// Runs `job` every `interval` (the first time after one interval) on the caller's Tokio
    /// runtime, for as long as the connector is open. Outside a runtime nothing runs; the
    /// answer says whether it was scheduled.
    pub(crate) fn every<F, Fut>(&self, interval: Duration, job: F) -> bool
    where
        F: Fn(Connector) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send,
    {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return false;
        };
        let weak = self.downgrade();
        runtime.spawn(async move {
            let mut ticks = tokio::time::interval(interval.max(Duration::from_millis(10)));
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let Some(connector) = weak.upgrade() else {
                    break;
                };
                job(connector).await;
            }
        });
        true
    }

    /// The negotiations on which a move is in flight.
    pub(crate) fn negotiation_moves(&self) -> &InFlight {
        &self.parts.negotiation_moves
    }

    /// The MPC sessions joining here, with the session streams they wait for.
    pub fn session_links(&self) -> &SessionLinks {
        &self.parts.session_links
    }

    /// The changes of negotiations' states from now on.
    pub fn watch_negotiations(&self) -> broadcast::Receiver<NegotiationChange> {
        self.parts.changes.subscribe()
    }
}
