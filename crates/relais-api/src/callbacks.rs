//! The native shape of client callbacks: [`NativeCallbacks`] renders the
//! webhook outbox's events as JSON for campaigns sent through `/v1` (source
//! "api"), for inbound messages, and for any source no dialect claims.
//! Signing and delivery are the engine's (`relais_engine::webhooks`).
//!
//! ```json
//! {"event": "message.status", "message_id": 12, "campaign_id": 3, "to": "+33612345678",
//!  "ref": "order-42", "status": "delivered", "error": null, "at": "2026-03-01T09:30:02Z"}
//! {"event": "message.inbound", "id": 5, "from": "+33612345678", "to": "36180", "text": "Merci",
//!  "message_id": 12, "campaign_id": 3, "at": "2026-03-01T09:41:00Z"}
//! ```
//! A STOP reply has `"event": "message.stop"`.
//!
//! [`DoorCallbacks`] picks the shape: a dialect's for campaigns that came
//! through it, the native one otherwise.

use relais_engine::webhooks::{CallbackFacts, CallbackRenderer, RenderedCallback};
use relais_store::{CampaignId, EventKind, MessageId, MessageStatus, Webhook};
use serde::Serialize;

use crate::time::rfc3339;

/// Renders callbacks in the native JSON shape (see the module documentation).
#[derive(Debug, Clone, Copy, Default)]
pub struct NativeCallbacks;

#[derive(Serialize)]
struct StatusEvent<'a> {
    event: &'static str,
    message_id: MessageId,
    campaign_id: CampaignId,
    to: String,
    #[serde(rename = "ref")]
    reference: Option<&'a str>,
    status: MessageStatus,
    error: Option<&'a str>,
    at: String,
}

#[derive(Serialize)]
struct InboundEvent<'a> {
    event: &'static str,
    id: i64,
    from: String,
    to: &'a str,
    text: &'a str,
    message_id: Option<MessageId>,
    campaign_id: Option<CampaignId>,
    at: String,
}

impl CallbackRenderer for NativeCallbacks {
    /// `None` only when the facts do not match the event kind (nothing
    /// sensible to say).
    fn render(&self, webhook: &Webhook, facts: &CallbackFacts) -> Option<RenderedCallback> {
        let body = match (webhook.kind, facts) {
            (EventKind::Status, CallbackFacts::Status { message, .. }) => {
                serde_json::to_vec(&StatusEvent {
                    event: "message.status",
                    message_id: message.id,
                    campaign_id: message.campaign_id,
                    to: message.number.to_string(),
                    reference: message.client_ref.as_deref(),
                    // The status the event reported, which the message may have left since.
                    status: webhook.status.unwrap_or(message.status),
                    error: message.error.as_deref(),
                    at: rfc3339(webhook.at),
                })
            }
            (EventKind::Inbound | EventKind::Stop, CallbackFacts::Inbound { inbound, .. }) => {
                let stop = webhook.kind == EventKind::Stop || inbound.is_stop;
                serde_json::to_vec(&InboundEvent {
                    event: if stop {
                        "message.stop"
                    } else {
                        "message.inbound"
                    },
                    id: inbound.id,
                    from: inbound.from.to_string(),
                    to: &inbound.to,
                    text: &inbound.text,
                    message_id: inbound.message_id,
                    campaign_id: inbound.campaign_id,
                    at: rfc3339(inbound.received_at),
                })
            }
            _ => return None,
        };
        // Serialising these plain structs cannot fail.
        body.ok()
            .map(|body| RenderedCallback::new(body, "application/json"))
    }

    /// A JSON array of the events, in order (`webhooks.batch_max`).
    fn join(&self, _source: &str, events: Vec<RenderedCallback>) -> Option<RenderedCallback> {
        let mut body =
            Vec::with_capacity(events.iter().map(|e| e.body.len() + 1).sum::<usize>() + 1);
        body.push(b'[');
        for (i, event) in events.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            body.extend_from_slice(&event.body);
        }
        body.push(b']');
        Some(RenderedCallback::new(body, "application/json"))
    }
}

/// The renderer the gateway runs: a campaign that came through a provider
/// dialect gets that provider's callback shape, every other event the native one.
#[derive(Debug, Clone, Copy, Default)]
pub struct DoorCallbacks;

impl CallbackRenderer for DoorCallbacks {
    fn render(&self, webhook: &Webhook, facts: &CallbackFacts) -> Option<RenderedCallback> {
        crate::dialects::render_callback(webhook, facts)
            .unwrap_or_else(|| NativeCallbacks.render(webhook, facts))
    }

    /// Native events are joined; a provider dialect keeps its provider's one
    /// event per request.
    fn join(&self, source: &str, events: Vec<RenderedCallback>) -> Option<RenderedCallback> {
        match crate::dialects::callback_renderer(source) {
            Some(_) => None,
            None => NativeCallbacks.join(source, events),
        }
    }
}
