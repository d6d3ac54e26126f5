//! The SMSAdvert dialect: `POST /api/sms/` (also without the final slash)
//! translated into one [`SendRequest`], its answer and errors in SMSAdvert's
//! JSON, and delivery reports in the shape of its `callback`.
//!
//! ```text
//! POST /api/sms/                      Authorization: <relais API key>
//! {"phone": "+40740123456,+40740123457", "shortTextMessage": "…", "sendAsShort": true,
//!  "failover": "short", "startDate": 1486883578036, "endDate": 1486889778036,
//!  "callback": "https://example.com/dlr"}
//! 200 {"successMessage": "Your message has been successfully submitted!", "msgId": "42"}
//! ```
//!
//! Decisions where SMSAdvert documents nothing or relais differs:
//! - `Authorization` carries the raw relais API key (a `Bearer ` prefix is
//!   tolerated).
//! - Channels: SMSAdvert sends through the customer's own phones unless
//!   `sendAsShort` is true, with `failover: "short"` falling back to its
//!   network. relais has no own-device connector yet: the campaign's channel
//!   order names the gateway's routes configured for `devices` and `network`
//!   (premium class). `sendAsShort: true` takes the network (a failover then
//!   changes nothing); false or absent takes the devices routes only, or
//!   then the network with `failover: "short"`. A message with no route for
//!   its channels fails ("no route"). Any other `failover` value is refused.
//! - Messages are transactional (SMSAdvert has no marketing notion): no STOP
//!   mention, no quiet hours.
//! - `startDate`/`endDate` (Unix milliseconds) become the campaign's send time
//!   and expiry: the pipeline refuses a start more than a few minutes in the
//!   past and an end before the start.
//! - Every number must be E.164 (`+` and digits) and valid for its country,
//!   else the whole request is refused on `phone`; duplicates are dropped by
//!   the pipeline (counted as `duplicated`).
//! - `msgId` is the campaign id: one per request, as SMSAdvert gives one per
//!   request. Each recipient's final status is posted to `callback` (or the
//!   account's DLR webhook) as `{"status": "delivered"|"failed", "msgId"}`;
//!   intermediate statuses and replies send nothing.
//! - Errors are never 2xx. `{"errors": {field: message}}` (status 400) for a
//!   refused field, with the messages of SMSAdvert's French documentation;
//!   `{"errorMessage": …}` otherwise: 400 unreadable body, 401 missing or
//!   unknown key, 402 not enough credit, 403 disabled account, 405 other
//!   methods, 413 body too large, 422 unusable account default sender, 429 rate
//!   limited (with `Retry-After`), 500 "There was a database error!".

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use jiff::Timestamp;
use relais_core::number::{self, Country, E164, NumberPolicy};
use relais_core::plan::{ChannelOrder, MessageKind, PlanError, Recipient, SendRequest};
use relais_core::pricing::RouteClass;
use relais_engine::callback_url::check_callback_url;
use relais_engine::send::{SendError, SendOptions, SendOutcome};
use relais_engine::webhooks::{CallbackFacts, RenderedCallback};
use relais_store::{CampaignMeta, EventKind, MessageStatus, Webhook};
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::common::body::{self, BodyError};
use super::common::credentials::{self, AuthError};
use super::common::numbers::{self, ListError, ListRules};
use crate::auth::bearer_token;
use crate::state::{ApiConfig, SharedState};

/// The campaign `source` of requests through this door.
pub const SOURCE: &str = "smsadvert";

/// Most numbers one request may carry.
pub const MAX_PHONES: usize = 1000;
/// Bounds of `shortTextMessage`, in characters.
pub const TEXT_CHARS: std::ops::RangeInclusive<usize> = 3..=480;

const SUBMITTED: &str = "Your message has been successfully submitted!";
const INVALID_PHONE: &str = "Numéro de téléphone invalide!";
const TEXT_TOO_SHORT: &str = "Saisissez un minimum de caractères 3!";
const TEXT_TOO_LONG: &str = "Saisissez un maximum de caractères 480!";
const INVALID_DATE: &str = "Date invalide!";

pub fn router() -> Router<SharedState> {
    let send = post(send).fallback(method_not_allowed);
    Router::new()
        .route("/api/sms/", send.clone())
        .route("/api/sms", send)
}

/// An error answer in SMSAdvert's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// `{"errors": {field: message}}`, 400.
    Fields(BTreeMap<&'static str, String>),
    /// `{"errorMessage": message}`.
    Message {
        status: StatusCode,
        message: String,
        retry_after: Option<u64>,
    },
}

impl Refusal {
    fn message(status: StatusCode, message: impl Into<String>) -> Self {
        Refusal::Message {
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    fn field(field: &'static str, message: impl Into<String>) -> Self {
        Refusal::Fields(BTreeMap::from([(field, message.into())]))
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::Fields(errors) => (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({ "errors": errors })),
            )
                .into_response(),
            Refusal::Message {
                status,
                message,
                retry_after,
            } => {
                let mut response =
                    (status, axum::Json(json!({ "errorMessage": message }))).into_response();
                if let Some(secs) = retry_after {
                    response
                        .headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
                }
                response
            }
        }
    }
}

impl From<AuthError> for Refusal {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Missing => Refusal::message(
                StatusCode::UNAUTHORIZED,
                "Missing API token: send it in the Authorization header!",
            ),
            AuthError::Invalid => Refusal::message(StatusCode::UNAUTHORIZED, "Invalid API token!"),
            AuthError::AccountDisabled => {
                Refusal::message(StatusCode::FORBIDDEN, "Your account is disabled!")
            }
            AuthError::RateLimited(secs) => Refusal::Message {
                status: StatusCode::TOO_MANY_REQUESTS,
                message: "Too many requests!".into(),
                retry_after: Some(secs),
            },
            AuthError::Internal => database_error(),
        }
    }
}

impl From<BodyError> for Refusal {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::TooLarge => {
                Refusal::message(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large!")
            }
            BodyError::Unreadable(_) => {
                Refusal::message(StatusCode::BAD_REQUEST, "Invalid request body!")
            }
        }
    }
}

/// What SMSAdvert answers when it fails on its side (details are logged, not told).
fn database_error() -> Refusal {
    Refusal::message(
        StatusCode::INTERNAL_SERVER_ERROR,
        "There was a database error!",
    )
}

impl From<SendError> for Refusal {
    fn from(e: SendError) -> Self {
        match e {
            SendError::Plan(e) => plan_refusal(e),
            SendError::AccountDisabled => AuthError::AccountDisabled.into(),
            other => {
                tracing::error!(error = %other, "SMSAdvert send failed");
                database_error()
            }
        }
    }
}

/// A planning error on the field it is about.
fn plan_refusal(e: PlanError) -> Refusal {
    let (field, message) = match &e {
        PlanError::NoRecipients | PlanError::NoValidRecipient { .. } => {
            ("phone", INVALID_PHONE.to_owned())
        }
        PlanError::TooManyRecipients { max } => {
            ("phone", format!("Maximum {max} numéros de téléphone!"))
        }
        PlanError::MissingText | PlanError::EmptyText => {
            ("shortTextMessage", TEXT_TOO_SHORT.to_owned())
        }
        PlanError::TextTooLong { .. } => ("shortTextMessage", TEXT_TOO_LONG.to_owned()),
        PlanError::NotGsm7(_) | PlanError::ControlCharacter { .. } => (
            "shortTextMessage",
            "Le message contient des caractères non acceptés!".to_owned(),
        ),
        PlanError::MissingStopMention(_) => (
            "shortTextMessage",
            "Le message doit contenir la mention STOP!".to_owned(),
        ),
        PlanError::SendTimeInPast => ("startDate", "La date de début est passée!".to_owned()),
        PlanError::WindowEndBeforeStart | PlanError::WindowClosedByQuietHours => (
            "endDate",
            "La date de fin doit suivre la date de début!".to_owned(),
        ),
        PlanError::InsufficientCredits { .. } => {
            return Refusal::message(StatusCode::PAYMENT_REQUIRED, "Insufficient credit!");
        }
        // The only sender is the account's default: the operator's setting.
        PlanError::InvalidSender(_) => {
            return Refusal::message(
                StatusCode::UNPROCESSABLE_ENTITY,
                "The account's default sender is invalid!",
            );
        }
    };
    Refusal::field(field, message)
}

async fn method_not_allowed() -> Refusal {
    Refusal::message(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed!")
}

/// The API key of `Authorization: <key>` (or `Bearer <key>`).
fn token(headers: &HeaderMap) -> Option<&str> {
    bearer_token(headers).or_else(|| {
        headers
            .get(header::AUTHORIZATION)?
            .to_str()
            .ok()
            .map(str::trim)
    })
}

#[derive(Serialize)]
struct Submitted {
    #[serde(rename = "successMessage")]
    success_message: &'static str,
    #[serde(rename = "msgId")]
    msg_id: String,
}

async fn send(
    State(state): State<SharedState>,
    headers: HeaderMap,
    request: Request,
) -> Result<Response, Refusal> {
    let caller = credentials::authenticate(&state, token(&headers)).await?;
    let body = body::read(request).await?;
    let (request, callback_url) = parse(&body, &state.config)?;
    let options = SendOptions {
        simulate: false,
        meta: CampaignMeta {
            source: SOURCE.into(),
            callback_url,
            ..CampaignMeta::default()
        },
        ..SendOptions::default()
    };
    match state
        .pipeline
        .send(&caller.account, &request, options)
        .await?
    {
        SendOutcome::Planned {
            campaign_id: Some(id),
            ..
        } => Ok(axum::Json(Submitted {
            success_message: SUBMITTED,
            msg_id: id.to_string(),
        })
        .into_response()),
        // Neither simulated nor idempotent: the pipeline commits and answers an id.
        other => {
            tracing::error!(outcome = ?other, "unexpected SMSAdvert send outcome");
            Err(database_error())
        }
    }
}

/// Reads the body into the pipeline's request and the callback URL, refusing
/// every bad field at once.
pub(crate) fn parse(
    body: &[u8],
    config: &ApiConfig,
) -> Result<(SendRequest, Option<String>), Refusal> {
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(body) else {
        return Err(Refusal::message(
            StatusCode::BAD_REQUEST,
            "Invalid JSON body: expected an object!",
        ));
    };
    let mut errors = BTreeMap::new();
    let mut check = |field: &'static str, result: Result<(), String>| {
        if let Err(message) = result {
            errors.insert(field, message);
        }
    };
    let mut phones = Vec::new();
    check("phone", parse_phones(&fields, config, &mut phones));
    let mut text = String::new();
    check("shortTextMessage", parse_text(&fields, &mut text));
    let mut send_as_short = false;
    check(
        "sendAsShort",
        parse_send_as_short(&fields, &mut send_as_short),
    );
    let mut failover = false;
    check("failover", parse_failover(&fields, &mut failover));
    let mut send_at = None;
    check(
        "startDate",
        parse_unix_ms(fields.get("startDate"), &mut send_at),
    );
    let mut expires_at = None;
    check(
        "endDate",
        parse_unix_ms(fields.get("endDate"), &mut expires_at),
    );
    let mut callback = None;
    check("callback", parse_callback(&fields, config, &mut callback));
    if !errors.is_empty() {
        return Err(Refusal::Fields(errors));
    }
    let request = SendRequest {
        text: Some(text),
        recipients: phones.into_iter().map(Recipient::new).collect(),
        kind: MessageKind::Transactional,
        send_at,
        expires_at,
        route_class: RouteClass::Premium,
        channels: channels(send_as_short, failover),
        ..SendRequest::default()
    };
    Ok((request, callback))
}

/// `phone`: E.164 numbers separated by commas, no empty item (a trailing comma
/// is refused), at most [`MAX_PHONES`] (or the gateway's own cap).
fn parse_phones(
    fields: &Map<String, Value>,
    config: &ApiConfig,
    out: &mut Vec<String>,
) -> Result<(), String> {
    let list = match fields.get("phone") {
        Some(Value::String(list)) if !list.trim().is_empty() => list,
        Some(Value::String(_) | Value::Null) | None => {
            return Err("Le numéro de téléphone est obligatoire!".into());
        }
        Some(_) => return Err(INVALID_PHONE.into()),
    };
    let rules = ListRules {
        max: MAX_PHONES.min(config.max_recipients),
        strict: true,
    };
    let numbers = numbers::split(list, rules).map_err(|e| match e {
        ListError::Empty => "Le numéro de téléphone est obligatoire!".to_owned(),
        ListError::TooMany { max, .. } => format!("Maximum {max} numéros de téléphone!"),
        ListError::TrailingComma => "La virgule n'est pas acceptée à la fin de la liste!".into(),
        ListError::EmptyItem { .. } => INVALID_PHONE.into(),
    })?;
    if !numbers.iter().all(|n| is_e164(n)) {
        return Err(INVALID_PHONE.into());
    }
    *out = numbers.into_iter().map(str::to_owned).collect();
    Ok(())
}

/// Written as E.164 (`+` and digits only) and a valid number of its country.
fn is_e164(number: &str) -> bool {
    number.parse::<E164>().is_ok()
        && number::normalize(number, Country::FR, NumberPolicy::default()).is_ok()
}

fn parse_text(fields: &Map<String, Value>, out: &mut String) -> Result<(), String> {
    let text = match fields.get("shortTextMessage") {
        Some(Value::String(text)) => text,
        Some(Value::Null) | None => return Err(TEXT_TOO_SHORT.into()),
        Some(_) => return Err("Le message doit être un texte!".into()),
    };
    let chars = text.chars().count();
    if chars < *TEXT_CHARS.start() {
        return Err(TEXT_TOO_SHORT.into());
    }
    if chars > *TEXT_CHARS.end() {
        return Err(TEXT_TOO_LONG.into());
    }
    out.clone_from(text);
    Ok(())
}

/// `sendAsShort`: a boolean when present (absent is false).
fn parse_send_as_short(fields: &Map<String, Value>, out: &mut bool) -> Result<(), String> {
    match fields.get("sendAsShort") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Bool(short)) => {
            *out = *short;
            Ok(())
        }
        Some(_) => Err("sendAsShort doit être true ou false!".into()),
    }
}

/// `failover`: only `"short"` (fall back to the network) when present.
fn parse_failover(fields: &Map<String, Value>, out: &mut bool) -> Result<(), String> {
    match fields.get("failover") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(channel)) if channel == "short" => {
            *out = true;
            Ok(())
        }
        Some(_) => Err("Le canal secondaire doit être \"short\"!".into()),
    }
}

/// The channels `sendAsShort` and `failover: "short"` ask for.
fn channels(send_as_short: bool, failover: bool) -> ChannelOrder {
    match (send_as_short, failover) {
        (true, _) => ChannelOrder::Network,
        (false, false) => ChannelOrder::Devices,
        (false, true) => ChannelOrder::DevicesThenNetwork,
    }
}

/// A Unix time in milliseconds (an integer), when present.
fn parse_unix_ms(value: Option<&Value>, out: &mut Option<Timestamp>) -> Result<(), String> {
    match value {
        None | Some(Value::Null) => Ok(()),
        Some(value) => {
            let at = value
                .as_i64()
                .and_then(|ms| Timestamp::from_millisecond(ms).ok())
                .ok_or_else(|| INVALID_DATE.to_owned())?;
            *out = Some(at);
            Ok(())
        }
    }
}

/// `callback`: an http(s) URL the gateway may call (an empty one is none).
fn parse_callback(
    fields: &Map<String, Value>,
    config: &ApiConfig,
    out: &mut Option<String>,
) -> Result<(), String> {
    let url = match fields.get("callback") {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::String(url)) if url.trim().is_empty() => return Ok(()),
        Some(Value::String(url)) => url.trim(),
        Some(_) => return Err("URL de rappel invalide!".into()),
    };
    check_callback_url(url, config.allow_private_callbacks)
        .map_err(|e| format!("URL de rappel invalide! ({e})"))?;
    *out = Some(url.to_owned());
    Ok(())
}

/// The body SMSAdvert posts to a `callback`.
#[derive(Serialize)]
struct DeliveryReport {
    status: &'static str,
    #[serde(rename = "msgId")]
    msg_id: String,
}

/// `{"status": "delivered"|"failed", "msgId": "<campaign id>"}` for a
/// message's final status; nothing for other statuses, replies and STOPs.
pub fn render_callback(webhook: &Webhook, facts: &CallbackFacts) -> Option<RenderedCallback> {
    let (EventKind::Status, CallbackFacts::Status { message, .. }) = (webhook.kind, facts) else {
        return None;
    };
    let status = match webhook.status.unwrap_or(message.status) {
        MessageStatus::Delivered => "delivered",
        MessageStatus::Undelivered
        | MessageStatus::Expired
        | MessageStatus::Failed
        | MessageStatus::Rejected
        | MessageStatus::Cancelled => "failed",
        MessageStatus::Scheduled
        | MessageStatus::Queued
        | MessageStatus::Submitting
        | MessageStatus::Submitted => return None,
    };
    let body = serde_json::to_vec(&DeliveryReport {
        status,
        msg_id: message.campaign_id.to_string(),
    })
    .ok()?;
    Some(RenderedCallback::new(body, "application/json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(json: Value) -> Result<(SendRequest, Option<String>), Refusal> {
        parse(json.to_string().as_bytes(), &ApiConfig::default())
    }

    fn field_errors(json: Value) -> BTreeMap<&'static str, String> {
        match fields(json) {
            Err(Refusal::Fields(errors)) => errors,
            other => panic!("expected field errors, got {other:?}"),
        }
    }

    #[test]
    fn the_documented_request_translates() {
        let (request, callback) = fields(json!({
            "phone": "+40740123456, +40740123457,+40740123456",
            "shortTextMessage": "C'est le contenu du message SMS",
            "sendAsShort": true,
            "failover": "short",
            "startDate": 4_102_444_800_000_i64,
            "endDate": 4_102_448_400_000_i64,
            "callback": "https://example.com/callback-url/"
        }))
        .unwrap();
        let numbers: Vec<&str> = request
            .recipients
            .iter()
            .map(|r| r.number.as_str())
            .collect();
        assert_eq!(numbers, ["+40740123456", "+40740123457", "+40740123456"]);
        assert_eq!(
            request.text.as_deref(),
            Some("C'est le contenu du message SMS")
        );
        assert_eq!(request.kind, MessageKind::Transactional);
        assert_eq!(request.route_class, RouteClass::Premium);
        assert_eq!(request.channels, ChannelOrder::Network);
        assert_eq!(request.send_at.unwrap().to_string(), "2100-01-01T00:00:00Z");
        assert_eq!(
            request.expires_at.unwrap().to_string(),
            "2100-01-01T01:00:00Z"
        );
        assert_eq!(
            callback.as_deref(),
            Some("https://example.com/callback-url/")
        );
    }

    #[test]
    fn send_as_short_and_failover_give_the_channel_order() {
        for (extra, order) in [
            (json!({"sendAsShort": true}), ChannelOrder::Network),
            (
                json!({"sendAsShort": true, "failover": "short"}),
                ChannelOrder::Network,
            ),
            (json!({}), ChannelOrder::Devices),
            (json!({"sendAsShort": false}), ChannelOrder::Devices),
            (json!({"sendAsShort": null}), ChannelOrder::Devices),
            (
                json!({"failover": "short"}),
                ChannelOrder::DevicesThenNetwork,
            ),
            (
                json!({"sendAsShort": false, "failover": "short"}),
                ChannelOrder::DevicesThenNetwork,
            ),
        ] {
            let mut body = json!({"phone": "+40740123456", "shortTextMessage": "Hello"});
            body.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            let (request, _) = fields(body.clone()).unwrap();
            assert_eq!(request.channels, order, "{body}");
        }
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let errors = field_errors(json!({
            "phone": "0740123456",
            "shortTextMessage": "Hi",
            "sendAsShort": "yes",
            "failover": "email",
            "startDate": "tomorrow",
            "endDate": 1.5,
            "callback": "ftp://example.com"
        }));
        assert_eq!(errors["phone"], INVALID_PHONE);
        assert_eq!(errors["shortTextMessage"], TEXT_TOO_SHORT);
        assert_eq!(errors.len(), 7, "{errors:?}");
    }

    #[test]
    fn phone_lists() {
        let error = |phone: Value| field_errors(json!({"phone": phone, "shortTextMessage": "abc"}));
        assert_eq!(
            error(json!("+40740123456,"))["phone"],
            "La virgule n'est pas acceptée à la fin de la liste!"
        );
        assert_eq!(
            error(json!("+40740123456,,+40740123457"))["phone"],
            INVALID_PHONE
        );
        assert_eq!(error(json!("+407401234ab"))["phone"], INVALID_PHONE);
        assert_eq!(error(json!("+999123"))["phone"], INVALID_PHONE);
        assert_eq!(error(json!(40740123456_i64))["phone"], INVALID_PHONE);
        assert_eq!(
            error(json!(""))["phone"],
            "Le numéro de téléphone est obligatoire!"
        );
        let many = vec!["+40740123456"; MAX_PHONES + 1].join(",");
        assert_eq!(
            error(json!(many))["phone"],
            "Maximum 1000 numéros de téléphone!"
        );
        let at_most = vec!["+40740123456"; MAX_PHONES].join(",");
        assert!(fields(json!({"phone": at_most, "shortTextMessage": "abc"})).is_ok());
    }

    #[test]
    fn text_bounds_are_characters() {
        let text = |t: String| fields(json!({"phone": "+40740123456", "shortTextMessage": t}));
        assert!(text("é".repeat(480)).is_ok());
        assert!(text("abc".into()).is_ok());
        assert_eq!(
            field_errors(json!({"phone": "+40740123456", "shortTextMessage": "é".repeat(481)}))["shortTextMessage"],
            TEXT_TOO_LONG
        );
        assert_eq!(
            field_errors(json!({"phone": "+40740123456"}))["shortTextMessage"],
            TEXT_TOO_SHORT
        );
    }

    #[test]
    fn unreadable_bodies_are_error_messages() {
        for body in [&b"{\"phone\": "[..], b"[]", b"\xff", b""] {
            match parse(body, &ApiConfig::default()) {
                Err(Refusal::Message { status, .. }) => assert_eq!(status, StatusCode::BAD_REQUEST),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn tokens_with_or_without_bearer() {
        let mut headers = HeaderMap::new();
        assert_eq!(token(&headers), None);
        headers.insert(header::AUTHORIZATION, "rl_abc".parse().unwrap());
        assert_eq!(token(&headers), Some("rl_abc"));
        headers.insert(header::AUTHORIZATION, "Bearer rl_abc".parse().unwrap());
        assert_eq!(token(&headers), Some("rl_abc"));
    }
}
