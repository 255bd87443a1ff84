//! Scaffolding for the Decentralized Claims Protocol's presentation flow: a did:web connector
//! (whose DID names the port it serves on), and a hand-driven holder that serves its own DID
//! document and answers presentation queries as a test tells it to — honestly, with another
//! signer, with nothing.

use std::sync::{Arc, Mutex};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::{json, Value};
use symbolon_connector::negotiation::PresentationMode;
use symbolon_connector::server::ServeOptions;
use symbolon_identity::{create_presentation, Format, Identity, KeyAlgorithm, KeyPair, Secured};

use crate::dsp::Connector;

/// A free port on 127.0.0.1 (bound, then released for the server to take).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A connector with the DID `did:web:127.0.0.1%3A<port>`, served on that port, presenting
/// its credentials as `mode` says.
pub fn web_connector(mode: PresentationMode) -> Connector {
    web_connector_configured(|options| options.presentations = mode)
}

/// A did:web connector as [`web_connector`], with `configure` applied to its options.
pub fn web_connector_configured(configure: impl FnOnce(&mut ServeOptions)) -> Connector {
    let port = free_port();
    let did = format!("did:web:127.0.0.1%3A{port}");
    let identity = Identity::with_web_did(KeyPair::generate(KeyAlgorithm::Ed25519), &did).unwrap();
    crate::dsp::connector_serving(
        identity,
        format!("127.0.0.1:{port}").parse().unwrap(),
        configure,
    )
}

/// How the hand-driven holder answers a query.
#[derive(Clone)]
pub enum Answer {
    /// A presentation of these credentials, signed by the holder.
    Honest(Vec<String>),
    /// A presentation of these credentials signed by someone else.
    SignedBy(Arc<Identity>, Vec<String>),
    /// An empty list.
    Nothing,
    /// A presentation of these credentials without a `nonce`, as an EDC-style Credential
    /// Service signs it (`iss`, `aud`, `jti`, `iat`, `exp`), with the members of the object
    /// replacing or adding to those.
    Unnonced(Vec<String>, Value),
    /// This very presentation, whatever the query (a replay).
    Fixed(String),
}

struct State {
    identity: Identity,
    answer: Mutex<Answer>,
    document: Mutex<Option<Value>>,
    queries: Mutex<Vec<Value>>,
    answered: Mutex<Vec<String>>,
}

/// A holder played by the test: a did:web DID on its own port, its DID document, a Credential
/// Service that answers as told, and `200 {}` to anything else (the provider's callbacks).
pub struct FakeHolder {
    pub identity: Identity,
    pub url: String,
    state: Arc<State>,
}

impl FakeHolder {
    pub async fn start(answer: Answer) -> FakeHolder {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let did = format!("did:web:127.0.0.1%3A{port}");
        let identity =
            Identity::with_web_did(KeyPair::generate(KeyAlgorithm::Ed25519), &did).unwrap();
        let state = Arc::new(State {
            identity: identity.clone(),
            answer: Mutex::new(answer),
            document: Mutex::new(None),
            queries: Mutex::new(Vec::new()),
            answered: Mutex::new(Vec::new()),
        });
        let shared = web::Data::from(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(shared.clone())
                .route("/.well-known/did.json", web::get().to(document))
                .route("/dcp/holder/presentations/query", web::post().to(query))
                .default_service(web::to(|| async { HttpResponse::Ok().json(json!({})) }))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        FakeHolder {
            identity,
            url: format!("http://127.0.0.1:{port}"),
            state,
        }
    }

    pub fn did(&self) -> &str {
        self.identity.did.as_str()
    }

    /// Answers queries as `answer` says from now on.
    pub fn set_answer(&self, answer: Answer) {
        *self.state.answer.lock().unwrap() = answer;
    }

    /// Serves `document` instead of the holder's own.
    pub fn serve_document(&self, document: Value) {
        *self.state.document.lock().unwrap() = Some(document);
    }

    /// The presentations answered so far.
    pub fn answered(&self) -> Vec<String> {
        self.state.answered.lock().unwrap().clone()
    }

    /// The queries received so far.
    pub fn queries(&self) -> Vec<Value> {
        self.state.queries.lock().unwrap().clone()
    }
}

async fn document(state: web::Data<State>) -> HttpResponse {
    let served = state.document.lock().unwrap().clone();
    let base = format!(
        "http://{}",
        state
            .identity
            .did
            .as_str()
            .trim_start_matches("did:web:")
            .replace("%3A", ":")
    );
    let document = served.unwrap_or_else(|| {
        state.identity.did_document(&[json!({
            "id": format!("{}#cs", state.identity.did),
            "type": "CredentialService",
            "serviceEndpoint": format!("{base}/dcp/holder"),
        })])
    });
    HttpResponse::Ok().json(document)
}

async fn query(state: web::Data<State>, request: HttpRequest, body: web::Bytes) -> HttpResponse {
    let message: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    state.queries.lock().unwrap().push(message);
    let token = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let claims = symbolon_identity::verify::peek_jwt_payload(token).unwrap();
    let (jti, verifier) = (
        claims["jti"].as_str().unwrap().to_owned(),
        claims["iss"].as_str().unwrap().to_owned(),
    );
    let answer = state.answer.lock().unwrap().clone();
    let presentation = match answer {
        Answer::Nothing => {
            return HttpResponse::Ok().json(json!({
                "@context": ["https://w3id.org/dspace-dcp/v1.0/dcp.jsonld"],
                "type": "PresentationResponseMessage", "presentation": []
            }))
        }
        Answer::Fixed(presentation) => presentation,
        Answer::Unnonced(credentials, members) => {
            unnonced(&state.identity, &credentials, &verifier, &members)
        }
        Answer::Honest(credentials) => {
            presented(&state.identity, credentials, &jti, &verifier).await
        }
        Answer::SignedBy(other, credentials) => {
            presented(&other, credentials, &jti, &verifier).await
        }
    };
    state.answered.lock().unwrap().push(presentation.clone());
    HttpResponse::Ok().json(json!({
        "@context": ["https://w3id.org/dspace-dcp/v1.0/dcp.jsonld"],
        "type": "PresentationResponseMessage",
        "presentation": [presentation],
    }))
}

/// A presentation by `signer` of `credentials` to `verifier`, bound to `nonce`.
async fn presented(
    signer: &Identity,
    credentials: Vec<String>,
    nonce: &str,
    verifier: &str,
) -> String {
    let secured: Vec<Secured> = credentials.into_iter().map(Secured::Jwt).collect();
    create_presentation(signer, &secured, Format::Jwt, nonce, verifier)
        .await
        .unwrap()
        .to_text()
}

/// A presentation by `holder` of `credentials` to `verifier` as an EDC-style Credential
/// Service signs it: no `nonce`; `members` replace or add claims.
fn unnonced(holder: &Identity, credentials: &[String], verifier: &str, members: &Value) -> String {
    let now = chrono::Utc::now().timestamp();
    let embedded: Vec<Value> = credentials
        .iter()
        .map(|c| Secured::Jwt(c.clone()).to_enveloped("vc+jwt"))
        .collect();
    let mut payload = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "holder": holder.did.as_str(),
        "verifiableCredential": embedded,
        "iss": holder.did.as_str(),
        "aud": verifier,
        "jti": format!("urn:uuid:{}", uuid::Uuid::new_v4()),
        "iat": now,
        "exp": now + 300,
    });
    for (name, value) in members.as_object().unwrap() {
        payload[name] = value.clone();
    }
    symbolon_identity::jose::sign(
        &holder.key,
        &holder.verification_method(),
        "vp+jwt",
        &payload,
    )
}
