//! Callbacks of Octopush campaigns (old and v1 API alike), in the v1 shapes:
//!
//! ```json
//! {"channel": "sms", "message_id": "12", "sms_ticket": "sms_3", "number": "+33612345678",
//!  "status": "DELIVERED", "delivery_date": "2026-03-01T09:30:01Z"}
//! {"message_id": "12", "number": "+33612345678", "text": "Merci", "reception_date": "2026-03-01T09:41:00Z"}
//! {"message_id": "12", "number": "+33612345678", "text": "STOP", "stop_date": "2026-03-01T09:41:00Z"}
//! ```
//!
//! `message_id` is the relais message (for a reply: the message it answers,
//! null when unknown) and `sms_ticket` its campaign's ticket. Statuses:
//! submitted → `ACK`, delivered → `DELIVERED`, undelivered and expired →
//! `NOT_DELIVERED`, rejected by the carrier → `NOT_ALLOWED`, failed →
//! `UNDEFINED`; scheduled, queued, submitting and cancelled send nothing.

use relais_engine::webhooks::{CallbackFacts, RenderedCallback};
use relais_store::{EventKind, MessageStatus, Webhook};

use super::v1::ticket;
use crate::dialects::common::format::{Object, Value};
use crate::time::rfc3339;

/// The Octopush DLR status of a message status; `None` when none is reported.
fn dlr_status(status: MessageStatus) -> Option<&'static str> {
    Some(match status {
        MessageStatus::Submitted => "ACK",
        MessageStatus::Delivered => "DELIVERED",
        MessageStatus::Undelivered | MessageStatus::Expired => "NOT_DELIVERED",
        MessageStatus::Rejected => "NOT_ALLOWED",
        MessageStatus::Failed => "UNDEFINED",
        MessageStatus::Scheduled
        | MessageStatus::Queued
        | MessageStatus::Submitting
        | MessageStatus::Cancelled => return None,
    })
}

/// The callback body for an event (see the module documentation).
pub fn render_callback(webhook: &Webhook, facts: &CallbackFacts) -> Option<RenderedCallback> {
    let body = match (webhook.kind, facts) {
        (EventKind::Status, CallbackFacts::Status { message, .. }) => {
            let status = dlr_status(webhook.status.unwrap_or(message.status))?;
            Object::new()
                .field("channel", "sms")
                .field("message_id", message.id.to_string())
                .field("sms_ticket", ticket(message.campaign_id))
                .field("number", message.number.to_string())
                .field("status", status)
                .field("delivery_date", rfc3339(webhook.at))
        }
        (EventKind::Inbound | EventKind::Stop, CallbackFacts::Inbound { inbound, .. }) => {
            let stop = webhook.kind == EventKind::Stop || inbound.is_stop;
            Object::new()
                .field("message_id", inbound.message_id.map(|id| id.to_string()))
                .field("number", inbound.from.to_string())
                .field("text", inbound.text.as_str())
                .field(
                    if stop { "stop_date" } else { "reception_date" },
                    rfc3339(inbound.received_at),
                )
        }
        _ => return None,
    };
    Some(RenderedCallback::new(
        Value::from(body).to_json().into_bytes(),
        "application/json",
    ))
}
