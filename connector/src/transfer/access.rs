//! The consumer's side of the data plane: renewing the tokens of a started pull transfer with
//! the refresh token the provider sent (RFC 6749 §6), so that a pull after the access token
//! expired — or after this side restarted a suspended transfer — can go on.

use std::time::Duration;

use serde::Deserialize;

use super::state::{Role, TransferState};
use super::{MoveError, Transfers};
use crate::domain::Transfer;

/// The provider's answer to a refresh.
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    refresh_token: Option<String>,
}

/// How long a refresh may take.
const REFRESH_TIMEOUT: Duration = Duration::from_secs(10);
/// Most bytes of a provider's answer to a refresh.
const MAX_ANSWER: usize = 16 * 1024;

impl Transfers {
    /// Renews, as consumer, the tokens of STARTED pull transfer `pid` at the provider's
    /// refresh endpoint, and keeps the new ones in its data address. The endpoint is called
    /// only where the address policy allows (a provider cannot make this connector call an
    /// address it may not reach).
    pub async fn refresh_access(&self, pid: &str) -> Result<Transfer, MoveError> {
        let current = self.own_transfer(pid).await?;
        if current.role != Role::Consumer || current.state != TransferState::Started {
            return Err(MoveError::Invalid(format!(
                "transfer `{pid}` is not a STARTED transfer this connector pulls"
            )));
        }
        let address = current.data_address.as_ref().ok_or_else(|| {
            MoveError::Invalid(format!("the provider sent no data address for `{pid}`"))
        })?;
        let (Some(endpoint), Some(refresh_token)) = (
            address.property("refreshEndpoint"),
            address.property("refreshToken"),
        ) else {
            return Err(MoveError::Invalid(
                "the provider's data address offers no refresh (no `refreshEndpoint` and \
                 `refreshToken`)"
                    .into(),
            ));
        };
        let unreachable = |why: String| MoveError::Invalid(format!("the refresh failed: {why}"));
        let policy = self.cx.network().policy();
        let url = policy
            .check_url(endpoint)
            .map_err(|e| unreachable(e.to_string()))?;
        let client = policy
            .client(REFRESH_TIMEOUT)
            .map_err(|e| unreachable(e.to_string()))?;
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ];
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let mut response = client
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        let status = response.status().as_u16();
        let mut bytes = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| unreachable(e.to_string()))?
        {
            if bytes.len() + chunk.len() > MAX_ANSWER {
                return Err(unreachable("the provider's answer is too large".into()));
            }
            bytes.extend_from_slice(&chunk);
        }
        if status != 200 {
            let text: String = String::from_utf8_lossy(&bytes).chars().take(300).collect();
            return Err(unreachable(format!(
                "the provider answered {status}: {text}"
            )));
        }
        let answer: TokenAnswer = serde_json::from_slice(&bytes)
            .map_err(|e| unreachable(format!("the provider's answer: {e}")))?;
        let next = self
            .update(pid, None, move |mut t| {
                if let Some(address) = t.data_address.as_mut() {
                    address.set_property("authorization", answer.access_token);
                    if let Some(expires_in) = answer.expires_in {
                        address.set_property("expiresIn", expires_in.to_string());
                    }
                    if let Some(refresh_token) = answer.refresh_token {
                        address.set_property("refreshToken", refresh_token);
                    }
                }
                Ok(t)
            })
            .await?;
        Ok(next)
    }
}
