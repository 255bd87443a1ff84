//! Offers: a dataset or a computation published in the catalog, with its usage policy.

use serde::{Deserialize, Serialize};

/// What an offer gives access to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OfferKind {
    /// A dataset.
    Dataset,
    /// A computation (an MPC session).
    Computation,
}

impl OfferKind {
    /// The action an agreement grants by default: `use` for a dataset, `join_computation` for
    /// a computation.
    pub fn default_action(self) -> &'static str {
        match self {
            OfferKind::Dataset => "use",
            OfferKind::Computation => "join_computation",
        }
    }
}

/// Where a dataset offer's data comes from: what the HTTP-pull data plane serves to the
/// consumer of a started transfer. Paths are relative to the data directory's `data/` folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DataSource {
    /// One file (e.g. `{"file": "wards/2026.csv"}`).
    File(String),
    /// A directory: its files are served by their paths under it, and its root answers a
    /// listing.
    Directory(String),
    /// A URL the provider fetches and relays (`http` or `https`); the operator's choice, so it
    /// may be an internal address. Its consumers never learn it.
    Url(String),
}

/// Where a computation offer's data lives: a CSV file under the data directory's `data/`
/// folder, read only by this connector when it runs a session's program. The data is never in
/// the catalog nor sent anywhere; only secret shares of it leave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InputBinding {
    /// The CSV file (header line, comma separated, integer values).
    pub file: String,
    /// The columns programs may read, by the name programs give them, each naming its CSV
    /// header (e.g. `{"salary": "monthly_salary_eur"}`).
    pub columns: std::collections::BTreeMap<String, String>,
    /// The CSV column holding each row's identifier (e.g. a pseudonym), for programs that
    /// link or intersect records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ids: Option<String>,
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
    /// Where a dataset's data comes from (served as `HttpData-PULL`); `None` for a dataset
    /// described only, and for a computation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<DataSource>,
    /// Where a computation's data lives here (never published).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binding: Option<InputBinding>,
    /// Who answers a consumer's request: `auto` (the policy decides) or `manual` (the
    /// operator answers, with the policy's verdict as a recommendation).
    #[serde(default)]
    pub decision: Decision,
    /// The European Health Data Space profile: a health offer is also decided under the
    /// standing rules of Art. 53 and 54 ([`crate::health`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<crate::health::HealthTerms>,
    /// When it was created (RFC 3339).
    pub created: String,
}

/// Who answers a negotiation: the connector on its own, or its operator.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// The connector answers on its own: a provider agrees or refuses as its policy decides,
    /// a consumer verifies the agreement it receives.
    #[default]
    Auto,
    /// The operator answers from the management API or the CLI; a provider keeps its
    /// policy's verdict on the negotiation as a recommendation.
    Manual,
}

impl Decision {
    /// Whether the operator answers.
    pub fn is_manual(self) -> bool {
        self == Decision::Manual
    }
}
