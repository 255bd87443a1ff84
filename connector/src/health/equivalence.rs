//! The published description of a health offer's policy is what the policy engine enforces:
//! the ODRL offer in the catalog (the protocol's form, `symbolon_policy::odrl::offer_rules`),
//! read back as policies, decides every request as the compiled offer does.

use std::sync::Arc;

use serde_json::{json, Value};
use symbolon_policy::{Policies, Request, Schema};

use super::{HealthTerms, PROHIBITIONS, PURPOSES};
use crate::catalog::CompiledOffer;
use crate::fixtures::offer;

/// A health offer (all standing prohibitions, a data permit required) compiled.
fn compiled() -> CompiledOffer {
    let mut health = offer();
    health.health = Some(HealthTerms {
        requires_permit: true,
        ..HealthTerms::default()
    });
    CompiledOffer::compile(&health, &Arc::new(Schema::health())).unwrap()
}

/// The offer's published ODRL rules, read back as policies.
fn published(compiled: &CompiledOffer) -> Policies {
    let schema = Schema::health();
    let target = |rules: &Option<Vec<Value>>| -> Vec<Value> {
        rules
            .iter()
            .flatten()
            .map(|rule| {
                let mut rule = rule.clone();
                rule["target"] = compiled.offer.id.clone().into();
                rule
            })
            .collect()
    };
    let document = json!({
        "@type": "Set", "uid": "urn:symbolon:policy:published",
        "permission": target(&compiled.odrl.permission),
        "prohibition": target(&compiled.odrl.prohibition),
    });
    let set = symbolon_policy::from_odrl(&document, &schema).unwrap();
    Policies::compile(set, Arc::new(schema)).unwrap()
}

/// Every combination of a stated purpose (or none), a public-sector flag (or none) and a
/// permit (none, covering, for another purpose, for another dataset, expired).
fn requests(schema: &Schema) -> Vec<Request> {
    let mut purposes: Vec<Option<&str>> = PURPOSES.iter().map(|(code, _, _)| Some(*code)).collect();
    purposes.extend(
        PROHIBITIONS
            .iter()
            .flat_map(|p| p.purposes.iter().map(|code| Some(*code))),
    );
    purposes.extend([Some("curiosity"), None]);
    let permit = |purpose: &str, dataset: &str, until: &str| {
        json!({"id": "P-1", "purpose": purpose, "datasets": [dataset],
               "persons": ["did:web:h"], "min_cell_size": 10,
               "valid_from": "2026-01-01T00:00:00Z", "valid_until": until})
    };
    let mut out = Vec::new();
    for purpose in &purposes {
        for public_sector in [None, Some(true), Some(false)] {
            for permit in [
                None,
                Some(permit(
                    purpose.unwrap_or("x"),
                    "ward-statistics",
                    "2027-01-01T00:00:00Z",
                )),
                Some(permit(
                    "education",
                    "ward-statistics",
                    "2027-01-01T00:00:00Z",
                )),
                Some(permit(
                    purpose.unwrap_or("x"),
                    "other",
                    "2027-01-01T00:00:00Z",
                )),
                Some(permit(
                    purpose.unwrap_or("x"),
                    "ward-statistics",
                    "2026-02-01T00:00:00Z",
                )),
            ] {
                let mut holder = json!({"id": "did:web:h", "role": "Hospital", "member_of": "hds"});
                if let Some(flag) = public_sector {
                    holder["public_sector"] = flag.into();
                }
                let mut request = json!({"dataset": "ward-statistics"});
                if let Some(purpose) = purpose {
                    request["purpose"] = (*purpose).into();
                }
                let mut input = json!({"action": "use", "offer": "ward-statistics",
                                       "now": "2026-06-01T00:00:00Z",
                                       "holder": holder, "request": request});
                if let Some(permit) = permit {
                    input["permit"] = permit;
                }
                out.push(Request::from_json(schema, &input).unwrap());
            }
        }
    }
    out
}

#[test]
fn the_published_odrl_decides_every_request_as_the_enforced_policy() {
    let compiled = compiled();
    let published = published(&compiled);
    let requests = requests(compiled.policies.schema());
    let mut permitted = 0;
    for request in &requests {
        let enforced = compiled.policies.evaluate(request);
        let described = published.evaluate(request);
        assert_eq!(
            enforced.is_permit(),
            described.is_permit(),
            "{request:?}: enforced {enforced}, described {described}"
        );
        permitted += usize::from(enforced.is_permit());
    }
    // Both outcomes occur: the comparison is not between two policies that refuse everything.
    assert!(permitted > 0 && permitted < requests.len(), "{permitted}");
}

#[test]
fn each_published_prohibition_names_its_article_and_uses_the_protocols_operators() {
    let compiled = compiled();
    let prohibitions = compiled.odrl.prohibition.clone().unwrap_or_default();
    let ids: Vec<&str> = prohibitions
        .iter()
        .filter_map(|rule| rule["@id"].as_str())
        .collect();
    assert_eq!(ids.len(), prohibitions.len(), "{prohibitions:?}");
    for prohibition in PROHIBITIONS {
        let id = format!(
            "urn:symbolon:offer:ward-statistics#ehds-art-54-{}-{}",
            prohibition.point, prohibition.code
        );
        assert!(ids.contains(&id.as_str()), "{id} among {ids:?}");
    }
    for article in [
        "ehds-art-53-1-purposes",
        "ehds-art-53-1-a-c-public-sector",
        "ehds-art-68-data-permit-required",
        "ehds-art-68-data-permit",
        "ehds-art-68-data-permit-cell-size",
    ] {
        let id = format!("urn:symbolon:offer:ward-statistics#{article}");
        assert!(ids.contains(&id.as_str()), "{id} among {ids:?}");
    }
    let text = Value::Array(prohibitions).to_string();
    assert!(!text.contains("isPresent"), "{text}");
}
