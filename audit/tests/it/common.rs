//! Shared fixtures.

use serde_json::json;
use symbolon_audit::{AuditBundle, AuditEvent, DurableLog};
use symbolon_identity::{Did, KeyAlgorithm, KeyPair};

pub struct Org {
    pub key: KeyPair,
    pub did: Did,
    pub log: DurableLog,
    pub _dir: tempfile::TempDir,
}

pub fn org() -> Org {
    let key = KeyPair::generate(KeyAlgorithm::Ed25519);
    let did = Did::key(&key.public_key());
    let dir = tempfile::tempdir().unwrap();
    let log = DurableLog::open(&dir.path().join("audit.sqlite")).unwrap();
    Org {
        key,
        did,
        log,
        _dir: dir,
    }
}

pub fn event(actor: &Did, i: u64) -> AuditEvent {
    let outcome = if i.is_multiple_of(3) {
        "deny"
    } else {
        "permit"
    };
    AuditEvent::new(
        "policy.decision",
        actor.as_str(),
        &format!("offer-{i}"),
        outcome,
    )
    .with_details(json!({"policies": [format!("p{}", i % 5)], "n": i}))
}

impl Org {
    /// Appends `n` events, signing a head after every `every`.
    pub fn fill(&self, n: u64, every: u64) {
        for i in 0..n {
            self.log.append(&event(&self.did, i)).unwrap();
            if (i + 1).is_multiple_of(every) {
                self.log.sign_head(&self.key, &self.did).unwrap();
            }
        }
    }

    pub fn bundle(&self) -> AuditBundle {
        self.log
            .export(self.did.as_str(), Default::default(), Vec::new())
            .unwrap()
    }
}
