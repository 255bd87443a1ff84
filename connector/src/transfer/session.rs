//! MPC sessions over the transfer process (format `MpcSession-PUSH`): the analyst's request
//! carries the signed session manifest in its `DataAddress`; the holder admits the session
//! against its agreement ([`crate::session::admission`]) before it starts, and its start
//! carries its countersignature of the manifest's digest. A refused session is terminated
//! with the profile's code (`mpc:…`).

use chrono::Utc;
use serde_json::json;
use symbolon_audit::EventKind;

use super::{MoveError, Transfers};
use crate::dataplane::guard::first_fallen;
use crate::domain::Transfer;
use crate::protocol::messages::transfer::DataAddressType;
use crate::protocol::messages::DataAddress;
use crate::session::admission::{admit, Admission, Refusal};
use crate::session::manifest::{countersign, digest, Manifest, PartyRole};
use crate::session::runner::Part;

/// How long a holder waits for the other parties of a session to be authenticated peers.
const ROSTER_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// The `endpointType` of an MPC session's data address.
pub const SESSION_ENDPOINT_TYPE: &str = "https://w3id.org/symbolon/mpc-session";

/// The data address of an analyst's session request: the signed manifest.
pub fn request_address(manifest_token: &str) -> DataAddress {
    let mut address = DataAddress {
        kind: DataAddressType::DataAddress,
        endpoint_type: SESSION_ENDPOINT_TYPE.to_owned(),
        endpoint: None,
        endpoint_properties: Vec::new(),
    };
    address.set_property("manifest", manifest_token);
    address
}

impl Transfers {
    /// Signs `manifest` as this connector (the analyst).
    pub fn sign_manifest(&self, manifest: Manifest) -> String {
        manifest.sign(self.cx.identity())
    }

    /// Decides, as holder, on the session the provider process `transfer` (`pid`) was
    /// requested for: the manifest verified, the credentials the agreement rests on still
    /// standing, and the admission decision. Returns the start's data address with this
    /// holder's countersignature, or the refusal.
    pub(super) async fn admit_session(
        &self,
        pid: &str,
        transfer: &Transfer,
    ) -> Result<(DataAddress, Part), MoveError> {
        let decided = self.decide_session(pid, transfer).await;
        let token = transfer
            .data_address
            .as_ref()
            .and_then(|a| a.property("manifest"))
            .unwrap_or_default();
        let (outcome, reason, countersignature) = match &decided {
            Ok((address, _)) => ("admitted", None, address.property("countersignature")),
            Err(MoveError::Refused(refusal)) => (refusal.code, Some(refusal.reason.as_str()), None),
            Err(_) => return decided,
        };
        let payload = symbolon_identity::verify::peek_jwt_payload(token).unwrap_or_default();
        let mut event = self.cx.audit().event(
            EventKind::SessionAdmission,
            pid,
            outcome,
            json!({
                "session": payload.get("session_id"),
                "program": payload.get("program").and_then(|p| p.get("id")),
                "manifest_digest": digest(token),
                "reason": reason,
            }),
        );
        // The signed manifest (at most 64 KiB) and countersignature are recorded whole, as
        // issued credentials are: an auditor verifies them.
        event.details["manifest"] = token.into();
        event.details["countersignature"] = countersignature.into();
        event.actor = transfer.counterparty.clone();
        self.cx
            .audit()
            .record(event)
            .await
            .map_err(|e| MoveError::Internal(e.into()))?;
        decided
    }

    /// The admission decision of [`Transfers::admit_session`], not yet recorded.
    async fn decide_session(
        &self,
        pid: &str,
        transfer: &Transfer,
    ) -> Result<(DataAddress, Part), MoveError> {
        let refused =
            |code: &'static str, reason: String| MoveError::Refused(Refusal { code, reason });
        let token = transfer
            .data_address
            .as_ref()
            .and_then(|a| a.property("manifest"))
            .ok_or_else(|| refused("mpc:malformed", "the request carries no manifest".into()))?
            .to_owned();
        let manifest = Manifest::verify(&token, &self.cx.verification().resolver)
            .await
            .map_err(|e| refused("mpc:malformed", format!("the manifest: {e}")))?;
        let store = self.cx.store().clone();
        let (agreement_id, offer_id) = (transfer.agreement_id.clone(), transfer.offer_id.clone());
        let (agreement, offer) = store
            .blocking(move |s| {
                Ok::<_, crate::store::StoreError>((
                    s.agreements.get(&agreement_id)?,
                    s.offers.get(&offer_id)?,
                ))
            })
            .await?;
        let (Some(agreement), Some(offer)) = (agreement, offer) else {
            return Err(refused(
                "mpc:no-agreement",
                "the agreement or its offer is no longer kept here".into(),
            ));
        };
        if let Some(reason) = agreement.withdrawn_reason() {
            return Err(refused("mpc:agreement-withdrawn", reason));
        }
        if let Some(reason) = first_fallen(&self.cx, &agreement.grounds).await {
            return Err(refused("mpc:credential-revoked", reason));
        }
        let compiled = self
            .cx
            .offers()
            .compiled(&offer)
            .map_err(|e| refused("mpc:policy-denied", format!("the offer's policy: {e}")))?;
        let party_roles = self.roster_authenticated(&manifest).await?;
        admit(Admission {
            manifest: &manifest,
            holder: self.did(),
            agreement: &agreement,
            offer: &compiled,
            party_roles: &party_roles,
            now: Utc::now(),
        })
        .map_err(MoveError::Refused)?;
        let index = manifest
            .parties
            .iter()
            .position(|p| p.did == self.did())
            .unwrap_or_default();
        let inputs = manifest
            .parties
            .get(index)
            .is_some_and(|p| p.roles.contains(&PartyRole::Input));
        if inputs && offer.binding.is_none() {
            return Err(refused(
                "mpc:input-unavailable",
                format!("offer `{}` has no data bound to it here", offer.id),
            ));
        }
        let digest = digest(&token);
        let countersignature = countersign(self.cx.identity(), &manifest.session_id, &digest);
        let mut address = request_address(&token);
        address.endpoint_properties.clear();
        address.set_property("countersignature", &countersignature);
        tracing::info!(pid, session = %manifest.session_id, "session admitted");
        let part = Part {
            token,
            manifest: std::sync::Arc::new(manifest),
            digest,
            index,
            countersignature,
            input: offer.binding.clone(),
            grounds: agreement.grounds.clone(),
        };
        Ok((address, part))
    }

    /// Waits (a few seconds at most) until every other party of `manifest` is an authenticated
    /// peer here: its membership verified on the peer network, its PeerId its DID's key.
    /// Returns the roles their verified memberships give them.
    async fn roster_authenticated(
        &self,
        manifest: &Manifest,
    ) -> Result<std::collections::BTreeSet<String>, MoveError> {
        let Some(node) = self.cx.network().peers().node().cloned() else {
            return Err(MoveError::Refused(Refusal {
                code: "mpc:roster-unverified",
                reason: "this holder is not on the peer network, where sessions run".into(),
            }));
        };
        let others: Vec<String> = manifest
            .parties
            .iter()
            .filter(|p| p.did != self.did())
            .map(|p| p.did.clone())
            .collect();
        let missing = |node: &symbolon_p2p::NodeHandle| -> Vec<String> {
            let peers = node.peers();
            others
                .iter()
                .filter(|did| !peers.iter().any(|p| &p.did == *did && p.authenticated))
                .cloned()
                .collect()
        };
        for did in missing(&node) {
            // Known addresses let the node connect at once; otherwise discovery must find it.
            if let Ok(peer) = symbolon_p2p::peer_of_did(&did) {
                let address = format!("/p2p/{peer}");
                if let Ok(address) = address.parse() {
                    let _ = node.dial(address).await;
                }
            }
        }
        if !node
            .wait_until(ROSTER_WAIT, |n| missing(n).is_empty())
            .await
        {
            return Err(MoveError::Refused(Refusal {
                code: "mpc:roster-unverified",
                reason: format!(
                    "not authenticated on the peer network: {}",
                    missing(&node).join(", ")
                ),
            }));
        }
        Ok(node
            .peers()
            .into_iter()
            .filter(|p| p.authenticated && others.contains(&p.did))
            .flat_map(|p| p.roles)
            .collect())
    }
}
