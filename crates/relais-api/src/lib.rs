//! relais-api: the HTTP front doors of relais.
//!
//! It owns translating HTTP into the pipeline's terms and back: parsing
//! requests of the native `/v1` API and `/admin` into `relais-core`/
//! `relais-engine` calls ([`relais_engine::send::Pipeline::send`] is the only
//! way anything is sent), rendering their outcomes and errors as JSON, the
//! operations endpoints (`/healthz`, `/readyz`, `/metrics`), the OpenAPI
//! document and the native shape of client callbacks.
//!
//! It holds no business rule: what is sent, to whom, when and at what price is
//! decided by the pipeline. The modules shared by every door — [`auth`],
//! [`error`], [`extract`], [`pagination`], [`time`] — are where dialects
//! mounted under `/compat/...` find credential lookup, error rendering,
//! request parsing and formatting.

pub mod admin;
pub mod auth;
pub mod callbacks;
pub mod connectors;
pub mod dialects;
pub mod error;
pub mod extract;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod openapi;
pub mod ops;
pub mod pagination;
pub mod simulator;
pub mod state;
pub mod time;
pub mod v1;

pub use callbacks::{DoorCallbacks, NativeCallbacks};
pub use state::{ApiConfig, AppState, RateLimit, SharedState};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use relais_connectors::contract::Intake;

/// The whole HTTP API: `/v1`, `/admin`, operations endpoints, `/openapi.json`
/// and Swagger UI at `/docs`.
/// Every dialect is nested under `/compat/{name}`, and each connector's intake
/// routes under `/connectors/{name}/{secret}` (with the intake body limit).
pub fn router(state: SharedState, intakes: Vec<Intake>) -> Router {
    let body_limit = state.config.body_limit;
    let (mut api, doc) = openapi::api_router().split_for_parts();
    for name in dialects::NAMES {
        if let Some(dialect) = dialects::router(name) {
            api = api.nest(&format!("/compat/{name}"), dialect);
        }
    }
    for intake in intakes {
        api = intake.mount(api);
    }
    api.merge(openapi::docs(doc))
        .fallback(error::not_found_fallback)
        .layer(axum::middleware::from_fn(ops::track_requests))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}

/// One dialect served at the root of a listener of its own (for clients whose
/// SDK fixes the paths), sharing the main listener's state.
pub fn dialect_router(name: &str, state: SharedState) -> Option<Router> {
    let body_limit = state.config.body_limit;
    let dialect = dialects::router(name)?;
    Some(
        dialect
            .fallback(error::not_found_fallback)
            .layer(axum::middleware::from_fn(ops::track_requests))
            .layer(DefaultBodyLimit::max(body_limit))
            .with_state(state),
    )
}
