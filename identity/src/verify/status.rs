//! Checking a credential's status: its `BitstringStatusListEntry`s, fetched concurrently
//! within the verification's deadline. What the caller is told about a list that could not
//! be had never carries the upstream answer.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;
use tokio::time::Instant;

use super::{Input, Verifier};
use crate::credential::{issuer_id, specific_types};
use crate::error::{quote, VerifyError};
use crate::status_list::{StatusList, StatusPurpose};

/// Most status entries one credential may carry.
pub const MAX_STATUS_ENTRIES: usize = 8;

/// Widest `statusSize` read (bits per entry of a `message` list).
const MAX_STATUS_SIZE: u64 = 8;

/// What an entry's bits mean (Bitstring Status List v1.0 §2.1 `statusPurpose`).
enum Purpose<'a> {
    /// `revocation` or `suspension`: a set bit fails the credential.
    Flag(StatusPurpose),
    /// `message`: the entry's `statusSize` bits select one of its `statusMessage`s, which is
    /// reported, never a reason to reject.
    Message { size: u64, messages: &'a Value },
}

/// One `BitstringStatusListEntry`.
struct Entry<'a> {
    url: &'a str,
    purpose: Purpose<'a>,
    index: u64,
}

impl<'a> Entry<'a> {
    fn parse(entry: &'a Value) -> Result<Self, VerifyError> {
        if entry.get("type").and_then(Value::as_str) != Some("BitstringStatusListEntry") {
            return Err(VerifyError::StatusUnavailable(
                "only BitstringStatusListEntry is supported".into(),
            ));
        }
        let field = |name: &str| {
            entry
                .get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| VerifyError::Malformed(format!("credentialStatus lacks `{name}`")))
        };
        let url = field("statusListCredential")?;
        let purpose_text = field("statusPurpose")?;
        let purpose = match purpose_text {
            "message" => {
                let size = match entry.get("statusSize") {
                    None => 1,
                    Some(size) => size
                        .as_u64()
                        .filter(|size| (1..=MAX_STATUS_SIZE).contains(size))
                        .ok_or_else(|| {
                            VerifyError::Malformed(format!(
                                "credentialStatus `statusSize` must be an integer from 1 to \
                                 {MAX_STATUS_SIZE}"
                            ))
                        })?,
                };
                let messages = entry.get("statusMessage").unwrap_or(&Value::Null);
                if size > 1 && !messages.is_array() {
                    return Err(VerifyError::Malformed(
                        "credentialStatus with `statusSize` over 1 needs `statusMessage`".into(),
                    ));
                }
                Purpose::Message { size, messages }
            }
            other => Purpose::Flag(StatusPurpose::parse(other).ok_or_else(|| {
                VerifyError::StatusUnavailable(format!(
                    "unsupported statusPurpose `{}`",
                    quote(other)
                ))
            })?),
        };
        let index: u64 = field("statusListIndex")?
            .parse()
            .map_err(|_| VerifyError::Malformed("statusListIndex is not a number".into()))?;
        Ok(Entry {
            url,
            purpose,
            index,
        })
    }

    /// The `statusPurpose` the list credential must carry.
    fn purpose_name(&self) -> &'static str {
        match &self.purpose {
            Purpose::Flag(purpose) => purpose.as_str(),
            Purpose::Message { .. } => "message",
        }
    }
}

/// The status message a `message` entry selects (Bitstring Status List v1.0 §3.2, step
/// "statusPurpose message"), reported with the credential.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StatusMessage {
    /// The status list credential's URL.
    pub list: String,
    /// The entry's index.
    pub index: u64,
    /// The entry's value, in hexadecimal (`0x0`, `0x1`, …).
    pub status: String,
    /// The entry's `statusMessage` for that value, if it lists one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl Verifier {
    /// Checks every status entry of `credential` (all parsed before any is fetched; the lists
    /// fetched concurrently, until `deadline`). The first failure, in entry order, is the
    /// answer; otherwise the messages of its `message` entries.
    pub(super) async fn check_status(
        &self,
        credential: &Value,
        status: &Value,
        deadline: Instant,
    ) -> Result<Vec<StatusMessage>, VerifyError> {
        let entries = crate::json::one_or_many(Some(status));
        if entries.len() > MAX_STATUS_ENTRIES {
            return Err(VerifyError::TooMany {
                what: "status entries in the credential",
                count: entries.len(),
                limit: MAX_STATUS_ENTRIES,
            });
        }
        let entries = entries
            .into_iter()
            .map(Entry::parse)
            .collect::<Result<Vec<_>, _>>()?;
        let issuer = issuer_id(credential).unwrap_or_default();
        let checks = entries
            .iter()
            .map(|entry| self.check_entry(entry, issuer, deadline));
        let results = futures_util::future::join_all(checks).await;
        let mut messages = Vec::new();
        for result in results {
            messages.extend(result?);
        }
        Ok(messages)
    }

    async fn check_entry(
        &self,
        entry: &Entry<'_>,
        issuer: &str,
        deadline: Instant,
    ) -> Result<Option<StatusMessage>, VerifyError> {
        let list = self
            .within(
                deadline,
                "fetching the status list",
                self.fetch_list(entry.url, issuer, entry.purpose_name(), deadline),
            )
            .await?;
        let (size, messages) = match &entry.purpose {
            Purpose::Flag(purpose) => {
                if !list.get(entry.index)? {
                    return Ok(None);
                }
                let (list, index) = (entry.url.to_owned(), entry.index);
                return Err(match purpose {
                    StatusPurpose::Revocation => VerifyError::Revoked { list, index },
                    StatusPurpose::Suspension => VerifyError::Suspended { list, index },
                });
            }
            Purpose::Message { size, messages } => (*size, *messages),
        };
        let first = entry.index.checked_mul(size).ok_or_else(|| {
            VerifyError::Malformed("statusListIndex × statusSize overflows".into())
        })?;
        let mut value: u64 = 0;
        for bit in 0..size {
            value = (value << 1) | u64::from(list.get(first.saturating_add(bit))?);
        }
        let message = crate::json::one_or_many(Some(messages))
            .into_iter()
            .find(|m| {
                m.get("status")
                    .and_then(Value::as_str)
                    .and_then(|s| s.strip_prefix("0x"))
                    .and_then(|hex| u64::from_str_radix(hex, 16).ok())
                    == Some(value)
            })
            .and_then(|m| m.get("message").and_then(Value::as_str))
            .map(|m| m.chars().take(256).collect());
        Ok(Some(StatusMessage {
            list: entry.url.to_owned(),
            index: entry.index,
            status: format!("{value:#x}"),
            message,
        }))
    }

    async fn fetch_list(
        &self,
        url: &str,
        issuer: &str,
        purpose: &'static str,
        deadline: Instant,
    ) -> Result<StatusList, VerifyError> {
        let unavailable = |why: String| VerifyError::StatusUnavailable(why);
        let source = self
            .status
            .as_ref()
            .ok_or_else(|| unavailable("no status source".into()))?;
        let text = source
            .fetch(url)
            .await
            .map_err(|e| VerifyError::StatusFetch(Arc::new(e)))?;
        // A list verified and decoded moments ago from the same text is not verified again
        // (never with a fixed `now`, which tests use to move through time).
        let reuse = self.verified_lists.as_ref().filter(|_| self.now.is_none());
        let key = VerifiedLists::key(url, issuer, purpose, &text);
        if let Some(list) = reuse.and_then(|lists| lists.get(&key)) {
            return Ok(list);
        }
        let list = self.verify_list(&text, issuer, purpose, deadline).await?;
        if let Some(lists) = reuse {
            lists.put(key, list.clone());
        }
        Ok(list)
    }

    /// Verifies the status list credential `text` (its signature, its issuer, its purpose) and
    /// decodes its list.
    async fn verify_list(
        &self,
        text: &str,
        issuer: &str,
        purpose: &'static str,
        deadline: Instant,
    ) -> Result<StatusList, VerifyError> {
        let unavailable = |why: String| VerifyError::StatusUnavailable(why);
        let not_a_list =
            || unavailable("the status list is not a valid status list credential".into());
        let input = Input::parse(text).map_err(|_| not_a_list())?;
        // The status list credential is verified like any credential, without status or trust.
        let plain = Verifier {
            status: None,
            trust: None,
            nonces: None,
            status_gate: None,
            ..self.clone()
        };
        let report = Box::pin(plain.credential_report(&input, deadline)).await;
        let list_credential = match (report.verified, report.document) {
            (true, Some(document)) => document,
            _ => return Err(not_a_list()),
        };
        if issuer_id(&list_credential) != Some(issuer) {
            return Err(unavailable(
                "the status list was not issued by the credential's issuer".into(),
            ));
        }
        if !specific_types(&list_credential)
            .iter()
            .any(|t| t == "BitstringStatusListCredential")
        {
            return Err(unavailable("not a BitstringStatusListCredential".into()));
        }
        let subject = list_credential
            .get("credentialSubject")
            .cloned()
            .unwrap_or_default();
        if subject.get("statusPurpose").and_then(Value::as_str) != Some(purpose) {
            return Err(unavailable(
                "the list's statusPurpose differs from the entry's".into(),
            ));
        }
        let encoded = subject
            .get("encodedList")
            .and_then(Value::as_str)
            .unwrap_or_default();
        Ok(StatusList::decode(encoded)?)
    }
}

impl Verifier {
    /// Whether a credential verified before still stands now: its issuer is still trusted for
    /// it (when this verifier holds a trust list), it is within its validity period, and none
    /// of its status entries says it is revoked or suspended. This is for a credential whose
    /// signature was verified already — one a verified presentation carried, kept with what it
    /// was used for — and checks no signature. A status list that cannot be had fails it.
    pub async fn check_standing(&self, credential: &Value) -> Result<(), VerifyError> {
        if let Some(trust) = &self.trust {
            trust.check(credential)?;
        }
        self.check_validity(credential)?;
        let Some(status) = credential.get("credentialStatus") else {
            return Ok(());
        };
        if self.status.is_none() {
            return Err(VerifyError::StatusUnavailable(
                "this verifier has no status source".into(),
            ));
        }
        if !self.may_fetch_status(credential) {
            return Err(VerifyError::StatusUnavailable(format!(
                "not checked: issuer `{}` is not trusted, so its status list is not fetched",
                quote(issuer_id(credential).unwrap_or_default())
            )));
        }
        self.check_status(credential, status, self.deadline_from_now())
            .await
            .map(drop)
    }
}

/// How long a verified, decoded status list is reused before its credential is verified again.
const LIST_REUSE: std::time::Duration = std::time::Duration::from_secs(60);
/// Most verified lists kept.
const MAX_LISTS: usize = 256;

/// Status lists already verified and decoded, shared by the verifiers of one connector: while
/// the source returns the same list credential (its cache), checking an entry is a bit lookup,
/// not a signature check and a decompression. An entry is reused for at most a minute, and
/// only for the same URL, issuer, purpose and credential text.
#[derive(Debug, Default)]
pub struct VerifiedLists(std::sync::Mutex<HashMap<[u8; 32], (std::time::Instant, StatusList)>>);

impl VerifiedLists {
    fn key(url: &str, issuer: &str, purpose: &str, text: &str) -> [u8; 32] {
        use sha2::Digest as _;
        let mut hash = sha2::Sha256::new();
        for part in [url, issuer, purpose, text] {
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part.as_bytes());
        }
        hash.finalize().into()
    }

    fn get(&self, key: &[u8; 32]) -> Option<StatusList> {
        let lists = self.0.lock().ok()?;
        let (at, list) = lists.get(key)?;
        (at.elapsed() < LIST_REUSE).then(|| list.clone())
    }

    fn put(&self, key: [u8; 32], list: StatusList) {
        if let Ok(mut lists) = self.0.lock() {
            if lists.len() >= MAX_LISTS {
                lists.retain(|_, (at, _)| at.elapsed() < LIST_REUSE);
            }
            if lists.len() < MAX_LISTS {
                lists.insert(key, (std::time::Instant::now(), list));
            }
        }
    }
}
