//! The auditor's sign-in to the web console, at the API: a challenge from the connector, a
//! presentation of an `AuditorCredential` for it (made by `symbolon audit present`, or by the
//! same library function), a session token that reads the audit API and nothing else. Every
//! refusal — another challenge, a replayed or tampered token, an expired challenge, a
//! credential that is not an auditor's, an ended session — is a JSON error that says why.

use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value};
use symbolon_connector::api::console::signin::SignInLimits;
use symbolon_connector::negotiation::auth::presenting;
use symbolon_identity::{issue_credential, Format, Identity, KeyAlgorithm, Secured};

use crate::dsp::*;

const CHALLENGE: &str = "/api/v1/console/auditor/challenge";
const SESSION: &str = "/api/v1/console/auditor/session";

/// An `AuditorCredential` for `subject` issued by `issuer`, as a JWT.
pub async fn auditor_credential(issuer: &Identity, subject: &str) -> String {
    let credential = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/symbolon/v1"],
        "type": ["VerifiableCredential", "AuditorCredential"],
        "issuer": issuer.did.as_str(),
        "credentialSubject": {"id": subject}
    });
    issue_credential(issuer, credential, Format::Jwt)
        .await
        .unwrap()
        .to_text()
}

/// Calls `path` on `node` with `method`, `bearer` (if any) and a JSON `body` (if any), as a
/// browser does: no admin token unless given as the bearer.
async fn call(
    node: &Connector,
    method: reqwest::Method,
    path: &str,
    bearer: Option<&str>,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut request = http().request(method, format!("{}{path}", node.url));
    if let Some(bearer) = bearer {
        request = request.bearer_auth(bearer);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A GET of `path` with `token` as the bearer; the status and the JSON answer.
async fn get_as(node: &Connector, path: &str, token: &str) -> (u16, Value) {
    call(node, reqwest::Method::GET, path, Some(token), None).await
}

/// A new challenge from `node`: the nonce, after checking what comes with it.
async fn challenge(node: &Connector) -> String {
    let (status, answer) = call(node, reqwest::Method::POST, CHALLENGE, None, None).await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["audience"], node.did());
    assert!(answer["expires_in"].as_u64().unwrap() > 0, "{answer}");
    assert!(answer["expires_at"].is_string(), "{answer}");
    answer["challenge"].as_str().unwrap().to_owned()
}

/// Signs in to `node` answering `challenge` with `token`.
async fn sign_in(node: &Connector, challenge: &str, token: &str) -> (u16, Value) {
    call(
        node,
        reqwest::Method::POST,
        SESSION,
        None,
        Some(&json!({"challenge": challenge, "token": token})),
    )
    .await
}

/// The message of a refusal, after checking it is a 401 JSON error.
fn refusal(status: u16, answer: &Value) -> String {
    assert_eq!(status, 401, "{answer}");
    assert_eq!(answer["error"], "unauthorized", "{answer}");
    answer["message"].as_str().unwrap().to_owned()
}

/// `symbolon audit present` run as the auditor would, off the runtime; the token it prints.
pub async fn present_with_cli(auditor: &Connector, to: &str, challenge: &str) -> String {
    let args = [
        "audit".to_owned(),
        "present".to_owned(),
        "--data-dir".to_owned(),
        auditor._dir.root().display().to_string(),
        "--to".to_owned(),
        to.to_owned(),
        "--challenge".to_owned(),
        challenge.to_owned(),
    ];
    let output = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        crate::cli::symbolon(&args)
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// Asks `node` for a fresh challenge, answers it with `holder`'s presentation of `credentials`
/// for `audience`, and returns the refusal's message (failing if the sign-in succeeded).
async fn refused(
    node: &Connector,
    holder: &Identity,
    credentials: &[Secured],
    audience: &str,
) -> String {
    let (status, answer) = answering(node, holder, credentials, audience).await;
    refusal(status, &answer)
}

/// Asks `node` for a fresh challenge and signs in with `holder`'s presentation of
/// `credentials` for `audience`: the answer's status and body.
async fn answering(
    node: &Connector,
    holder: &Identity,
    credentials: &[Secured],
    audience: &str,
) -> (u16, Value) {
    let nonce = challenge(node).await;
    let token = presenting(holder, credentials, audience, Some(nonce.as_str()))
        .await
        .unwrap();
    sign_in(node, &nonce, &token).await
}

/// An authority and a connector trusting it, and an auditor holding its `AuditorCredential`.
async fn setting(
    configure: impl FnOnce(&mut symbolon_connector::server::ServeOptions),
) -> (Connector, Connector, Identity, Vec<Secured>) {
    let authority = connector();
    let node = connector_configured(configure);
    trust(&authority, &node).await;
    let auditor = Identity::generate(KeyAlgorithm::Ed25519);
    let credential = auditor_credential(&authority.identity, auditor.did.as_str()).await;
    (authority, node, auditor, vec![Secured::Jwt(credential)])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auditor_signs_in_with_the_cli_and_reads_the_trail_but_nothing_else() {
    let (authority, node) = (connector(), connector());
    trust(&authority, &node).await;
    publish(&node).await;
    // The auditor is a connector of its own, whose wallet holds the credential.
    let auditor = connector();
    let credential = auditor_credential(&authority.identity, auditor.did()).await;
    hold(&auditor, &credential).await;

    let nonce = challenge(&node).await;
    let token = present_with_cli(&auditor, node.did(), &nonce).await;
    assert_eq!(token.split('.').count(), 3, "one compact JWS: {token}");

    let (status, opened) = sign_in(&node, &nonce, &token).await;
    assert_eq!(status, 200, "{opened}");
    assert_eq!(opened["auditor"], auditor.did());
    assert_eq!(opened["log_id"], node.did());
    let session = opened["session"].as_str().unwrap().to_owned();
    let session = session.as_str();
    assert!(session.starts_with("auditor_"), "{session}");
    assert!(opened["expires_in"].as_u64().unwrap() <= 900);

    // The session reads the audit API.
    let (status, head) = get_as(&node, "/api/v1/audit/head", session).await;
    assert_eq!(status, 200, "{head}");
    let size = head["head"]["tree_size"].as_u64().unwrap();
    let (status, entries) = get_as(
        &node,
        &format!("/api/v1/audit/entries?from=0&to={size}"),
        session,
    )
    .await;
    assert_eq!(status, 200, "{entries}");
    assert_eq!(entries["entries"].as_array().unwrap().len() as u64, size);
    let (status, proof) = get_as(
        &node,
        &format!("/api/v1/audit/proof/inclusion?index=1&tree_size={size}"),
        session,
    )
    .await;
    assert_eq!(status, 200, "{proof}");
    let proof: symbolon_audit::InclusionProof = serde_json::from_value(proof).unwrap();
    assert_eq!(proof.tree_size, size);
    proof.verify().unwrap();
    assert_eq!(
        hex::encode(proof.root_hash),
        head["head"]["root_hash"].as_str().unwrap()
    );
    let (status, _) = call(
        &node,
        reqwest::Method::GET,
        &format!(
            "/api/v1/audit/proof/inclusion?index=0&tree_size={}",
            size + 1000
        ),
        Some(session),
        None,
    )
    .await;
    assert_eq!(status, 400, "a size beyond the log");
    let (status, bundle) = get_as(&node, "/api/v1/audit/export", session).await;
    assert_eq!(status, 200);
    // The sign-in is on the trail, with how it came.
    let access = bundle["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"]["type"] == "audit.access" && e["event"]["subject"] == auditor.did())
        .unwrap_or_else(|| panic!("no audit.access of the auditor in {bundle}"));
    assert_eq!(access["event"]["outcome"], "ok");
    assert_eq!(access["event"]["details"]["via"], "console");
    let (status, who) = get_as(&node, SESSION, session).await;
    assert_eq!(status, 200, "{who}");
    assert_eq!(who["auditor"], auditor.did());

    // Read-only: the session opens no management route, to read or to change.
    for (method, path, body) in [
        (reqwest::Method::GET, "/api/v1/offers", None),
        (reqwest::Method::GET, "/api/v1/identity", None),
        (reqwest::Method::GET, "/api/v1/events", None),
        (reqwest::Method::GET, "/api/v1/issuer/requests", None),
        (
            reqwest::Method::POST,
            "/api/v1/offers",
            Some(json!({"id": "x", "title": "x", "policy": POLICY})),
        ),
        (
            reqwest::Method::DELETE,
            "/api/v1/offers/ward-statistics",
            None,
        ),
        (
            reqwest::Method::PUT,
            "/api/v1/trust-list",
            Some(json!({"credential": "x"})),
        ),
    ] {
        let (status, answer) =
            call(&node, method.clone(), path, Some(session), body.as_ref()).await;
        assert_eq!(status, 401, "{method} {path}: {answer}");
        assert_eq!(answer["error"], "unauthorized", "{answer}");
    }
    let (status, offers) = node.get("/api/v1/offers").await;
    assert_eq!(status, 200);
    assert_eq!(
        offers.as_array().unwrap().len(),
        1,
        "nothing changed: {offers}"
    );

    // The same token again: refused, the challenge opened its session already.
    let (status, answer) = sign_in(&node, &nonce, &token).await;
    let message = refusal(status, &answer);
    assert!(message.contains("already used to sign in"), "{message}");

    // Signing out ends the session.
    let (status, _) = call(&node, reqwest::Method::DELETE, SESSION, Some(session), None).await;
    assert_eq!(status, 204);
    let (status, _) = get_as(&node, "/api/v1/audit/head", session).await;
    assert_eq!(status, 401);
    let (status, answer) = call(&node, reqwest::Method::DELETE, SESSION, Some(session), None).await;
    assert!(refusal(status, &answer).contains("no open auditor session"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refused_sign_in_says_why() {
    let (authority, node, auditor, credentials) = setting(|_| {}).await;
    let audience = node.did().to_owned();

    // A presentation made for another challenge.
    let (first, second) = (challenge(&node).await, challenge(&node).await);
    assert_ne!(first, second);
    let for_first = presenting(&auditor, &credentials, &audience, Some(first.as_str()))
        .await
        .unwrap();
    let (status, answer) = sign_in(&node, &second, &for_first).await;
    let message = refusal(status, &answer);
    assert!(message.contains("answers another challenge"), "{message}");
    assert!(message.contains(&second), "says which to use: {message}");

    // A replayed token: its `jti` was taken by the attempt above.
    let (status, answer) = sign_in(&node, &first, &for_first).await;
    let message = refusal(status, &answer);
    assert!(message.contains("already used (replay)"), "{message}");

    // A challenge never handed out.
    let made_up = presenting(&auditor, &credentials, &audience, Some("made-up"))
        .await
        .unwrap();
    let (status, answer) = sign_in(&node, "made-up", &made_up).await;
    assert!(refusal(status, &answer).contains("challenge is unknown"));

    // A tampered token: its expiry moved by a second, the signature left as it was.
    let nonce = challenge(&node).await;
    let token = presenting(&auditor, &credentials, &audience, Some(nonce.as_str()))
        .await
        .unwrap();
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut claims: Value = serde_json::from_slice(&b64.decode(&parts[1]).unwrap()).unwrap();
    claims["exp"] = json!(claims["exp"].as_i64().unwrap() + 1);
    parts[1] = b64.encode(serde_json::to_vec(&claims).unwrap());
    let (status, answer) = sign_in(&node, &nonce, &parts.join(".")).await;
    let message = refusal(status, &answer);
    assert!(message.contains("signature does not verify"), "{message}");

    // Garbage where the token goes.
    let nonce = challenge(&node).await;
    let (status, answer) = sign_in(&node, &nonce, "not-a-token").await;
    assert!(refusal(status, &answer).contains("malformed token"));

    // A membership instead of an AuditorCredential.
    let (membership, _) = membership(&authority, auditor.did.as_str(), "Hospital").await;
    let message = refused(&node, &auditor, &[Secured::Jwt(membership)], &audience).await;
    assert!(
        message.contains("no verified AuditorCredential")
            && message.contains("DataSpaceMembershipCredential"),
        "{message}"
    );

    // An AuditorCredential from an issuer the trust list does not name.
    let stranger = Identity::generate(KeyAlgorithm::Ed25519);
    let untrusted = auditor_credential(&stranger, auditor.did.as_str()).await;
    let message = refused(&node, &auditor, &[Secured::Jwt(untrusted)], &audience).await;
    assert!(message.contains("does not verify"), "{message}");

    // Someone else's AuditorCredential, presented by a thief.
    let thief = Identity::generate(KeyAlgorithm::Ed25519);
    let message = refused(&node, &thief, &credentials, &audience).await;
    assert!(message.contains("does not verify"), "{message}");

    // A presentation for another connector.
    let message = refused(&node, &auditor, &credentials, authority.did()).await;
    assert!(message.contains("audience"), "{message}");

    // A malformed sign-in is a 400 naming the member.
    let nonce = challenge(&node).await;
    let (status, answer) = call(
        &node,
        reqwest::Method::POST,
        SESSION,
        None,
        Some(&json!({"challenge": nonce})),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["message"].as_str().unwrap().contains("token"),
        "{answer}"
    );

    // Refusals of an authenticated caller are on the trail; none opened a session.
    let events = node.events().await;
    let refused = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "audit.access" && e["outcome"] == "refused")
        .count();
    assert!(refused >= 3, "{events}");
    assert!(!events
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["type"] == "audit.access" && e["outcome"] == "ok"));

    // And the right presentation for a fresh challenge still works.
    let (status, opened) = answering(&node, &auditor, &credentials, &audience).await;
    assert_eq!(status, 200, "{opened}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn challenges_and_sessions_expire_and_only_sign_ins_are_remembered() {
    let limits = SignInLimits {
        challenge_ttl: Duration::from_secs(1),
        session_ttl: Duration::from_secs(4),
        max_answered: 2,
        max_sessions: 8,
    };
    let (_authority, node, auditor, credentials) =
        setting(|options| options.auditor_sign_in = limits).await;
    let audience = node.did().to_owned();

    // An expired challenge.
    let nonce = challenge(&node).await;
    let token = presenting(&auditor, &credentials, &audience, Some(nonce.as_str()))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (status, answer) = sign_in(&node, &nonce, &token).await;
    let message = refusal(status, &answer);
    assert!(message.contains("challenge expired"), "{message}");

    // A stranger asks for far more challenges than anything is kept of: each is handed out.
    for _ in 0..300 {
        let (status, answer) = call(&node, reqwest::Method::POST, CHALLENGE, None, None).await;
        assert_eq!(status, 201, "{answer}");
    }
    // Only sign-ins are remembered: two open sessions, a third within the challenges' lifetime
    // is refused with when to try again.
    for _ in 0..2 {
        let (status, opened) = answering(&node, &auditor, &credentials, &audience).await;
        assert_eq!(status, 200, "{opened}");
    }
    let (status, answer) = answering(&node, &auditor, &credentials, &audience).await;
    assert_eq!(status, 503, "{answer}");
    assert_eq!(answer["error"], "unavailable");
    let message = answer["message"].as_str().unwrap();
    assert!(message.contains("2 sign-ins in the last 1 s"), "{message}");
    // Once their challenges expired there is room again.
    tokio::time::sleep(Duration::from_millis(1200)).await;

    // A session ends on its own.
    let (status, opened) = answering(&node, &auditor, &credentials, &audience).await;
    assert_eq!(status, 200, "{opened}");
    assert_eq!(opened["expires_in"], 4);
    let session = opened["session"].as_str().unwrap().to_owned();
    let session = session.as_str();
    let (status, _) = get_as(&node, "/api/v1/audit/head", session).await;
    assert_eq!(status, 200);
    tokio::time::sleep(Duration::from_millis(4500)).await;
    let (status, answer) = get_as(&node, "/api/v1/audit/head", session).await;
    assert_eq!(status, 401, "{answer}");
    let (status, answer) = get_as(&node, SESSION, session).await;
    assert!(refusal(status, &answer).contains("no open auditor session"));
}
