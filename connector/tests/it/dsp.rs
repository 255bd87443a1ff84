//! Shared scaffolding for the Dataspace Protocol tests: connectors served on 127.0.0.1, an
//! authority issuing memberships, a recording server standing in for a partner, and the
//! specification's JSON schemas (vendored in `tests/data/dsp-2025-1`).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::{json, Value};
use symbolon_connector::datadir::DataDir;
use symbolon_connector::negotiation::auth::TokenDraft;
use symbolon_connector::server::{start, ServeOptions};
use symbolon_identity::{issue_credential, Format, Identity, KeyAlgorithm, Secured};

pub struct Connector {
    pub _dir: DataDir,
    pub identity: Identity,
    pub url: String,
    pub token: String,
    pub _tmp: tempfile::TempDir,
}

impl Connector {
    pub fn did(&self) -> &str {
        self.identity.did.as_str()
    }

    pub fn dsp(&self) -> String {
        format!("{}/dsp/2025-1", self.url)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> (u16, Value) {
        self.call(reqwest::Method::PUT, path, Some(body)).await
    }

    /// Every event on record, oldest first, read page by page.
    pub async fn events(&self) -> Value {
        let mut all = Vec::new();
        loop {
            let (status, page) = self
                .get(&format!("/api/v1/events?from={}", all.len()))
                .await;
            assert_eq!(status, 200, "{page}");
            let events = page["events"].as_array().unwrap();
            if events.is_empty() {
                break;
            }
            all.extend(events.iter().cloned());
            if all.len() as u64 >= page["total"].as_u64().unwrap() {
                break;
            }
        }
        Value::Array(all)
    }

    /// Calls `path` with the admin token; returns the status and the JSON answer (or null).
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut request = http()
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

/// Polls `check` every 25 ms until it yields a value, and fails loudly, saying `what` was
/// awaited, when `timeout` passes first.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

pub fn http() -> reqwest::Client {
    reqwest::Client::new()
}

/// A connector served on 127.0.0.1 that may reach private addresses (the other connectors of
/// a test are on 127.0.0.1 too).
pub fn connector() -> Connector {
    connector_with(true)
}

/// A connector served on 127.0.0.1; `allow_private` as `--allow-private-callbacks`.
pub fn connector_with(allow_private: bool) -> Connector {
    let default = ServeOptions::new("127.0.0.1:0".parse().unwrap()).rate_limit;
    serve_in_process(allow_private, default)
}

/// A connector (private addresses allowed) whose endpoints anyone may call have `rate_limit`.
pub fn connector_limited(rate_limit: Option<symbolon_connector::api::RateLimit>) -> Connector {
    serve_in_process(true, rate_limit)
}

fn serve_in_process(
    allow_private: bool,
    rate_limit: Option<symbolon_connector::api::RateLimit>,
) -> Connector {
    connector_configured(|options| {
        options.rate_limit = rate_limit;
        options.allow_private_callbacks = allow_private;
    })
}

/// A connector served on 127.0.0.1 (private addresses allowed, status lists not cached) with
/// `configure` applied to its options.
pub fn connector_configured(configure: impl FnOnce(&mut ServeOptions)) -> Connector {
    let identity = Identity::generate(KeyAlgorithm::Ed25519);
    connector_serving(identity, "127.0.0.1:0".parse().unwrap(), configure)
}

/// A connector of `identity` served at `address` (private addresses allowed, status lists not
/// cached) with `configure` applied to its options.
pub fn connector_serving(
    identity: Identity,
    address: std::net::SocketAddr,
    configure: impl FnOnce(&mut ServeOptions),
) -> Connector {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::new(tmp.path());
    let identity = dir.init_with(identity, None).unwrap();
    let mut options = ServeOptions {
        status_cache_ttl: Duration::ZERO,
        allow_private_callbacks: true,
        ..ServeOptions::new(address)
    };
    configure(&mut options);
    let running = start(dir.clone(), options).unwrap();
    tokio::spawn(running.server);
    let token = dir.admin_token().unwrap().expose().to_owned();
    Connector {
        _dir: dir,
        identity,
        // Where it listens, even when its public URL is elsewhere.
        url: format!("http://{}", running.addr),
        token,
        _tmp: tmp,
    }
}

/// Installs on `node` a trust list signed by `authority` that trusts it for memberships.
pub async fn trust(authority: &Connector, node: &Connector) {
    let entries = [(
        authority.did().to_owned(),
        [
            "DataSpaceMembershipCredential".to_owned(),
            "ConsentCredential".to_owned(),
            "AuditorCredential".to_owned(),
        ]
        .into(),
    )]
    .into();
    let credential =
        symbolon_identity::TrustList::credential(&authority.identity.did, "hds", &entries).unwrap();
    let token = issue_credential(&authority.identity, credential, Format::Jwt)
        .await
        .unwrap();
    let (status, body) = node
        .put(
            "/api/v1/trust-list",
            &json!({"credential": token.to_text()}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

pub fn membership_document(subject: &str, role: &str) -> Value {
    json!({
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/symbolon/v1"],
        "type": ["VerifiableCredential", "DataSpaceMembershipCredential"],
        "credentialSubject": {"id": subject, "legalName": format!("{role} B.V."), "registrationNumber": "KvK-1",
                              "role": role, "dataSpaceId": "hds"}
    })
}

/// Issues a membership with status over the authority's VC-API; returns (JWT, credential id).
pub async fn membership(authority: &Connector, subject: &str, role: &str) -> (String, String) {
    let (status, issued) = authority
        .post(
            "/credentials/issue",
            &json!({"credential": membership_document(subject, role), "options": {"credentialStatus": true}}),
        )
        .await;
    assert_eq!(status, 201, "{issued}");
    let token = issued["verifiableCredential"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| {
            let id = issued["verifiableCredential"]["id"].as_str().unwrap();
            id.split_once(',').unwrap().1.to_owned()
        });
    let payload = symbolon_identity::verify::peek_jwt_payload(&token).unwrap();
    (token, payload["id"].as_str().unwrap().to_owned())
}

/// Stores `credential` in `node`'s wallet through its management API.
pub async fn hold(node: &Connector, credential: &str) {
    let (status, body) = node
        .post(
            "/api/v1/credentials",
            &json!({"verifiableCredential": credential}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

pub const POLICY: &str = r#"
policy "hospital-statistics" {
  permit use on offer "ward-statistics"
  when holder.role in ["Hospital", "Insurer"] and holder.member_of == "hds"
  obligation delete_after { days = 30 }
  obligation aggregate_only { min_group_size = 10 }
}
"#;

pub async fn publish(provider: &Connector) {
    let (status, body) = provider
        .post(
            "/api/v1/offers",
            &json!({"id": "ward-statistics", "title": "Ward statistics", "policy": POLICY}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

pub async fn negotiate(consumer: &Connector, provider: &Connector) -> Value {
    let (status, negotiation) = consumer
        .post(
            "/api/v1/negotiations",
            &json!({"provider_url": provider.dsp(), "offer_id": "ward-statistics", "wait_seconds": 20}),
        )
        .await;
    assert_eq!(status, 200, "{negotiation}");
    negotiation
}

/// A self-issued token from `identity` for `audience`, optionally with a presentation of
/// `credentials`.
pub async fn token(identity: &Identity, audience: &str, credentials: &[&str]) -> String {
    let draft = TokenDraft::new(audience);
    let presentation = if credentials.is_empty() {
        None
    } else {
        let held: Vec<Secured> = credentials
            .iter()
            .map(|c| Secured::Jwt((*c).to_owned()))
            .collect();
        Some(
            symbolon_identity::create_presentation(
                identity,
                &held,
                Format::Jwt,
                &draft.jti,
                audience,
            )
            .await
            .unwrap()
            .to_text(),
        )
    };
    draft.sign(identity, presentation.as_deref(), None)
}

/// POSTs a protocol message with a bearer token.
pub async fn dsp_post(url: &str, token: &str, body: &Value) -> (u16, Value) {
    let response = http()
        .post(url)
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A server that records every request and answers `200 {}` (or 201 for initial messages).
pub struct Recorder {
    pub url: String,
    pub seen: Seen,
}

/// Requests seen: (path, JSON body).
type Seen = Arc<Mutex<Vec<(String, Value)>>>;

/// Canned answers: (path suffix, status, body).
type Canned = Arc<Vec<(String, u16, Value)>>;

impl Recorder {
    pub async fn start() -> Recorder {
        Self::start_with(Vec::new()).await
    }

    pub async fn start_with(canned: Vec<(&str, u16, Value)>) -> Recorder {
        let seen: Seen = Arc::default();
        let shared = web::Data::new(seen.clone());
        let canned: Canned = Arc::new(
            canned
                .into_iter()
                .map(|(p, s, b)| (p.to_owned(), s, b))
                .collect(),
        );
        let canned = web::Data::new(canned);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(shared.clone())
                .app_data(canned.clone())
                .default_service(web::to(record))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        Recorder {
            url: format!("http://{addr}"),
            seen,
        }
    }

    /// Waits until a request whose path ends with `suffix` arrives; returns its body.
    pub async fn wait_for(&self, suffix: &str) -> Value {
        let what = format!("a request to `…{suffix}`");
        eventually(Duration::from_secs(5), &what, || async {
            self.seen
                .lock()
                .unwrap()
                .iter()
                .find(|(path, _)| path.ends_with(suffix))
                .map(|(_, body)| body.clone())
        })
        .await
    }
}

async fn record(
    request: HttpRequest,
    seen: web::Data<Seen>,
    canned: web::Data<Canned>,
    body: web::Bytes,
) -> HttpResponse {
    let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let path = request.path().to_owned();
    seen.lock().unwrap().push((path.clone(), value));
    match canned
        .iter()
        .find(|(suffix, _, _)| path.ends_with(suffix.as_str()))
    {
        Some((_, status, body)) => {
            HttpResponse::build(actix_web::http::StatusCode::from_u16(*status).unwrap()).json(body)
        }
        None => HttpResponse::Ok().json(json!({})),
    }
}

/// The specification's schemas and examples, vendored in `tests/data/dsp-2025-1`
/// (`tests/data/SOURCE.md`).
pub struct Schemas {
    root: PathBuf,
}

impl Schemas {
    pub fn load() -> Schemas {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/dsp-2025-1");
        assert!(root.is_dir(), "`{}` is missing", root.display());
        Schemas { root }
    }

    fn read(&self, relative: &str) -> Value {
        serde_json::from_str(&std::fs::read_to_string(self.root.join(relative)).unwrap()).unwrap()
    }

    /// Asserts that `instance` validates against the schema file `relative`.
    pub fn check(&self, relative: &str, instance: &Value) {
        let mut options = jsonschema::options().with_draft(jsonschema::Draft::Draft201909);
        for dir in ["common", "catalog", "negotiation", "transfer"] {
            for entry in std::fs::read_dir(self.root.join(dir)).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_some_and(|e| e == "json") {
                    let mut schema: Value =
                        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
                    pointer_refs(&mut schema);
                    let id = schema["$id"].as_str().unwrap().to_owned();
                    options =
                        options.with_resource(id, jsonschema::Resource::from_contents(schema));
                }
            }
        }
        let mut schema = self.read(relative);
        pointer_refs(&mut schema);
        let validator = options.build(&schema).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(instance)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{relative}: {errors:?}\n{instance:#}");
    }

    /// The example messages in `dir/example`.
    pub fn examples(&self, dir: &str) -> Vec<(String, Value)> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(self.root.join(dir).join("example")).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            out.push((
                name,
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap(),
            ));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

/// Reads the specification's `$ref`s of the form `…#definitions/X` (in the transfer
/// schemas, a JSON pointer missing its leading `/`, which JSON Schema would take for an
/// anchor) as the pointer `…#/definitions/X` they mean. The files stay as published
/// (`tests/data/SOURCE.md`).
fn pointer_refs(schema: &mut Value) {
    match schema {
        Value::Object(members) => {
            for (name, member) in members.iter_mut() {
                match member {
                    Value::String(target) if name == "$ref" => {
                        *target = target.replace("#definitions/", "#/definitions/");
                    }
                    other => pointer_refs(other),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(pointer_refs),
        _ => {}
    }
}

/// Waits until `node`'s negotiation `pid` is in state `want`; returns it.
pub async fn state_of(node: &Connector, pid: &str, want: &str) -> Value {
    let what = format!("negotiation {pid} to reach {want}");
    eventually(Duration::from_secs(5), &what, || async {
        let (_, negotiation) = node.get(&format!("/api/v1/negotiations/{pid}")).await;
        (negotiation["state"] == want).then_some(negotiation)
    })
    .await
}

/// An authority, a provider that trusts it and publishes `ward-statistics`, and a hospital
/// holding a Hospital membership from it.
pub async fn provider_and_member_hospital() -> (Connector, Connector, Connector) {
    let (authority, provider, hospital) = (connector(), connector(), connector());
    trust(&authority, &provider).await;
    publish(&provider).await;
    let (credential, _) = membership(&authority, hospital.did(), "Hospital").await;
    hold(&hospital, &credential).await;
    (authority, provider, hospital)
}

/// A negotiation `hospital` started as consumer (REQUESTED) with a provider the test plays
/// as `provider`, whose protocol endpoints a recorder answers: its dataset `ds-1`, the
/// provider process `provider_pid`, and the `more` canned answers. Returns the hospital's
/// process id and the recorder.
pub async fn requested_from_played_provider(
    hospital: &Connector,
    provider: &Identity,
    provider_pid: &str,
    more: Vec<(&str, u16, Value)>,
) -> (String, Recorder) {
    let context = "https://w3id.org/dspace/2025/1/context.jsonld";
    let dataset = json!({"@context": [context], "@id": "ds-1", "@type": "Dataset",
        "hasPolicy": [{"@id": "urn:uuid:o-1", "@type": "Offer", "permission": [{"action": "use"}]}],
        "distribution": [{"@type": "Distribution", "format": "symbolon:dataset", "accessService": "urn:s"}]});
    let negotiation = json!({"@context": [context], "@type": "ContractNegotiation",
        "providerPid": provider_pid, "consumerPid": "set-by-consumer", "state": "REQUESTED"});
    let mut canned = vec![
        ("/catalog/datasets/ds-1", 200, dataset),
        ("/negotiations/request", 201, negotiation),
    ];
    canned.extend(more);
    let recorder = Recorder::start_with(canned).await;
    let (status, started) = hospital
        .post(
            "/api/v1/negotiations",
            &json!({"provider_url": format!("{}/dsp", recorder.url), "provider_did": provider.did.as_str(),
                    "offer_id": "ds-1", "wait_seconds": 0}),
        )
        .await;
    assert_eq!(status, 200, "{started}");
    (
        started["consumer_pid"].as_str().unwrap().to_owned(),
        recorder,
    )
}
