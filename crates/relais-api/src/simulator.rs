//! `/admin/simulator/inbound`: a reply from a recipient, as if the simulator's
//! network had carried it (demos and tests: replies, STOP included). Present
//! when the gateway runs the built-in simulator.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use relais_core::number::{self, NumberPolicy};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Admin;
use crate::error::{ApiError, ErrorBody};
use crate::extract::JsonBody;
use crate::openapi::schemas;
use crate::state::SharedState;
use crate::v1::inbound::InboundBody;

pub fn router() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new().routes(routes!(inject_inbound))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InjectInbound {
    /// The replying number (any format; national ones read as French).
    #[schema(value_type = schemas::PhoneNumber)]
    pub from: String,
    /// The number or sender replied to.
    #[serde(default)]
    pub to: String,
    pub text: String,
    /// The account it is for; by default the account that last sent to `from`.
    pub account_id: Option<i64>,
}

/// Injects a reply through the simulator. STOP replies blacklist the number.
#[utoipa::path(
    post,
    path = "/admin/simulator/inbound",
    tag = "admin",
    request_body = InjectInbound,
    responses(
        (status = 201, description = "Stored (and pushed to the account's inbound webhook)", body = InboundBody),
        (status = 404, description = "No account sent to this number", body = ErrorBody),
        (status = 409, description = "The gateway runs no simulator", body = ErrorBody),
        (status = 422, description = "Invalid number", body = ErrorBody)
    ),
    security(("admin_token" = []))
)]
pub async fn inject_inbound(
    State(state): State<SharedState>,
    _: Admin,
    JsonBody(body): JsonBody<InjectInbound>,
) -> Result<(StatusCode, Json<InboundBody>), ApiError> {
    let Some(simulator) = &state.simulator else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "no_simulator",
            "this gateway runs no simulator",
        ));
    };
    let from = number::normalize(
        &body.from,
        relais_core::number::Country::FR,
        NumberPolicy::default(),
    )
    .map_err(|e| ApiError::unprocessable("invalid_number", e.to_string()).with_field("from"))?;
    let stored = simulator
        .inject_inbound(from.e164, &body.to, &body.text, body.account_id)
        .await;
    match stored {
        Some(inbound) => Ok((StatusCode::CREATED, Json(inbound.into()))),
        None => Err(ApiError::not_found()),
    }
}
