//! Callbacks in SMS Partner's shapes, POSTed as JSON:
//!
//! - a reply (to `urlResponse`): `{"type":"response","phone_number":"+33612345678",
//!   "text":"…","message_id":307}`, `message_id` being the campaign the reply
//!   answers (null when none); a STOP reply: the same with `"type":"stop"`;
//! - a delivery report (to `urlDlr`), whose body SMS Partner does not
//!   document: `{"type":"dlr","message_id":307,"phone_number":"+33612345678",
//!   "status":"Delivered","date":"1534615206","tag":…}`, with the status
//!   words and Unix-seconds date of `/message-status`. Only outcomes are
//!   reported (delivered, not delivered, ko), not the submission.

use relais_engine::webhooks::{CallbackFacts, RenderedCallback};
use relais_store::{EventKind, MessageStatus, Webhook};

use super::status::{unix_date, word};
use crate::dialects::common::format::{Object, Value};

/// The body SMS Partner would send for this event, if any.
pub fn render_callback(webhook: &Webhook, facts: &CallbackFacts) -> Option<RenderedCallback> {
    let body: Value = match (webhook.kind, facts) {
        (
            EventKind::Status,
            CallbackFacts::Status {
                campaign, message, ..
            },
        ) => {
            let status = webhook.status.unwrap_or(message.status);
            if !status.is_final() || status == MessageStatus::Cancelled {
                return None;
            }
            Object::new()
                .field("type", "dlr")
                .field("message_id", message.campaign_id)
                .field("phone_number", message.number.to_string())
                .field("status", word(status))
                .field("date", unix_date(webhook.at))
                .field("tag", campaign.tag.clone())
                .into()
        }
        (EventKind::Inbound | EventKind::Stop, CallbackFacts::Inbound { inbound, .. }) => {
            let stop = webhook.kind == EventKind::Stop || inbound.is_stop;
            Object::new()
                .field("type", if stop { "stop" } else { "response" })
                .field("phone_number", inbound.from.to_string())
                .field("text", inbound.text.as_str())
                .field("message_id", inbound.campaign_id)
                .into()
        }
        _ => return None,
    };
    Some(RenderedCallback::new(
        body.to_json().into_bytes(),
        "application/json",
    ))
}
