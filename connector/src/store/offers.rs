//! Offers: a dataset or a computation published in the catalog, with its usage policy.

use serde::{Deserialize, Serialize};

use super::codec::Records;
use super::StoreError;

/// What an offer gives access to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OfferKind {
    /// A dataset.
    Dataset,
    /// A computation (an MPC session).
    Computation,
}

/// An offer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Offer {
    /// Its id: the catalog's dataset id and the name policies give it (`on offer "<id>"`).
    pub id: String,
    /// A title for people.
    pub title: String,
    /// A description for people.
    #[serde(default)]
    pub description: String,
    /// Dataset or computation.
    pub kind: OfferKind,
    /// The action an agreement grants (a policy action such as `use` or `join_computation`).
    pub action: String,
    /// The usage policy, in the policy language; checked before it was stored.
    pub policy: String,
    /// When it was created (RFC 3339).
    pub created: String,
}

/// The offers repository.
#[derive(Clone)]
pub struct Offers(Records<Offer>);

impl Offers {
    pub(crate) fn new(tree: sled::Tree, db: sled::Db) -> Self {
        Offers(Records::new("offers", tree, db))
    }

    /// Stores a new offer (flushed); `false` when the id is taken.
    pub async fn create(&self, offer: &Offer) -> Result<bool, StoreError> {
        self.0.insert_new(&offer.id, offer).await
    }

    /// The offer with `id`.
    pub fn get(&self, id: &str) -> Result<Option<Offer>, StoreError> {
        self.0.get(id)
    }

    /// Every offer, by id.
    pub fn list(&self) -> Result<Vec<Offer>, StoreError> {
        self.0.list()
    }

    /// Deletes an offer (flushed); `false` when there was none.
    pub async fn delete(&self, id: &str) -> Result<bool, StoreError> {
        self.0.remove(id).await
    }
}
