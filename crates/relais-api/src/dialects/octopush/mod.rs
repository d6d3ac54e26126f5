//! The Octopush dialect: its old API (`/api/sms`, `/api/balance`,
//! `/api/credit`, form-encoded, XML or JSON answers: [`old_api`]) and its v1
//! API (`/v1/public/…`, JSON: [`v1`]), both sending through one translation
//! ([`send`]), with Octopush's return codes ([`errors`]) and callbacks in the
//! v1 shapes ([`callbacks`]).
//!
//! What both APIs share:
//! - Login: `user_login`/`api-login` is the account's name or e-mail and
//!   `api_key`/`api-key` one of that account's relais API keys.
//! - Marketing texts must carry a STOP mention: Octopush refuses them with
//!   code 121 rather than appending one, so this door plans its requests
//!   under the `Refuse` opt-out policy whatever the account's policy (the
//!   pipeline's STOP rule, applied as Octopush applies it). Transactional
//!   sends (old API `transactional=1`, v1 `purpose: alert`) need none.
//! - `sms_type`/`type`: low cost (`XXX`, `sms_low_cost`) takes the account's
//!   low-cost routes and prices, premium (`FR`, `WWW`, `sms_premium`) the
//!   premium ones.
//! - `request_id` deduplicates through the store's idempotency keys
//!   (`octopush:<request_id>`, within relais' idempotency window): a repeat
//!   sends nothing and answers 120.
//! - A request none of whose recipients is left to send to (invalid,
//!   blacklisted, …: the pipeline's rule) is refused (117), simulated or
//!   not, and stores nothing; otherwise those left out are reported.
//! - `with_replies` is accepted and changes nothing: replies always reach the
//!   account's inbound webhook.

pub mod callbacks;
pub mod errors;
pub mod old_api;
pub mod v1;

pub use callbacks::render_callback;

use axum::Router;
use axum::http::StatusCode;
use relais_core::optout::OptOutPolicy;
use relais_core::plan::{Plan, SendRequest};
use relais_engine::send::{SendError, SendOptions, SendOutcome};
use relais_store::{CampaignId, CampaignMeta, IdempotencyRecord};

use crate::auth::Caller;
use crate::dialects::common::credentials;
use crate::state::{AppState, SharedState};
use errors::{Code, Failure};

/// The campaign `source` of requests through either API.
pub const SOURCE: &str = "octopush";

pub fn router() -> Router<SharedState> {
    Router::new().merge(old_api::router()).merge(v1::router())
}

/// The caller of a login (account name or e-mail) and an API key, which must
/// be one of that account's keys.
async fn caller(
    state: &AppState,
    login: Option<&str>,
    key: Option<&str>,
) -> Result<Caller, Failure> {
    let unauthorized = StatusCode::UNAUTHORIZED;
    let login = present(login).ok_or(Failure::new(Code::NO_LOGIN, unauthorized))?;
    let key = present(key).ok_or(Failure::new(Code::NO_API_KEY, unauthorized))?;
    let caller = credentials::authenticate(state, Some(key)).await?;
    let owner = state
        .pipeline
        .accounts()
        .login_owner(login)
        .await
        .map_err(Failure::internal)?;
    if owner != Some(caller.account.id) {
        return Err(Failure::new(Code::BAD_LOGIN, unauthorized));
    }
    Ok(caller)
}

/// A parameter given and not blank, trimmed.
fn present(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

/// A send as either API asks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Send {
    pub request: SendRequest,
    /// `request_mode=simu`, `simulation_mode: true`.
    pub simulate: bool,
    pub request_id: Option<String>,
}

/// What a send became: committed (with its campaign) or simulated.
#[derive(Debug)]
pub struct Sent {
    pub campaign_id: Option<CampaignId>,
    pub plan: Plan,
}

/// Sends through the pipeline (see the module documentation for what this
/// door decides).
async fn send(state: &AppState, caller: &Caller, send: &Send) -> Result<Sent, Failure> {
    let options = SendOptions {
        simulate: send.simulate,
        meta: CampaignMeta {
            source: SOURCE.into(),
            // A repeat is refused (120), never answered again: the record
            // only has to exist, and holds the campaign id.
            idempotency: send.request_id.as_ref().map(|id| IdempotencyRecord {
                key: format!("octopush:{id}"),
                answer_template: "{campaign_id}".into(),
                since: 0,
                request_hash: String::new(),
            }),
            ..CampaignMeta::default()
        },
        opt_out: Some(OptOutPolicy::Refuse),
    };
    match state
        .pipeline
        .send(&caller.account, &send.request, options)
        .await?
    {
        // A simulation is refused as the send would be (117).
        SendOutcome::Planned {
            campaign_id: None,
            plan,
        } => Ok(Sent {
            campaign_id: None,
            plan: plan
                .into_sendable()
                .map_err(|e| Failure::from(SendError::Plan(e)))?,
        }),
        SendOutcome::Planned { campaign_id, plan } => Ok(Sent { campaign_id, plan }),
        SendOutcome::Replayed(_) => {
            Err(Failure::new(Code::DUPLICATE_REQUEST, StatusCode::CONFLICT))
        }
    }
}
