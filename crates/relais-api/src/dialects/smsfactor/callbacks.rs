//! Pushes in SMSFactor's shapes, POSTed as raw JSON:
//!
//! - delivery report: `{"date":"2024-07-25T06:23:06+02:00","status":3,
//!   "destination":"33612345678","message_id":"100","campaign_id":"15948909",
//!   "country_code":"FR"}`; `message_id` is the recipient's `gsmsmsid`, or
//!   relais' message id when none was given; `date` is the event's time in
//!   Europe/Paris with its offset;
//! - reply (MO): `{"date","message","from","account_id","last_message_id"}`,
//!   `last_message_id` being the last message sent to that number (null if
//!   none); a STOP reply has the same shape with `"message":"Stop SMS"`.
//!
//! DLR `status` from relais' message status: submitted 1 (sent),
//! undelivered 2 (not delivered), delivered 3, rejected 9 (rejected),
//! failed 11 (network error: no route took it, or retries ran out), expired
//! 12. The statuses before submission, and cancellation, are not reported.
//!
//! With a webhook `signature` set (the account's webhook secret), every push
//! carries `X-SMSFactor-Signature: <hex HMAC-SHA256(signature, body)>`.
//! SMSFactor does not document its algorithm; this is relais' reading of it,
//! and the `X-Relais-Signature` header (timestamped) is sent as well.

use relais_engine::webhooks::{self, CallbackFacts, RenderedCallback};
use relais_store::{EventKind, MessageStatus, Webhook};

use crate::dialects::common::format::{Object, Value};
use crate::dialects::common::paris;

/// The header SMSFactor's clients look for on signed pushes.
pub const SIGNATURE_HEADER: &str = "x-smsfactor-signature";

/// SMSFactor's DLR status for a relais status, if it reports it.
fn dlr_status(status: MessageStatus) -> Option<i32> {
    match status {
        MessageStatus::Submitted => Some(1),
        MessageStatus::Undelivered => Some(2),
        MessageStatus::Delivered => Some(3),
        MessageStatus::Rejected => Some(9),
        MessageStatus::Failed => Some(11),
        MessageStatus::Expired => Some(12),
        MessageStatus::Scheduled
        | MessageStatus::Queued
        | MessageStatus::Submitting
        | MessageStatus::Cancelled => None,
    }
}

/// The body SMSFactor would push for this event, if any.
pub fn render_callback(webhook: &Webhook, facts: &CallbackFacts) -> Option<RenderedCallback> {
    let body: Value = match (webhook.kind, facts) {
        (EventKind::Status, CallbackFacts::Status { message, .. }) => {
            let status = dlr_status(webhook.status.unwrap_or(message.status))?;
            Object::new()
                .field("date", paris::format_offset(webhook.at))
                .field("status", status)
                .field("destination", message.number.digits().to_string())
                .field(
                    "message_id",
                    message
                        .client_ref
                        .clone()
                        .unwrap_or_else(|| message.id.to_string()),
                )
                .field("campaign_id", message.campaign_id.to_string())
                .field("country_code", message.country.as_str())
                .into()
        }
        (EventKind::Inbound | EventKind::Stop, CallbackFacts::Inbound { account, inbound }) => {
            let stop = webhook.kind == EventKind::Stop || inbound.is_stop;
            Object::new()
                .field("date", paris::format_offset(inbound.received_at))
                .field(
                    "message",
                    if stop {
                        "Stop SMS"
                    } else {
                        inbound.text.as_str()
                    },
                )
                .field("from", inbound.from.digits().to_string())
                .field("account_id", account.id.to_string())
                .field(
                    "last_message_id",
                    inbound.message_id.map(|id| id.to_string()),
                )
                .into()
        }
        _ => return None,
    };
    let mut rendered = RenderedCallback::new(body.to_json().into_bytes(), "application/json");
    let secret = &facts.account().settings.webhook_secret;
    if !secret.is_empty() {
        rendered.headers.push((
            SIGNATURE_HEADER,
            webhooks::hmac_sha256_hex(secret, &[&rendered.body]),
        ));
    }
    Some(rendered)
}
