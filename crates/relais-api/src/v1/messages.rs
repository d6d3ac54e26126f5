//! `POST /v1/messages` — sending, translated into one
//! [`SendRequest`] for [`Pipeline::send`](relais_engine::send::Pipeline::send)
//! — and `GET /v1/messages/{id}`, one message with its status history.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use relais_core::encoding::{Encoding, EncodingMode};
use relais_core::money::Amount;
use relais_core::plan::{
    self, Channel, ChannelOrder, Counters, FilterReason, MessageKind, Plan, PlanError, Recipient,
    Rejection, SendRequest,
};
use relais_core::pricing::RouteClass;
use relais_engine::callback_url::check_callback_url;
use relais_engine::send::{SendError, SendOptions, SendOutcome};
use relais_store::{
    CallbackEvents, CampaignId, CampaignMeta, IdempotencyRecord, IdempotentAnswer, Message,
    MessageStatus, StatusChange,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Id, JsonBody};
use crate::openapi::schemas;
use crate::state::{ApiConfig, SharedState};
use crate::time::{parse_optional, rfc3339};

pub fn router() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(send))
        .routes(routes!(get_message))
}

/// A send request. Give either `to` (one text to many numbers) or
/// `recipients` (a text and reference per recipient, falling back to `text`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendBody {
    /// The text for every recipient without a text of its own; not empty.
    #[schema(min_length = 1)]
    pub text: Option<String>,
    /// Numbers in any usual format ("+33612345678", "06 12 34 56 78");
    /// not with `recipients`.
    #[schema(value_type = Option<Vec<schemas::PhoneNumber>>, min_items = 1)]
    pub to: Option<Vec<String>>,
    /// Not with `to`.
    #[schema(min_items = 1)]
    pub recipients: Option<Vec<RecipientBody>>,
    /// Sender ID; the account's default when absent.
    pub sender: Option<String>,
    #[schema(value_type = Option<schemas::MessageKind>)]
    pub kind: Option<MessageKind>,
    /// RFC 3339; now when absent.
    #[schema(format = DateTime, example = "2030-03-01T10:30:00+01:00")]
    pub send_at: Option<String>,
    /// RFC 3339: messages not submitted by then expire (and are refunded).
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
    #[schema(value_type = Option<schemas::EncodingMode>)]
    pub encoding: Option<EncodingMode>,
    /// Replace characters outside GSM-7 by look-alikes; the account's default when absent.
    pub smart_encoding: Option<bool>,
    #[schema(value_type = Option<schemas::RouteClass>)]
    pub route_class: Option<RouteClass>,
    /// The channels to try, in order: `["network"]` (the default),
    /// `["devices"]` or `["devices", "network"]` (the network when no devices
    /// route can take a message).
    #[schema(value_type = Option<Vec<schemas::Channel>>, min_items = 1, max_items = 2)]
    pub channels: Option<Vec<Channel>>,
    /// Where this campaign's delivery reports go, instead of the account's
    /// webhook: an absolute http(s) URL.
    #[schema(format = "uri")]
    pub callback_url: Option<String>,
    /// Which status changes are pushed to the callback: `all` (every
    /// status a message reaches) or `final` (only delivered, undelivered,
    /// expired, failed, rejected or cancelled: one callback per message).
    /// The account's `callback_events` when absent.
    #[schema(value_type = Option<schemas::CallbackEvents>)]
    pub callback_events: Option<CallbackEvents>,
    /// Plan only: nothing is stored or debited, the answer says what would happen.
    #[serde(default)]
    pub simulate: bool,
    /// A label of yours, kept with the campaign.
    pub tag: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecipientBody {
    #[schema(value_type = schemas::PhoneNumber)]
    pub to: String,
    /// Your id for this message, returned in callbacks.
    #[serde(rename = "ref")]
    pub reference: Option<String>,
    /// A text for this recipient only; not empty.
    #[schema(min_length = 1)]
    pub text: Option<String>,
}

impl SendBody {
    /// The pipeline's request and the campaign's metadata. Checks only what is
    /// this door's: field shapes, dates, the callback URL, its recipient cap.
    fn into_request(self, config: &ApiConfig) -> Result<(SendRequest, CampaignMeta), ApiError> {
        let recipients: Vec<Recipient> = match (self.to, self.recipients) {
            (Some(_), Some(_)) => {
                return Err(ApiError::unprocessable(
                    "conflicting_fields",
                    "give either `to` (one text to many) or `recipients` (per-recipient text and ref), not both",
                )
                .with_field("recipients"));
            }
            (Some(to), None) => to.into_iter().map(Recipient::new).collect(),
            (None, Some(list)) => list
                .into_iter()
                .map(|r| Recipient {
                    number: r.to,
                    client_ref: r.reference,
                    text: r.text,
                })
                .collect(),
            (None, None) => Vec::new(),
        };
        if recipients.len() > config.max_recipients {
            return Err(PlanError::TooManyRecipients {
                max: config.max_recipients,
            }
            .into());
        }
        if let Some(url) = &self.callback_url {
            check_callback_url(url, config.allow_private_callbacks)
                .map_err(|e| ApiError::callback_url("callback_url", e))?;
        }
        let channels = match self.channels {
            None => ChannelOrder::default(),
            Some(list) => ChannelOrder::from_channels(&list).ok_or_else(|| {
                ApiError::unprocessable(
                    "invalid_channels",
                    "channels must be [\"network\"], [\"devices\"] or [\"devices\", \"network\"]",
                )
                .with_field("channels")
            })?,
        };
        let request = SendRequest {
            text: self.text,
            recipients,
            sender: self.sender,
            kind: self.kind.unwrap_or_default(),
            send_at: parse_optional("send_at", self.send_at.as_deref())?,
            expires_at: parse_optional("expires_at", self.expires_at.as_deref())?,
            encoding: self.encoding.unwrap_or_default(),
            smart_encoding: self.smart_encoding,
            route_class: self.route_class.unwrap_or_default(),
            channels,
        };
        let meta = CampaignMeta {
            source: "api".into(),
            callback_url: self.callback_url,
            callback_events: self.callback_events,
            reply_url: None,
            tag: self.tag,
            idempotency: None,
        };
        Ok((request, meta))
    }
}

/// The answer to a send.
#[derive(Debug, Serialize, ToSchema)]
pub struct SendAnswer {
    // Must stay the first field: see `answer_template`.
    /// Null when simulated.
    pub campaign_id: Option<i64>,
    pub simulated: bool,
    #[schema(value_type = schemas::Counters)]
    pub counters: Counters,
    /// Total cost, a decimal string.
    #[schema(value_type = String, example = "0.09")]
    pub cost: Amount,
    /// Balance after the debit; null for postpaid accounts.
    #[schema(value_type = Option<String>, example = "99.91")]
    pub credits_left: Option<Amount>,
    /// When the first message goes (later than asked when quiet hours defer it).
    pub send_at: String,
    /// True when quiet hours (marketing, by destination country) made some
    /// messages wait past the time asked; each message's own time is on it.
    pub deferred: bool,
    /// Of the (first) text as sent; null when no text was prepared.
    #[schema(value_type = Option<schemas::Encoding>)]
    pub encoding: Option<Encoding>,
    pub segments: u16,
    /// Recipients left out, with why.
    pub rejected: Vec<Rejected>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Rejected {
    /// Position in `to` or `recipients`.
    pub index: u32,
    /// The number as given.
    pub to: String,
    /// The counter it went to: invalid, duplicated, not_allowed, blacklisted, npai, flood, country_limit.
    #[schema(example = "blacklisted")]
    pub reason: &'static str,
    pub detail: String,
}

impl SendAnswer {
    fn new(
        campaign_id: Option<CampaignId>,
        simulated: bool,
        plan: &Plan,
        request: &SendRequest,
    ) -> Self {
        let first_text = plan.texts.first();
        SendAnswer {
            campaign_id,
            simulated,
            counters: plan.counters,
            cost: plan.cost,
            credits_left: plan.balance_after,
            send_at: plan.send_at.to_string(),
            deferred: plan.is_deferred(),
            encoding: first_text.map(|t| t.encoding),
            segments: first_text.map_or(0, |t| t.segments),
            rejected: rejected(&plan.rejections, request),
        }
    }
}

/// The first [`MAX_LISTED_REJECTIONS`](plan::MAX_LISTED_REJECTIONS)
/// rejections, with the numbers as given.
fn rejected(rejections: &[Rejection], request: &SendRequest) -> Vec<Rejected> {
    plan::listed_rejections(rejections)
        .iter()
        .map(|r| Rejected {
            index: r.recipient,
            to: request.recipients[r.recipient as usize].number.clone(),
            reason: r.reason.code(),
            detail: reason_detail(&r.reason),
        })
        .collect()
}

/// A send's error; one with no recipient left to send to carries the
/// counters and the rejections (as a send's answer would).
fn send_error(error: SendError, request: &SendRequest) -> ApiError {
    if let SendError::Plan(PlanError::NoValidRecipient {
        counters,
        rejections,
    }) = &error
    {
        let details = serde_json::json!({
            "counters": counters,
            "rejected": rejected(rejections, request),
        });
        return ApiError::from(error).with_details(details);
    }
    ApiError::from(error)
}

/// Why a recipient was left out, for a person.
pub fn reason_detail(reason: &FilterReason) -> String {
    match reason {
        FilterReason::Invalid(e) => e.to_string(),
        FilterReason::Duplicated => "the number appears earlier in the request".into(),
        FilterReason::NotAllowed => "the account cannot send to this number's country".into(),
        FilterReason::Blacklisted => "the number is on the blacklist".into(),
        FilterReason::Npai => "the number is on the NPAI list (no longer assigned)".into(),
        FilterReason::Flood => "the number received too many messages recently".into(),
        FilterReason::CountryLimit => "the monthly limit for this country is reached".into(),
    }
}

/// The token the store replaces by the campaign id when it commits.
const CAMPAIGN_ID_TOKEN: &str = "{campaign_id}";

/// The answer to replay for an idempotency key: `answer` (whose `campaign_id`
/// is still null) with the id left as [`CAMPAIGN_ID_TOKEN`].
///
/// The token must occur exactly once, where the id goes, for the body to be
/// valid JSON once filled in. `campaign_id` is the first field, so the document
/// starts with `{"campaign_id":null`, which is replaced; elsewhere the token
/// could only appear inside a string the client sent (a number in `rejected`),
/// where its `{` is rewritten as the JSON escape `\u007b` — the same string to
/// any JSON reader, and no longer the token.
fn answer_template(answer: &SendAnswer) -> String {
    let json = serde_json::to_string(answer).expect("the send answer serialises");
    let rest = json
        .strip_prefix(r#"{"campaign_id":null"#)
        .expect("campaign_id is the first field of the send answer, null here");
    let rest = rest.replace(CAMPAIGN_ID_TOKEN, r"\u007bcampaign_id}");
    format!(r#"{{"campaign_id":{CAMPAIGN_ID_TOKEN}{rest}"#)
}

/// The client's `Idempotency-Key`: 1 to 255 visible ASCII characters.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let invalid = || {
        ApiError::bad_request(
            "invalid_header",
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
        )
        .with_field("Idempotency-Key")
    };
    let key = value.to_str().map_err(|_| invalid())?.trim();
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(invalid());
    }
    Ok(Some(key.to_owned()))
}

/// Set on an answer replayed for an `Idempotency-Key` seen before.
const REPLAYED_HEADER: HeaderName = HeaderName::from_static("idempotent-replayed");

/// The first answer for an idempotency key, as it was sent.
fn replayed(answer: IdempotentAnswer) -> Response {
    let mut response = json_response(StatusCode::CREATED, answer.body);
    response
        .headers_mut()
        .insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    response
}

/// Send one text to many numbers, or a text per recipient.
///
/// 201 with the campaign (200 when `simulate`). With an `Idempotency-Key`
/// header, a retry within the idempotency window (24 hours by default)
/// answers the first answer again (header `Idempotent-Replayed: true`) and
/// sends nothing; the key reused for another request (another text, number,
/// option…: the request as read, not its layout) is refused, 422
/// `idempotency_key_reused`, and sends nothing.
#[utoipa::path(
    post,
    path = "/v1/messages",
    tag = "messages",
    request_body = SendBody,
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = "^[!-~]+$",
        description = "Makes retries safe: the same key with the same request answers the first answer; with another request, 422 idempotency_key_reused. 1 to 255 visible ASCII characters")),
    responses(
        (status = 201, description = "Accepted and stored", body = SendAnswer),
        (status = 200, description = "Simulated: nothing stored", body = SendAnswer),
        (status = 400, description = "Unreadable request", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 402, description = "Not enough credits", body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 422, description = "Refused by planning, or the Idempotency-Key used for another request", body = ErrorBody),
        (status = 429, body = ErrorBody)
    ),
    security(("api_key" = []))
)]
pub async fn send(
    State(state): State<SharedState>,
    caller: Caller,
    headers: HeaderMap,
    JsonBody(body): JsonBody<SendBody>,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers)?;
    let simulate = body.simulate;
    let (request, mut meta) = body.into_request(&state.config)?;
    let pipeline = &state.pipeline;
    let account = &caller.account;

    let key = key.filter(|_| !simulate);
    let idempotent = key.is_some();
    let outcome = match key {
        Some(key) => {
            // Namespaced, so another door's keys ("octopush:…") never collide.
            meta.idempotency = Some(IdempotencyRecord {
                key: format!("api:{key}"),
                answer_template: String::new(),
                since: 0,
                request_hash: String::new(),
            });
            let render =
                |plan: &Plan| answer_template(&SendAnswer::new(None, false, plan, &request));
            pipeline
                .send_with_answer(
                    account,
                    &request,
                    SendOptions {
                        simulate,
                        meta,
                        ..SendOptions::default()
                    },
                    &render,
                )
                .await
                .map_err(|e| send_error(e, &request))?
        }
        None => pipeline
            .send(
                account,
                &request,
                SendOptions {
                    simulate,
                    meta,
                    ..SendOptions::default()
                },
            )
            .await
            .map_err(|e| send_error(e, &request))?,
    };
    match outcome {
        SendOutcome::Replayed(answer) => Ok(replayed(answer)),
        // With a key, answer exactly what the store keeps to replay.
        SendOutcome::Planned {
            campaign_id: Some(id),
            plan,
        } if idempotent => {
            let template = answer_template(&SendAnswer::new(None, false, &plan, &request));
            Ok(json_response(
                StatusCode::CREATED,
                template.replace(CAMPAIGN_ID_TOKEN, &id.to_string()),
            ))
        }
        SendOutcome::Planned { campaign_id, plan } => {
            let status = if simulate {
                StatusCode::OK
            } else {
                StatusCode::CREATED
            };
            Ok((
                status,
                Json(SendAnswer::new(campaign_id, simulate, &plan, &request)),
            )
                .into_response())
        }
    }
}

fn json_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// One message as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageBody {
    pub id: i64,
    pub campaign_id: i64,
    /// E.164.
    #[schema(example = "+33612345678")]
    pub to: String,
    #[schema(example = "FR")]
    pub country: String,
    #[serde(rename = "ref")]
    pub reference: Option<String>,
    pub text: String,
    #[schema(value_type = schemas::Encoding)]
    pub encoding: Encoding,
    pub segments: u16,
    #[schema(value_type = String, example = "0.045")]
    pub cost: Amount,
    #[schema(value_type = schemas::MessageStatus)]
    pub status: MessageStatus,
    pub send_at: String,
    pub expires_at: Option<String>,
    /// The connector that took it (`null` until one did).
    #[schema(example = "carrier")]
    pub connector: Option<String>,
    /// The id that connector gave it (its first part's, for a long message).
    pub carrier_id: Option<String>,
    /// Last error reported for it.
    pub error: Option<String>,
    pub updated_at: String,
}

impl From<Message> for MessageBody {
    fn from(m: Message) -> Self {
        MessageBody {
            id: m.id,
            campaign_id: m.campaign_id,
            to: m.number.to_string(),
            country: m.country.as_str().to_owned(),
            reference: m.client_ref,
            text: m.text,
            encoding: m.encoding,
            segments: m.segments,
            cost: m.cost,
            status: m.status,
            send_at: rfc3339(m.send_at),
            expires_at: m.expires_at.map(rfc3339),
            connector: m.connector,
            carrier_id: m.carrier_id,
            error: m.error,
            updated_at: rfc3339(m.updated_at),
        }
    }
}

/// A message with every status it went through.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageDetail {
    #[serde(flatten)]
    pub message: MessageBody,
    pub history: Vec<StatusChangeBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatusChangeBody {
    #[schema(value_type = schemas::MessageStatus)]
    pub status: MessageStatus,
    pub at: String,
    pub detail: Option<String>,
}

impl From<StatusChange> for StatusChangeBody {
    fn from(c: StatusChange) -> Self {
        StatusChangeBody {
            status: c.status,
            at: rfc3339(c.at),
            detail: c.detail,
        }
    }
}

/// One message and its status history.
#[utoipa::path(
    get,
    path = "/v1/messages/{id}",
    tag = "campaigns",
    params(("id" = i64, Path, description = "Message id")),
    responses((status = 200, body = MessageDetail), (status = 404, body = ErrorBody)),
    security(("api_key" = []))
)]
pub async fn get_message(
    State(state): State<SharedState>,
    caller: Caller,
    Id(id): Id,
) -> Result<Json<MessageDetail>, ApiError> {
    let (message, history) = state
        .store
        .message(caller.account.id, id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(MessageDetail {
        message: message.into(),
        history: history.into_iter().map(Into::into).collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(rejected_to: &str) -> SendAnswer {
        SendAnswer {
            campaign_id: None,
            simulated: false,
            counters: Counters {
                total: 2,
                sent: 1,
                invalid: 1,
                ..Counters::default()
            },
            cost: "0.045".parse().unwrap(),
            credits_left: Some("9.955".parse().unwrap()),
            send_at: "2026-03-01T09:30:00Z".into(),
            deferred: false,
            encoding: Some(Encoding::Gsm7),
            segments: 1,
            rejected: vec![Rejected {
                index: 1,
                to: rejected_to.into(),
                reason: "invalid",
                detail: "the phone number contains '{'".into(),
            }],
        }
    }

    /// What the store does at commit.
    fn fill(template: &str, id: i64) -> serde_json::Value {
        serde_json::from_str(&template.replace(CAMPAIGN_ID_TOKEN, &id.to_string())).unwrap()
    }

    #[test]
    fn the_template_becomes_the_answer_with_its_id() {
        let template = answer_template(&answer("+33"));
        let mut expected = serde_json::to_value(answer("+33")).unwrap();
        expected["campaign_id"] = 42.into();
        assert_eq!(fill(&template, 42), expected);
    }

    #[test]
    fn a_token_inside_client_strings_is_not_filled_in() {
        let template = answer_template(&answer("{campaign_id}"));
        assert_eq!(template.matches(CAMPAIGN_ID_TOKEN).count(), 1);
        let filled = fill(&template, 7);
        assert_eq!(filled["campaign_id"], 7);
        assert_eq!(filled["rejected"][0]["to"], "{campaign_id}");
    }

    #[test]
    fn idempotency_keys() {
        let mut headers = HeaderMap::new();
        assert_eq!(idempotency_key(&headers).unwrap(), None);
        headers.insert("idempotency-key", HeaderValue::from_static("order-42"));
        assert_eq!(
            idempotency_key(&headers).unwrap().as_deref(),
            Some("order-42")
        );
        headers.insert("idempotency-key", HeaderValue::from_static("two words"));
        assert_eq!(
            idempotency_key(&headers).unwrap_err().code,
            "invalid_header"
        );
        headers.insert(
            "idempotency-key",
            HeaderValue::from_str(&"k".repeat(256)).unwrap(),
        );
        assert_eq!(
            idempotency_key(&headers).unwrap_err().code,
            "invalid_header"
        );
    }
}
