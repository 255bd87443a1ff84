//! Credential issuance on SQLite: the issuer's requests (`issuance_requests`), its settings
//! and registry of organisations (`issuer_settings`), and the holder's own requests
//! (`onboarding`).

use std::sync::Arc;

use symbolon_audit::DurableLog;

use super::records::Records;
use super::StoreError;
use crate::domain::{
    IssuanceRequest, IssuanceStatus, IssuerConfig, Onboarding, OrganisationRegistry,
};

const REQUESTS: Records<IssuanceRequest> = Records::new("issuance_requests");
const CONFIG: Records<IssuerConfig> = Records::new("issuer_settings");
const REGISTRY: Records<OrganisationRegistry> = Records::new("issuer_settings");
const ONBOARDING: Records<Onboarding> = Records::new("onboarding");

const CONFIG_KEY: &str = "config";
const REGISTRY_KEY: &str = "registry";

/// The issuer's side: requests received, its settings and registry.
pub trait IssuanceRepository: Send + Sync {
    /// Stores a new request under its `issuer_pid`; `false` (and nothing written) when one is
    /// kept already.
    fn create(&self, request: &IssuanceRequest) -> Result<bool, StoreError>;
    /// Replaces the request with `request.issuer_pid`.
    fn put(&self, request: &IssuanceRequest) -> Result<(), StoreError>;
    /// Replaces the request with `request.issuer_pid` only while the stored one is still
    /// `RECEIVED` (undecided); returns whether it was written. Two deciders never both win.
    fn decide(&self, request: &IssuanceRequest) -> Result<bool, StoreError>;
    /// The request `issuer_pid`.
    fn get(&self, issuer_pid: &str) -> Result<Option<IssuanceRequest>, StoreError>;
    /// Every request, by issuer pid.
    fn list(&self) -> Result<Vec<IssuanceRequest>, StoreError>;
    /// The issuer's settings (the defaults when none were stored).
    fn config(&self) -> Result<IssuerConfig, StoreError>;
    /// Replaces the issuer's settings.
    fn set_config(&self, config: &IssuerConfig) -> Result<(), StoreError>;
    /// The registry of organisations (empty when none was installed).
    fn registry(&self) -> Result<OrganisationRegistry, StoreError>;
    /// Replaces the registry of organisations.
    fn set_registry(&self, registry: &OrganisationRegistry) -> Result<(), StoreError>;
}

/// The holder's side: the requests it sent.
pub trait OnboardingRepository: Send + Sync {
    /// Stores (or replaces) a request under its `holder_pid`.
    fn put(&self, onboarding: &Onboarding) -> Result<(), StoreError>;
    /// Reads, changes and writes back the request `holder_pid` as one transaction; the new
    /// record, or `None` when there is none.
    fn update(
        &self,
        holder_pid: &str,
        change: OnboardingChange,
    ) -> Result<Option<Onboarding>, StoreError>;
    /// Forgets the request `holder_pid` (one that never reached the issuer); returns whether
    /// there was one.
    fn remove(&self, holder_pid: &str) -> Result<bool, StoreError>;
    /// The request `holder_pid`.
    fn get(&self, holder_pid: &str) -> Result<Option<Onboarding>, StoreError>;
    /// Every request, by holder pid.
    fn list(&self) -> Result<Vec<Onboarding>, StoreError>;
}

/// A change to a holder's request, run inside the store's transaction.
pub type OnboardingChange = Box<dyn FnOnce(Onboarding) -> Onboarding + Send>;

/// [`IssuanceRepository`] on SQLite.
pub(super) struct SqlIssuance(Arc<DurableLog>);

impl SqlIssuance {
    pub(super) fn new(db: Arc<DurableLog>) -> Self {
        SqlIssuance(db)
    }
}

impl IssuanceRepository for SqlIssuance {
    fn create(&self, request: &IssuanceRequest) -> Result<bool, StoreError> {
        let request = request.clone();
        self.0
            .write(move |tx| REQUESTS.insert_new(tx.sql(), &request.issuer_pid, &request))
    }

    fn put(&self, request: &IssuanceRequest) -> Result<(), StoreError> {
        let request = request.clone();
        self.0
            .write(move |tx| REQUESTS.put(tx.sql(), &request.issuer_pid, &request))
    }

    fn decide(&self, request: &IssuanceRequest) -> Result<bool, StoreError> {
        let request = request.clone();
        self.0.write(move |tx| {
            let undecided = REQUESTS
                .get(tx.sql(), &request.issuer_pid)?
                .is_some_and(|stored| stored.status == IssuanceStatus::Received);
            if undecided {
                REQUESTS.put(tx.sql(), &request.issuer_pid, &request)?;
            }
            Ok(undecided)
        })
    }

    fn get(&self, issuer_pid: &str) -> Result<Option<IssuanceRequest>, StoreError> {
        self.0.read(|conn| REQUESTS.get(conn, issuer_pid))
    }

    fn list(&self) -> Result<Vec<IssuanceRequest>, StoreError> {
        self.0.read(|conn| REQUESTS.list(conn))
    }

    fn config(&self) -> Result<IssuerConfig, StoreError> {
        Ok(self
            .0
            .read(|conn| CONFIG.get(conn, CONFIG_KEY))?
            .unwrap_or_default())
    }

    fn set_config(&self, config: &IssuerConfig) -> Result<(), StoreError> {
        let config = config.clone();
        self.0
            .write(move |tx| CONFIG.put(tx.sql(), CONFIG_KEY, &config))
    }

    fn registry(&self) -> Result<OrganisationRegistry, StoreError> {
        Ok(self
            .0
            .read(|conn| REGISTRY.get(conn, REGISTRY_KEY))?
            .unwrap_or_default())
    }

    fn set_registry(&self, registry: &OrganisationRegistry) -> Result<(), StoreError> {
        let registry = registry.clone();
        self.0
            .write(move |tx| REGISTRY.put(tx.sql(), REGISTRY_KEY, &registry))
    }
}

/// [`OnboardingRepository`] on SQLite.
pub(super) struct SqlOnboarding(Arc<DurableLog>);

impl SqlOnboarding {
    pub(super) fn new(db: Arc<DurableLog>) -> Self {
        SqlOnboarding(db)
    }
}

impl OnboardingRepository for SqlOnboarding {
    fn put(&self, onboarding: &Onboarding) -> Result<(), StoreError> {
        let onboarding = onboarding.clone();
        self.0
            .write(move |tx| ONBOARDING.put(tx.sql(), &onboarding.holder_pid, &onboarding))
    }

    fn update(
        &self,
        holder_pid: &str,
        change: OnboardingChange,
    ) -> Result<Option<Onboarding>, StoreError> {
        let key = holder_pid.to_owned();
        self.0.write(move |tx| {
            let Some(current) = ONBOARDING.get(tx.sql(), &key)? else {
                return Ok(None);
            };
            let next = change(current);
            ONBOARDING.put(tx.sql(), &key, &next)?;
            Ok(Some(next))
        })
    }

    fn remove(&self, holder_pid: &str) -> Result<bool, StoreError> {
        let key = holder_pid.to_owned();
        self.0.write(move |tx| ONBOARDING.remove(tx.sql(), &key))
    }

    fn get(&self, holder_pid: &str) -> Result<Option<Onboarding>, StoreError> {
        self.0.read(|conn| ONBOARDING.get(conn, holder_pid))
    }

    fn list(&self) -> Result<Vec<Onboarding>, StoreError> {
        self.0.read(|conn| ONBOARDING.list(conn))
    }
}
