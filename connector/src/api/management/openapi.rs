//! The management API's OpenAPI 3 document, generated from the handlers' annotations: every
//! route under `/api/v1` — the management API, the audit API and the console's auditor
//! sign-in (`tests/it/openapi.rs` checks that none is left out).

use actix_web::HttpResponse;

use super::identity::{__path_get_identity, CheckedCredential, IdentityView};
use super::issuance::{
    __path_approve, __path_deliver, __path_fetch_onboarding, __path_get_config,
    __path_get_onboarding, __path_get_registry, __path_get_request, __path_list_onboarding,
    __path_list_requests, __path_put_config, __path_put_registry, __path_reject,
    __path_start_onboarding, NewOnboarding, RejectRequest,
};
use super::negotiations::{
    __path_accept_offer, __path_agree_negotiation, __path_counter_offer, __path_counter_request,
    __path_get_agreement, __path_get_negotiation, __path_list_agreements, __path_list_negotiations,
    __path_offer_contract, __path_start_negotiation, __path_terminate_negotiation,
    __path_verify_agreement, __path_withdraw_agreement, AcceptOffer, CounterOffer, CounterRequest,
    NewNegotiation, TerminateNegotiation, WithdrawAgreement,
};
use super::policies::{__path_read_policy, PolicyText};
use super::session_events::__path_session_events;
use super::sessions::{
    __path_cancel_session, __path_get_session, __path_list_sessions, __path_session_result,
    __path_start_session, NewSession, PartyView, SessionView,
};
use super::transfers::{
    __path_complete_transfer, __path_get_transfer, __path_list_transfers, __path_refresh_transfer,
    __path_request_transfer, __path_start_transfer, __path_suspend_transfer,
    __path_terminate_transfer, NewTransfer, SuspendTransfer, TerminateTransfer,
};
use super::trust_list::{
    __path_approve_pending, __path_get_pending, __path_get_trust_list, __path_put_trust_list,
    __path_reject_pending, TrustListToInstall,
};
use super::{
    __path_create_offer, __path_delete_offer, __path_federated_catalog, __path_get_offer,
    __path_list_credentials, __path_list_events, __path_list_offers, __path_list_peers,
    __path_remove_credential, __path_store_credential, CredentialToStore, NewOffer,
};
use crate::api::audit::{
    __path_consistency, __path_entries, __path_export, __path_head, __path_inclusion,
};
use crate::api::console::auditor::{
    __path_challenge, __path_session, __path_sign_in, __path_sign_out, ChallengeIssued,
    SessionOpened, SessionShown, SignIn,
};
use crate::api::error::ErrorBody;
use crate::domain::{
    Agreement, DataAccess, DataSource, Decision, Event, HeldCredential, Negotiation, Obligation,
    Offer, OfferKind, Recommendation, Transfer,
};
use crate::negotiation::{OfferContract, StartNegotiation};
use crate::protocol::messages::{DataAddress, EndpointProperty};
use crate::transfer::StartTransfer;

/// The OpenAPI 3 document of the management API.
#[utoipa::path(get, path = "/api/v1/openapi.json", responses((status = 200, description = "The OpenAPI document")))]
pub(super) async fn serve() -> HttpResponse {
    HttpResponse::Ok().json(document())
}

/// The management API's OpenAPI description.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "Symbolon management API", description = "Offers, held credentials, credential issuance, contract negotiations, agreements, transfer processes, MPC sessions, the trust list and events of one Symbolon connector; its audit trail (read with the admin token, an auditor's console session, or a self-issued token presenting an AuditorCredential); and the web console's auditor sign-in."),
    paths(serve, list_offers, create_offer, get_offer, delete_offer, list_credentials,
          store_credential, remove_credential, list_negotiations, start_negotiation, get_negotiation,
          offer_contract, accept_offer, agree_negotiation, counter_offer, counter_request,
          verify_agreement, terminate_negotiation,
          list_agreements, get_agreement, withdraw_agreement, list_transfers, request_transfer, get_transfer,
          start_transfer, suspend_transfer, complete_transfer, terminate_transfer, refresh_transfer, get_trust_list, put_trust_list,
          get_pending, approve_pending, reject_pending, list_events,
          list_peers, federated_catalog, list_sessions, start_session, get_session,
          cancel_session, session_result, list_requests, get_request, approve, reject, deliver,
          get_registry, put_registry, get_config, put_config, list_onboarding,
          get_onboarding, fetch_onboarding, start_onboarding, get_identity, session_events, read_policy,
          head, entries, inclusion, consistency, export, challenge, sign_in, session, sign_out),
    components(schemas(Offer, OfferKind, DataSource, DataAccess, NewOffer, HeldCredential, Negotiation, NewNegotiation,
                       StartNegotiation, OfferContract, AcceptOffer, TerminateNegotiation,
                       CounterOffer, CounterRequest, Decision, Recommendation, Agreement,
                       WithdrawAgreement, crate::domain::Withdrawal,
                       Obligation, Event, CredentialToStore, TrustListToInstall, Transfer,
                       NewTransfer, StartTransfer, SuspendTransfer, TerminateTransfer, DataAddress,
                       EndpointProperty, crate::transfer::state::TransferState,
                       crate::negotiation::state::NegotiationState,
                       crate::negotiation::state::Role, NewSession, SessionView, PartyView,
                       crate::session::start::StartSession, crate::session::start::ProgramChoice,
                       crate::domain::SessionState, crate::domain::InputBinding,
                       crate::session::transport::Progress,
                       crate::domain::IssuanceRequest, crate::domain::IssuanceStatus,
                       crate::domain::IssuedPayload, crate::domain::IssuerConfig,
                       crate::domain::Approval, crate::domain::Organisation,
                       crate::domain::OrganisationRegistry, crate::domain::Onboarding,
                       RejectRequest, NewOnboarding, IdentityView, CheckedCredential, PolicyText,
                       ErrorBody, ChallengeIssued, SignIn, SessionOpened, SessionShown)),
    modifiers(&AdminTokenScheme)
)]
pub struct ManagementApi;

/// Declares the `admin` bearer-token security scheme.
struct AdminTokenScheme;

impl utoipa::Modify for AdminTokenScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "admin",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        // The session token `POST /api/v1/console/auditor/session` hands out (`auditor_…`).
        components.add_security_scheme(
            "auditor_session",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        // A self-issued token (JWT) whose `vp` claim presents an `AuditorCredential`.
        let mut token = Http::new(HttpAuthScheme::Bearer);
        token.bearer_format = Some("JWT".into());
        components.add_security_scheme("auditor_token", SecurityScheme::Http(token));
    }
}

/// The OpenAPI document, as JSON.
pub fn document() -> utoipa::openapi::OpenApi {
    <ManagementApi as utoipa::OpenApi>::openapi()
}
