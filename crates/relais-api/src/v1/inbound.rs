//! `GET /v1/inbound`: replies received from recipients, STOP replies included.

use axum::Json;
use axum::extract::State;
use relais_store::Inbound;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::Query;
use crate::pagination::{PageParams, Paged};
use crate::state::SharedState;
use crate::time::rfc3339;

pub fn router() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new().routes(routes!(list_inbound))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InboundBody {
    pub id: i64,
    /// The recipient who replied (E.164).
    #[schema(example = "+33612345678")]
    pub from: String,
    /// The number or sender the reply was sent to.
    pub to: String,
    pub text: String,
    /// A STOP reply: the number was blacklisted.
    pub is_stop: bool,
    /// The last message the account sent to this number, if any.
    pub message_id: Option<i64>,
    pub campaign_id: Option<i64>,
    pub received_at: String,
}

impl From<Inbound> for InboundBody {
    fn from(i: Inbound) -> Self {
        InboundBody {
            id: i.id,
            from: i.from.to_string(),
            to: i.to,
            text: i.text,
            is_stop: i.is_stop,
            message_id: i.message_id,
            campaign_id: i.campaign_id,
            received_at: rfc3339(i.received_at),
        }
    }
}

/// Replies received, newest first.
#[utoipa::path(
    get,
    path = "/v1/inbound",
    tag = "inbound",
    params(PageParams),
    responses((status = 200, body = Paged<InboundBody>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("api_key" = []))
)]
pub async fn list_inbound(
    State(state): State<SharedState>,
    caller: Caller,
    Query(params): Query<PageParams>,
) -> Result<Json<Paged<InboundBody>>, ApiError> {
    let page = params.page()?;
    let items = state.store.inbound(caller.account.id, page.clone()).await?;
    Ok(Json(Paged::new(&page, items)))
}
