//! Drop-in compatible doors: the APIs of SMSFactor, SMS Partner, SMSAdvert and
//! Octopush, so an application written for one of them moves to relais by
//! changing its base URL.
//!
//! Each dialect only translates: its requests into the pipeline's
//! `SendRequest` (or a store query), the outcome back into the provider's
//! answer, `relais-core` errors into the provider's codes and HTTP statuses,
//! and status events and replies into the provider's callback bodies. The
//! parsing helpers they share (format negotiation, XML, forms, Paris local
//! time, number lists) are in [`common`], written once.
//!
//! Every dialect is served under `/compat/{name}` on the main listener, and can
//! be served at the root of a listener of its own ([`router`]).

pub mod common;
pub mod octopush;
pub mod smsadvert;
pub mod smsfactor;
pub mod smspartner;

use axum::Router;
use relais_engine::webhooks::{CallbackFacts, RenderedCallback};
use relais_store::Webhook;

use crate::state::SharedState;

/// The dialects, by the name used in `/compat/{name}`, configuration and a
/// campaign's `source`.
pub const NAMES: [&str; 4] = ["smsfactor", "smspartner", "smsadvert", "octopush"];

/// A dialect's routes, relative to its own root.
pub fn router(name: &str) -> Option<Router<SharedState>> {
    match name {
        "smsfactor" => Some(smsfactor::router()),
        "smspartner" => Some(smspartner::router()),
        "smsadvert" => Some(smsadvert::router()),
        "octopush" => Some(octopush::router()),
        _ => None,
    }
}

/// Renders a callback for an event of a campaign that came through a dialect
/// (`webhook.source`). `None` when the source is not a dialect; `Some(None)`
/// when the dialect sends no callback for this event.
pub fn render_callback(
    webhook: &Webhook,
    facts: &CallbackFacts,
) -> Option<Option<RenderedCallback>> {
    callback_renderer(&webhook.source).map(|render| render(webhook, facts))
}

/// How a dialect renders a callback; `None` when it sends none for the event.
pub type RenderCallback = fn(&Webhook, &CallbackFacts) -> Option<RenderedCallback>;

/// The callback renderer of the dialect a campaign came through
/// (`webhook.source`); `None` when the source is not a dialect.
pub fn callback_renderer(source: &str) -> Option<RenderCallback> {
    match source {
        "smsfactor" => Some(smsfactor::render_callback),
        "smspartner" => Some(smspartner::render_callback),
        "smsadvert" => Some(smsadvert::render_callback),
        "octopush" => Some(octopush::render_callback),
        _ => None,
    }
}
