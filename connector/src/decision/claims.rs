//! From a verified presentation to the attributes a policy reads: `holder.*` from the holder's
//! membership, trial-site and auditor credentials, `consent.*` from its consent credential,
//! `permit.*` from its data permit ([`permit`]).

use serde_json::{json, Map, Value};
use symbolon_identity::Report;

pub(crate) mod permit;

/// The credentials of a presentation by `holder` a decision may read: each verified on its own
/// (signature, validity, status, an issuer trusted for its type), about `holder` and, for a data
/// permit, revocable.
pub(crate) fn usable<'a>(holder: &'a str, report: &'a Report) -> impl Iterator<Item = &'a Report> {
    report
        .credentials
        .iter()
        .filter(move |c| fault(holder, c).is_none())
}

/// Why a credential of a presentation by `holder` is not [`usable`], if it is not.
fn fault(holder: &str, credential: &Report) -> Option<String> {
    if !credential.verified {
        return Some(
            credential
                .error
                .clone()
                .unwrap_or_else(|| "it did not verify".into()),
        );
    }
    if !about(holder, credential) {
        return Some(format!("it is about another subject than `{holder}`"));
    }
    let document = credential.document.as_ref()?;
    let permit = credential.types.iter().any(|t| t == permit::TYPE);
    if permit && document.get("credentialStatus").is_none() {
        return Some(
            "it has no status entry (`credentialStatus`), so its health data access body could \
             not revoke it"
                .into(),
        );
    }
    None
}

/// Why each credential of the presentation that is not [`usable`] was set aside.
pub(crate) fn set_aside(holder: &str, report: &Report) -> Vec<String> {
    report
        .credentials
        .iter()
        .filter_map(|c| fault(holder, c).map(|why| (c, why)))
        .map(|(c, why)| {
            let types = if c.types.is_empty() {
                c.document
                    .as_ref()
                    .map(symbolon_identity::credential::specific_types)
                    .unwrap_or_default()
            } else {
                c.types.clone()
            };
            let named = c.document.as_ref().and_then(permit::reference);
            match (types.is_empty(), named) {
                (_, Some(permit)) => format!("data permit {permit} was set aside: {why}"),
                (true, None) => format!("a credential was set aside: {why}"),
                (false, None) => format!("credential {} was set aside: {why}", types.join("/")),
            }
        })
        .collect()
}

fn about(holder: &str, credential: &Report) -> bool {
    credential.document.as_ref().is_some_and(|document| {
        let subjects = symbolon_identity::json::one_or_many(document.get("credentialSubject"));
        !subjects.is_empty()
            && subjects
                .iter()
                .all(|s| s.get("id").and_then(Value::as_str) == Some(holder))
    })
}

/// The `holder`, `consent` and `permit` members of a policy request on `dataset` built from
/// the [`usable`] credentials of a presentation by `holder`.
pub(crate) fn request_attributes(
    holder: &str,
    dataset: &str,
    report: &Report,
) -> Map<String, Value> {
    attributes_of(
        holder,
        dataset,
        usable(holder, report).map(|c| (c.types.clone(), c.signer.clone(), c.document.as_ref())),
    )
}

/// The same members built from verified credential documents kept earlier (an agreement's
/// grounds).
pub(crate) fn attributes_from_documents(
    holder: &str,
    dataset: &str,
    documents: &[Value],
) -> Map<String, Value> {
    attributes_of(
        holder,
        dataset,
        documents.iter().map(|document| {
            (
                symbolon_identity::credential::specific_types(document),
                symbolon_identity::credential::issuer_id(document).map(str::to_owned),
                Some(document),
            )
        }),
    )
}

/// The members from credentials given as (specific types, issuer, document).
fn attributes_of<'a>(
    holder: &str,
    dataset: &str,
    credentials: impl Iterator<Item = (Vec<String>, Option<String>, Option<&'a Value>)>,
) -> Map<String, Value> {
    let mut holder_attrs = Map::new();
    let mut consent = Map::new();
    let mut permits = Vec::new();
    let mut types: Vec<String> = Vec::new();
    holder_attrs.insert("id".into(), holder.into());
    for (credential_types, signer, document) in credentials {
        types.extend(credential_types.iter().cloned());
        let Some(document) = document else {
            continue;
        };
        let issuer = signer.unwrap_or_default();
        let subject = first_subject(document);
        let text = |name: &str| subject.get(name).and_then(Value::as_str).map(Value::from);
        for kind in &credential_types {
            match kind.as_str() {
                "DataSpaceMembershipCredential" => {
                    copy(&mut holder_attrs, "role", text("role"));
                    copy(&mut holder_attrs, "member_of", text("dataSpaceId"));
                    copy(&mut holder_attrs, "legal_name", text("legalName"));
                    copy(
                        &mut holder_attrs,
                        "registration_number",
                        text("registrationNumber"),
                    );
                    copy(
                        &mut holder_attrs,
                        "public_sector",
                        subject
                            .get("publicSector")
                            .filter(|v| v.is_boolean())
                            .cloned(),
                    );
                }
                "TrialSiteCredential" => {
                    copy(&mut holder_attrs, "trial_id", text("trialId"));
                    copy(&mut holder_attrs, "trial_site", text("siteId"));
                    holder_attrs.insert("trial_sponsor".into(), issuer.clone().into());
                }
                "AuditorCredential" => {
                    copy(
                        &mut holder_attrs,
                        "auditor_scope",
                        subject.get("scope").cloned(),
                    );
                }
                "ConsentCredential" => {
                    copy(&mut consent, "purposes", subject.get("purposes").cloned());
                    copy(
                        &mut consent,
                        "scope",
                        text("datasetId").or_else(|| text("cohortId")),
                    );
                    consent.insert("controller".into(), issuer.clone().into());
                    copy(
                        &mut consent,
                        "valid_from",
                        document.get("validFrom").cloned(),
                    );
                    copy(
                        &mut consent,
                        "valid_until",
                        document.get("validUntil").cloned(),
                    );
                    copy(&mut consent, "withdrawn", subject.get("withdrawn").cloned());
                }
                "DataPermitCredential" => permits.push(permit::attributes(&issuer, document)),
                _ => {}
            }
        }
    }
    types.sort();
    types.dedup();
    holder_attrs.insert("credentials".into(), json!(types));
    let mut out = Map::new();
    out.insert("holder".into(), Value::Object(holder_attrs));
    if !consent.is_empty() {
        out.insert("consent".into(), Value::Object(consent));
    }
    if let Some(chosen) = permit::choose(&permits, Some(dataset)) {
        out.insert("permit".into(), Value::Object(permits.swap_remove(chosen)));
    }
    out
}

/// The credential types a policy request is built from.
const READ_TYPES: [&str; 5] = [
    "DataSpaceMembershipCredential",
    "TrialSiteCredential",
    "AuditorCredential",
    "ConsentCredential",
    "DataPermitCredential",
];

/// The documents (without their proofs) of the usable credentials in `report` that
/// [`request_attributes`] on `dataset` reads: what a decision on them rests on (of several data
/// permits, only the one read).
pub(crate) fn grounds(holder: &str, dataset: &str, report: &Report) -> Vec<Value> {
    let permits: Vec<&Value> = usable(holder, report)
        .filter(|c| c.types.iter().any(|t| t == permit::TYPE))
        .filter_map(|c| c.document.as_ref())
        .collect();
    let read = permit::choose(
        &permits
            .iter()
            .map(|document| permit::attributes("", document))
            .collect::<Vec<_>>(),
        Some(dataset),
    )
    .and_then(|i| permits.get(i).copied());
    usable(holder, report)
        .filter(|c| c.types.iter().any(|t| READ_TYPES.contains(&t.as_str())))
        .filter(|c| {
            !c.types.iter().any(|t| t == permit::TYPE)
                || c.document.as_ref().is_some_and(|d| Some(d) == read)
        })
        .filter_map(|c| c.document.clone())
        .map(|mut document| {
            if let Some(object) = document.as_object_mut() {
                object.remove("proof");
            }
            document
        })
        .collect()
}

fn first_subject(document: &Value) -> Map<String, Value> {
    symbolon_identity::json::one_or_many(document.get("credentialSubject"))
        .first()
        .and_then(|subject| subject.as_object())
        .cloned()
        .unwrap_or_default()
}

fn copy(into: &mut Map<String, Value>, name: &str, value: Option<Value>) {
    if let Some(value) = value.filter(|v| !v.is_null()) {
        into.insert(name.into(), value);
    }
}
