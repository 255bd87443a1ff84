//! The European Health Data Space profile of an offer (Regulation (EU) 2025/327): a health
//! offer is decided under standing rules its operator does not write by hand.
//!
//! - **Art. 53(1)**: secondary use only for its purposes, stated as `request.purpose` by code:
//!   `public-health` (a), `policy-making` (b), `official-statistics` (c), `education` (d),
//!   `scientific-research` (e), `care-improvement` (f); (a)–(c) only for a public-sector body
//!   (`holder.public_sector`, from its membership).
//! - **Art. 54**: the prohibited uses, each a standing prohibition: decisions detrimental to
//!   persons (a); decisions on employment, insurance or credit (b); advertising or marketing (c);
//!   products that harm people or society (d). An operator may drop one explicitly
//!   ([`HealthTerms::without`]); the offer then carries a warning.
//! - **Art. 68**: with [`HealthTerms::requires_permit`], only a holder of a data permit may use
//!   the offer: a verified `DataPermitCredential` from an issuer the trust list trusts for that
//!   type (the health data access body), valid now and not revoked, naming the offer among its
//!   datasets, the caller among its authorised persons and the stated purpose as its own; a
//!   computation's smallest group (`min_group_size`, its `k`) at least the permit's minimum
//!   cell size.
//!
//! The rules are policies in the policy language, added to the offer's own when it is compiled,
//! so every refusal explains itself by the article's policy.

use serde::{Deserialize, Serialize};

pub mod dcat;

pub use dcat::{DcatError, HealthDcat};

/// A purpose of Art. 53(1): its code, its point, what it covers.
pub const PURPOSES: [(&str, &str, &str); 6] = [
    (
        "public-health",
        "Art. 53(1)(a)",
        "public interest in public and occupational health",
    ),
    (
        "policy-making",
        "Art. 53(1)(b)",
        "policy-making and regulatory activities",
    ),
    (
        "official-statistics",
        "Art. 53(1)(c)",
        "official statistics",
    ),
    (
        "education",
        "Art. 53(1)(d)",
        "education or teaching in health or care",
    ),
    (
        "scientific-research",
        "Art. 53(1)(e)",
        "scientific research in health or care",
    ),
    (
        "care-improvement",
        "Art. 53(1)(f)",
        "improving the delivery of care and treatment",
    ),
];

/// The purposes of Art. 53(1)(a)–(c), for public-sector bodies only.
pub const PUBLIC_SECTOR_PURPOSES: [&str; 3] =
    ["public-health", "policy-making", "official-statistics"];

/// A prohibited use of Art. 54: its code, its point, the purposes that amount to it.
#[derive(Debug, Clone, Copy)]
pub struct Prohibition {
    /// The code an operator names to drop it.
    pub code: &'static str,
    /// Its point of Art. 54 (`a` for Art. 54(a)).
    pub point: &'static str,
    /// The stated purposes it refuses.
    pub purposes: &'static [&'static str],
}

impl Prohibition {
    /// Where the regulation says it (`Art. 54(a)`).
    pub fn article(&self) -> String {
        format!("Art. 54({})", self.point)
    }
}

/// The standing prohibitions of Art. 54.
pub const PROHIBITIONS: [Prohibition; 4] = [
    Prohibition {
        code: "detrimental-decisions",
        point: "a",
        purposes: &["detrimental-decisions", "profiling"],
    },
    Prohibition {
        code: "employment-insurance-credit",
        point: "b",
        purposes: &["employment", "insurance", "credit", "premium-setting"],
    },
    Prohibition {
        code: "advertising-marketing",
        point: "c",
        purposes: &["advertising", "marketing"],
    },
    Prohibition {
        code: "harmful-products",
        point: "d",
        purposes: &["harmful-products"],
    },
];

/// An offer's health profile.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HealthTerms {
    /// The Art. 54 prohibitions the operator drops for this offer, by code (each a warning).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub without: Vec<String>,
    /// Whether a requester needs a data permit from a health data access body (Art. 68) that
    /// covers the offer: its `DataPermitCredential`, read as `permit.*`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub requires_permit: bool,
    /// The dataset's HealthDCAT-AP description, published in the catalog ([`dcat`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dcat: Option<HealthDcat>,
}

/// Why health terms are refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HealthTermsError {
    /// `without` names no Art. 54 prohibition.
    #[error("field `health.without`: `{0}` is no Art. 54 prohibition; known: detrimental-decisions, employment-insurance-credit, advertising-marketing, harmful-products")]
    UnknownProhibition(String),
    /// The HealthDCAT-AP description is malformed.
    #[error(transparent)]
    Dcat(#[from] DcatError),
}

impl HealthTerms {
    /// Checks the terms; the warnings they deserve.
    pub fn check(&self) -> Result<Vec<String>, HealthTermsError> {
        if let Some(description) = &self.dcat {
            description.check()?;
        }
        self.without
            .iter()
            .map(|code| {
                PROHIBITIONS
                    .iter()
                    .find(|p| p.code == code)
                    .map(|p| {
                        format!(
                            "the offer drops the standing prohibition of {} ({code}): requests \
                             for {} are no longer refused by the profile",
                            p.article(),
                            p.purposes.join(", ")
                        )
                    })
                    .ok_or_else(|| HealthTermsError::UnknownProhibition(code.clone()))
            })
            .collect()
    }

    /// The standing rules for offer `offer`, as policy text.
    pub fn policies(&self, offer: &str) -> String {
        let list = |items: &[&str]| {
            items
                .iter()
                .map(|i| format!("\"{i}\""))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut text = String::new();
        for prohibition in PROHIBITIONS
            .iter()
            .filter(|p| !self.without.iter().any(|code| code == p.code))
        {
            text.push_str(&format!(
                "policy \"ehds-art-54-{}-{}\" {{\n  forbid * on offer \"{offer}\"\n  when request.purpose in [{}]\n}}\n",
                prohibition.point,
                prohibition.code,
                list(prohibition.purposes)
            ));
        }
        // Every Art. 53 purpose is stated by its code; a prohibited one is explained by its
        // own Art. 54 policy above (or, dropped, no longer refused).
        let known: Vec<&str> = PURPOSES
            .iter()
            .map(|(code, _, _)| *code)
            .chain(PROHIBITIONS.iter().flat_map(|p| p.purposes.iter().copied()))
            .collect();
        text.push_str(&format!(
            "policy \"ehds-art-53-1-purposes\" {{\n  forbid * on offer \"{offer}\"\n  \
             when not (has request.purpose) or not (request.purpose in [{}])\n}}\n",
            list(&known)
        ));
        if self.requires_permit {
            text.push_str(&permit_policies(offer));
        }
        text.push_str(&format!(
            "policy \"ehds-art-53-1-a-c-public-sector\" {{\n  forbid * on offer \"{offer}\"\n  \
             when request.purpose in [{}] and not (has holder.public_sector and holder.public_sector == true)\n}}\n",
            list(&PUBLIC_SECTOR_PURPOSES)
        ));
        text
    }
}

/// The standing rules of a health offer that requires a data permit (Art. 68): one is
/// presented; it covers the offer's dataset and the caller, is valid now and is for the stated
/// purpose; a computation reports on groups no smaller than its minimum cell size.
fn permit_policies(offer: &str) -> String {
    format!(
        "policy \"ehds-art-68-data-permit-required\" {{\n  forbid * on offer \"{offer}\"\n  \
         when not (has permit.id)\n}}\n\
         policy \"ehds-art-68-data-permit\" {{\n  forbid * on offer \"{offer}\"\n  \
         when has permit.id and not (permit covers request.dataset and request.purpose == permit.purpose)\n}}\n\
         policy \"ehds-art-68-data-permit-cell-size\" {{\n  forbid * on offer \"{offer}\"\n  \
         when has permit.min_cell_size and has session.min_group_size\n   \
         and session.min_group_size < permit.min_cell_size\n}}\n"
    )
}

#[cfg(test)]
mod equivalence;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_purposes_are_the_permits_purposes() {
        let codes: Vec<&str> = PURPOSES.iter().map(|(code, _, _)| *code).collect();
        assert_eq!(codes, symbolon_identity::credential::PERMIT_PURPOSES);
    }

    #[test]
    fn the_permit_rules_check_against_the_health_schema() {
        let terms = HealthTerms {
            requires_permit: true,
            ..HealthTerms::default()
        };
        let text = terms.policies("o");
        assert!(text.contains("ehds-art-68-data-permit"), "{text}");
        symbolon_policy::parse_and_check(&[("health", &text)], &symbolon_policy::Schema::health())
            .unwrap_or_else(|d| panic!("{}", d.render()));
    }

    #[test]
    fn a_computation_reports_on_groups_no_smaller_than_the_permits_cell_size() {
        let terms = HealthTerms {
            requires_permit: true,
            ..HealthTerms::default()
        };
        let own = "policy \"study\" { permit join_computation on offer \"o\" }";
        let policies = symbolon_policy::Policies::from_sources(
            &[("own", own), ("health", &terms.policies("o"))],
            std::sync::Arc::new(symbolon_policy::Schema::health()),
        )
        .unwrap();
        let decide = |k: u64| {
            let request = symbolon_policy::Request::from_json(
                policies.schema(),
                &serde_json::json!({
                    "action": "join_computation", "offer": "o", "now": "2026-06-01T00:00:00Z",
                    "holder": {"id": "did:web:a"},
                    "request": {"purpose": "scientific-research", "dataset": "o"},
                    "session": {"min_group_size": k},
                    "permit": {"id": "P-1", "purpose": "scientific-research", "datasets": ["o"],
                               "persons": ["did:web:a"], "min_cell_size": 10,
                               "valid_from": "2026-01-01T00:00:00Z",
                               "valid_until": "2027-01-01T00:00:00Z"}
                }),
            )
            .unwrap();
            policies.evaluate(&request)
        };
        assert!(decide(10).is_permit(), "{}", decide(10));
        let small = decide(5);
        assert!(!small.is_permit());
        assert_eq!(&*small.deciding[0], "ehds-art-68-data-permit-cell-size");
        assert!(
            small.reasons()[0].contains("session.min_group_size was 5"),
            "{small}"
        );
    }
}
