//! Octopush's v1 API (`api.octopush.com/v1/public`): JSON, authenticated by
//! the `api-login` and `api-key` headers.
//!
//! ```text
//! POST   /v1/public/sms-campaign/send     {"recipients": [{"phone_number": "+336…", "param1": "John"}],
//!                                          "text": "Hello {param1}. STOP au 36180", "type": "sms_premium",
//!                                          "purpose": "wholesale", "sender": "Shop",
//!                                          "send_at": "2026-03-01T10:30:00+01:00",
//!                                          "simulation_mode": false, "request_id": "order-42"}
//!        201 {"sms_ticket": "sms_42", "number_of_contacts": 1, "total_cost": 0.045}
//! DELETE /v1/public/sms-campaign/cancel   {"ticket_number": "sms_42"}  → 204
//! GET    /v1/public/wallet/check-balance  → {"amount": 9.955, "unit": "euros"}
//! ```
//!
//! Decisions where Octopush documents nothing or relais differs:
//! - Errors are `{"code": <Octopush code>, "message": "…"}` with the HTTP
//!   status of [`super::errors`]: the old API's code table, so one mapping
//!   serves both APIs.
//! - `type` and `purpose` are required; `purpose: alert` sends a transactional
//!   campaign, `wholesale` a marketing one (quiet hours, STOP mention: 121).
//! - `{first_name}`, `{last_name}`, `{paramN}` (any field of a recipient) in
//!   the text are replaced by the recipient's value, in one pass
//!   (`relais_core::template`: a value is never re-scanned); a personalised
//!   text past `template::MAX_RENDERED_CHARS` is 400 (102).
//! - `send_at` is RFC 3339 with its offset; `with_replies` (or `with_answers`)
//!   changes nothing.
//! - `sms_ticket` is `sms_<campaign id>` (null when simulated, still 201);
//!   `number_of_contacts` counts the recipients kept; `total_cost` is exact.
//! - Cancelling refunds what has not left: 404 (131) for an unknown or
//!   another account's ticket, 409 (132) when nothing is left to cancel, 409
//!   (500) when already cancelled. Old-API tickets (`api<id>`) are accepted.
//! - `check-balance` ignores its filters (`country_code`, `product_name`,
//!   `with_details`); `amount` is null for a postpaid account.

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use relais_core::plan::{MessageKind, Recipient, SendRequest};
use relais_core::pricing::RouteClass;
use relais_core::template::{Budget, Syntax, Template};
use relais_store::CampaignId;
use serde::Deserialize;
use serde_json::Map;
use std::collections::HashMap;

use super::errors::{Code, Failure};
use super::{Send, caller};
use crate::auth::Caller;
use crate::dialects::common::body;
use crate::dialects::common::cancel::{self, Refusal};
use crate::dialects::common::format::{Format, Object, Value};
use crate::dialects::common::scalar::{self, Scalar};
use crate::extract::parse_json;
use crate::state::{AppState, SharedState};

/// Most recipients in one campaign.
pub const MAX_RECIPIENTS: usize = 500;
/// Most characters in `text`.
pub const MAX_TEXT_CHARS: usize = 1224;

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/v1/public/sms-campaign/send", post(send))
        .route("/v1/public/sms-campaign/cancel", delete(cancel))
        .route("/v1/public/wallet/check-balance", get(check_balance))
}

/// The ticket of a campaign: `sms_42`.
pub fn ticket(id: CampaignId) -> String {
    format!("sms_{id}")
}

/// The campaign of a ticket (`sms_42`, or the old API's `api42`).
fn campaign_of(ticket: &str) -> Option<CampaignId> {
    let ticket = ticket.trim();
    ticket
        .strip_prefix("sms_")
        .or_else(|| ticket.strip_prefix("api"))?
        .parse()
        .ok()
}

/// `{"code": 101, "message": "…"}` with the failure's status.
fn refusal(failure: &Failure) -> Response {
    let tree = Object::new()
        .field("code", failure.code.number())
        .field("message", failure.message());
    failure.with_retry_after(Value::from(tree).respond(Format::Json, failure.status, "error"))
}

fn respond(result: Result<Response, Failure>) -> Response {
    result.unwrap_or_else(|failure| refusal(&failure))
}

async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Caller, Failure> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    caller(state, header("api-login"), header("api-key")).await
}

/// A JSON body read into `T`; unreadable ones are 400 (500).
async fn json_body<T: serde::de::DeserializeOwned>(request: Request) -> Result<T, Failure> {
    let bytes = body::read(request).await?;
    parse_json(&bytes).map_err(|e| {
        let detail = match &e.field {
            Some(field) => format!("{} ({field})", e.message),
            None => e.message,
        };
        Failure::invalid(Code::CANNOT_PROCESS, detail)
    })
}

#[derive(Debug, Deserialize)]
pub(crate) struct SendBody {
    recipients: Option<Vec<RecipientBody>>,
    text: Option<String>,
    #[serde(rename = "type")]
    sms_type: Option<String>,
    purpose: Option<String>,
    sender: Option<String>,
    send_at: Option<String>,
    #[serde(default)]
    simulation_mode: bool,
    request_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RecipientBody {
    phone_number: Scalar,
    /// `first_name`, `last_name`, `param1`…: values for the text's placeholders.
    #[serde(flatten)]
    fields: Map<String, serde_json::Value>,
}

/// The text with `{name}` replaced by the recipient's field `name` (strings,
/// integers, booleans as 1/0), rendered by the core's one-pass renderer and
/// charged to the request's `budget`; `None` when nothing was replaced (the
/// recipient then shares the campaign's `text`).
fn personalize(
    text: &str,
    template: &Template,
    fields: &Map<String, serde_json::Value>,
    budget: &mut Budget,
) -> Result<Option<String>, Failure> {
    if !template.has_fields() {
        return Ok(None);
    }
    let values: HashMap<&str, String> = fields
        .iter()
        .filter_map(|(name, value)| Some((name.as_str(), scalar::text(value)?)))
        .collect();
    budget
        .render(template, |name| values.get(name).map(String::as_str))
        .map(|rendered| (rendered != text).then_some(rendered))
        .map_err(|e| {
            tracing::info!(error = %e, "octopush: personalised text refused");
            Failure::invalid(Code::TEXT_TOO_LONG, e.to_string())
        })
}

impl SendBody {
    pub(crate) fn into_send(self, max_recipients: usize) -> Result<Send, Failure> {
        let recipients = self.recipients.unwrap_or_default();
        if recipients.is_empty() {
            return Err(Failure::invalid(Code::NO_RECIPIENTS, "recipients is empty"));
        }
        let max = MAX_RECIPIENTS.min(max_recipients);
        if recipients.len() > max {
            return Err(Failure::invalid(
                Code::TOO_MANY_CONTACTS,
                format!("at most {max} recipients per campaign"),
            ));
        }
        let text = self
            .text
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Failure::invalid(Code::NO_TEXT, "text is missing"))?;
        if text.chars().count() > MAX_TEXT_CHARS {
            return Err(Failure::invalid(
                Code::TEXT_TOO_LONG,
                format!("text has more than {MAX_TEXT_CHARS} characters"),
            ));
        }
        let route_class = match self.sms_type.as_deref() {
            None => return Err(Failure::invalid(Code::NO_SMS_TYPE, "type is missing")),
            Some("sms_premium") => RouteClass::Premium,
            Some("sms_low_cost") => RouteClass::LowCost,
            Some(other) => {
                return Err(Failure::invalid(
                    Code::BAD_SMS_TYPE,
                    format!("type must be sms_premium or sms_low_cost, not {other:?}"),
                ));
            }
        };
        let kind = match self.purpose.as_deref() {
            Some("alert") => MessageKind::Transactional,
            Some("wholesale") => MessageKind::Marketing,
            other => {
                return Err(Failure::invalid(
                    Code::CANNOT_PROCESS,
                    format!("purpose must be alert or wholesale, not {other:?}"),
                ));
            }
        };
        let send_at = crate::time::parse_optional("send_at", self.send_at.as_deref())
            .map_err(|e| Failure::invalid(Code::CANNOT_PROCESS, e.message))?;
        let template = Template::parse(&text, Syntax::BRACES);
        let mut budget = Budget::for_recipients(recipients.len());
        let recipients = recipients
            .into_iter()
            .map(|r| {
                Ok(Recipient {
                    text: personalize(&text, &template, &r.fields, &mut budget)?,
                    number: r.phone_number.0,
                    client_ref: None,
                })
            })
            .collect::<Result<_, Failure>>()?;
        Ok(Send {
            request: SendRequest {
                text: Some(text),
                recipients,
                sender: self.sender.filter(|s| !s.trim().is_empty()),
                kind,
                send_at,
                route_class,
                ..SendRequest::default()
            },
            simulate: self.simulation_mode,
            request_id: self.request_id.filter(|id| !id.trim().is_empty()),
        })
    }
}

async fn send(State(state): State<SharedState>, headers: HeaderMap, request: Request) -> Response {
    respond(
        async {
            let caller = authenticate(&state, &headers).await?;
            let body: SendBody = json_body(request).await?;
            let send = body.into_send(state.config.max_recipients)?;
            let sent = super::send(&state, &caller, &send).await?;
            let tree = Object::new()
                .field("sms_ticket", sent.campaign_id.map(ticket))
                .field("number_of_contacts", sent.plan.counters.sent)
                .field("total_cost", Value::amount(sent.plan.cost));
            Ok(Value::from(tree).respond(Format::Json, StatusCode::CREATED, "campaign"))
        }
        .await,
    )
}

#[derive(Debug, Deserialize)]
struct CancelBody {
    ticket_number: Option<String>,
}

async fn cancel(
    State(state): State<SharedState>,
    headers: HeaderMap,
    request: Request,
) -> Response {
    respond(
        async {
            let caller = authenticate(&state, &headers).await?;
            let body: CancelBody = json_body(request).await?;
            let ticket = body.ticket_number.ok_or_else(|| {
                Failure::invalid(Code::CANNOT_PROCESS, "ticket_number is missing")
            })?;
            let not_found = || Failure::new(Code::CAMPAIGN_NOT_FOUND, StatusCode::NOT_FOUND);
            let id = campaign_of(&ticket).ok_or_else(not_found)?;
            match cancel::cancel(&state, &caller.account, id)
                .await
                .map_err(|e| Failure::internal(e.message))?
            {
                Ok(_) => Ok(StatusCode::NO_CONTENT.into_response()),
                Err(Refusal::NotFound) => Err(not_found()),
                Err(Refusal::NothingLeft) => {
                    Err(Failure::new(Code::CAMPAIGN_SENT, StatusCode::CONFLICT))
                }
                Err(Refusal::AlreadyCancelled) => {
                    Err(Failure::new(Code::CANNOT_PROCESS, StatusCode::CONFLICT)
                        .with_detail("the campaign is already cancelled"))
                }
            }
        }
        .await,
    )
}

async fn check_balance(State(state): State<SharedState>, headers: HeaderMap) -> Response {
    respond(
        async {
            let caller = authenticate(&state, &headers).await?;
            let caller = caller.reread(&state).await.map_err(Failure::internal)?;
            let tree = Object::new()
                .field("amount", caller.account.balance.map(Value::amount))
                .field("unit", "euros");
            Ok(Value::from(tree).respond(Format::Json, StatusCode::OK, "wallet"))
        }
        .await,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(json: serde_json::Value) -> SendBody {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn the_documented_campaign_translates() {
        let send = body(serde_json::json!({
            "recipients": [{"phone_number": "+33600000000", "param1": "John"}, {"phone_number": "+33600000001"}],
            "text": "Hello {param1}. STOP au XXXXX",
            "type": "sms_premium",
            "purpose": "wholesale",
            "sender": "SMS",
            "send_at": "2020-10-03T07:42:39-07:00",
            "with_answers": false
        }))
        .into_send(1000)
        .unwrap();
        let request = &send.request;
        assert_eq!(request.route_class, RouteClass::Premium);
        assert_eq!(request.kind, MessageKind::Marketing);
        assert_eq!(request.sender.as_deref(), Some("SMS"));
        assert_eq!(request.send_at.unwrap().to_string(), "2020-10-03T14:42:39Z");
        assert_eq!(request.recipients[0].number, "+33600000000");
        assert_eq!(
            request.recipients[0].text.as_deref(),
            Some("Hello John. STOP au XXXXX")
        );
        assert_eq!(request.recipients[1].text, None);
        assert!(!send.simulate);
    }

    #[test]
    fn refusals() {
        let code = |json: serde_json::Value| body(json).into_send(1000).unwrap_err().code;
        let one = serde_json::json!([{"phone_number": "+33600000000"}]);
        let base = serde_json::json!({"recipients": one, "text": "Hi", "type": "sms_low_cost", "purpose": "alert"});
        let with = |key: &str, value: serde_json::Value| {
            let mut json = base.clone();
            json[key] = value;
            json
        };
        assert_eq!(
            code(with("recipients", serde_json::json!([]))),
            Code::NO_RECIPIENTS
        );
        let many: Vec<_> = (0..501)
            .map(|_| serde_json::json!({"phone_number": "+33600000000"}))
            .collect();
        assert_eq!(
            code(with("recipients", many.into())),
            Code::TOO_MANY_CONTACTS
        );
        assert_eq!(code(with("text", "".into())), Code::NO_TEXT);
        assert_eq!(
            code(with("text", "a".repeat(1225).into())),
            Code::TEXT_TOO_LONG
        );
        assert_eq!(
            code(with("type", serde_json::Value::Null)),
            Code::NO_SMS_TYPE
        );
        assert_eq!(code(with("type", "sms_gold".into())), Code::BAD_SMS_TYPE);
        assert_eq!(code(with("purpose", "spam".into())), Code::CANNOT_PROCESS);
        assert_eq!(
            code(with("send_at", "tomorrow".into())),
            Code::CANNOT_PROCESS
        );
        assert!(
            body(with("text", "é".repeat(1224).into()))
                .into_send(1000)
                .is_ok()
        );
    }

    #[test]
    fn tickets() {
        assert_eq!(ticket(42), "sms_42");
        assert_eq!(campaign_of("sms_42"), Some(42));
        assert_eq!(campaign_of("api42"), Some(42));
        assert_eq!(campaign_of("sms_x"), None);
        assert_eq!(campaign_of("42"), None);
    }
}
