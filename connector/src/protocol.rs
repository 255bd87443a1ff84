//! The Dataspace Protocol 2025-1, transport-neutral: [`ProtocolService::handle`] answers a
//! request given its method, path, `Authorization` and body. The HTTPS endpoints
//! (`api::dsp`) and the peer network's responder ([`peer`]) both call it directly.

pub mod messages;
pub mod peer;
pub mod pid;
mod routes;

use serde::Serialize;
use serde_json::{json, Value};
use symbolon_audit::EventKind;

pub use routes::{route, Route, RouteError, DSP_PATH, VERSION_PATH};

use self::messages::{CatalogError, ContractNegotiationError, Message, TransferError};
use crate::api::limits::{json_body, BodyError};
use crate::catalog;
use crate::context::Connector;
use crate::messenger::Method;
use crate::negotiation::auth::{self, AuthError, Caller};
use crate::negotiation::state::Role;
use crate::negotiation::{DspError, Negotiations};
use crate::store::StoreError;
use crate::transfer::Transfers;

/// A protocol request, whatever carried it.
#[derive(Debug, Clone, Copy)]
pub struct ProtocolRequest<'a> {
    /// `GET` or `POST`.
    pub method: Method,
    /// The path (`/dsp/2025-1/…` or `/.well-known/dspace-version`), as sent.
    pub path: &'a str,
    /// The `Authorization` header's value.
    pub authorization: Option<&'a str>,
    /// The JSON body (empty for a `GET`).
    pub body: &'a [u8],
    /// The DID of the peer that sent it over the peer network (its token must be its own).
    pub peer: Option<&'a str>,
}

/// The answer: an HTTP status and a JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct ProtocolResponse {
    /// The status code.
    pub status: u16,
    /// The JSON body.
    pub body: Value,
}

impl ProtocolResponse {
    fn json(status: u16, body: impl Serialize) -> Self {
        ProtocolResponse {
            status,
            body: serde_json::to_value(body).unwrap_or(Value::Null),
        }
    }
}

/// The protocol endpoints of one connector.
#[derive(Debug, Clone)]
pub struct ProtocolService {
    negotiations: Negotiations,
    transfers: Transfers,
}

impl ProtocolService {
    /// The protocol service of `connector`.
    pub fn new(connector: Connector) -> Self {
        ProtocolService {
            negotiations: Negotiations::new(connector.clone()),
            transfers: Transfers::new(connector),
        }
    }

    /// The connector this service answers for.
    pub fn connector(&self) -> &Connector {
        self.cx()
    }

    fn cx(&self) -> &Connector {
        self.negotiations.connector()
    }

    /// Answers one request.
    pub async fn handle(&self, request: ProtocolRequest<'_>) -> ProtocolResponse {
        let route = match route(request.method, request.path) {
            Ok(route) => route,
            Err(error) => {
                let (status, code) = match error {
                    RouteError::NotFound(_) => (404, "not_found"),
                    RouteError::MethodNotAllowed { .. } => (405, "method_not_allowed"),
                };
                return ProtocolResponse::json(
                    status,
                    json!({ "error": code, "message": error.to_string() }),
                );
            }
        };
        if route == Route::Version {
            return ProtocolResponse::json(200, self.version());
        }
        let caller = match self.caller(request).await {
            Ok(caller) => caller,
            Err(error) => return refusal(&route, request.body, &error, None),
        };
        let did = caller.did.clone();
        match self.dispatch(&route, caller, request.body).await {
            Ok(response) => response,
            Err(error) => {
                let response = refusal(
                    &route,
                    request.body,
                    &error,
                    self.role_of(&route, Some(&did)).await,
                );
                if route.is_transfer() && response.status < 500 {
                    let subject = route.pid().unwrap_or("transfers/request");
                    self.transfers
                        .refused(
                            &did,
                            subject,
                            request.path,
                            response.status,
                            &error.to_string(),
                        )
                        .await;
                }
                response
            }
        }
    }

    async fn dispatch(
        &self,
        route: &Route,
        caller: Caller,
        body: &[u8],
    ) -> Result<ProtocolResponse, DspError> {
        let n = &self.negotiations;
        let t = &self.transfers;
        Ok(match route {
            Route::Version => ProtocolResponse::json(200, self.version()),
            Route::CatalogRequest => {
                let request: messages::CatalogRequestMessage = parse(body)?;
                if request
                    .filter
                    .as_ref()
                    .is_some_and(|filter| !filter.is_empty())
                {
                    // Returning the whole catalog for a filter would pretend to have applied it.
                    return Err(DspError::BadRequest(format!(
                        "{}: this catalog supports no `filter`; send none, or an empty one, \
                         for the whole catalog",
                        messages::CatalogRequestMessage::TYPE
                    )));
                }
                let (offers, held) = self
                    .cx()
                    .store()
                    .blocking(|store| {
                        Ok::<_, StoreError>((store.offers.list()?, store.credentials.list()?))
                    })
                    .await?;
                let catalog = catalog::catalog(
                    &offers,
                    self.cx().offers(),
                    self.cx().did(),
                    self.cx().network().dsp_url(),
                    catalog::legal_name(&held, self.cx().did()).as_deref(),
                );
                ProtocolResponse::json(200, catalog)
            }
            Route::Dataset(id) => {
                let key = id.clone();
                let offer = self
                    .cx()
                    .store()
                    .blocking(move |store| store.offers.get(&key))
                    .await?
                    .ok_or_else(|| {
                        DspError::NotFound(format!(
                            "no dataset `{}` in this catalog",
                            id.chars().take(100).collect::<String>()
                        ))
                    })?;
                let compiled = self.cx().offers().compiled(&offer)?;
                ProtocolResponse::json(
                    200,
                    catalog::dataset_document(
                        &compiled,
                        self.cx().did(),
                        self.cx().network().dsp_url(),
                    ),
                )
            }
            Route::InitialRequest => {
                message(201, n.provider_initial_request(caller, parse(body)?).await?)
            }
            Route::InitialOffer => {
                message(201, n.consumer_initial_offer(caller, parse(body)?).await?)
            }
            Route::Negotiation(pid) => message(200, n.negotiation_state(pid, &caller).await?),
            Route::CounterRequest(pid) => message(
                200,
                n.provider_counter_request(pid, caller, parse(body)?)
                    .await?,
            ),
            Route::CounterOffer(pid) => message(
                200,
                n.consumer_counter_offer(pid, caller, parse(body)?).await?,
            ),
            Route::Event(pid) => {
                let event = parse(body)?;
                let answer = match self.role_of(route, Some(&caller.did)).await {
                    Some(Role::Provider) => n.provider_event(pid, caller, event).await?,
                    Some(Role::Consumer) => n.consumer_event(pid, caller, event).await?,
                    None => return Err(DspError::NotFound(format!("no negotiation `{pid}`"))),
                };
                message(200, answer)
            }
            Route::Agreement(pid) => {
                message(200, n.consumer_agreement(pid, caller, parse(body)?).await?)
            }
            Route::Verification(pid) => message(
                200,
                n.provider_verification(pid, caller, parse(body)?).await?,
            ),
            Route::Termination(pid) => message(
                200,
                n.terminated_by_counterparty(pid, caller, parse(body)?)
                    .await?,
            ),
            Route::TransferRequest => message(201, t.provider_request(caller, parse(body)?).await?),
            Route::Transfer(pid) => message(200, t.process_for(pid, &caller.did).await?),
            Route::TransferStart(pid) => {
                message(200, t.received_start(pid, caller, parse(body)?).await?)
            }
            Route::TransferCompletion(pid) => {
                message(200, t.received_completion(pid, caller, parse(body)?).await?)
            }
            Route::TransferSuspension(pid) => {
                message(200, t.received_suspension(pid, caller, parse(body)?).await?)
            }
            Route::TransferTermination(pid) => message(
                200,
                t.received_termination(pid, caller, parse(body)?).await?,
            ),
        })
    }

    /// Authenticates the caller's self-issued token; a failure is recorded. Over the peer
    /// network the token must be the sending peer's own.
    async fn caller(&self, request: ProtocolRequest<'_>) -> Result<Caller, DspError> {
        let token = request
            .authorization
            .and_then(|value| value.strip_prefix("Bearer "));
        let verification = self.cx().verification();
        let result = match auth::authenticate(
            token,
            self.cx().did(),
            &verification.resolver,
            self.cx().store(),
        )
        .await
        {
            Ok(caller) if request.peer.is_some_and(|peer| peer != caller.did) => {
                Err(AuthError::NotThePeer)
            }
            other => other,
        };
        match result {
            Ok(caller) => Ok(caller),
            Err(error) => {
                let event = self.cx().audit().event(
                    EventKind::AuthFailed,
                    request.path.chars().take(200).collect::<String>(),
                    "refused",
                    json!({ "code": error.code(), "reason": error.to_string() }),
                );
                self.cx().audit().record(event).await?;
                Err(DspError::Unauthorized(error))
            }
        }
    }

    /// Which side of the negotiation or transfer process the route's process id names, if
    /// `caller` is party to it (to anyone else, a process that exists looks like one that does
    /// not). Reads on the blocking pool.
    async fn role_of(&self, route: &Route, caller: Option<&str>) -> Option<Role> {
        let (pid, caller) = (route.pid()?.to_owned(), caller?.to_owned());
        let transfer = route.is_transfer();
        self.cx()
            .store()
            .blocking(move |store| -> Result<Option<Role>, StoreError> {
                let found = if transfer {
                    store.transfers.get(&pid)?.map(|t| (t.role, t.counterparty))
                } else {
                    store
                        .negotiations
                        .get(&pid)?
                        .map(|n| (n.role, n.counterparty))
                };
                Ok(found
                    .filter(|(_, counterparty)| *counterparty == caller)
                    .map(|(role, _)| role))
            })
            .await
            .ok()
            .flatten()
    }

    /// The protocol versions this connector speaks: version 2025-1 with the Decentralized
    /// Claims Protocol (the default for any consumer), and the same endpoints with a
    /// presentation inside the token (for Symbolon consumers, one round trip fewer).
    fn version(&self) -> VersionDocument {
        let did = self.cx().did();
        let entry = |protocol: &'static str, version: &'static str| ProtocolVersion {
            version: "2025-1",
            path: DSP_PATH,
            binding: "HTTPS",
            service_id: format!("urn:symbolon:service:{did}"),
            identifier_type: format!("did:{}", self.cx().identity().did.method()),
            participant_id: did.to_owned(),
            auth: AuthProfile {
                protocol,
                version,
                profile: [crate::dcp::messages::PROFILE],
            },
        };
        VersionDocument {
            protocol_versions: vec![
                entry("DCP", "1.0"),
                entry(crate::negotiation::INLINE_AUTH_PROTOCOL, "1.0"),
            ],
        }
    }
}

/// `/.well-known/dspace-version`: the versions of the protocol this connector speaks.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct VersionDocument {
    protocol_versions: Vec<ProtocolVersion>,
}

/// One version of the protocol, where it is served and how callers authenticate.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ProtocolVersion {
    version: &'static str,
    path: &'static str,
    binding: &'static str,
    service_id: String,
    identifier_type: String,
    participant_id: String,
    auth: AuthProfile,
}

/// How callers authenticate.
#[derive(Debug, Serialize)]
struct AuthProfile {
    protocol: &'static str,
    version: &'static str,
    profile: [&'static str; 1],
}

/// A protocol message as the answer, with its `@context` and `@type`.
fn message<M: Message>(status: u16, answer: M) -> ProtocolResponse {
    ProtocolResponse {
        status,
        body: messages::to_json(&answer),
    }
}

/// Parses `body` as the message `M`, after checking its size and nesting.
fn parse<M: Message>(body: &[u8]) -> Result<M, DspError> {
    let value = json_body(body)
        .map_err(|error: BodyError| DspError::BadRequest(format!("{}: {error}", M::TYPE)))?;
    Ok(messages::parse::<M>(&value)?)
}

/// The specification's error body for `error` on `route`.
fn refusal(route: &Route, body: &[u8], error: &DspError, role: Option<Role>) -> ProtocolResponse {
    let status = match error {
        DspError::Unauthorized(_) => 401,
        DspError::Malformed(_)
        | DspError::Callback { .. }
        | DspError::BadRequest(_)
        | DspError::Illegal(_)
        | DspError::IllegalTransfer(_) => 400,
        DspError::NotFound(_) => 404,
        DspError::Store(_) | DspError::Audit(_) | DspError::Policy(_) => {
            tracing::error!(%error, "internal error in a protocol call");
            500
        }
    };
    let reason = vec![if status == 500 {
        "internal error".to_owned()
    } else {
        error.to_string()
    }];
    let code = status.to_string();
    if route.is_catalog() {
        return ProtocolResponse::json(status, messages::envelope(&CatalogError { code, reason }));
    }
    let (provider_pid, consumer_pid) = pids(body, route.pid().unwrap_or_default(), role);
    if route.is_transfer() {
        return ProtocolResponse::json(
            status,
            messages::envelope(&TransferError {
                provider_pid,
                consumer_pid,
                code,
                reason,
            }),
        );
    }
    ProtocolResponse::json(
        status,
        messages::envelope(&ContractNegotiationError {
            provider_pid,
            consumer_pid,
            code,
            reason,
        }),
    )
}

/// The process ids a raw message names (or its path, on the side that owns it, when the
/// caller is party to the process), for error bodies.
fn pids(body: &[u8], path_pid: &str, role: Option<Role>) -> (String, String) {
    let value: Value = serde_json::from_slice(body).unwrap_or_default();
    let get = |name: &str| value.get(name).and_then(Value::as_str).map(str::to_owned);
    let (mut provider, mut consumer) = (get("providerPid"), get("consumerPid"));
    match role {
        Some(Role::Provider) => provider = provider.or_else(|| Some(path_pid.to_owned())),
        Some(Role::Consumer) => consumer = consumer.or_else(|| Some(path_pid.to_owned())),
        None => {}
    }
    (provider.unwrap_or_default(), consumer.unwrap_or_default())
}
