//! The demo's cast: organisations, each a connector served in this process on 127.0.0.1 with
//! its own data directory, driven through its management API as its operator would.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};
use symbolon_identity::{Identity, KeyAlgorithm};

use super::DemoError;
use crate::context::Connector;
use crate::datadir::DataDir;
use crate::server::{start, ServeOptions};

/// One organisation of the data space.
pub struct Org {
    /// Its name in the narration (`hospital`, `site-2`, ...).
    pub name: String,
    /// Its role in the data space.
    pub role: String,
    /// Its identity.
    pub identity: Identity,
    /// Its data directory.
    pub dir: DataDir,
    /// Where it serves.
    pub url: String,
    /// The connector, for joining the peer network.
    pub connector: Connector,
    admin: String,
    client: reqwest::Client,
}

impl Org {
    /// Creates the organisation's data directory under `root` and serves it.
    pub fn start(root: &Path, name: &str, role: &str) -> Result<Org, DemoError> {
        let path: PathBuf = root.join(name);
        let dir = DataDir::new(&path);
        let identity = dir.init(KeyAlgorithm::Ed25519, None)?;
        let options = ServeOptions {
            // Every organisation is on this machine.
            allow_private_callbacks: true,
            rate_limit: None,
            // A revocation is seen by the next check.
            status_cache_ttl: Duration::ZERO,
            ..ServeOptions::new(([127, 0, 0, 1], 0).into())
        };
        let running = start(dir.clone(), options)?;
        let admin = dir.admin_token()?.expose().to_owned();
        tokio::spawn(running.server);
        Ok(Org {
            name: name.to_owned(),
            role: role.to_owned(),
            identity,
            dir,
            url: running.url,
            connector: running.connector,
            admin,
            client: symbolon_identity::net::client_builder()
                .build()
                .unwrap_or_default(),
        })
    }

    /// Its DID.
    pub fn did(&self) -> &str {
        self.identity.did.as_str()
    }

    /// Its Dataspace Protocol endpoint.
    pub fn dsp(&self) -> String {
        format!("{}{}", self.url, crate::protocol::DSP_PATH)
    }

    /// Calls its management API (or any route) as its operator; the JSON answer of a success.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, DemoError> {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(&self.admin);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| DemoError::Http {
            who: self.name.clone(),
            path: path.to_owned(),
            reason: with_sources(&e),
        })?;
        let status = response.status();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            Ok(answer)
        } else {
            Err(DemoError::Http {
                who: self.name.clone(),
                path: path.to_owned(),
                reason: format!("{status}: {answer}"),
            })
        }
    }

    /// `POST path` with `body`.
    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, DemoError> {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    /// `PUT path` with `body`.
    pub async fn put(&self, path: &str, body: &Value) -> Result<Value, DemoError> {
        self.call(reqwest::Method::PUT, path, Some(body)).await
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Result<Value, DemoError> {
        self.call(reqwest::Method::GET, path, None).await
    }

    /// Writes `contents` to `file` in its data folder (what its offers may bind).
    pub fn write_data(&self, file: &str, contents: &str) -> Result<(), DemoError> {
        let folder = self.dir.path("data");
        std::fs::create_dir_all(&folder)
            .and_then(|()| std::fs::write(folder.join(file), contents))
            .map_err(|e| DemoError::Io(format!("{}: {e}", folder.display())))
    }

    /// Publishes a computation offer `id` with `binding`, under `policy`; a `health` offer is
    /// also decided under the European Health Data Space's standing rules ([`crate::health`])
    /// and requires a data permit covering it (Art. 68).
    pub async fn offer_computation(
        &self,
        id: &str,
        title: &str,
        policy: &str,
        binding: Value,
        health: bool,
    ) -> Result<(), DemoError> {
        let mut offer = json!({"id": id, "title": title, "kind": "computation", "policy": policy,
                               "binding": binding});
        if health {
            offer["health"] = json!({"requires_permit": true});
        }
        self.post("/api/v1/offers", &offer).await.map(drop)
    }

    /// As the health data access body, issues `holder` a data permit (EHDS Art. 68) over this
    /// connector's VC-API, with a status entry, and has `holder` keep it in its wallet: `id`,
    /// for `purpose`, covering `datasets`, `holder` its principal investigator, anonymised
    /// statistics only (Art. 69), minimum cell size 10, valid for a year.
    pub async fn grant_permit(
        &self,
        holder: &Org,
        id: &str,
        purpose: &str,
        datasets: &[&str],
    ) -> Result<(), DemoError> {
        let now = chrono::Utc::now();
        let time = symbolon_identity::credential::format_time;
        let issued = self
            .post(
                "/credentials/issue",
                &json!({"credential": {
                    "@context": ["https://www.w3.org/ns/credentials/v2", symbolon_identity::context::SYMBOLON_CONTEXT],
                    "type": ["VerifiableCredential", "DataPermitCredential"],
                    "validFrom": time(now), "validUntil": time(now + chrono::Duration::days(365)),
                    "credentialSubject": {
                        "id": holder.did(), "permitId": id, "purpose": purpose,
                        "datasets": datasets,
                        "authorisedPersons": [{"id": holder.did(), "principalInvestigator": true}],
                        "outputMode": "anonymised-statistics", "minimumCellSize": 10}},
                    "options": {"credentialStatus": true}}),
            )
            .await?;
        let jwt = issued["verifiableCredential"]["id"]
            .as_str()
            .and_then(|id| id.split_once(','))
            .map(|(_, jwt)| jwt.to_owned())
            .ok_or_else(|| DemoError::Check(format!("the permit was not issued: {issued}")))?;
        holder
            .post(
                "/api/v1/credentials",
                &json!({ "verifiableCredential": jwt }),
            )
            .await
            .map(drop)
    }

    /// Negotiates `offer` with `provider` as consumer; the agreement id once FINALIZED.
    pub async fn agree(&self, provider: &Org, offer: &str) -> Result<String, DemoError> {
        self.agree_for(provider, offer, None).await
    }

    /// Negotiates `offer` with `provider` stating `purpose`; the negotiation as it ended.
    pub async fn negotiate(
        &self,
        provider: &Org,
        offer: &str,
        purpose: Option<&str>,
    ) -> Result<Value, DemoError> {
        let mut body =
            json!({"provider_url": provider.dsp(), "offer_id": offer, "wait_seconds": 20});
        if let Some(purpose) = purpose {
            body["purpose"] = purpose.into();
        }
        self.post("/api/v1/negotiations", &body).await
    }

    /// Negotiates `offer` with `provider` stating `purpose`; the agreement id once FINALIZED.
    pub async fn agree_for(
        &self,
        provider: &Org,
        offer: &str,
        purpose: Option<&str>,
    ) -> Result<String, DemoError> {
        let negotiation = self.negotiate(provider, offer, purpose).await?;
        match negotiation["agreement_id"].as_str() {
            Some(id) if negotiation["state"] == "FINALIZED" => Ok(id.to_owned()),
            _ => Err(DemoError::Check(format!(
                "{} could not agree on `{offer}` with {}: {}",
                self.name, provider.name, negotiation["reason"]
            ))),
        }
    }

    /// Asks `issuer` for a credential of type `kind` over DCP (`symbolon join`) and waits for
    /// the decision; the onboarding record once ISSUED (the credential is then in the wallet).
    pub async fn request_credential(&self, issuer: &Org, kind: &str) -> Result<Value, DemoError> {
        let onboarding = self
            .post(
                "/api/v1/onboarding",
                &json!({"authority_url": issuer.url, "credential_type": kind, "wait_seconds": 20}),
            )
            .await?;
        if onboarding["status"] == "ISSUED" {
            Ok(onboarding)
        } else {
            Err(DemoError::Check(format!(
                "{}'s {kind} was not issued by {}: {onboarding}",
                self.name, issuer.name
            )))
        }
    }

    /// Starts an MPC session as its analyst (`POST /api/v1/sessions` with `body`) and waits for
    /// its end; the session once completed, and the result this organisation received.
    pub async fn session(&self, body: &Value) -> Result<(Value, Value), DemoError> {
        // A session's start waits two minutes at most; a long one (a study of 100,000
        // patients in a debug build) is followed until it ends, for an hour at most.
        let mut session = self.post("/api/v1/sessions", body).await?;
        for _ in 0..30 {
            if !matches!(session["state"].as_str(), Some("joining" | "running")) {
                break;
            }
            let id = session["id"].as_str().unwrap_or_default();
            session = self
                .get(&format!("/api/v1/sessions/{id}?wait_seconds=120"))
                .await?;
        }
        if session["state"] != "completed" {
            return Err(DemoError::Check(format!(
                "the session did not complete: {} {}",
                session["state"], session["reason"]
            )));
        }
        let id = session["id"].as_str().unwrap_or_default();
        let result = self.get(&format!("/api/v1/sessions/{id}/result")).await?;
        Ok((session, result))
    }

    /// Joins the peer network, bootstrapping from `bootstrap`; its listen addresses.
    pub async fn join_peers(&self, bootstrap: &[String]) -> Result<Vec<String>, DemoError> {
        let addresses = crate::p2p::join(
            &self.connector,
            &crate::p2p::PeerOptions {
                listen: vec!["/ip4/127.0.0.1/tcp/0".into()],
                bootstrap: bootstrap.to_vec(),
                mdns: false,
                reannounce_every: Duration::from_secs(300),
            },
        )
        .await
        .map_err(|e| {
            DemoError::Check(format!("{} cannot join the peer network: {e}", self.name))
        })?;
        Ok(addresses.iter().map(ToString::to_string).collect())
    }

    /// Waits until it has authenticated `count` peers.
    pub async fn wait_for_peers(&self, count: usize) -> Result<(), DemoError> {
        let node = self
            .connector
            .network()
            .peers()
            .node()
            .cloned()
            .ok_or_else(|| DemoError::Check(format!("{} is not on the peer network", self.name)))?;
        let enough = node
            .wait_until(Duration::from_secs(20), |n| {
                n.peers().iter().filter(|p| p.authenticated).count() >= count
            })
            .await;
        if enough {
            Ok(())
        } else {
            Err(DemoError::Check(format!(
                "{} authenticated fewer than {count} peers in 20 s",
                self.name
            )))
        }
    }
}

/// `error` and each of its sources, `: `-separated (reqwest's own message names only the URL).
fn with_sources(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
