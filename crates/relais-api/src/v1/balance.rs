//! `GET /v1/balance`: the account's credits.

use axum::Json;
use axum::extract::State;
use relais_core::money::Amount;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::state::SharedState;

pub fn router() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new().routes(routes!(balance))
}

/// The one currency balances and prices are in.
pub const CURRENCY: &str = "EUR";

#[derive(Debug, Serialize, ToSchema)]
pub struct BalanceAnswer {
    /// A decimal string; null for postpaid accounts (no credit limit).
    #[schema(value_type = Option<String>, example = "120.5")]
    pub balance: Option<Amount>,
    #[schema(example = "EUR")]
    pub currency: &'static str,
}

/// The account's balance.
#[utoipa::path(
    get,
    path = "/v1/balance",
    tag = "account",
    responses((status = 200, body = BalanceAnswer), (status = 401, body = ErrorBody)),
    security(("api_key" = []))
)]
pub async fn balance(
    State(state): State<SharedState>,
    caller: Caller,
) -> Result<Json<BalanceAnswer>, ApiError> {
    let caller = caller.reread(&state).await?;
    Ok(Json(BalanceAnswer {
        balance: caller.account.balance,
        currency: CURRENCY,
    }))
}
