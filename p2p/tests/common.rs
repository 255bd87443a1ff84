//! Shared fixtures: an authority issuing membership credentials with a revocation list, a
//! trust list, and node configurations.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use symbolon_identity::status_list::{self, StaticStatusSource, StatusList, StatusPurpose};
use symbolon_identity::{
    credential, issue_credential, jose, Did, DidResolver, Format, Identity, KeyAlgorithm, Secured,
    TrustList, Verifier,
};
use symbolon_p2p::{NodeConfig, NodeHandle, PeerInfo};

pub const DATA_SPACE: &str = "health-data-space-test";
pub const MEMBERSHIP: &str = "DataSpaceMembershipCredential";
const STATUS_URL: &str = "https://authority.test/status/revocation";

/// Waits for conditions that depend on the network.
pub const WAIT: Duration = Duration::from_secs(10);

/// A governance authority with a revocation list.
pub struct Authority {
    pub identity: Identity,
    pub status: Arc<StaticStatusSource>,
    list: Mutex<StatusList>,
    next_index: Mutex<u64>,
}

impl Default for Authority {
    fn default() -> Self {
        Self::new()
    }
}

impl Authority {
    pub fn new() -> Self {
        let authority = Authority {
            identity: Identity::generate(KeyAlgorithm::Ed25519),
            status: Arc::new(StaticStatusSource::default()),
            list: Mutex::new(StatusList::new()),
            next_index: Mutex::new(7),
        };
        authority.publish();
        authority
    }

    fn publish(&self) {
        let list = self.list.lock().unwrap();
        let credential = list.credential(&self.identity.did, STATUS_URL, StatusPurpose::Revocation);
        self.status.insert(
            STATUS_URL,
            jose::sign(
                &self.identity.key,
                &self.identity.verification_method(),
                "vc+jwt",
                &credential,
            ),
        );
    }

    /// Issues a membership credential to `subject`; returns it with its status index.
    pub async fn membership(&self, subject: &Did, role: &str) -> (Secured, u64) {
        let index = {
            let mut next = self.next_index.lock().unwrap();
            *next += 1;
            *next
        };
        let claims = json!({
            "legalName": format!("{role} B.V."),
            "registrationNumber": "KvK-1",
            "role": role,
            "dataSpaceId": DATA_SPACE,
        });
        let mut unsigned =
            credential::build(&self.identity.did, MEMBERSHIP, subject, &claims, None).unwrap();
        unsigned["credentialStatus"] =
            status_list::entry(STATUS_URL, StatusPurpose::Revocation, index);
        let secured = issue_credential(&self.identity, unsigned, Format::Jwt)
            .await
            .unwrap();
        (secured, index)
    }

    pub fn revoke(&self, index: u64) {
        self.list.lock().unwrap().set(index, true).unwrap();
        self.publish();
    }

    /// The trust list naming this authority as the issuer of memberships.
    pub fn trust_list(&self) -> TrustList {
        TrustList {
            data_space: DATA_SPACE.to_owned(),
            anchor: self.identity.did.to_string(),
            entries: BTreeMap::from([(
                self.identity.did.to_string(),
                BTreeSet::from([MEMBERSHIP.to_owned()]),
            )]),
        }
    }

    pub fn verifier(&self) -> Verifier {
        Verifier::new(Arc::new(DidResolver::offline()))
            .with_trust_list(self.trust_list())
            .with_status_source(self.status.clone())
    }
}

/// A connector's key and membership.
pub struct Member {
    pub identity: Identity,
    pub membership: Secured,
    pub status_index: u64,
}

impl Member {
    /// A new connector with a membership issued by `issuer`.
    pub async fn new(issuer: &Authority, role: &str) -> Self {
        let identity = Identity::generate(KeyAlgorithm::Ed25519);
        let (membership, status_index) = issuer.membership(&identity.did, role).await;
        Member {
            identity,
            membership,
            status_index,
        }
    }

    /// A loopback configuration (TCP and QUIC, mDNS off) checked against `trusted`'s list.
    pub fn config(&self, trusted: &Authority, bootstrap: &[&NodeHandle]) -> NodeConfig {
        let mut config = NodeConfig::new(
            self.identity.key.clone(),
            DATA_SPACE,
            self.membership.clone(),
            trusted.verifier(),
        );
        config.listen = vec![
            "/ip4/127.0.0.1/tcp/0".parse().unwrap(),
            "/ip4/127.0.0.1/udp/0/quic-v1".parse().unwrap(),
        ];
        config.mdns = false;
        config.bootstrap = bootstrap.iter().map(|node| tcp_address(node)).collect();
        config
    }
}

/// The node's TCP listen address (with /p2p/).
pub fn tcp_address(node: &NodeHandle) -> symbolon_p2p::Multiaddr {
    node.listen_addrs()
        .into_iter()
        .find(|a| a.to_string().contains("/tcp/"))
        .unwrap()
}

/// The node's entry for `other`.
pub fn entry(node: &NodeHandle, other: &NodeHandle) -> Option<PeerInfo> {
    let did = other.did().to_string();
    node.peers().into_iter().find(|p| p.did == did)
}

/// Whether `node` has authenticated `other`.
pub fn authenticated(node: &NodeHandle, other: &NodeHandle) -> bool {
    entry(node, other).is_some_and(|p| p.authenticated)
}

/// Waits until every node has authenticated every other node.
pub async fn wait_mesh(nodes: &[&NodeHandle], timeout: Duration) -> bool {
    for node in nodes {
        let others: Vec<&NodeHandle> = nodes
            .iter()
            .copied()
            .filter(|o| o.peer_id() != node.peer_id())
            .collect();
        let ok = node
            .wait_until(timeout, |n| others.iter().all(|o| authenticated(n, o)))
            .await;
        if !ok {
            return false;
        }
    }
    true
}
