//! How a consumer presents its credentials to a provider. By default as the Decentralized
//! Claims Protocol says: the self-issued token carries, in its `token` claim, an access token
//! to this connector's Credential Service, bound to the provider and to the credential types
//! the offer's policy reads; the provider queries the service. Between two Symbolon
//! connectors, when the provider advertises it (and this connector's
//! [`PresentationMode`] allows it), the presentation rides in the token's `vp` claim instead:
//! one round trip fewer. Over the peer network it always does, and so does a did:key connector
//! (it has no DID document to name a Credential Service in) — unless its operator named its
//! Credential Service (`serve --credential-service`): the token then names it, signed by the
//! did:key's own key, and the connector presents by DCP like a did:web one.

use std::collections::BTreeSet;

use serde_json::Value;
use symbolon_identity::{create_presentation, Format};

use super::auth::TokenDraft;
use super::consumer::StartError;
use super::Negotiations;
use crate::dcp::{access, scope};
use crate::messenger::{Messenger as _, Method, Outbound};
use crate::protocol::messages::MessageOffer;
use crate::protocol::peer;

/// The `auth.protocol` a Symbolon provider advertises, besides the Decentralized Claims
/// Protocol, when it accepts a presentation inside the self-issued token.
pub const INLINE_AUTH_PROTOCOL: &str = "https://w3id.org/symbolon/v1#inline-presentation";

/// How this connector, as consumer, presents its credentials.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum PresentationMode {
    /// A did:web connector (or a did:key one with `--credential-service`): in the token's
    /// `vp` claim when the provider advertises it (a Symbolon provider), else by the
    /// Decentralized Claims Protocol. A did:key connector without, whose credentials nothing
    /// could query, always inline.
    #[default]
    Auto,
    /// Always by the Decentralized Claims Protocol (needs a did:web identity, whose DID
    /// document names this connector's Credential Service, or a did:key one with
    /// `--credential-service`).
    Dcp,
}

impl Negotiations {
    /// A self-issued token for the provider `audience` at `address` that presents this
    /// connector's credentials for `offer` and states `purpose`: inline or by the Decentralized
    /// Claims Protocol, as the module says.
    pub(super) async fn presenting_token(
        &self,
        audience: &str,
        address: &str,
        purpose: Option<&str>,
        offer: &MessageOffer,
    ) -> Result<String, StartError> {
        let identity = self.cx.identity();
        // A did:web DID document names the Credential Service; a did:key connector names it
        // in its token, when configured with one.
        let announced = self.cx.credential_service();
        let queryable = identity.did.method() == "web" || announced.is_some();
        let inline = match (peer::split(address), self.cx.presentation_mode()) {
            (Some(_), _) => true,
            // Nothing could query the credentials of a did:key connector without a configured
            // Credential Service: it presents them inline.
            (None, PresentationMode::Auto) if !queryable => true,
            (None, PresentationMode::Auto) => self
                .version_entries(address)
                .await?
                .iter()
                .any(advertises_inline),
            (None, PresentationMode::Dcp) => false,
        };
        let types = self.types_for(offer);
        if inline {
            return self.inline_token(audience, purpose, &types).await;
        }
        if !queryable {
            return Err(StartError::Invalid(format!(
                "the provider `{audience}` takes credentials by the Decentralized Claims \
                 Protocol, which queries the consumer's Credential Service through its DID \
                 document: this connector's DID `{}` has none (initialise it with `symbolon init \
                 --did-web`, or name the service with `symbolon serve --credential-service URL`)",
                identity.did
            )));
        }
        let granted = access::mint(identity, audience, &types);
        Ok(TokenDraft::new(audience)
            .with_access_token(granted)
            .with_credential_service(announced)
            .sign(identity, None, purpose))
    }

    /// The credential types a decision on `offer` reads, as its rules say.
    fn types_for(&self, offer: &MessageOffer) -> BTreeSet<String> {
        let rules: Vec<&Value> = [&offer.permission, &offer.prohibition, &offer.obligation]
            .into_iter()
            .flatten()
            .flatten()
            .collect();
        scope::types_for_odrl(&rules, self.cx.offers().schema())
    }

    /// A self-issued token carrying a presentation of the held credentials of `types` (those
    /// the offer's policy reads: nothing more is disclosed), bound to the token's id.
    async fn inline_token(
        &self,
        audience: &str,
        purpose: Option<&str>,
        types: &BTreeSet<String>,
    ) -> Result<String, StartError> {
        let draft = TokenDraft::new(audience);
        let held: Vec<_> = self
            .cx
            .store()
            .blocking(|s| s.credentials.list())
            .await?
            .iter()
            .filter(|c| types.iter().any(|t| c.is_a(t)))
            .map(|c| c.secured())
            .collect();
        let presentation =
            create_presentation(self.cx.identity(), &held, Format::Jwt, &draft.jti, audience)
                .await?;
        Ok(draft.sign(self.cx.identity(), Some(&presentation.to_text()), purpose))
    }

    /// The counterparty's DID from its `/.well-known/dspace-version` (`participantId`).
    pub(super) async fn participant_did(&self, base: &str) -> Result<String, StartError> {
        if let Some((peer, _)) = peer::split(base) {
            // On the peer network the address names the peer, and the peer its did:key.
            return peer
                .parse::<symbolon_p2p::PeerId>()
                .ok()
                .and_then(|id| symbolon_p2p::did_of_peer(&id).ok())
                .map(|did| did.to_string())
                .ok_or_else(|| {
                    StartError::Invalid(format!("`{peer}` in `{base}` is not a PeerId"))
                });
        }
        self.version_entries(base)
            .await?
            .iter()
            .find_map(|v| v.get("participantId").and_then(Value::as_str))
            .map(str::to_owned)
            .ok_or_else(|| {
                StartError::Invalid(format!(
                    "`{}/.well-known/dspace-version` names no `participantId` for version \
                     2025-1; pass the counterparty's DID",
                    origin(base).unwrap_or_default()
                ))
            })
    }

    /// The entries for version 2025-1 of the counterparty's `/.well-known/dspace-version`.
    async fn version_entries(&self, base: &str) -> Result<Vec<Value>, StartError> {
        let url = format!("{}/.well-known/dspace-version", origin(base)?);
        let document = self
            .cx
            .network()
            .send(Outbound {
                method: Method::Get,
                url: &url,
                token: None,
                body: None,
            })
            .await?;
        Ok(document
            .get("protocolVersions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|v| v.get("version").and_then(Value::as_str) == Some("2025-1"))
            .cloned()
            .collect())
    }
}

/// Whether a version entry offers the inline presentation.
fn advertises_inline(entry: &Value) -> bool {
    entry.pointer("/auth/protocol").and_then(Value::as_str) == Some(INLINE_AUTH_PROTOCOL)
}

/// The origin (`scheme://host:port`) of a URL.
fn origin(base: &str) -> Result<String, StartError> {
    url::Url::parse(base)
        .map(|url| url.origin().ascii_serialization())
        .map_err(|e| StartError::Invalid(format!("`{base}` is not a URL: {e}")))
}
