//! The HTTP-pull data plane between two connectors on 127.0.0.1: a hospital that agreed on a
//! dataset offer with a file source requests it as `HttpData-PULL`, receives a data address
//! with a bearer token, and pulls the bytes; the token opens that transfer only, and only
//! while it is STARTED, its obligations allow and the hospital's membership stands.

use std::time::Duration;

use serde_json::{json, Value};

use crate::dsp::*;
use crate::transfer::{operator, transfer_state};

pub const DATA_POLICY: &str = r#"
policy "ward-data" {
  permit use on offer "ward-data"
  when holder.role in ["Hospital"] and holder.member_of == "hds"
  obligation delete_after { days = 30 }
  EXTRA
}
"#;

/// A provider serving `content` as offer `ward-data`, a hospital with a FINALIZED agreement
/// on it, and the authority that issued the hospital's membership.
pub struct Pull {
    pub authority: Connector,
    pub provider: Connector,
    pub hospital: Connector,
    pub agreement: String,
    pub membership: String,
    pub content: Vec<u8>,
}

/// Content whose every byte depends on its position.
pub fn content(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

/// Sets up a provider (`provider`) serving `content` under a policy with `extra` rules, and a
/// hospital that agreed with it.
pub async fn agreed_on_data(provider: Connector, extra: &str, content: Vec<u8>) -> Pull {
    let (authority, hospital) = (connector(), connector());
    trust(&authority, &provider).await;
    let data = provider._dir.path("data");
    std::fs::create_dir_all(data.join("wards")).unwrap();
    std::fs::write(data.join("wards/2026.csv"), &content).unwrap();
    let (status, offer) = provider
        .post(
            "/api/v1/offers",
            &json!({"id": "ward-data", "title": "Ward data", "policy": DATA_POLICY.replace("EXTRA", extra),
                    "source": {"file": "wards/2026.csv"}}),
        )
        .await;
    assert_eq!(status, 201, "{offer}");
    let (credential, membership_id) = membership(&authority, hospital.did(), "Hospital").await;
    hold(&hospital, &credential).await;
    let (status, negotiation) = hospital
        .post(
            "/api/v1/negotiations",
            &json!({"provider_url": provider.dsp(), "offer_id": "ward-data", "wait_seconds": 20}),
        )
        .await;
    assert_eq!(status, 200, "{negotiation}");
    assert_eq!(negotiation["state"], "FINALIZED", "{negotiation}");
    state_of(
        &provider,
        negotiation["provider_pid"].as_str().unwrap(),
        "FINALIZED",
    )
    .await;
    Pull {
        authority,
        provider,
        hospital,
        agreement: negotiation["agreement_id"].as_str().unwrap().to_owned(),
        membership: membership_id,
        content,
    }
}

/// A started pull transfer: the hospital's and the provider's process ids and the data
/// address the hospital received.
pub struct Started {
    pub consumer_pid: String,
    pub provider_pid: String,
    pub address: Value,
}

impl Started {
    pub fn endpoint(&self) -> String {
        self.address["endpoint"].as_str().unwrap().to_owned()
    }

    pub fn token(&self) -> String {
        property(&self.address, "authorization")
    }
}

pub fn property(address: &Value, name: &str) -> String {
    address["endpointProperties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no property {name} in {address}"))["value"]
        .as_str()
        .unwrap()
        .to_owned()
}

pub async fn start_pull(pull: &Pull) -> Started {
    let (status, transfer) = pull
        .hospital
        .post(
            "/api/v1/transfers",
            &json!({"agreement_id": pull.agreement, "format": "HttpData-PULL", "wait_seconds": 10}),
        )
        .await;
    assert_eq!(status, 201, "{transfer}");
    assert_eq!(transfer["state"], "STARTED", "{transfer}");
    // No wait for the provider to store STARTED: a consumer pulls the moment it has the
    // address, and the provider must serve it (it waits for the acknowledgement itself).
    let provider_pid = transfer["provider_pid"].as_str().unwrap().to_owned();
    Started {
        consumer_pid: transfer["consumer_pid"].as_str().unwrap().to_owned(),
        provider_pid,
        address: transfer["data_address"].clone(),
    }
}

/// GETs (or HEADs) `url` with `token` and `range`: the status, the headers and the body.
pub async fn fetch(
    method: reqwest::Method,
    url: &str,
    token: Option<&str>,
    range: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let mut request = http().request(method, url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(range) = range {
        request = request.header("range", range);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.bytes().await.unwrap().to_vec())
}

pub async fn get(url: &str, token: &str) -> (u16, Vec<u8>) {
    let (status, _, body) = fetch(reqwest::Method::GET, url, Some(token), None).await;
    (status, body)
}

/// A form-encoded POST of `pairs` to `url`.
pub fn post_form<K: AsRef<str>, V: AsRef<str>>(
    url: impl reqwest::IntoUrl,
    pairs: &[(K, V)],
) -> reqwest::RequestBuilder {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter().map(|(k, v)| (k.as_ref(), v.as_ref())))
        .finish();
    http()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
}

pub fn error_code(body: &[u8]) -> String {
    let value: Value = serde_json::from_slice(body).unwrap_or_else(|_| {
        panic!("not JSON: {}", String::from_utf8_lossy(body));
    });
    value["error"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_started_pull_serves_the_file_whole_and_by_range_to_its_token_only() {
    let pull = agreed_on_data(connector(), "", content(1_000_000)).await;
    // The catalog names the format.
    let dataset = http()
        .get(format!(
            "{}/catalog/datasets/ward-data",
            pull.provider.dsp()
        ))
        .bearer_auth(token(&pull.hospital.identity, pull.provider.did(), &[]).await)
        .send()
        .await
        .unwrap();
    assert_eq!(dataset.status(), 200);
    let dataset: Value = dataset.json().await.unwrap();
    assert_eq!(
        dataset["distribution"][0]["format"], "HttpData-PULL",
        "{dataset}"
    );
    let started = start_pull(&pull).await;
    assert_eq!(started.address["@type"], "DataAddress");
    // The start message carrying it, as the hospital received it, follows the schema.
    Schemas::load().check(
        "transfer/transfer-start-message-schema.json",
        &json!({"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
                "@type": "TransferStartMessage", "providerPid": started.provider_pid,
                "consumerPid": started.consumer_pid, "dataAddress": started.address}),
    );
    assert_eq!(
        started.address["endpointType"],
        "https://w3id.org/idsa/v4.1/HTTP"
    );
    assert_eq!(property(&started.address, "authType"), "bearer");
    assert_eq!(property(&started.address, "expiresIn"), "300");
    assert!(
        started
            .endpoint()
            .ends_with(&format!("/data/{}", started.provider_pid)),
        "{}",
        started.endpoint()
    );
    let (url, token) = (started.endpoint(), started.token());

    let (status, body) = get(&url, &token).await;
    assert_eq!(status, 200);
    assert_eq!(body, pull.content, "the bytes match");

    let (status, headers, body) = fetch(
        reqwest::Method::GET,
        &url,
        Some(&token),
        Some("bytes=1000-1999"),
    )
    .await;
    assert_eq!(status, 206);
    assert_eq!(headers["content-range"], "bytes 1000-1999/1000000");
    assert_eq!(body, pull.content[1000..2000]);
    let (status, headers, body) =
        fetch(reqwest::Method::GET, &url, Some(&token), Some("bytes=-10")).await;
    assert_eq!((status, body.as_slice()), (206, &pull.content[999_990..]));
    assert_eq!(headers["content-length"], "10");
    let (status, headers, body) = fetch(
        reqwest::Method::GET,
        &url,
        Some(&token),
        Some("bytes=2000000-"),
    )
    .await;
    assert_eq!(status, 416);
    assert_eq!(headers["content-range"], "bytes */1000000");
    assert_eq!(error_code(&body), "range_not_satisfiable");
    let (status, headers, body) = fetch(reqwest::Method::HEAD, &url, Some(&token), None).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-length"], "1000000");
    assert_eq!(headers["accept-ranges"], "bytes");
    assert!(body.is_empty());

    // No token, another token, a token in the wrong place: 401, the same answer each time.
    let (status, headers, body) = fetch(reqwest::Method::GET, &url, None, None).await;
    assert_eq!((status, error_code(&body).as_str()), (401, "invalid_token"));
    assert!(headers["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));
    for wrong in [
        "",
        "x",
        &token[1..],
        &format!("{token}x"),
        &property(&started.address, "refreshToken"),
    ] {
        let (status, body) = get(&url, wrong).await;
        assert_eq!(status, 401, "{wrong}: {}", String::from_utf8_lossy(&body));
    }
    // A second transfer's token does not open the first, nor the first's the second.
    let second = start_pull(&pull).await;
    assert_ne!(second.token(), token);
    let (status, _) = get(&url, &second.token()).await;
    assert_eq!(status, 401);
    let (status, _) = get(&second.endpoint(), &token).await;
    assert_eq!(status, 401);
    let (status, body) = get(&second.endpoint(), &second.token()).await;
    assert_eq!((status, body.len()), (200, pull.content.len()));
    // A path under a file dataset names nothing.
    let (status, body) = get(&format!("{url}/../../etc/passwd"), &token).await;
    assert!(
        matches!(status, 401 | 404),
        "{status}: {}",
        String::from_utf8_lossy(&body)
    );

    // Completed: the token opens nothing any more.
    let (status, completed) =
        operator(&pull.hospital, &started.consumer_pid, "complete", json!({})).await;
    assert_eq!(status, 200, "{completed}");
    assert!(completed.get("data_address").is_none(), "{completed}");
    transfer_state(&pull.provider, &started.provider_pid, "COMPLETED").await;
    let (status, _) = get(&url, &token).await;
    assert_eq!(status, 401);

    // The trail: access issued, pulls served with their bytes, a refusal — never a token.
    let events = pull.provider.events().await;
    let of = |kind: &str| -> Vec<Value> {
        events
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["type"] == kind && e["subject"] == started.provider_pid.as_str())
            .cloned()
            .collect()
    };
    assert_eq!(of("data.access_issued").len(), 1);
    let served = of("data.served");
    assert!(
        served
            .iter()
            .any(|e| e["details"]["bytes"] == 1_000_000 && e["details"]["complete"] == true),
        "{served:?}"
    );
    assert!(
        served
            .iter()
            .any(|e| e["details"]["range"] == "bytes 1000-1999/1000000"),
        "{served:?}"
    );
    let text = events.to_string();
    assert!(!text.contains(&token), "a token in the trail");
    assert!(
        !text.contains(&property(&started.address, "refreshToken")),
        "a refresh token in the trail"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspension_stops_the_data_and_a_resume_or_a_refresh_brings_new_tokens() {
    let pull = agreed_on_data(connector(), "", content(10_000)).await;
    let started = start_pull(&pull).await;
    let (url, token) = (started.endpoint(), started.token());
    assert_eq!(get(&url, &token).await.0, 200);

    // The provider suspends: refused while suspended (the consumer keeps its address).
    let (status, suspended) = operator(
        &pull.provider,
        &started.provider_pid,
        "suspend",
        json!({"reason": "maintenance"}),
    )
    .await;
    assert_eq!(status, 200, "{suspended}");
    transfer_state(&pull.hospital, &started.consumer_pid, "SUSPENDED").await;
    let (status, body) = get(&url, &token).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (403, "transfer_not_started")
    );

    // The provider resumes: a new token; the old one opens nothing.
    let (status, _) = operator(&pull.provider, &started.provider_pid, "start", json!({})).await;
    assert_eq!(status, 200);
    let resumed = transfer_state(&pull.hospital, &started.consumer_pid, "STARTED").await;
    let new_token = property(&resumed["data_address"], "authorization");
    assert_ne!(new_token, token);
    assert_eq!(get(&url, &token).await.0, 401);
    let (status, body) = get(&url, &new_token).await;
    assert_eq!((status, body), (200, pull.content.clone()));

    // The hospital suspends and restarts: its token works again once STARTED.
    let (status, _) = operator(&pull.hospital, &started.consumer_pid, "suspend", json!({})).await;
    assert_eq!(status, 200);
    transfer_state(&pull.provider, &started.provider_pid, "SUSPENDED").await;
    assert_eq!(get(&url, &new_token).await.0, 403);
    let (status, restarted) =
        operator(&pull.hospital, &started.consumer_pid, "start", json!({})).await;
    assert_eq!(status, 200, "{restarted}");
    transfer_state(&pull.provider, &started.provider_pid, "STARTED").await;
    assert_eq!(get(&url, &new_token).await.0, 200);

    // A refresh (RFC 6749 §6) gives a new pair; the old pair stops working.
    let refresh_token = property(&resumed["data_address"], "refreshToken");
    let refresh_url = property(&resumed["data_address"], "refreshEndpoint");
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.as_str()),
    ];
    let response = post_form(&refresh_url, &form).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let fresh: Value = response.json().await.unwrap();
    assert_eq!(fresh["token_type"], "Bearer");
    assert_eq!(fresh["expires_in"], 300);
    let fresh_token = fresh["access_token"].as_str().unwrap();
    assert_eq!(get(&url, fresh_token).await.0, 200);
    assert_eq!(get(&url, &new_token).await.0, 401);
    // The used refresh token is spent; malformed refreshes are 400 with the OAuth error.
    for body in [
        form.to_vec(),
        vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", "urn:uuid:x.y"),
        ],
        vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", "no-process"),
        ],
    ] {
        let response = post_form(&refresh_url, &body).send().await.unwrap();
        assert_eq!(response.status(), 400);
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["error"], "invalid_grant", "{answer}");
    }
    let response = post_form(&refresh_url, &[("grant_type", "password")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let oversized = "x".repeat(10_000);
    let response = post_form(
        &refresh_url,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", oversized.as_str()),
        ],
    )
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), 413);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_in_flight_is_cut_the_moment_the_transfer_is_suspended() {
    let pull = agreed_on_data(connector(), "", content(64 << 20)).await;
    let started = start_pull(&pull).await;
    let mut response = http()
        .get(started.endpoint())
        .bearer_auth(started.token())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut received = response.chunk().await.unwrap().unwrap().len();
    let (status, _) = operator(&pull.provider, &started.provider_pid, "suspend", json!({})).await;
    assert_eq!(status, 200);
    let cut = loop {
        match response.chunk().await {
            Ok(Some(chunk)) => received += chunk.len(),
            Ok(None) => break false,
            Err(_) => break true,
        }
    };
    assert!(cut, "the body ended normally after {received} bytes");
    assert!(
        received < pull.content.len(),
        "all {received} bytes were sent"
    );
    let served = eventually(
        Duration::from_secs(10),
        "the cut pull on record",
        || async {
            let events = pull.provider.events().await;
            events
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["type"] == "data.served" && e["outcome"] == "cut")
                .cloned()
        },
    )
    .await;
    assert!(
        served["details"]["cut"]
            .as_str()
            .unwrap()
            .contains("SUSPENDED"),
        "{served}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_membership_or_an_expired_token_opens_nothing() {
    let provider = connector_configured(|options| options.data_token_ttl = Duration::from_secs(2));
    let pull = agreed_on_data(provider, "", content(1000)).await;
    let started = start_pull(&pull).await;
    let (url, token) = (started.endpoint(), started.token());
    assert_eq!(property(&started.address, "expiresIn"), "2");
    assert_eq!(get(&url, &token).await.0, 200);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, body) = get(&url, &token).await;
    assert_eq!((status, error_code(&body).as_str()), (401, "token_expired"));

    // A refresh brings a working token; then the authority revokes the hospital's membership.
    let form = [
        ("grant_type", "refresh_token".to_owned()),
        ("refresh_token", property(&started.address, "refreshToken")),
    ];
    let response = post_form(property(&started.address, "refreshEndpoint"), &form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let fresh: Value = response.json().await.unwrap();
    let fresh_token = fresh["access_token"].as_str().unwrap().to_owned();
    assert_eq!(get(&url, &fresh_token).await.0, 200);
    let (status, _) = pull
        .authority
        .post(
            "/credentials/status",
            &json!({"credentialId": pull.membership, "credentialStatus": [{"type": "BitstringStatusListEntry", "statusPurpose": "revocation", "status": true}]}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = get(&url, &fresh_token).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (403, "credential_not_standing")
    );
    let refused = pull.provider.events().await;
    assert!(refused
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["type"] == "data.refused"
            && e["outcome"] == "credential_not_standing"
            && e["details"]["reason"].as_str().unwrap().contains("revoked")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agreements_max_pulls_is_enforced() {
    let pull = agreed_on_data(
        connector(),
        "obligation max_pulls { count = 2 }",
        content(100),
    )
    .await;
    let (_, agreement) = pull
        .provider
        .get(&format!("/api/v1/agreements/{}", pull.agreement))
        .await;
    assert!(agreement.to_string().contains("max_pulls"), "{agreement}");
    let started = start_pull(&pull).await;
    let (url, token) = (started.endpoint(), started.token());
    // A HEAD is no pull.
    assert_eq!(
        fetch(reqwest::Method::HEAD, &url, Some(&token), None)
            .await
            .0,
        200
    );
    assert_eq!(get(&url, &token).await.0, 200);
    assert_eq!(get(&url, &token).await.0, 200);
    let (status, body) = get(&url, &token).await;
    assert_eq!((status, error_code(&body).as_str()), (403, "pulls_used_up"));
    let (_, transfer) = pull
        .provider
        .get(&format!("/api/v1/transfers/{}", started.provider_pid))
        .await;
    assert_eq!(transfer["pulls"], 2);
    let issued = pull.provider.events().await;
    let issued = issued
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "data.access_issued")
        .unwrap()
        .clone();
    assert_eq!(issued["details"]["enforced"], json!(["max_pulls"]));
    assert_eq!(issued["details"]["duties"], json!(["delete_after"]));
}
