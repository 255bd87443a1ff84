//! The schema: which attributes exist and their types, which actions and obligations a policy may
//! name. [`Schema::health`] is the default health data-space schema; a connector may extend it.

use std::collections::BTreeMap;

use crate::compile::FastMap;

use crate::value::Type;

type ObligationSpec<'a> = (&'a str, &'a [(&'a str, Type)], &'a str);

/// The index of an attribute in its schema; requests store attribute values by this index.
pub type AttrId = usize;

/// The roots under which attributes live, besides `now`.
pub const ROOTS: [&str; 6] = ["holder", "consent", "request", "session", "usage", "permit"];

/// The profile IRI under which Symbolon's ODRL left operands, actions and duties are defined.
pub const PROFILE: &str = "https://w3id.org/symbolon/odrl/health";

/// One attribute a policy may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrDef {
    /// The dotted name, such as `holder.role`.
    pub name: String,
    /// Its type.
    pub ty: Type,
    /// Its ODRL left operand (`role`, `dateTime`, ...) in the Symbolon health profile.
    pub odrl: String,
    /// What it means, for people.
    pub doc: String,
}

/// One obligation a permit may attach, and the parameters it takes (all required).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObligationDef {
    /// The obligation's name.
    pub name: String,
    /// Parameter names and types.
    pub params: Vec<(String, Type)>,
    /// What it means, for people.
    pub doc: String,
}

/// Why a schema extension was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// The attribute name is not `root.name` with a known root.
    #[error(
        "attribute `{0}` must start with one of holder., consent., request., session., usage., permit."
    )]
    BadRoot(String),
    /// The attribute already exists with another type.
    #[error("attribute `{name}` is already {existing:#}")]
    Conflict {
        /// The attribute.
        name: String,
        /// Its existing type.
        existing: Type,
    },
    /// A type name is not one of the language's types.
    #[error("unknown type `{0}`; the types are string, integer, decimal, boolean, datetime, duration, set")]
    UnknownType(String),
    /// A name is not made of letters, digits and `_`.
    #[error("`{0}` is not a valid name: use letters, digits and `_`")]
    BadName(String),
    /// The JSON extension does not have the documented shape.
    #[error("schema extension: {0}")]
    Shape(String),
}

/// Attributes, actions and obligations known to the checker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema {
    attrs: Vec<AttrDef>,
    by_name: FastMap<String, AttrId>,
    actions: BTreeMap<String, String>,
    obligations: BTreeMap<String, ObligationDef>,
}

impl Default for Schema {
    fn default() -> Self {
        Schema::health()
    }
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !s.as_bytes().first().is_some_and(u8::is_ascii_digit)
}

impl Schema {
    /// A schema with only `now` and no actions or obligations.
    pub fn empty() -> Schema {
        let mut s = Schema {
            attrs: Vec::new(),
            by_name: FastMap::default(),
            actions: BTreeMap::new(),
            obligations: BTreeMap::new(),
        };
        s.push_attr(
            "now",
            Type::DateTime,
            "dateTime",
            "the time of the decision",
        );
        s
    }

    /// The default health data-space schema shipped with the crate (see the README's tables).
    pub fn health() -> Schema {
        let mut s = Schema::empty();
        let attrs: [(&str, Type, &str, &str); 38] = [
            ("holder.id", Type::Str, "holderId", "the DID of the requesting organisation"),
            ("holder.role", Type::Str, "role", "its role in the data space (Hospital, Insurer, StatisticsBureau, Pharmacy, Auditor, ...)"),
            ("holder.member_of", Type::Str, "memberOf", "the data space its membership credential is for"),
            ("holder.legal_name", Type::Str, "legalName", "its legal name"),
            ("holder.registration_number", Type::Str, "registrationNumber", "its registration number"),
            ("holder.public_sector", Type::Bool, "publicSector", "whether its membership says it is a public-sector body (EHDS Art. 53(1)(a)-(c))"),
            ("holder.credentials", Type::Set, "credentialType", "the types of the verified credentials it presented"),
            ("holder.trial_id", Type::Str, "trialId", "the trial of its TrialSiteCredential"),
            ("holder.trial_site", Type::Str, "trialSite", "the site of its TrialSiteCredential"),
            ("holder.trial_sponsor", Type::Str, "trialSponsor", "the DID of the sponsor that issued its TrialSiteCredential"),
            ("holder.auditor_scope", Type::Set, "auditorScope", "the organisations its AuditorCredential covers"),
            ("consent.purposes", Type::Set, "consentPurpose", "the purposes the consent allows"),
            ("consent.scope", Type::Str, "consentScope", "the dataset or cohort the consent covers"),
            ("consent.controller", Type::Str, "consentController", "the DID of the data controller that issued the consent"),
            ("consent.valid_from", Type::DateTime, "consentValidFrom", "when the consent starts"),
            ("consent.valid_until", Type::DateTime, "consentValidUntil", "when the consent ends"),
            ("consent.withdrawn", Type::Bool, "consentWithdrawn", "whether the consent was withdrawn"),
            ("request.purpose", Type::Str, "purpose", "the purpose the requester states"),
            ("request.fields", Type::Set, "fields", "the data fields requested"),
            ("request.retention", Type::Duration, "retention", "how long the requester will keep the data"),
            ("request.recipient", Type::Str, "recipient", "the DID that will receive the data or result"),
            ("request.dataset", Type::Str, "dataset", "the catalog id of the dataset asked for (the offer's id)"),
            ("session.parties", Type::Int, "partyCount", "how many parties take part in the computation"),
            ("session.program", Type::Str, "program", "the id of the program the computation runs"),
            ("session.party_roles", Type::Set, "partyRole", "the roles every other party of the computation holds by its verified membership"),
            ("session.min_group_size", Type::Int, "minGroupSize", "the smallest group the computation reports on"),
            ("session.epsilon", Type::Decimal, "privacyBudget", "the differential-privacy budget of the computation"),
            ("usage.count", Type::Int, "count", "how many times this holder has used the offer (supplied by the caller)"),
            ("permit.id", Type::Str, "permitId", "the HDAB's reference of the holder's verified DataPermitCredential"),
            ("permit.issuer", Type::Str, "permitIssuer", "the DID of the health data access body that issued the permit"),
            ("permit.purpose", Type::Str, "permitPurpose", "the Art. 53(1) purpose the permit is granted for, by code"),
            ("permit.datasets", Type::Set, "permitDataset", "the catalog ids of the datasets the permit covers"),
            ("permit.persons", Type::Set, "permitPerson", "the DIDs of the persons authorised under the permit"),
            ("permit.principal_investigator", Type::Str, "permitPrincipalInvestigator", "the DID of the permit's principal investigator"),
            ("permit.output", Type::Str, "permitOutput", "how results leave: secure-processing or anonymised-statistics"),
            ("permit.min_cell_size", Type::Int, "permitMinCellSize", "the smallest number of individuals a released figure may rest on"),
            ("permit.valid_from", Type::DateTime, "permitValidFrom", "when the permit starts"),
            ("permit.valid_until", Type::DateTime, "permitValidUntil", "when the permit ends"),
        ];
        for (name, ty, odrl, doc) in attrs {
            s.push_attr(name, ty, odrl, doc);
        }
        for (a, doc) in [
            ("read", "read the data of a dataset offer"),
            ("use", "use the data under the agreed terms"),
            ("negotiate", "negotiate a contract for the offer"),
            ("join_computation", "take part in a secure computation"),
            ("receive_result", "receive the result of a computation"),
            ("audit", "read the audit trail"),
            ("enroll", "enrol as a site of a clinical trial"),
            ("distribute", "pass the data on to a third party"),
        ] {
            s.actions.insert(a.to_owned(), doc.to_owned());
        }
        let obligations: [ObligationSpec<'_>; 8] = [
            (
                "aggregate_only",
                &[("min_group_size", Type::Int)],
                "release only aggregates over groups of at least `min_group_size`",
            ),
            (
                "delete_after",
                &[("days", Type::Int)],
                "delete the data `days` days after receipt",
            ),
            ("log_access", &[], "write every access to the audit trail"),
            (
                "notify",
                &[("recipient", Type::Str)],
                "notify `recipient` of each use",
            ),
            (
                "use_only_for",
                &[("purpose", Type::Str)],
                "use the data for `purpose` only",
            ),
            (
                "pseudonymise",
                &[],
                "pseudonymise direct identifiers before use",
            ),
            (
                "max_pulls",
                &[("count", Type::Int)],
                "fetch the data at most `count` times (enforced by the provider's data plane)",
            ),
            (
                "pull_within",
                &[("days", Type::Int)],
                "fetch the data within `days` days of the agreement (enforced by the provider's \
                 data plane)",
            ),
        ];
        for (name, params, doc) in obligations {
            s.obligations.insert(
                name.to_owned(),
                ObligationDef {
                    name: name.to_owned(),
                    params: params.iter().map(|(p, t)| ((*p).to_owned(), *t)).collect(),
                    doc: doc.to_owned(),
                },
            );
        }
        s
    }

    fn push_attr(&mut self, name: &str, ty: Type, odrl: &str, doc: &str) -> AttrId {
        let id = self.attrs.len();
        self.attrs.push(AttrDef {
            name: name.to_owned(),
            ty,
            odrl: odrl.to_owned(),
            doc: doc.to_owned(),
        });
        self.by_name.insert(name.to_owned(), id);
        id
    }

    /// Adds an attribute such as `holder.department`; its ODRL left operand is
    /// `symbolon:holder.department`. Adding an existing attribute with the same type is a no-op.
    pub fn add_attribute(&mut self, name: &str, ty: Type) -> Result<AttrId, SchemaError> {
        if let Some(&id) = self.by_name.get(name) {
            let existing = self.attrs.get(id).map_or(ty, |a| a.ty);
            return if existing == ty {
                Ok(id)
            } else {
                Err(SchemaError::Conflict {
                    name: name.to_owned(),
                    existing,
                })
            };
        }
        let mut parts = name.split('.');
        let root = parts.next().unwrap_or("");
        let rest: Vec<&str> = parts.collect();
        if !ROOTS.contains(&root) || rest.is_empty() {
            return Err(SchemaError::BadRoot(name.to_owned()));
        }
        if let Some(bad) = rest.iter().find(|p| !valid_name(p)) {
            return Err(SchemaError::BadName((*bad).to_owned()));
        }
        Ok(self.push_attr(name, ty, &format!("symbolon:{name}"), ""))
    }

    /// Adds an action policies may name.
    pub fn add_action(&mut self, name: &str) -> Result<(), SchemaError> {
        if !valid_name(name) {
            return Err(SchemaError::BadName(name.to_owned()));
        }
        self.actions.entry(name.to_owned()).or_default();
        Ok(())
    }

    /// Adds (or replaces) an obligation and its parameters.
    pub fn add_obligation(
        &mut self,
        name: &str,
        params: &[(&str, Type)],
    ) -> Result<(), SchemaError> {
        if let Some(bad) = std::iter::once(name)
            .chain(params.iter().map(|p| p.0))
            .find(|n| !valid_name(n))
        {
            return Err(SchemaError::BadName(bad.to_owned()));
        }
        self.obligations.insert(
            name.to_owned(),
            ObligationDef {
                name: name.to_owned(),
                params: params.iter().map(|(p, t)| ((*p).to_owned(), *t)).collect(),
                doc: String::new(),
            },
        );
        Ok(())
    }

    /// Extends the schema from JSON:
    /// `{"attributes": {"holder.department": "string"}, "actions": ["export"],
    ///   "obligations": {"watermark": {"owner": "string"}}}` (every key optional).
    pub fn extend_from_json(&mut self, json: &serde_json::Value) -> Result<(), SchemaError> {
        let shape = |m: &str| SchemaError::Shape(m.to_owned());
        let obj = json
            .as_object()
            .ok_or_else(|| shape("expected a JSON object"))?;
        if let Some(key) = obj
            .keys()
            .find(|k| !matches!(k.as_str(), "attributes" | "actions" | "obligations"))
        {
            return Err(SchemaError::Shape(format!("unknown key `{key}`")));
        }
        let ty = |v: &serde_json::Value| -> Result<Type, SchemaError> {
            let name = v
                .as_str()
                .ok_or_else(|| shape("types are strings such as \"integer\""))?;
            Type::from_name(name).ok_or_else(|| SchemaError::UnknownType(name.to_owned()))
        };
        if let Some(attrs) = obj.get("attributes") {
            let attrs = attrs
                .as_object()
                .ok_or_else(|| shape("`attributes` must be an object"))?;
            for (name, t) in attrs {
                self.add_attribute(name, ty(t)?)?;
            }
        }
        if let Some(actions) = obj.get("actions") {
            let actions = actions
                .as_array()
                .ok_or_else(|| shape("`actions` must be an array"))?;
            for a in actions {
                self.add_action(a.as_str().ok_or_else(|| shape("actions are strings"))?)?;
            }
        }
        if let Some(obls) = obj.get("obligations") {
            let obls = obls
                .as_object()
                .ok_or_else(|| shape("`obligations` must be an object"))?;
            for (name, params) in obls {
                let params = params
                    .as_object()
                    .ok_or_else(|| shape("an obligation maps parameter names to types"))?;
                let mut list = Vec::new();
                for (p, t) in params {
                    list.push((p.as_str(), ty(t)?));
                }
                self.add_obligation(name, &list)?;
            }
        }
        Ok(())
    }

    /// The attribute named `name`, with its id.
    pub fn attribute(&self, name: &str) -> Option<(AttrId, &AttrDef)> {
        let id = *self.by_name.get(name)?;
        self.attrs.get(id).map(|a| (id, a))
    }

    /// The attribute with id `id`.
    pub fn attribute_by_id(&self, id: AttrId) -> Option<&AttrDef> {
        self.attrs.get(id)
    }

    /// The attribute whose ODRL left operand is `term` (with or without the `symbolon:` prefix).
    pub fn attribute_by_odrl(&self, term: &str) -> Option<&AttrDef> {
        let bare = term.strip_prefix("symbolon:").unwrap_or(term);
        let bare = bare.strip_prefix("odrl:").unwrap_or(bare);
        self.attrs
            .iter()
            .find(|a| a.odrl == term || a.odrl == bare || a.odrl == format!("symbolon:{bare}"))
    }

    /// Every attribute, in id order.
    pub fn attributes(&self) -> &[AttrDef] {
        &self.attrs
    }

    /// Whether `name` is a known action.
    pub fn has_action(&self, name: &str) -> bool {
        self.actions.contains_key(name)
    }

    /// The known actions, sorted.
    pub fn actions(&self) -> impl Iterator<Item = &str> {
        self.actions.keys().map(String::as_str)
    }

    /// The obligation named `name`.
    pub fn obligation(&self, name: &str) -> Option<&ObligationDef> {
        self.obligations.get(name)
    }

    /// The known obligations, sorted by name.
    pub fn obligations(&self) -> impl Iterator<Item = &ObligationDef> {
        self.obligations.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extends_from_json() {
        let mut s = Schema::health();
        s.extend_from_json(&serde_json::json!({
            "attributes": {"holder.department": "string"},
            "actions": ["export"],
            "obligations": {"watermark": {"owner": "string"}}
        }))
        .unwrap();
        assert_eq!(s.attribute("holder.department").unwrap().1.ty, Type::Str);
        assert!(s.has_action("export"));
        assert!(s.obligation("watermark").is_some());
        assert!(s.add_attribute("nobody.x", Type::Int).is_err());
        assert!(s.add_attribute("holder.role", Type::Int).is_err());
        assert_eq!(
            s.attribute_by_odrl("symbolon:role").unwrap().name,
            "holder.role"
        );
        assert_eq!(s.attribute_by_odrl("dateTime").unwrap().name, "now");
    }
}
