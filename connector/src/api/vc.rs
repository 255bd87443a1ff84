//! The W3C VC-API: issue, verify credentials and presentations, status lists, DID resolution.
//! Issuing and status changes need the admin token; the others anyone may call, within the
//! rate limit, and a verification is recorded as a bounded summary (the digest of what was
//! sent, the verdict), never the body.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde_json::{json, Value};
use symbolon_audit::EventKind;
use symbolon_identity::status_list::StatusPurpose;
use symbolon_identity::{Format, Input, IssueError, PresentationOptions};

use super::admin::Admin;
use super::error::ApiError;
use super::limits::json_body;
use super::throttle::Throttled;
use crate::audit::bounds;
use crate::context::Connector;
use crate::issuer::{list_url, StatusError, StatusRegistry};

/// Routes of the VC-API.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/credentials/issue").post(issue))
        .service(web::resource("/credentials/status").post(update_status))
        .service(web::resource("/credentials/verify").post(verify_credential))
        .service(web::resource("/presentations/verify").post(verify_presentation))
        .service(web::resource("/status/{list}").get(status_list))
        .service(web::resource("/identifiers/{did}").get(resolve_did));
}

async fn issue(
    _: Admin,
    connector: web::Data<Connector>,
    registry: web::Data<StatusRegistry>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let body = json_body(&body)?;
    let mut credential = required_member(&body, "credential")?;
    let options = body.get("options").cloned().unwrap_or_else(|| json!({}));
    let format: Format = options
        .get("format")
        .and_then(Value::as_str)
        .unwrap_or("jwt")
        .parse()
        .map_err(ApiError::BadRequest)?;
    let disclosable = selectively_disclosable(&options)?;
    if disclosable.is_some() && format != Format::SdJwt {
        return Err(ApiError::Invalid {
            path: "/options/selectivelyDisclosable".into(),
            message: "`options.selectivelyDisclosable` applies to `\"format\": \"sd-jwt\"` only"
                .into(),
        });
    }
    let identity = connector.identity();
    // VC 1.1 (`https://www.w3.org/2018/credentials/v1` first) names the start `issuanceDate`.
    let start = if symbolon_identity::credential::is_v1(&credential) {
        "issuanceDate"
    } else {
        "validFrom"
    };
    if let Some(object) = credential.as_object_mut() {
        object
            .entry("issuer")
            .or_insert_with(|| identity.did.as_str().into());
        object.entry(start).or_insert_with(|| {
            symbolon_identity::credential::format_time(chrono::Utc::now()).into()
        });
    }
    if options
        .get("credentialStatus")
        .and_then(Value::as_bool)
        .unwrap_or(false)
    {
        symbolon_identity::credential::validate(&credential).map_err(invalid_credential)?;
        let registry = registry.clone();
        let base = registry.public_url().to_owned();
        credential =
            web::block(move || registry.assign(&mut credential, &base).map(|_| credential))
                .await?
                .map_err(ApiError::internal)?;
    }
    let permit = symbolon_identity::credential::specific_types(&credential)
        .iter()
        .any(|t| t == crate::dcp::issuer::permits::TYPE);
    if permit && credential.get("credentialStatus").is_none() {
        return Err(ApiError::BadRequest(
            "field `options.credentialStatus`: a DataPermitCredential needs a status entry \
             (`\"options\": {\"credentialStatus\": true}`): health data access bodies revoke \
             permits, and verifiers set a permit without one aside"
                .into(),
        ));
    }
    let signed = match format {
        Format::SdJwt => {
            symbolon_identity::issue::issue_sd_jwt(identity, &credential, disclosable, None)
        }
        _ => symbolon_identity::issue_credential(identity, credential, format).await,
    }
    .map_err(invalid_credential)?;
    let issued = signed.to_text();
    let credential_id = symbolon_identity::verify::peek_jwt_payload(&issued)
        .or_else(|| serde_json::from_str::<Value>(&issued).ok())
        .and_then(|c| {
            c.get("id")
                .or_else(|| c.get("jti"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_default();
    let audit = connector.audit();
    audit
        .record(audit.event_with_document(
            EventKind::CredentialIssued,
            credential_id,
            "ok",
            "credential",
            json!(issued),
        ))
        .await?;
    tracing::info!(issuer = %identity.did, "credential issued");
    Ok(HttpResponse::Created()
        .json(json!({ "verifiableCredential": signed.to_enveloped("vc+jwt") })))
}

/// `options.selectivelyDisclosable`: the subject claims an SD-JWT VC discloses selectively
/// (`name`, or `name[]` for each element of an array claim); absent, the type's defaults.
fn selectively_disclosable(
    options: &Value,
) -> Result<Option<symbolon_identity::sd_jwt::Disclosable>, ApiError> {
    let refuse = || ApiError::Invalid {
        path: "/options/selectivelyDisclosable".into(),
        message: "`options.selectivelyDisclosable` must be an array of claim names".into(),
    };
    match options.get("selectivelyDisclosable") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(names)) => names
            .iter()
            .map(|name| name.as_str().map(str::to_owned).ok_or_else(refuse))
            .collect::<Result<Vec<_>, _>>()
            .map(|names| Some(symbolon_identity::sd_jwt::Disclosable(names))),
        Some(_) => Err(refuse()),
    }
}

async fn update_status(
    _: Admin,
    connector: web::Data<Connector>,
    registry: web::Data<StatusRegistry>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let body = json_body(&body)?;
    let id = body
        .get("credentialId")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::BadRequest("the body needs `credentialId`".into()))?
        .to_owned();
    let updates = body
        .get("credentialStatus")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::BadRequest("the body needs a `credentialStatus` array".into()))?;
    let mut changes = Vec::new();
    for update in updates {
        let purpose = update
            .get("statusPurpose")
            .and_then(Value::as_str)
            .and_then(StatusPurpose::parse)
            .ok_or_else(|| {
                ApiError::BadRequest(
                    "each update needs `statusPurpose`: revocation or suspension".into(),
                )
            })?;
        let value = update
            .get("status")
            .and_then(Value::as_bool)
            .ok_or_else(|| ApiError::BadRequest("each update needs a boolean `status`".into()))?;
        if purpose == StatusPurpose::Revocation && !value {
            return Err(ApiError::Unprocessable(
                "a revocation cannot be undone".into(),
            ));
        }
        changes.push((purpose, value));
    }
    let registry = registry.into_inner();
    let changed_lists: Vec<String> = changes.iter().map(|(p, _)| registry.url_of(*p)).collect();
    let changed_id = id.clone();
    let record = web::block(move || {
        let mut last = None;
        for (purpose, value) in changes {
            last = Some(registry.set(&changed_id, purpose, value));
        }
        last
    })
    .await?;
    match record {
        None => Err(ApiError::BadRequest("`credentialStatus` is empty".into())),
        Some(Err(StatusError::UnknownCredential(id))) => Err(ApiError::NotFound(format!(
            "no credential `{id}` with a status entry"
        ))),
        Some(Err(error)) => Err(ApiError::internal(error)),
        Some(Ok(record)) => {
            tracing::info!(credential = %id, revoked = record.revoked, suspended = record.suspended, "credential status changed");
            let audit = connector.audit();
            audit
                .record(audit.event(
                    EventKind::CredentialStatus,
                    &id,
                    if record.revoked {
                        "revoked"
                    } else if record.suspended {
                        "suspended"
                    } else {
                        "active"
                    },
                    json!({ "revoked": record.revoked, "suspended": record.suspended }),
                ))
                .await?;
            // Peers drop their cached copies at once (see `revocation`).
            crate::revocation::announce(&connector, changed_lists);
            Ok(HttpResponse::Ok().json(json!({"credentialId": id, "statusIndex": record.index, "revoked": record.revoked, "suspended": record.suspended})))
        }
    }
}

fn report_response(report: &symbolon_identity::Report) -> HttpResponse {
    if report.verified {
        HttpResponse::Ok().json(report)
    } else if report.outcome("format") == Some(symbolon_identity::Outcome::Failed) {
        HttpResponse::BadRequest().json(report)
    } else {
        HttpResponse::UnprocessableEntity().json(report)
    }
}

/// A credential refused before signing: a 400 naming the member by its JSON pointer under
/// `credential` (VC Data Model 2.0 rules), or the reason.
fn invalid_credential(error: IssueError) -> ApiError {
    match &error {
        IssueError::Invalid { path, .. } => ApiError::Invalid {
            path: format!("/credential{}", path.trim_end_matches('/')),
            message: error.to_string(),
        },
        _ => ApiError::BadRequest(error.to_string()),
    }
}

/// A body member that is not a credential (presentation) in any accepted form, e.g. a
/// malformed envelope: a 400 naming the member.
fn unreadable(member: &str, error: symbolon_identity::VerifyError) -> ApiError {
    ApiError::Invalid {
        path: format!("/{member}"),
        message: format!("`{member}`: {error}"),
    }
}

/// The member `name` of a request body, or a 400 naming it.
fn required_member(body: &Value, name: &str) -> Result<Value, ApiError> {
    body.get(name)
        .cloned()
        .ok_or_else(|| ApiError::BadRequest(format!("field `{name}` is missing")))
}

async fn verify_credential(
    _: Throttled,
    connector: web::Data<Connector>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let body = json_body(&body)?;
    let credential = required_member(&body, "verifiableCredential")?;
    let report = connector
        .verification()
        .public_verifier(connector.did())
        .verify_credential(
            &Input::credential(credential.clone())
                .map_err(|e| unreadable("verifiableCredential", e))?,
        )
        .await;
    // A stranger's call: the trail records a bounded summary, never the body itself.
    let audit = connector.audit();
    let subject = report
        .document
        .as_ref()
        .and_then(|document| document.get("id"))
        .and_then(Value::as_str)
        .unwrap_or("unknown")
        .to_owned();
    audit
        .record(audit.event(
            EventKind::CredentialVerified,
            subject,
            if report.verified { "ok" } else { "refused" },
            json!({
                "digest": bounds::digest(&credential),
                "error": report.error,
            }),
        ))
        .await?;
    Ok(report_response(&report))
}

async fn verify_presentation(
    _: Throttled,
    connector: web::Data<Connector>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let body = json_body(&body)?;
    let presentation = required_member(&body, "verifiablePresentation")?;
    let asked = presentation_options(&body)?;
    let options = PresentationOptions {
        challenge: &asked.challenge,
        domain: asked.domain.as_deref(),
        holder_binding: asked.holder_binding,
    };
    let verifier = connector
        .verification()
        .public_verifier(connector.did())
        .with_nonce_store(std::sync::Arc::new(connector.store().presentation_nonces()));
    let input = Input::presentation(presentation.clone())
        .map_err(|e| unreadable("verifiablePresentation", e))?;
    let report = verifier.verify_presentation_with(&input, &options).await;
    // A stranger's call: the trail records a bounded summary, never the body itself.
    let audit = connector.audit();
    audit
        .record(audit.event(
            EventKind::PresentationVerified,
            report.signer.as_deref().unwrap_or("unknown"),
            if report.verified { "ok" } else { "refused" },
            json!({
                "digest": bounds::digest(&presentation),
                "error": report.error,
                "challenge": options.challenge,
                "domain": options.domain,
            }),
        ))
        .await?;
    Ok(report_response(&report))
}

/// The VC-API's verify-presentation options, as asked.
struct AskedOptions {
    challenge: String,
    domain: Option<String>,
    holder_binding: bool,
}

/// The VC-API's verify-presentation options: `challenge` (required: this verifier keeps
/// challenges single-use), `domain` (optional) and Symbolon's `holderBinding` (optional,
/// `false` by default: holder binding is a verifier's policy, not a rule of the data model;
/// the report shows it as its own check either way).
fn presentation_options(body: &Value) -> Result<AskedOptions, ApiError> {
    let options = match body.get("options") {
        None => &Value::Null,
        Some(options @ Value::Object(_)) => options,
        Some(_) => {
            return Err(ApiError::Invalid {
                path: "/options".into(),
                message: "`options` must be an object".into(),
            })
        }
    };
    let text = |name: &str| match options.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(ApiError::Invalid {
            path: format!("/options/{name}"),
            message: format!("`options.{name}` must be a string"),
        }),
    };
    let challenge = text("challenge")?.ok_or_else(|| ApiError::Invalid {
        path: "/options/challenge".into(),
        message: "field `options.challenge` is missing".into(),
    })?;
    let holder_binding = match options.get("holderBinding") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(on)) => *on,
        Some(_) => {
            return Err(ApiError::Invalid {
                path: "/options/holderBinding".into(),
                message: "`options.holderBinding` must be a boolean".into(),
            })
        }
    };
    Ok(AskedOptions {
        challenge,
        domain: text("domain")?,
        holder_binding,
    })
}

/// `GET /status/{list}`: the status list credential, by content negotiation (Bitstring
/// Status List v1.0 §3, VC-JOSE-COSE §3.1.1): `application/vc+jwt` by default, or secured with
/// Data Integrity (`eddsa-rdfc-2022`, `ecdsa-rdfc-2019` for P-256 keys) as JSON-LD when the
/// caller's `Accept` prefers `application/vc+ld+json` or `application/ld+json`.
async fn status_list(
    _: Throttled,
    connector: web::Data<Connector>,
    registry: web::Data<StatusRegistry>,
    list: web::Path<String>,
    request: actix_web::HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let purpose = StatusPurpose::parse(&list).ok_or_else(|| {
        ApiError::NotFound(format!(
            "no status list `{}`",
            list.chars().take(64).collect::<String>()
        ))
    })?;
    let url = list_url(registry.public_url(), purpose);
    let registry = registry.into_inner();
    let identity = connector.identity().clone();
    let accept = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    if let Some(media_type) = json_ld_wanted(accept) {
        let signer = identity.clone();
        let unsigned = web::block(move || registry.unsigned(&signer, purpose, &url))
            .await?
            .map_err(ApiError::internal)?;
        let signed =
            symbolon_identity::issue_credential(&identity, unsigned, Format::DataIntegrity)
                .await
                .map_err(ApiError::internal)?;
        return Ok(HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, media_type))
            .insert_header((header::CACHE_CONTROL, "max-age=30"))
            .insert_header((header::VARY, "Accept"))
            .body(signed.to_text()));
    }
    let token = web::block(move || registry.publish(&identity, purpose, &url))
        .await?
        .map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/vc+jwt"))
        .insert_header((header::CACHE_CONTROL, "max-age=30"))
        .insert_header((header::VARY, "Accept"))
        .body(token))
}

/// The JSON-LD media type `accept` asks for ahead of `application/vc+jwt`, if any.
fn json_ld_wanted(accept: &str) -> Option<&'static str> {
    let position = |media_type: &str| accept.find(media_type);
    let jwt = position("application/vc+jwt");
    ["application/vc+ld+json", "application/ld+json"]
        .into_iter()
        .filter_map(|media_type| position(media_type).map(|at| (at, media_type)))
        .min()
        .filter(|(at, _)| jwt.is_none_or(|jwt| *at < jwt))
        .map(|(_, media_type)| media_type)
}

/// The query of `/identifiers/{did}`: did:key's resolution options.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ResolutionQuery {
    public_key_format: Option<String>,
    enable_encryption_key_derivation: Option<bool>,
}

/// `GET /identifiers/{did}` (DID Resolution, HTTP(S) binding): resolves a DID, or dereferences
/// a DID URL whose fragment (sent percent-encoded, `%23`) names a verification method or
/// service. The answer is a resolution (or dereferencing) result with its media type; a
/// caller whose `Accept` asks for `application/did+ld+json` or `application/did+json` gets
/// the bare document. Errors carry the specification's names in the metadata's `error`.
async fn resolve_did(
    _: Throttled,
    connector: web::Data<Connector>,
    did: web::Path<String>,
    query: web::Query<ResolutionQuery>,
    request: actix_web::HttpRequest,
) -> HttpResponse {
    use actix_web::http::StatusCode;
    use symbolon_identity::did::resolution::{
        PublicKeyFormat, ResolutionOptions, DEREFERENCING_RESULT_MEDIA_TYPE,
        RESOLUTION_RESULT_MEDIA_TYPE,
    };
    let dereferencing = did.contains('#');
    let (media_type, metadata) = if dereferencing {
        (DEREFERENCING_RESULT_MEDIA_TYPE, "dereferencingMetadata")
    } else {
        (RESOLUTION_RESULT_MEDIA_TYPE, "didResolutionMetadata")
    };
    let failure = |status: StatusCode, error: &symbolon_identity::DidError| {
        let mut body = json!({ "@context": "https://w3id.org/did-resolution/v1" });
        if let Some(object) = body.as_object_mut() {
            object.insert(
                metadata.into(),
                json!({ "error": error.resolution_code(), "message": error.to_string() }),
            );
            if dereferencing {
                object.insert("contentStream".into(), Value::Null);
                object.insert("contentMetadata".into(), json!({}));
            } else {
                object.insert("didDocument".into(), Value::Null);
                object.insert("didDocumentMetadata".into(), json!({}));
            }
        }
        HttpResponse::build(status)
            .insert_header((header::CONTENT_TYPE, media_type))
            .body(body.to_string())
    };
    let format = match query
        .public_key_format
        .as_deref()
        .map(PublicKeyFormat::parse)
    {
        None => None,
        Some(Ok(format)) => Some(format),
        Some(Err(error)) => return failure(StatusCode::BAD_REQUEST, &error),
    };
    let options = ResolutionOptions {
        public_key_format: format,
        enable_encryption_key_derivation: query.enable_encryption_key_derivation.unwrap_or(false),
    };
    let resolver = &connector.verification().resolver;
    let answer = resolver.dereference(&did, &options).await;
    let dereferenced = match answer {
        Ok(dereferenced) => dereferenced,
        Err(error) => {
            let status = match error.resolution_code() {
                _ if matches!(error, symbolon_identity::DidError::Refused { .. }) => {
                    StatusCode::BAD_REQUEST
                }
                "notFound" => StatusCode::NOT_FOUND,
                "methodNotSupported" => StatusCode::NOT_IMPLEMENTED,
                "internalError" => StatusCode::BAD_GATEWAY,
                _ => StatusCode::BAD_REQUEST,
            };
            return failure(status, &error);
        }
    };
    let accept = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let bare = ["application/did+ld+json", "application/did+json"]
        .into_iter()
        .find(|wanted| accept.contains(wanted) && !accept.contains("profile="));
    if let Some(bare) = bare {
        return HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, bare))
            .body(dereferenced.content.to_string());
    }
    let body = if dereferencing {
        json!({
            "@context": "https://w3id.org/did-resolution/v1",
            "contentStream": dereferenced.content,
            "dereferencingMetadata": { "contentType": dereferenced.content_type },
            "contentMetadata": {},
        })
    } else {
        json!({
            "@context": "https://w3id.org/did-resolution/v1",
            "didDocument": dereferenced.content,
            "didResolutionMetadata": { "contentType": dereferenced.content_type },
            "didDocumentMetadata": {},
        })
    };
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, media_type))
        .body(body.to_string())
}
