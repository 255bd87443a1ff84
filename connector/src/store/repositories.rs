//! The repositories on sled: one tree per aggregate.

use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::Transactional as _;

use super::records::Records;
use super::{
    AgreementRepository, Change, CredentialRepository, NegotiationRepository, OfferRepository,
    StoreError, UpdateError,
};
use crate::domain::{Agreement, HeldCredential, Negotiation, Offer};

/// The sled repositories of one database.
pub(super) struct Sled {
    pub offers: SledOffers,
    pub negotiations: SledNegotiations,
    pub agreements: SledAgreements,
    pub credentials: SledCredentials,
}

impl Sled {
    pub fn open(db: &sled::Db) -> Result<Sled, StoreError> {
        let agreements = Records::new("agreements", db.open_tree("agreements")?, db.clone());
        Ok(Sled {
            offers: SledOffers(Records::new("offers", db.open_tree("offers")?, db.clone())),
            negotiations: SledNegotiations {
                records: Records::new("negotiations", db.open_tree("negotiations")?, db.clone()),
                agreements: agreements.clone(),
            },
            agreements: SledAgreements(agreements),
            credentials: SledCredentials(Records::new(
                "credentials",
                db.open_tree("credentials")?,
                db.clone(),
            )),
        })
    }
}

pub(super) struct SledOffers(Records<Offer>);

impl OfferRepository for SledOffers {
    fn create(&self, offer: &Offer) -> Result<bool, StoreError> {
        self.0.insert_new(&offer.id, offer)
    }

    fn get(&self, id: &str) -> Result<Option<Offer>, StoreError> {
        self.0.get(id)
    }

    fn list(&self) -> Result<Vec<Offer>, StoreError> {
        self.0.list()
    }

    fn delete(&self, id: &str) -> Result<bool, StoreError> {
        self.0.remove(id)
    }
}

pub(super) struct SledNegotiations {
    records: Records<Negotiation>,
    agreements: Records<Agreement>,
}

impl SledNegotiations {
    /// The changed record of `pid` inside a transaction, or why there is none.
    fn changed(
        &self,
        pid: &str,
        current: Option<sled::IVec>,
        change: Change<'_>,
    ) -> Result<(Negotiation, Vec<u8>), ConflictableTransactionError<UpdateError>> {
        let abort = |e: UpdateError| ConflictableTransactionError::Abort(e);
        let current = current.ok_or_else(|| abort(UpdateError::Missing(pid.to_owned())))?;
        let current = self
            .records
            .decode(pid, &current)
            .map_err(|e| abort(e.into()))?;
        let next = change(current).map_err(|e| abort(e.into()))?;
        let bytes = self.records.encode(&next).map_err(|e| abort(e.into()))?;
        Ok((next, bytes))
    }
}

/// A transaction's outcome as an update's.
fn finished<T>(result: Result<T, TransactionError<UpdateError>>) -> Result<T, UpdateError> {
    result.map_err(|error| match error {
        TransactionError::Abort(error) => error,
        TransactionError::Storage(error) => UpdateError::Store(error.into()),
    })
}

impl NegotiationRepository for SledNegotiations {
    fn create(&self, pid: &str, negotiation: &Negotiation) -> Result<bool, StoreError> {
        self.records.insert_new(pid, negotiation)
    }

    fn get(&self, pid: &str) -> Result<Option<Negotiation>, StoreError> {
        self.records.get(pid)
    }

    fn list(&self) -> Result<Vec<Negotiation>, StoreError> {
        self.records.list()
    }

    fn update(&self, pid: &str, change: Change<'_>) -> Result<Negotiation, UpdateError> {
        // INVARIANT: no lock is held while `change` runs; a concurrent update of the same
        // negotiation makes the swap fail, and the change is made again on the newer record.
        loop {
            let current = self
                .records
                .tree
                .get(pid.as_bytes())
                .map_err(StoreError::from)?
                .ok_or_else(|| UpdateError::Missing(pid.to_owned()))?;
            let next = change(self.records.decode(pid, &current)?)?;
            let bytes = self.records.encode(&next)?;
            let swapped = self
                .records
                .tree
                .compare_and_swap(pid.as_bytes(), Some(&current), Some(bytes))
                .map_err(StoreError::from)?;
            if swapped.is_ok() {
                self.records.flush()?;
                return Ok(next);
            }
        }
    }

    fn update_with_agreement(
        &self,
        pid: &str,
        agreement: &Agreement,
        change: Change<'_>,
    ) -> Result<Negotiation, UpdateError> {
        let agreement_bytes = self.agreements.encode(agreement)?;
        let trees = (&self.records.tree, &self.agreements.tree);
        let next = finished(trees.transaction(|(negotiations, agreements)| {
            let (next, bytes) = self.changed(pid, negotiations.get(pid)?, change)?;
            negotiations.insert(pid.as_bytes(), bytes)?;
            agreements.insert(agreement.id.as_bytes(), agreement_bytes.clone())?;
            Ok(next)
        }))?;
        self.records.flush()?;
        Ok(next)
    }
}

pub(super) struct SledAgreements(Records<Agreement>);

impl AgreementRepository for SledAgreements {
    fn put(&self, agreement: &Agreement) -> Result<(), StoreError> {
        self.0.put(&agreement.id, agreement)
    }

    fn get(&self, id: &str) -> Result<Option<Agreement>, StoreError> {
        self.0.get(id)
    }

    fn list(&self) -> Result<Vec<Agreement>, StoreError> {
        self.0.list()
    }
}

pub(super) struct SledCredentials(Records<HeldCredential>);

impl CredentialRepository for SledCredentials {
    fn put(&self, credential: &HeldCredential) -> Result<(), StoreError> {
        self.0.put(&credential.key, credential)
    }

    fn list(&self) -> Result<Vec<HeldCredential>, StoreError> {
        let mut held = self.0.list()?;
        held.sort_by(|a, b| a.stored_at.cmp(&b.stored_at));
        Ok(held)
    }
}
