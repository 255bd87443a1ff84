//! The catalog: offers with their policies compiled once, and rendered as the Dataspace
//! Protocol's DCAT `Catalog`, each dataset carrying its offer's usage policy as an ODRL offer.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use symbolon_policy::{Diagnostics, OdrlError, Policies, PolicySet, Schema};

use crate::dcp::scope::MEMBERSHIP;
use crate::domain::{HeldCredential, Offer, OfferKind};
use crate::protocol::messages::{MessageOffer, OfferType, DSP_CONTEXT};

/// Why an offer's policy cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The policy text does not check.
    #[error("the policy of offer `{offer}` does not check:\n{}", diagnostics.render())]
    Check {
        /// The offer.
        offer: String,
        /// The checker's diagnostics.
        diagnostics: Diagnostics,
    },
    /// The policy cannot be exported as the protocol's ODRL offer.
    #[error("the policy of offer `{offer}` cannot be exported: {source}")]
    Export {
        /// The offer.
        offer: String,
        /// Why.
        #[source]
        source: OdrlError,
    },
}

/// Parses and checks an offer's policy text.
pub fn check_policy(offer_id: &str, text: &str, schema: &Schema) -> Result<PolicySet, PolicyError> {
    symbolon_policy::parse_and_check(&[(&format!("offer {offer_id}"), text)], schema).map_err(
        |diagnostics| PolicyError::Check {
            offer: offer_id.to_owned(),
            diagnostics,
        },
    )
}

/// The id of the ODRL offer for `offer`.
pub fn offer_iri(offer_id: &str) -> String {
    format!("urn:symbolon:offer:{offer_id}")
}

/// The offer id an ODRL offer names: its `target`, else the id of one of our offer IRIs.
pub fn offer_id_from(offer: &MessageOffer) -> Option<String> {
    offer.target.clone().or_else(|| {
        offer
            .id
            .strip_prefix("urn:symbolon:offer:")
            .map(str::to_owned)
    })
}

/// An offer with its policy compiled and exported, ready to decide requests and to publish.
#[derive(Debug)]
pub struct CompiledOffer {
    /// The offer as stored.
    pub offer: Offer,
    /// Its policies, compiled.
    pub policies: Policies,
    /// Its policy as the protocol's ODRL offer (no `target`: the dataset holding it is the
    /// target).
    pub odrl: MessageOffer,
}

impl CompiledOffer {
    /// Checks, compiles and exports `offer`'s policy.
    pub fn compile(offer: &Offer, schema: &Arc<Schema>) -> Result<CompiledOffer, PolicyError> {
        let set = match &offer.health {
            None => check_policy(&offer.id, &offer.policy, schema)?,
            Some(terms) => {
                let standing = terms.policies(&offer.id);
                symbolon_policy::parse_and_check(
                    &[
                        (&format!("offer {}", offer.id), &offer.policy),
                        ("the EHDS profile", &standing),
                    ],
                    schema,
                )
                .map_err(|diagnostics| PolicyError::Check {
                    offer: offer.id.clone(),
                    diagnostics,
                })?
            }
        };
        let export = |source| PolicyError::Export {
            offer: offer.id.clone(),
            source,
        };
        let rules =
            symbolon_policy::odrl::offer_rules(&set, schema, &offer.id, &offer_iri(&offer.id))
                .map_err(export)?;
        let policies =
            Policies::compile(set, schema.clone()).map_err(|diagnostics| PolicyError::Check {
                offer: offer.id.clone(),
                diagnostics,
            })?;
        let mut odrl = MessageOffer::new(&offer_iri(&offer.id));
        odrl.other
            .insert("profile".into(), symbolon_policy::schema::PROFILE.into());
        for (kind, rules) in rules {
            let rules = match rules {
                serde_json::Value::Array(rules) => rules,
                other => vec![other],
            };
            match kind.as_str() {
                "permission" => odrl.permission = Some(rules),
                "prohibition" => odrl.prohibition = Some(rules),
                "obligation" => odrl.obligation = Some(rules),
                _ => {}
            }
        }
        Ok(CompiledOffer {
            offer: offer.clone(),
            policies,
            odrl,
        })
    }

    /// The ODRL offer naming its target, as a consumer requests it.
    pub fn targeted_odrl(&self) -> MessageOffer {
        let mut odrl = self.odrl.clone();
        odrl.target = Some(self.offer.id.clone());
        odrl
    }
}

/// Compiled offers, each compiled once and kept until the offer changes.
#[derive(Debug)]
pub struct PolicyCache {
    schema: Arc<Schema>,
    compiled: RwLock<HashMap<String, Arc<CompiledOffer>>>,
}

impl PolicyCache {
    /// An empty cache for policies of `schema`.
    pub fn new(schema: Arc<Schema>) -> Self {
        PolicyCache {
            schema,
            compiled: RwLock::default(),
        }
    }

    /// The policy schema.
    pub fn schema(&self) -> &Arc<Schema> {
        &self.schema
    }

    /// `offer` compiled: from the cache when the same offer was compiled before.
    pub fn compiled(&self, offer: &Offer) -> Result<Arc<CompiledOffer>, PolicyError> {
        if let Some(hit) = self
            .compiled
            .read()
            .ok()
            .and_then(|cache| cache.get(&offer.id).cloned())
            .filter(|hit| hit.offer == *offer)
        {
            return Ok(hit);
        }
        let compiled = Arc::new(CompiledOffer::compile(offer, &self.schema)?);
        if let Ok(mut cache) = self.compiled.write() {
            cache.insert(offer.id.clone(), compiled.clone());
        }
        Ok(compiled)
    }

    /// Forgets the offer `id` (deleted).
    pub fn forget(&self, id: &str) {
        if let Ok(mut cache) = self.compiled.write() {
            cache.remove(id);
        }
    }
}

/// A DCAT `Catalog` of the protocol.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Catalog {
    #[serde(rename = "@context")]
    context: Vec<String>,
    #[serde(rename = "@id")]
    id: String,
    #[serde(rename = "@type")]
    kind: &'static str,
    participant_id: String,
    service: Vec<DataService>,
    dataset: Vec<Dataset>,
    /// HealthDCAT-AP members, when a dataset is described by the profile.
    #[serde(flatten)]
    profile: Map<String, Value>,
}

/// A DCAT `DataService`: where the protocol is served.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataService {
    /// Its id.
    #[serde(rename = "@id")]
    pub id: String,
    /// `DataService`.
    #[serde(rename = "@type", default)]
    pub kind: String,
    /// The protocol's base URL.
    #[serde(rename = "endpointURL", default)]
    pub endpoint_url: String,
    /// Members of an application profile (HealthDCAT-AP: its title), under prefixed names.
    #[serde(flatten)]
    pub profile: Map<String, Value>,
}

/// A distribution's `accessService`: the id of a data service of the catalog, or the service
/// itself (both are the protocol's; a HealthDCAT-AP dataset's distributions carry the service,
/// so that it is a `dcat:DataService` when read as RDF).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AccessService {
    /// The service's id.
    Reference(String),
    /// The service.
    Service(DataService),
}

impl AccessService {
    /// The id of the data service.
    pub fn id(&self) -> &str {
        match self {
            AccessService::Reference(id) => id,
            AccessService::Service(service) => &service.id,
        }
    }
}

/// A DCAT `Dataset`: an offer with its policy.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dataset {
    /// `@context`, on a dataset sent on its own.
    #[serde(rename = "@context", default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Vec<String>>,
    /// The offer's id.
    #[serde(rename = "@id")]
    pub id: String,
    /// `Dataset`.
    #[serde(rename = "@type", default)]
    pub kind: String,
    /// A title.
    #[serde(default)]
    pub title: String,
    /// A description.
    #[serde(default)]
    pub description: String,
    /// The offers under which it can be had.
    pub has_policy: Vec<MessageOffer>,
    /// How it is delivered.
    #[serde(default)]
    pub distribution: Vec<Distribution>,
    /// Members of an application profile: the HealthDCAT-AP description of a health dataset
    /// ([`crate::health::dcat`]), under prefixed names.
    #[serde(flatten)]
    pub profile: Map<String, Value>,
}

/// A DCAT `Distribution`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Distribution {
    /// `Distribution`.
    #[serde(rename = "@type")]
    pub kind: String,
    /// `HttpData-PULL`, `symbolon:dataset` or `MpcSession-PUSH`.
    pub format: String,
    /// The data service delivering it.
    pub access_service: AccessService,
    /// Members of an application profile (HealthDCAT-AP: the class of its format, the access
    /// URL and the applicable legislation), under prefixed names.
    #[serde(flatten)]
    pub profile: Map<String, Value>,
}

/// The id of this connector's data service.
fn service_id(participant: &str) -> String {
    format!("urn:symbolon:service:{participant}")
}

/// The formats `offer` is distributed in (`HttpData-PULL` for a dataset that names its data):
/// its catalog entry's distributions, and
/// the formats a transfer request for it may name.
pub fn formats(offer: &Offer) -> &'static [&'static str] {
    match (offer.kind, &offer.source) {
        (OfferKind::Dataset, Some(_)) => &[crate::dataplane::HTTP_PULL],
        (OfferKind::Dataset, None) => &["symbolon:dataset"],
        (OfferKind::Computation, _) => &[crate::session::MPC_SESSION_FORMAT],
    }
}

/// The offer's HealthDCAT-AP description, if it has one.
fn health_dcat(offer: &Offer) -> Option<&crate::health::HealthDcat> {
    offer.health.as_ref().and_then(|terms| terms.dcat.as_ref())
}

/// The catalog's data service of `participant`, whose protocol is served at `endpoint`; with
/// its HealthDCAT-AP title when `health`.
fn data_service(participant: &str, endpoint: &str, health: bool) -> DataService {
    let mut profile = Map::new();
    if health {
        profile.insert("dct:title".into(), "Dataspace Protocol endpoint".into());
    }
    DataService {
        id: service_id(participant),
        kind: "DataService".into(),
        endpoint_url: endpoint.to_owned(),
        profile,
    }
}

/// The DCAT dataset for a compiled offer published by `participant`, whose protocol is served
/// at `endpoint`.
pub fn dataset(compiled: &CompiledOffer, participant: &str, endpoint: &str) -> Dataset {
    let offer = &compiled.offer;
    debug_assert!(compiled.odrl.kind == OfferType::Offer);
    let description = health_dcat(offer);
    Dataset {
        context: None,
        id: offer.id.clone(),
        kind: "Dataset".into(),
        title: offer.title.clone(),
        description: offer.description.clone(),
        has_policy: vec![compiled.odrl.clone()],
        distribution: formats(offer)
            .iter()
            .map(|format| match description {
                None => Distribution {
                    kind: "Distribution".into(),
                    format: (*format).into(),
                    access_service: AccessService::Reference(service_id(participant)),
                    profile: Map::new(),
                },
                Some(_) => Distribution {
                    kind: "Distribution".into(),
                    format: (*format).into(),
                    access_service: AccessService::Service(data_service(
                        participant,
                        endpoint,
                        true,
                    )),
                    profile: crate::health::dcat::distribution_members(format, endpoint),
                },
            })
            .collect(),
        profile: description
            .map(|d| d.members(&offer.id, &offer.title, &offer.description))
            .unwrap_or_default(),
    }
}

/// The catalog's `@context`: the protocol's, and when `health` the HealthDCAT-AP prefixes'
/// as the connector at `endpoint` serves them.
fn context(health: bool, endpoint: &str) -> Vec<String> {
    let mut context = vec![DSP_CONTEXT.to_owned()];
    if health {
        context.push(crate::health::dcat::context_iri(endpoint));
    }
    context
}

/// The dataset as a document of its own (with `@context`).
pub fn dataset_document(compiled: &CompiledOffer, participant: &str, endpoint: &str) -> Dataset {
    Dataset {
        context: Some(context(health_dcat(&compiled.offer).is_some(), endpoint)),
        ..dataset(compiled, participant, endpoint)
    }
}

/// The legal name of this connector's organisation, `did`: the `legalName` of the membership
/// it holds about itself (the most recently stored one that has it).
pub fn legal_name(held: &[HeldCredential], did: &str) -> Option<String> {
    held.iter()
        .filter(|credential| credential.is_a(MEMBERSHIP))
        .filter_map(|credential| {
            let document = credential.document()?;
            let subject = document.get("credentialSubject")?;
            if subject.get("id").and_then(Value::as_str) != Some(did) {
                return None;
            }
            let name = subject.get("legalName")?.as_str()?.trim();
            (!name.is_empty()).then(|| (credential.stored_at.clone(), name.to_owned()))
        })
        .max()
        .map(|(_, name)| name)
}

/// The catalog of `offers` published by `participant` at `endpoint`, whose organisation's
/// legal name is `legal_name` (the name of the catalog's publisher, a HealthDCAT-AP agent; the
/// DID when none is known). An offer whose policy cannot be compiled is left out (and logged):
/// the rest of the catalog still answers.
pub fn catalog(
    offers: &[Offer],
    cache: &PolicyCache,
    participant: &str,
    endpoint: &str,
    legal_name: Option<&str>,
) -> Catalog {
    let dataset = offers
        .iter()
        .filter_map(|offer| match cache.compiled(offer) {
            Ok(compiled) => Some(dataset(&compiled, participant, endpoint)),
            Err(error) => {
                tracing::warn!(%error, "offer left out of the catalog");
                None
            }
        })
        .collect::<Vec<Dataset>>();
    // A catalog holding a HealthDCAT-AP dataset answers the profile's catalog terms too.
    let health = dataset.iter().any(|d| !d.profile.is_empty());
    let mut profile = Map::new();
    if health {
        profile.insert(
            "dct:title".into(),
            format!("Catalog of {participant}").into(),
        );
        profile.insert(
            "dct:description".into(),
            format!(
                "The datasets and computations {participant} offers over the Dataspace Protocol"
            )
            .into(),
        );
        profile.insert(
            "dct:publisher".into(),
            json!({ "@id": participant, "@type": "foaf:Agent",
                    "foaf:name": legal_name.unwrap_or(participant) }),
        );
        profile.insert(
            "dcatap:applicableLegislation".into(),
            crate::health::dcat::legislation(),
        );
    }
    Catalog {
        context: context(health, endpoint),
        id: format!("urn:symbolon:catalog:{participant}"),
        kind: "Catalog",
        participant_id: participant.to_owned(),
        service: vec![data_service(participant, endpoint, health)],
        dataset,
        profile,
    }
}
