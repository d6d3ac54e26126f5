//! Campaigns: listing, one campaign with its messages per status, its
//! messages, and cancelling what has not left yet (`/v1/campaigns…`).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use relais_core::encoding::Encoding;
use relais_core::money::Amount;
use relais_core::plan::{Channel, Counters, MessageKind};
use relais_core::pricing::RouteClass;
use relais_store::{
    Campaign, CampaignFilter, CampaignStatus, CancelOutcome, MessageStatus, StatusCounts,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Id, Query};
use crate::openapi::schemas;
use crate::pagination::{self, Paged};
use crate::state::SharedState;
use crate::time::{parse_optional, rfc3339};
use crate::v1::messages::MessageBody;

pub fn router() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(list_campaigns))
        .routes(routes!(get_campaign, cancel_campaign))
        .routes(routes!(campaign_messages))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignBody {
    pub id: i64,
    #[schema(value_type = schemas::CampaignStatus)]
    pub status: CampaignStatus,
    /// The door it came through: "api", "smsfactor", …
    pub source: String,
    #[schema(value_type = schemas::MessageKind)]
    pub kind: MessageKind,
    #[schema(value_type = schemas::RouteClass)]
    pub route_class: RouteClass,
    /// The channels its messages try, in order.
    #[schema(value_type = Vec<schemas::Channel>)]
    pub channels: Vec<Channel>,
    pub sender: Option<String>,
    /// The shared text, or the first recipient's.
    pub text: String,
    #[schema(value_type = schemas::Encoding)]
    pub encoding: Encoding,
    pub segments: u16,
    #[schema(value_type = schemas::Counters)]
    pub counters: Counters,
    #[schema(value_type = String, example = "4.5")]
    pub cost: Amount,
    /// Credits given back for messages that never left.
    #[schema(value_type = String, example = "0")]
    pub refunded: Amount,
    pub send_at: String,
    pub expires_at: Option<String>,
    pub callback_url: Option<String>,
    pub tag: Option<String>,
    pub created_at: String,
}

impl From<Campaign> for CampaignBody {
    fn from(c: Campaign) -> Self {
        CampaignBody {
            id: c.id,
            status: c.status,
            source: c.source,
            kind: c.kind,
            route_class: c.route_class,
            channels: c.channels.channels().to_vec(),
            sender: c.sender,
            text: c.text,
            encoding: c.encoding,
            segments: c.segments,
            counters: c.counters,
            cost: c.cost,
            refunded: c.refunded,
            send_at: rfc3339(c.send_at),
            expires_at: c.expires_at.map(rfc3339),
            callback_url: c.callback_url,
            tag: c.tag,
            created_at: rfc3339(c.created_at),
        }
    }
}

/// A campaign with where its messages are.
#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignDetail {
    #[serde(flatten)]
    pub campaign: CampaignBody,
    /// Messages per status, every status listed.
    #[schema(value_type = BTreeMap<String, u64>)]
    pub messages: BTreeMap<&'static str, u64>,
    /// Delivered messages ÷ messages accepted (`counters.sent`); null when none were accepted.
    pub delivery_rate: Option<f64>,
}

impl CampaignDetail {
    fn new(campaign: Campaign, counts: &StatusCounts) -> Self {
        let messages = MessageStatus::ALL
            .iter()
            .map(|s| (s.as_str(), counts.get(s).copied().unwrap_or(0)))
            .collect();
        let delivered = counts.get(&MessageStatus::Delivered).copied().unwrap_or(0);
        let accepted = campaign.counters.sent;
        let delivery_rate = (accepted > 0).then(|| delivered as f64 / accepted as f64);
        CampaignDetail {
            campaign: campaign.into(),
            messages,
            delivery_rate,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CampaignQuery {
    #[param(value_type = Option<schemas::CampaignStatus>)]
    pub status: Option<String>,
    /// Created at or after (RFC 3339).
    #[param(format = DateTime)]
    pub from: Option<String>,
    /// Created before (RFC 3339).
    #[param(format = DateTime)]
    pub to: Option<String>,
    #[param(minimum = 0, maximum = 9223372036854775807_i64)]
    pub offset: Option<u64>,
    /// At most 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u64>,
}

/// The account's campaigns, newest first.
#[utoipa::path(
    get,
    path = "/v1/campaigns",
    tag = "campaigns",
    params(CampaignQuery),
    responses((status = 200, body = Paged<CampaignBody>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("api_key" = []))
)]
pub async fn list_campaigns(
    State(state): State<SharedState>,
    caller: Caller,
    Query(query): Query<CampaignQuery>,
) -> Result<Json<Paged<CampaignBody>>, ApiError> {
    let page = pagination::page(query.offset, query.limit)?;
    let status = status_param(query.status.as_deref(), CampaignStatus::parse)?;
    let filter = CampaignFilter {
        created_from: parse_optional("from", query.from.as_deref())?.map(|t| t.as_millisecond()),
        created_to: parse_optional("to", query.to.as_deref())?.map(|t| t.as_millisecond()),
        status,
    };
    let campaigns = state
        .store
        .campaigns(caller.account.id, &filter, page.clone())
        .await?;
    Ok(Json(Paged::new(&page, campaigns)))
}

/// One campaign.
#[utoipa::path(
    get,
    path = "/v1/campaigns/{id}",
    tag = "campaigns",
    params(("id" = i64, Path, description = "Campaign id")),
    responses((status = 200, body = CampaignDetail), (status = 404, body = ErrorBody)),
    security(("api_key" = []))
)]
pub async fn get_campaign(
    State(state): State<SharedState>,
    caller: Caller,
    Id(id): Id,
) -> Result<Json<CampaignDetail>, ApiError> {
    let account = caller.account.id;
    let (campaign, counts) = state
        .store
        .campaign_with_counts(account, id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(CampaignDetail::new(campaign, &counts)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CancelAnswer {
    /// Messages cancelled.
    pub cancelled: u64,
    /// Credits given back.
    #[schema(value_type = String, example = "0.45")]
    pub refunded: Amount,
}

impl From<CancelOutcome> for CancelAnswer {
    fn from(o: CancelOutcome) -> Self {
        CancelAnswer {
            cancelled: o.cancelled,
            refunded: o.refunded,
        }
    }
}

/// Cancels the campaign's messages not yet handed to a carrier, and refunds them.
#[utoipa::path(
    delete,
    path = "/v1/campaigns/{id}",
    tag = "campaigns",
    params(("id" = i64, Path, description = "Campaign id")),
    responses((status = 200, body = CancelAnswer), (status = 404, body = ErrorBody)),
    security(("api_key" = []))
)]
pub async fn cancel_campaign(
    State(state): State<SharedState>,
    caller: Caller,
    Id(id): Id,
) -> Result<Json<CancelAnswer>, ApiError> {
    let now = relais_store::clock::now_ms();
    let outcome = state
        .store
        .cancel_campaign(caller.account.id, id, now)
        .await?;
    // The refund changed the balance the node's cache holds.
    state.pipeline.accounts().forget_account(caller.account.id);
    Ok(Json(outcome.into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessagesQuery {
    /// Only messages in this status.
    #[param(value_type = Option<schemas::MessageStatus>)]
    pub status: Option<String>,
    #[param(minimum = 0, maximum = 9223372036854775807_i64)]
    pub offset: Option<u64>,
    /// At most 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u64>,
}

/// The campaign's messages.
#[utoipa::path(
    get,
    path = "/v1/campaigns/{id}/messages",
    tag = "campaigns",
    params(("id" = i64, Path, description = "Campaign id"), MessagesQuery),
    responses((status = 200, body = Paged<MessageBody>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = []))
)]
pub async fn campaign_messages(
    State(state): State<SharedState>,
    caller: Caller,
    Id(id): Id,
    Query(query): Query<MessagesQuery>,
) -> Result<Json<Paged<MessageBody>>, ApiError> {
    let page = pagination::page(query.offset, query.limit)?;
    let status = status_param(query.status.as_deref(), MessageStatus::parse)?;
    let account = caller.account.id;
    // An empty list would not tell an unknown campaign from an empty page.
    state
        .store
        .campaign(account, id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let messages = state
        .store
        .campaign_messages(account, id, status, page.clone())
        .await?;
    Ok(Json(Paged::new(&page, messages)))
}

/// The `status` query parameter, read by the status type's own parser.
fn status_param<T>(
    value: Option<&str>,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>, ApiError> {
    value
        .map(|s| {
            parse(s).ok_or_else(|| {
                ApiError::bad_request("invalid_query", format!("unknown status {s:?}"))
                    .with_field("status")
            })
        })
        .transpose()
}
