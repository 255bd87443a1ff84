//! The catalog: offers rendered as a DCAT `Catalog` of the Dataspace Protocol, each dataset
//! carrying its offer's usage policy exported as ODRL.

use serde_json::{json, Map, Value};
use symbolon_policy::{PolicySet, Schema};

use crate::negotiation::messages::{build, DSP_CONTEXT};
use crate::store::offers::{Offer, OfferKind};

/// The prefix of Symbolon's ODRL profile terms in exported policies.
const PROFILE_PREFIX: &str = "symbolon:";

/// An offer's policy that cannot be exported.
#[derive(Debug, thiserror::Error)]
#[error("the policy of offer `{offer}` cannot be exported: {reason}")]
pub struct ExportError {
    /// The offer.
    pub offer: String,
    /// Why.
    pub reason: String,
}

/// Parses and checks an offer's policy text; the diagnostics render for people.
pub fn check_policy(
    offer_id: &str,
    text: &str,
    schema: &Schema,
) -> Result<PolicySet, symbolon_policy::Diagnostics> {
    symbolon_policy::parse_and_check(&[(&format!("offer {offer_id}"), text)], schema)
}

/// The id of the ODRL offer for `offer`.
pub fn offer_iri(offer_id: &str) -> String {
    format!("urn:symbolon:offer:{offer_id}")
}

/// The offer id an ODRL offer id or target names, if it is one of ours.
pub fn offer_id_from(odrl_id: &str, target: Option<&str>) -> String {
    target
        .map(str::to_owned)
        .or_else(|| {
            odrl_id
                .strip_prefix("urn:symbolon:offer:")
                .map(str::to_owned)
        })
        .unwrap_or_else(|| odrl_id.to_owned())
}

/// The offer's policy as a Dataspace Protocol ODRL `Offer` (no `target`: the dataset holding
/// it is the target). Rules of every policy naming the offer (or `*`) are kept; profile terms
/// are written as full IRIs and non-string operands as JSON-LD value objects, as the protocol's
/// schema requires.
pub fn odrl_offer(offer: &Offer, schema: &Schema) -> Result<Value, ExportError> {
    let error = |reason: String| ExportError {
        offer: offer.id.clone(),
        reason,
    };
    let set = check_policy(&offer.id, &offer.policy, schema).map_err(|d| error(d.render()))?;
    let exported = symbolon_policy::to_odrl(&set, schema).map_err(|e| error(e.to_string()))?;
    let mut rules: Map<String, Value> = Map::new();
    let graph = exported
        .get("@graph")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_else(|| vec![exported.clone()]);
    for policy in graph {
        for kind in ["permission", "prohibition", "obligation"] {
            for rule in policy
                .get(kind)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let target = rule.get("target").and_then(Value::as_str);
                if target.is_some_and(|t| t != offer.id) {
                    continue;
                }
                let mut rule = rule.clone();
                if let Some(object) = rule.as_object_mut() {
                    object.remove("target");
                }
                let list = rules
                    .entry(kind)
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(list) = list {
                    list.push(for_protocol(rule));
                }
            }
        }
    }
    if !rules.contains_key("permission") && !rules.contains_key("prohibition") {
        return Err(error(
            "no permission or prohibition of the policy applies to this offer".into(),
        ));
    }
    let mut out = Map::new();
    out.insert("@id".into(), offer_iri(&offer.id).into());
    out.insert("@type".into(), "Offer".into());
    out.insert("profile".into(), symbolon_policy::schema::PROFILE.into());
    out.extend(rules);
    Ok(Value::Object(out))
}

/// Rewrites profile-prefixed terms to full IRIs and non-string constraint operands to value
/// objects.
fn for_protocol(value: Value) -> Value {
    match value {
        Value::String(s) => match s.strip_prefix(PROFILE_PREFIX) {
            Some(term) => Value::String(format!("{}#{term}", symbolon_policy::schema::PROFILE)),
            None => Value::String(s),
        },
        Value::Array(items) => Value::Array(items.into_iter().map(for_protocol).collect()),
        Value::Object(object) => {
            let is_constraint = object.contains_key("leftOperand");
            Value::Object(
                object
                    .into_iter()
                    .map(|(k, v)| {
                        let v = if is_constraint && k == "rightOperand" {
                            match v {
                                v @ (Value::Number(_) | Value::Bool(_)) => json!({ "@value": v }),
                                other => other,
                            }
                        } else {
                            v
                        };
                        (k, for_protocol(v))
                    })
                    .collect(),
            )
        }
        other => other,
    }
}

/// The id of this connector's data service.
fn service_id(participant: &str) -> String {
    format!("urn:symbolon:service:{participant}")
}

/// The DCAT dataset for `offer`, without `@context`.
pub fn dataset(offer: &Offer, participant: &str, schema: &Schema) -> Result<Value, ExportError> {
    let format = match offer.kind {
        OfferKind::Dataset => "symbolon:dataset",
        OfferKind::Computation => "symbolon:mpc-session",
    };
    Ok(json!({
        "@id": offer.id,
        "@type": "Dataset",
        "title": offer.title,
        "description": offer.description,
        "hasPolicy": [odrl_offer(offer, schema)?],
        "distribution": [{
            "@type": "Distribution",
            "format": format,
            "accessService": service_id(participant),
        }],
    }))
}

/// The dataset for `offer` as a standalone document (with `@context`).
pub fn dataset_document(
    offer: &Offer,
    participant: &str,
    schema: &Schema,
) -> Result<Value, ExportError> {
    let mut dataset = dataset(offer, participant, schema)?;
    if let Some(object) = dataset.as_object_mut() {
        object.insert("@context".into(), json!([DSP_CONTEXT]));
    }
    Ok(dataset)
}

/// The catalog of `offers` published by `participant` at `endpoint`. An offer whose policy
/// cannot be exported is left out (and logged): the rest of the catalog still answers.
pub fn catalog(offers: &[Offer], participant: &str, endpoint: &str, schema: &Schema) -> Value {
    let datasets: Vec<Value> = offers
        .iter()
        .filter_map(|offer| match dataset(offer, participant, schema) {
            Ok(dataset) => Some(dataset),
            Err(error) => {
                tracing::warn!(%error, "offer left out of the catalog");
                None
            }
        })
        .collect();
    build(
        "Catalog",
        json!({
            "@id": format!("urn:symbolon:catalog:{participant}"),
            "participantId": participant,
            "service": [{
                "@id": service_id(participant),
                "@type": "DataService",
                "endpointURL": endpoint,
            }],
            "dataset": datasets,
        }),
    )
}
