//! What the load tools share: `symbolon serve` processes on loopback and a small data space
//! of them (an authority, a provider with the authority's trust list, a hospital holding a
//! membership).
#![allow(dead_code, reason = "each tool uses a part")]

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use symbolon_connector::datadir::DataDir;

/// The `symbolon` binary: `SYMBOLON_LOAD_BIN` when set (to load a release build from a quick
/// build of this tool), else the one Cargo built with this benchmark.
pub fn bin() -> String {
    std::env::var("SYMBOLON_LOAD_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_symbolon").to_owned())
}

/// One `symbolon serve` process.
pub struct Serve {
    pub child: Child,
    pub url: String,
    pub token: String,
    pub did: String,
    pub dir: tempfile::TempDir,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Serve {
    pub fn start() -> Serve {
        let dir = tempfile::tempdir().expect("temporary directory");
        let data = dir.path().to_str().expect("UTF-8 path").to_owned();
        let init = Command::new(bin())
            .args(["init", "--data-dir", &data])
            .output()
            .expect("symbolon init");
        assert!(init.status.success(), "init failed");
        let did = String::from_utf8(init.stdout)
            .expect("UTF-8")
            .trim()
            .to_owned();
        let mut child = Command::new(bin())
            // Three connectors on one machine reach each other on loopback, and the 16
            // verifying clients all come from one address: no per-caller rate limit.
            .args(["serve", "--data-dir", &data, "--http", "127.0.0.1:0"])
            .args(["--allow-private-callbacks", "--rate-limit", "0"])
            .args(serve_flags())
            .env("RUST_LOG", "error")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("symbolon serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the listening line");
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected: {line}"))
            .to_owned();
        let token = DataDir::new(dir.path())
            .admin_token()
            .expect("admin token")
            .expose()
            .to_owned();
        Serve {
            child,
            url,
            token,
            did,
            dir,
        }
    }

    /// The CPU time (user + system) the process used so far.
    pub fn cpu(&self) -> Duration {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // Fields after the command name (which is in parentheses): utime and stime are the
        // 12th and 13th, in clock ticks (100 per second on Linux).
        let ticks: u64 = stat
            .rsplit_once(')')
            .map(|(_, rest)| {
                rest.split_whitespace()
                    .skip(11)
                    .take(2)
                    .filter_map(|field| field.parse::<u64>().ok())
                    .sum()
            })
            .unwrap_or(0);
        Duration::from_millis(ticks * 10)
    }

    /// The peak resident set size so far, in MiB.
    pub fn peak_rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|kib| kib.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(f64::NAN, |kib| kib / 1024.0)
    }

    pub async fn call(
        &self,
        client: &reqwest::Client,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> (u16, Value) {
        let response = client
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

/// Flags every `serve` of the load gets: the three processes share one machine.
pub fn serve_flags() -> Vec<String> {
    std::env::var("SYMBOLON_LOAD_SERVE_FLAGS")
        .map(|flags| flags.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// The authority's trust list on the insurer, a membership held by the hospital, and the
/// insurer's offer `ward-statistics` (or `offer`, after `prepare` ran on the insurer).
pub async fn data_space_with(
    client: &reqwest::Client,
    prepare: impl FnOnce(&Serve),
    offer: Option<Value>,
) -> (Serve, Serve, Serve, String) {
    let (authority, insurer, hospital) = (Serve::start(), Serve::start(), Serve::start());
    prepare(&insurer);
    let trust = trust_list(client, &authority).await;
    install_trust_list(client, &insurer, &trust).await;
    let credential = hold_membership(
        client,
        &authority,
        &hospital,
        json!({"legalName": "Ziekenhuis", "registrationNumber": "KvK-7", "role": "Hospital"}),
        true,
    )
    .await;
    let policy = r#"policy "members" { permit use on offer "ward-statistics" when holder.role == "Hospital" and holder.member_of == "hds" obligation delete_after { days = 30 } }"#;
    let offer = offer.unwrap_or_else(
        || json!({"id": "ward-statistics", "title": "Ward statistics", "policy": policy}),
    );
    let (status, offer) = insurer
        .call(client, reqwest::Method::POST, "/api/v1/offers", offer)
        .await;
    assert_eq!(status, 201, "offer: {offer}");
    (authority, insurer, hospital, compact(&credential))
}

/// The authority's trust list (compact JWT) naming it the issuer of memberships in `hds`.
pub async fn trust_list(client: &reqwest::Client, authority: &Serve) -> String {
    let anchor = symbolon_identity::Did::parse(&authority.did).expect("the authority's DID");
    let entries = [(
        authority.did.clone(),
        ["DataSpaceMembershipCredential".to_owned()].into(),
    )]
    .into();
    let document =
        symbolon_identity::TrustList::credential(&anchor, "hds", &entries).expect("trust list");
    let (status, trust) = authority
        .call(
            client,
            reqwest::Method::POST,
            "/credentials/issue",
            json!({ "credential": document }),
        )
        .await;
    assert_eq!(status, 201, "trust list: {trust}");
    compact(&trust["verifiableCredential"])
}

/// Installs `trust` (a trust list's compact JWT) on `node`.
pub async fn install_trust_list(client: &reqwest::Client, node: &Serve, trust: &str) {
    let (status, answer) = node
        .call(
            client,
            reqwest::Method::PUT,
            "/api/v1/trust-list",
            json!({ "credential": trust }),
        )
        .await;
    assert!(status < 300, "install trust list: {answer}");
}

/// Has `authority` issue `holder` a membership in `hds` with `claims` (its `legalName`,
/// `registrationNumber`, `role`), with a status entry when `status`, and stores it in the
/// holder's wallet; returns the issued credential.
pub async fn hold_membership(
    client: &reqwest::Client,
    authority: &Serve,
    holder: &Serve,
    claims: Value,
    status: bool,
) -> Value {
    let mut subject = claims;
    subject["id"] = holder.did.clone().into();
    subject["dataSpaceId"] = "hds".into();
    let (code, membership) = authority
        .call(
            client,
            reqwest::Method::POST,
            "/credentials/issue",
            json!({"credential": {
                "@context": ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/symbolon/v1"],
                "type": ["VerifiableCredential", "DataSpaceMembershipCredential"],
                "credentialSubject": subject
            }, "options": {"credentialStatus": status}}),
        )
        .await;
    assert_eq!(code, 201, "membership: {membership}");
    let credential = membership["verifiableCredential"].clone();
    let (code, held) = holder
        .call(
            client,
            reqwest::Method::POST,
            "/api/v1/credentials",
            json!({"verifiableCredential": credential}),
        )
        .await;
    assert_eq!(code, 201, "hold: {held}");
    credential
}

/// The compact JWT of an issued credential, bare or enveloped as a `data:` URL.
pub fn compact(credential: &Value) -> String {
    match credential {
        Value::String(token) => token.clone(),
        other => other["id"]
            .as_str()
            .and_then(|id| id.split_once(',').map(|(_, token)| token.to_owned()))
            .unwrap_or_default(),
    }
}
