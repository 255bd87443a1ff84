//! The repositories on SQLite: one table per aggregate, written through the audit log's
//! group commit (so a state change and its audit event share one transaction).

use std::sync::Arc;

use symbolon_audit::{DurableLog, WriteTx};

use super::records::Records;
use super::{
    AgreementRepository, Change, CredentialRepository, NegotiationRepository, OfferRepository,
    Record, StoreError, UpdateError,
};
use crate::domain::{Agreement, HeldCredential, Negotiation, Offer, Session};

const OFFERS: Records<Offer> = Records::new("offers");
const NEGOTIATIONS: Records<Negotiation> = Records::new("negotiations");
const AGREEMENTS: Records<Agreement> = Records::new("agreements");
const CREDENTIALS: Records<HeldCredential> = Records::new("credentials");
const SESSIONS: Records<Session> = Records::new("sessions");

/// Offers in table `offers`.
pub(super) struct SqlOffers(Arc<DurableLog>);

impl SqlOffers {
    pub(super) fn new(db: Arc<DurableLog>) -> Self {
        SqlOffers(db)
    }
}

impl OfferRepository for SqlOffers {
    fn create(&self, offer: &Offer) -> Result<bool, StoreError> {
        let offer = offer.clone();
        self.0
            .write(move |tx| OFFERS.insert_new(tx.sql(), &offer.id, &offer))
    }

    fn get(&self, id: &str) -> Result<Option<Offer>, StoreError> {
        self.0.read(|conn| OFFERS.get(conn, id))
    }

    fn list(&self) -> Result<Vec<Offer>, StoreError> {
        self.0.read(|conn| OFFERS.list(conn))
    }

    fn delete(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.0.write(move |tx| OFFERS.remove(tx.sql(), &id))
    }
}

/// Negotiations in table `negotiations`, with their agreements and audit events.
pub(super) struct SqlNegotiations(Arc<DurableLog>);

impl SqlNegotiations {
    pub(super) fn new(db: Arc<DurableLog>) -> Self {
        SqlNegotiations(db)
    }
}

/// Changes the negotiation `pid` inside `tx` and appends its audit record; returns the new
/// record.
fn change_in(
    tx: &mut WriteTx<'_>,
    pid: &str,
    change: Change,
    record: Option<Record>,
) -> Result<Negotiation, UpdateError> {
    let current = NEGOTIATIONS
        .get(tx.sql(), pid)?
        .ok_or_else(|| UpdateError::Missing(pid.to_owned()))?;
    let next = change(current)?;
    let event = record.map(|record| record(&next));
    NEGOTIATIONS.put(tx.sql(), pid, &next)?;
    if let Some(event) = event {
        tx.append(&event)?;
    }
    Ok(next)
}

impl NegotiationRepository for SqlNegotiations {
    fn create(
        &self,
        pid: &str,
        negotiation: &Negotiation,
        record: Record,
    ) -> Result<bool, StoreError> {
        let (pid, negotiation) = (pid.to_owned(), negotiation.clone());
        self.0.write(move |tx| {
            if !NEGOTIATIONS.insert_new(tx.sql(), &pid, &negotiation)? {
                return Ok(false);
            }
            tx.append(&record(&negotiation))?;
            Ok(true)
        })
    }

    fn get(&self, pid: &str) -> Result<Option<Negotiation>, StoreError> {
        self.0.read(|conn| NEGOTIATIONS.get(conn, pid))
    }

    fn list(&self) -> Result<Vec<Negotiation>, StoreError> {
        self.0.read(|conn| NEGOTIATIONS.list(conn))
    }

    fn update(
        &self,
        pid: &str,
        change: Change,
        record: Option<Record>,
    ) -> Result<Negotiation, UpdateError> {
        let pid = pid.to_owned();
        self.0.write(move |tx| change_in(tx, &pid, change, record))
    }

    fn update_with_agreement(
        &self,
        pid: &str,
        agreement: &Agreement,
        change: Change,
        record: Record,
    ) -> Result<Negotiation, UpdateError> {
        let (pid, agreement) = (pid.to_owned(), agreement.clone());
        self.0.write(move |tx| {
            let next = change_in(tx, &pid, change, Some(record))?;
            AGREEMENTS.put(tx.sql(), &agreement.id, &agreement)?;
            Ok(next)
        })
    }
}

/// Agreements in table `agreements`.
pub(super) struct SqlAgreements(Arc<DurableLog>);

impl SqlAgreements {
    pub(super) fn new(db: Arc<DurableLog>) -> Self {
        SqlAgreements(db)
    }
}

impl AgreementRepository for SqlAgreements {
    fn put(&self, agreement: &Agreement) -> Result<(), StoreError> {
        let agreement = agreement.clone();
        self.0
            .write(move |tx| AGREEMENTS.put(tx.sql(), &agreement.id, &agreement))
    }

    fn get(&self, id: &str) -> Result<Option<Agreement>, StoreError> {
        self.0.read(|conn| AGREEMENTS.get(conn, id))
    }

    fn list(&self) -> Result<Vec<Agreement>, StoreError> {
        self.0.read(|conn| AGREEMENTS.list(conn))
    }
}

/// Held credentials in table `credentials`.
pub(super) struct SqlCredentials(Arc<DurableLog>);

impl SqlCredentials {
    pub(super) fn new(db: Arc<DurableLog>) -> Self {
        SqlCredentials(db)
    }
}

impl CredentialRepository for SqlCredentials {
    fn put(&self, credential: &HeldCredential) -> Result<(), StoreError> {
        let credential = credential.clone();
        self.0
            .write(move |tx| CREDENTIALS.put(tx.sql(), &credential.key, &credential))
    }

    fn list(&self) -> Result<Vec<HeldCredential>, StoreError> {
        let mut held = self.0.read(|conn| CREDENTIALS.list(conn))?;
        held.sort_by(|a, b| a.stored_at.cmp(&b.stored_at));
        Ok(held)
    }

    fn remove(&self, key: &str) -> Result<bool, StoreError> {
        let key = key.to_owned();
        self.0.write(move |tx| CREDENTIALS.remove(tx.sql(), &key))
    }
}

/// MPC sessions in table `sessions`.
pub(super) struct SqlSessions(Arc<DurableLog>);

impl SqlSessions {
    pub(super) fn new(db: Arc<DurableLog>) -> Self {
        SqlSessions(db)
    }
}

impl super::SessionRepository for SqlSessions {
    fn create(&self, session: &Session) -> Result<bool, StoreError> {
        let session = session.clone();
        self.0
            .write(move |tx| SESSIONS.insert_new(tx.sql(), &session.id, &session))
    }

    fn put(&self, session: &Session) -> Result<(), StoreError> {
        let session = session.clone();
        self.0
            .write(move |tx| SESSIONS.put(tx.sql(), &session.id, &session))
    }

    fn get(&self, id: &str) -> Result<Option<Session>, StoreError> {
        self.0.read(|conn| SESSIONS.get(conn, id))
    }

    fn list(&self) -> Result<Vec<Session>, StoreError> {
        self.0.read(|conn| SESSIONS.list(conn))
    }
}
