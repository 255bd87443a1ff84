//! The HealthDCAT-AP description of a health dataset in the catalog (HealthDCAT-AP release 8,
//! access level `NON_PUBLIC`).
//!
//! An operator gives an offer's description as [`HealthDcat`] (`health.dcat` when creating the
//! offer); it is checked ([`HealthDcat::check`]) and published in the Dataspace Protocol
//! catalog as JSON-LD members under the profile's prefixes ([`context`]), next to the
//! protocol's own: the health data access body (`healthdcatap:hdab`), the publisher, the
//! contact point, health categories and themes, coding systems, the numbers of records and of
//! unique individuals, the typical ages, the population covered, the retention period, the
//! legal basis, the personal-data category, the variables, and the fixed terms of a health
//! dataset under the EHDS: access rights `NON_PUBLIC`, applicable legislation Regulation (EU)
//! 2025/327, theme `HEAL`.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// Where a connector serves the JSON-LD context of the HealthDCAT-AP members
/// ([`context_document`]), beside its protocol; a catalog names it by [`context_iri`] (the
/// Dataspace Protocol wants every `@context` entry to be a string, and a JSON-LD processor
/// must be able to fetch it).
pub const HEALTHDCAT_CONTEXT_PATH: &str = "/contexts/healthdcat-ap/v1";

/// The IRI of the HealthDCAT-AP context of the connector whose protocol is served at
/// `dsp_url` (`{base}/dsp/2025-1`): `{base}`[`HEALTHDCAT_CONTEXT_PATH`].
pub fn context_iri(dsp_url: &str) -> String {
    let base = dsp_url
        .strip_suffix(crate::protocol::DSP_PATH)
        .unwrap_or(dsp_url)
        .trim_end_matches('/');
    format!("{base}{HEALTHDCAT_CONTEXT_PATH}")
}
/// The ELI of the applicable legislation: Regulation (EU) 2025/327 (the EHDS).
pub const EHDS_ELI: &str = "http://data.europa.eu/eli/reg/2025/327/oj";
/// Access rights `NON_PUBLIC` (EU access-right vocabulary).
pub const NON_PUBLIC: &str =
    "http://publications.europa.eu/resource/authority/access-right/NON_PUBLIC";
/// The EU data theme `HEAL` (health).
const THEME_HEALTH: &str = "http://publications.europa.eu/resource/authority/data-theme/HEAL";
/// The HealthDCAT-AP health-category vocabulary.
const CATEGORIES: &str =
    "https://hdeu-dcat.data.health.europa.eu/resource/authority/healthcategories/";
/// The EU dataset-type vocabulary.
const DATASET_TYPES: &str = "http://publications.europa.eu/resource/authority/dataset-type/";
/// The legal bases of the GDPR in the Data Privacy Vocabulary.
const GDPR: &str = "https://w3id.org/dpv/legal/eu/gdpr#";
/// The DPV personal-data category of health data.
const HEALTH_DATA: &str = "https://w3id.org/dpv/pd#Health";

/// The health categories of HealthDCAT-AP (EHDS Art. 51), by code, with their English label.
pub const HEALTH_CATEGORIES: [(&str, &str); 17] = [
    ("EHRS", "Electronic Health Data from EHRs"),
    ("DIOH", "Data on factors impacting on health, including socio-economic, environmental and behavioural determinants of health"),
    ("NRPE", "Aggregated data on healthcare needs, resources allocated to healthcare, the provision of and access to healthcare, healthcare expenditure and financing"),
    ("RPDG", "Data on pathogens that impact human health"),
    ("HRAD", "Healthcare-related administrative data, including on dispensations, reimbursement claims and reimbursements"),
    ("HGPD", "Human genetic, epigenomic and genomic data"),
    ("HPML", "Other human molecular data such as proteomic, transcriptomic, metabolomic, lipidomic and other omic data"),
    ("PGEH", "Personal electronic health data automatically generated through medical devices"),
    ("WELA", "Data from wellness applications"),
    ("IDHP", "Data on professional status, and on the specialisation and institution of health professionals involved in the treatment of a natural person"),
    ("PHDR", "Data from population-based health data registries such as public health registries"),
    ("MRMR", "Data from medical registries and mortality registries"),
    ("EHCT", "Data from clinical trials, clinical studies, clinical investigations and performance studies"),
    ("EMRD", "Other health data from medical devices"),
    ("RMMD", "Data from registries for medicinal products and medical devices"),
    ("RQSH", "Data from research cohorts, questionnaires and surveys related to health, after the first publication of the related results"),
    ("EINS", "Health data from biobanks and associated databases"),
];

/// The legal bases of GDPR Art. 6(1) and 9(2) an operator may name, by their DPV code.
pub const LEGAL_BASES: [&str; 12] = [
    "A6-1-a", "A6-1-b", "A6-1-c", "A6-1-d", "A6-1-e", "A6-1-f", "A9-2-a", "A9-2-b", "A9-2-c",
    "A9-2-h", "A9-2-i", "A9-2-j",
];

/// An agent: the health data access body or the publisher.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Agent {
    /// Its IRI (a DID or an `http(s)` URL); a blank node when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Its name.
    pub name: String,
    /// An e-mail address to reach it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// A contact page (`http(s)` URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// The dataset's contact point: an e-mail address, a page, or both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// An e-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// A contact page (`http(s)` URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// A concept of a controlled vocabulary named by its IRI (a health theme, a coding system).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Concept {
    /// Its IRI (e.g. a Wikidata entity).
    pub iri: String,
    /// Its label.
    pub label: String,
}

/// A period of time, by dates (`YYYY-MM-DD`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Period {
    /// Its first day.
    pub start: String,
    /// Its last day, if it ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
}

/// A variable (column) of a structured dataset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Variable {
    /// Its name in the data.
    pub name: String,
    /// Its title for people.
    pub title: String,
    /// What it holds.
    pub description: String,
    /// Its datatype (a CSVW datatype: `integer`, `string`, `date`, …).
    pub datatype: String,
}

/// An offer's HealthDCAT-AP description (access level `NON_PUBLIC`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthDcat {
    /// The health data access body responsible for the dataset (`healthdcatap:hdab`).
    pub hdab: Agent,
    /// The publisher (`dct:publisher`), usually the data holder.
    pub publisher: Agent,
    /// Where to ask about the dataset (`dcat:contactPoint`).
    pub contact_point: Contact,
    /// Keywords (`dcat:keyword`), at least one.
    pub keywords: Vec<String>,
    /// Health categories by code ([`HEALTH_CATEGORIES`]), at least one.
    pub health_categories: Vec<String>,
    /// Health themes (`healthdcatap:healthTheme`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub health_themes: Vec<Concept>,
    /// Coding systems the data uses (`healthdcatap:hasCodingSystem`), e.g. ICD-10.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub coding_systems: Vec<Concept>,
    /// The dataset's type, a code of the EU dataset-type vocabulary (e.g. `STATISTICAL`).
    pub dataset_type: String,
    /// Where the data comes from (`dct:provenance`).
    pub provenance: String,
    /// How many records it holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_of_records: Option<u64>,
    /// How many individuals its records are about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_of_unique_individuals: Option<u64>,
    /// The youngest typical age, in years.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_typical_age: Option<u32>,
    /// The oldest typical age, in years.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_typical_age: Option<u32>,
    /// The population the data covers, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub population_coverage: Option<String>,
    /// How long the data is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_period: Option<Period>,
    /// The GDPR legal bases of the processing, by DPV code ([`LEGAL_BASES`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub legal_basis: Vec<String>,
    /// Whether the dataset holds personal data (health data, GDPR Art. 9).
    pub personal_data: bool,
    /// Its variables, for structured data (`healthdcatap:hasVariables`); none: unstructured.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variables: Vec<Variable>,
}

pub use checks::DcatError;
use checks::{bounded, date, email, iri, page, refuse, text};

impl Agent {
    fn check(&self, member: &str) -> Result<(), DcatError> {
        if let Some(id) = &self.id {
            iri(&format!("{member}.id"), id)?;
        }
        text(&format!("{member}.name"), &self.name)?;
        if let Some(address) = &self.email {
            email(&format!("{member}.email"), address)?;
        }
        if let Some(url) = &self.url {
            page(&format!("{member}.url"), url)?;
        }
        if self.email.is_none() && self.url.is_none() {
            return Err(refuse(member, "give `email` or `url`: how to reach it"));
        }
        Ok(())
    }

    /// The agent with its contact point (`cv:contactPoint`), as HealthDCAT-AP asks of the HDAB
    /// and the publisher: exactly one. The contact point is named by [`contact_point_iri`], so
    /// that an agent described alike by several datasets of a catalog is one agent with one
    /// contact point when the catalog is read as RDF.
    fn render(&self) -> Value {
        let mut contact = Map::new();
        contact.insert(
            "@id".into(),
            contact_point_iri(self.email.as_deref(), self.url.as_deref()).into(),
        );
        contact.insert("@type".into(), "cv:ContactPoint".into());
        if let Some(address) = &self.email {
            contact.insert("cv:email".into(), address.as_str().into());
        }
        if let Some(url) = &self.url {
            contact.insert("cv:contactPage".into(), json!({ "@id": url }));
        }
        let mut agent = Map::new();
        if let Some(id) = &self.id {
            agent.insert("@id".into(), id.as_str().into());
        }
        agent.insert("@type".into(), "foaf:Agent".into());
        agent.insert("foaf:name".into(), self.name.as_str().into());
        agent.insert("cv:contactPoint".into(), Value::Object(contact));
        Value::Object(agent)
    }
}

impl HealthDcat {
    /// Checks the description: every member well formed, codes known, numbers consistent.
    pub fn check(&self) -> Result<(), DcatError> {
        self.hdab.check("hdab")?;
        self.publisher.check("publisher")?;
        match (&self.contact_point.email, &self.contact_point.url) {
            (None, None) => return Err(refuse("contact_point", "give `email` or `url`")),
            (address, url) => {
                if let Some(address) = address {
                    email("contact_point.email", address)?;
                }
                if let Some(url) = url {
                    page("contact_point.url", url)?;
                }
            }
        }
        if self.keywords.is_empty() {
            return Err(refuse("keywords", "give at least one keyword"));
        }
        for (i, keyword) in self.keywords.iter().enumerate() {
            text(&format!("keywords[{i}]"), keyword)?;
        }
        if self.health_categories.is_empty() {
            return Err(refuse(
                "health_categories",
                "give at least one health category",
            ));
        }
        for (i, code) in self.health_categories.iter().enumerate() {
            if !HEALTH_CATEGORIES.iter().any(|(known, _)| known == code) {
                return Err(refuse(
                    format!("health_categories[{i}]"),
                    format!(
                        "`{}` is no HealthDCAT-AP health category; known: {}",
                        bounded(code),
                        HEALTH_CATEGORIES.map(|(c, _)| c).join(", ")
                    ),
                ));
            }
        }
        for (name, concepts) in [
            ("health_themes", &self.health_themes),
            ("coding_systems", &self.coding_systems),
        ] {
            for (i, concept) in concepts.iter().enumerate() {
                iri(&format!("{name}[{i}].iri"), &concept.iri)?;
                text(&format!("{name}[{i}].label"), &concept.label)?;
            }
        }
        let code_ok = !self.dataset_type.is_empty()
            && self.dataset_type.len() <= 64
            && self
                .dataset_type
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if !code_ok {
            return Err(refuse(
                "dataset_type",
                format!(
                    "`{}` is not a code of the EU dataset-type vocabulary (upper-case letters, \
                     digits and `_`, e.g. `STATISTICAL`)",
                    bounded(&self.dataset_type)
                ),
            ));
        }
        text("provenance", &self.provenance)?;
        if let (Some(records), Some(individuals)) =
            (self.number_of_records, self.number_of_unique_individuals)
        {
            if individuals > records {
                return Err(refuse(
                    "number_of_unique_individuals",
                    format!("{individuals} individuals cannot hold only {records} records"),
                ));
            }
        }
        for (member, age) in [
            ("min_typical_age", self.min_typical_age),
            ("max_typical_age", self.max_typical_age),
        ] {
            if age.is_some_and(|age| age > 150) {
                return Err(refuse(member, "an age above 150 years"));
            }
        }
        if let (Some(min), Some(max)) = (self.min_typical_age, self.max_typical_age) {
            if min > max {
                return Err(refuse(
                    "min_typical_age",
                    format!("{min} is above `max_typical_age` {max}"),
                ));
            }
        }
        if let Some(coverage) = &self.population_coverage {
            text("population_coverage", coverage)?;
        }
        if let Some(period) = &self.retention_period {
            let start = date("retention_period.start", &period.start)?;
            if let Some(end) = &period.end {
                if date("retention_period.end", end)? < start {
                    return Err(refuse("retention_period.end", "before `start`"));
                }
            }
        }
        for (i, code) in self.legal_basis.iter().enumerate() {
            if !LEGAL_BASES.contains(&code.as_str()) {
                return Err(refuse(
                    format!("legal_basis[{i}]"),
                    format!(
                        "`{}` is no GDPR legal basis code; known: {}",
                        bounded(code),
                        LEGAL_BASES.join(", ")
                    ),
                ));
            }
        }
        for (i, variable) in self.variables.iter().enumerate() {
            text(&format!("variables[{i}].name"), &variable.name)?;
            text(&format!("variables[{i}].title"), &variable.title)?;
            text(
                &format!("variables[{i}].description"),
                &variable.description,
            )?;
            text(&format!("variables[{i}].datatype"), &variable.datatype)?;
        }
        Ok(())
    }

    /// The dataset's HealthDCAT-AP members (under [`context`]'s prefixes) for offer `id`
    /// titled `title` and described by `description`.
    pub fn members(&self, id: &str, title: &str, description: &str) -> Map<String, Value> {
        let concept = |iri: String, label: &str| json!({ "@id": iri, "@type": "skos:Concept", "skos:prefLabel": label });
        let count = |n: u64| json!({ "@value": n.to_string(), "@type": "xsd:nonNegativeInteger" });
        let mut m = Map::new();
        m.insert("dct:identifier".into(), id.into());
        m.insert("dct:title".into(), title.into());
        m.insert("dct:description".into(), description.into());
        m.insert(
            "dct:accessRights".into(),
            json!({ "@id": NON_PUBLIC, "@type": "dct:RightsStatement" }),
        );
        m.insert("dcatap:applicableLegislation".into(), legislation());
        m.insert("dcat:theme".into(), concept(THEME_HEALTH.into(), "Health"));
        m.insert("healthdcatap:hdab".into(), self.hdab.render());
        m.insert("dct:publisher".into(), self.publisher.render());
        let mut kind = Map::new();
        kind.insert("@type".into(), "vcard:Kind".into());
        if let Some(address) = &self.contact_point.email {
            kind.insert(
                "vcard:hasEmail".into(),
                json!({ "@id": format!("mailto:{address}") }),
            );
        }
        if let Some(url) = &self.contact_point.url {
            kind.insert("vcard:hasURL".into(), json!({ "@id": url }));
        }
        m.insert("dcat:contactPoint".into(), Value::Object(kind));
        m.insert("dcat:keyword".into(), json!(self.keywords));
        m.insert(
            "dct:type".into(),
            concept(
                format!("{DATASET_TYPES}{}", self.dataset_type),
                &self.dataset_type,
            ),
        );
        m.insert(
            "dct:provenance".into(),
            json!({ "@type": "dct:ProvenanceStatement", "rdfs:label": self.provenance }),
        );
        let categories: Vec<Value> = self
            .health_categories
            .iter()
            .map(|code| {
                let label = HEALTH_CATEGORIES
                    .iter()
                    .find(|(known, _)| known == code)
                    .map_or(code.as_str(), |(_, label)| *label);
                concept(format!("{CATEGORIES}{code}"), label)
            })
            .collect();
        m.insert(
            "healthdcatap:healthCategory".into(),
            Value::Array(categories),
        );
        if !self.health_themes.is_empty() {
            let themes = self
                .health_themes
                .iter()
                .map(|c| concept(c.iri.clone(), &c.label))
                .collect();
            m.insert("healthdcatap:healthTheme".into(), Value::Array(themes));
        }
        if !self.coding_systems.is_empty() {
            let systems = self
                .coding_systems
                .iter()
                .map(|c| json!({ "@id": c.iri, "@type": "dct:Standard", "dct:title": c.label }))
                .collect();
            m.insert("healthdcatap:hasCodingSystem".into(), Value::Array(systems));
        }
        for (name, value) in [
            ("healthdcatap:numberOfRecords", self.number_of_records),
            (
                "healthdcatap:numberOfUniqueIndividuals",
                self.number_of_unique_individuals,
            ),
            (
                "healthdcatap:minTypicalAge",
                self.min_typical_age.map(u64::from),
            ),
            (
                "healthdcatap:maxTypicalAge",
                self.max_typical_age.map(u64::from),
            ),
        ] {
            if let Some(n) = value {
                m.insert(name.into(), count(n));
            }
        }
        if let Some(coverage) = &self.population_coverage {
            m.insert(
                "healthdcatap:populationCoverage".into(),
                coverage.as_str().into(),
            );
        }
        if let Some(period) = &self.retention_period {
            let mut p = Map::new();
            p.insert("@type".into(), "dct:PeriodOfTime".into());
            p.insert(
                "dcat:startDate".into(),
                json!({ "@value": period.start, "@type": "xsd:date" }),
            );
            if let Some(end) = &period.end {
                p.insert(
                    "dcat:endDate".into(),
                    json!({ "@value": end, "@type": "xsd:date" }),
                );
            }
            m.insert("healthdcatap:retentionPeriod".into(), Value::Object(p));
        }
        if !self.legal_basis.is_empty() {
            let bases = self
                .legal_basis
                .iter()
                .map(|code| json!({ "@id": format!("{GDPR}{code}"), "@type": "dpv:LegalBasis" }))
                .collect();
            m.insert("dpv:hasLegalBasis".into(), Value::Array(bases));
        }
        if self.personal_data {
            m.insert(
                "dpv:hasPersonalData".into(),
                json!({ "@id": HEALTH_DATA, "@type": "dpv:PersonalData" }),
            );
        }
        m.insert(
            "healthdcatap:hasStructuredData".into(),
            (!self.variables.is_empty()).into(),
        );
        if !self.variables.is_empty() {
            let columns: Vec<Value> = self
                .variables
                .iter()
                .map(|v| {
                    json!({ "@type": "csvw:Column", "csvw:name": v.name, "csvw:title": v.title,
                            "dct:description": v.description, "csvw:datatype": v.datatype })
                })
                .collect();
            m.insert(
                "healthdcatap:hasVariables".into(),
                json!({ "@type": "csvw:TableGroup", "dct:title": title,
                        "csvw:table": { "@type": "csvw:Table", "dct:title": title,
                                        "csvw:column": columns } }),
            );
        }
        m
    }
}

/// The IRI of the contact point reached at `email` and `url`: `urn:symbolon:contact-point:`
/// and the first 128 bits of the SHA-256 of both, in hex. The same contact details name the same
/// contact point; different ones, different contact points.
pub fn contact_point_iri(email: Option<&str>, url: Option<&str>) -> String {
    use sha2::{Digest as _, Sha256};
    let mut digest = Sha256::new();
    for part in [email, url] {
        // Each part length-prefixed, so that no two pairs give the same bytes.
        let part = part.unwrap_or_default();
        digest.update((part.len() as u64).to_be_bytes());
        digest.update(part.as_bytes());
    }
    let digest = digest.finalize();
    format!(
        "urn:symbolon:contact-point:{}",
        hex::encode(digest.get(..16).unwrap_or_default())
    )
}

/// The applicable legislation of a health dataset: the EHDS regulation.
pub fn legislation() -> Value {
    json!({ "@id": EHDS_ELI, "@type": "eli:LegalResource" })
}

/// The members a distribution in `format` of a health dataset adds: the class of its format,
/// where the service is reached (`dcat:accessURL`, `endpoint`) and the applicable legislation.
///
/// The protocol's `format` (`HttpData-PULL`, …) is read as the IRI `dct:format` names, and
/// DCAT-AP wants that IRI to be a `dct:MediaTypeOrExtent`: `dct:format` restates it as that
/// IRI with its class (which the range of `dct:format` in DCMI Terms entails anyway), the same
/// node when read as RDF.
pub fn distribution_members(format: &str, endpoint: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(
        "dct:format".into(),
        json!({ "@id": format, "@type": "dct:MediaTypeOrExtent" }),
    );
    m.insert("dcat:accessURL".into(), json!({ "@id": endpoint }));
    m.insert("dcatap:applicableLegislation".into(), legislation());
    m
}

/// The JSON-LD context document served at [`HEALTHDCAT_CONTEXT_PATH`]: the prefixes of the
/// HealthDCAT-AP members (`dct`, `dcat` and `xsd` come from the Dataspace Protocol's context,
/// which protects them).
pub fn context_document() -> Value {
    json!({ "@context": {
        "healthdcatap": "http://healthdataportal.eu/ns/health#",
        "dcatap": "http://data.europa.eu/r5r/",
        "dpv": "https://w3id.org/dpv#",
        "foaf": "http://xmlns.com/foaf/0.1/",
        "vcard": "http://www.w3.org/2006/vcard/ns#",
        "skos": "http://www.w3.org/2004/02/skos/core#",
        "cv": "http://data.europa.eu/m8g/",
        "csvw": "http://www.w3.org/ns/csvw#",
        "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
        "eli": "http://data.europa.eu/eli/ontology#"
    }})
}

mod checks;

#[cfg(test)]
mod tests;
