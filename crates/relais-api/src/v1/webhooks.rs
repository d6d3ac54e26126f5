//! `/v1/webhooks`: where the account's callbacks go, and the secret they are
//! signed with (HMAC-SHA256, see `relais_engine::webhooks`).
//!
//! The secret is never shown by `GET`. `PUT` sets it when given (16 to 256
//! characters); when not given the current secret is kept, and an account that
//! has none gets one generated, shown in that `PUT`'s answer only. To rotate,
//! `PUT` a new one.

use axum::Json;
use axum::extract::State;
use rand::RngCore;
use relais_engine::callback_url::check_callback_url;
use relais_store::{CallbackEvents, WebhookUrls};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::JsonBody;
use crate::openapi::schemas;
use crate::state::SharedState;

pub fn router() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new().routes(routes!(get_webhooks, put_webhooks))
}

const SECRET_LEN: std::ops::RangeInclusive<usize> = 16..=256;
const BATCH_MAX: std::ops::RangeInclusive<u32> = 1..=1000;

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhooksAnswer {
    /// Delivery reports go here (unless a send names its own `callback_url`).
    pub dlr: Option<String>,
    /// Replies and STOP replies go here.
    pub inbound: Option<String>,
    /// Which status changes are pushed, for sends that do not say.
    #[schema(value_type = schemas::CallbackEvents)]
    pub callback_events: CallbackEvents,
    /// Native status callbacks to one URL go as one POST of a JSON array of
    /// up to this many events; null: one event per POST.
    pub batch_max: Option<u32>,
    pub has_secret: bool,
    /// Only in the answer to the `PUT` that generated it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl WebhooksAnswer {
    fn new(urls: WebhookUrls, has_secret: bool, secret: Option<String>) -> Self {
        WebhooksAnswer {
            dlr: urls.dlr,
            inbound: urls.inbound,
            callback_events: urls.callback_events,
            batch_max: urls.batch_max,
            has_secret,
            secret,
        }
    }
}

/// The new webhook settings: both URLs are replaced (absent or null: none);
/// `callback_events` and `batch_max` are kept when absent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhooksBody {
    /// Where delivery reports go: an absolute http(s) URL.
    #[schema(format = "uri")]
    pub dlr: Option<String>,
    /// Where replies go: an absolute http(s) URL.
    #[schema(format = "uri")]
    pub inbound: Option<String>,
    /// `all` or `final`: which status changes are pushed, for sends that do
    /// not say (`callback_events` of `POST /v1/messages`).
    #[schema(value_type = Option<schemas::CallbackEvents>)]
    pub callback_events: Option<CallbackEvents>,
    /// 2 to 1000: join native status callbacks into JSON arrays of up to
    /// this many events per POST; 1: one event per POST.
    #[schema(minimum = 1, maximum = 1000)]
    pub batch_max: Option<u32>,
    /// The signing secret, 16 to 256 characters; generated when absent and
    /// the account has none.
    #[schema(min_length = 16, max_length = 256)]
    pub secret: Option<String>,
}

/// Where callbacks go.
#[utoipa::path(
    get,
    path = "/v1/webhooks",
    tag = "account",
    responses((status = 200, body = WebhooksAnswer), (status = 401, body = ErrorBody)),
    security(("api_key" = []))
)]
pub async fn get_webhooks(caller: Caller) -> Json<WebhooksAnswer> {
    let settings = caller.account.settings;
    Json(WebhooksAnswer::new(
        settings.webhooks,
        !settings.webhook_secret.is_empty(),
        None,
    ))
}

/// Sets where callbacks go, and the signing secret.
#[utoipa::path(
    put,
    path = "/v1/webhooks",
    tag = "account",
    request_body = WebhooksBody,
    responses(
        (status = 200, body = WebhooksAnswer),
        (status = 400, body = ErrorBody),
        (status = 422, description = "A URL or the secret is refused", body = ErrorBody)
    ),
    security(("api_key" = []))
)]
pub async fn put_webhooks(
    State(state): State<SharedState>,
    caller: Caller,
    JsonBody(body): JsonBody<WebhooksBody>,
) -> Result<Json<WebhooksAnswer>, ApiError> {
    let allow_private = state.config.allow_private_callbacks;
    for (field, url) in [("dlr", &body.dlr), ("inbound", &body.inbound)] {
        if let Some(url) = url {
            check_callback_url(url, allow_private).map_err(|e| ApiError::callback_url(field, e))?;
        }
    }
    if let Some(n) = body.batch_max
        && !BATCH_MAX.contains(&n)
    {
        return Err(ApiError::unprocessable(
            "invalid_batch_max",
            "batch_max must be from 1 (one event per request) to 1000",
        )
        .with_field("batch_max"));
    }
    if let Some(secret) = &body.secret
        && !SECRET_LEN.contains(&secret.chars().count())
    {
        return Err(ApiError::unprocessable(
            "invalid_secret",
            "the secret must have 16 to 256 characters",
        )
        .with_field("secret"));
    }
    // Applied to the settings as they are when the store holds the account:
    // only the webhook fields change, and a concurrent change is kept.
    let mut shown = None;
    let settings = state
        .pipeline
        .accounts()
        .patch_settings(caller.account.id, |settings| {
            shown = None;
            match &body.secret {
                Some(secret) => settings.webhook_secret = secret.clone(),
                None if settings.webhook_secret.is_empty() => {
                    settings.webhook_secret = generate_secret();
                    shown = Some(settings.webhook_secret.clone());
                }
                None => {}
            }
            let current = &settings.webhooks;
            settings.webhooks = WebhookUrls {
                dlr: body.dlr.clone(),
                inbound: body.inbound.clone(),
                dialect: None,
                callback_events: body.callback_events.unwrap_or(current.callback_events),
                batch_max: match body.batch_max {
                    Some(n) => (n > 1).then_some(n),
                    None => current.batch_max,
                },
            };
            Ok::<_, ApiError>(())
        })
        .await?;
    Ok(Json(WebhooksAnswer::new(settings.webhooks, true, shown)))
}

/// 32 random bytes, hex-encoded.
fn generate_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}
