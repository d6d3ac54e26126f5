//! The native REST API, `/v1`: every endpoint is authenticated with an API key
//! (`Authorization: Bearer <key>`, see [`crate::auth::Caller`]) and answers JSON.

pub mod balance;
pub mod campaigns;
pub mod inbound;
pub mod lists;
pub mod messages;
pub mod quote;
pub mod webhooks;

use utoipa_axum::router::OpenApiRouter;

use crate::state::SharedState;

/// The `/v1` routes, with their OpenAPI paths.
pub fn router() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .merge(messages::router())
        .merge(quote::router())
        .merge(campaigns::router())
        .merge(balance::router())
        .merge(lists::router())
        .merge(inbound::router())
        .merge(webhooks::router())
}
