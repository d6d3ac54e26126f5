//! The SMSFactor dialect: SMSFactor's API (`https://api.smsfactor.com`),
//! served under `/compat/smsfactor` (or at the root of a listener of its
//! own), so an application moves to relais by changing its base URL.
//!
//! Endpoints: `GET|POST /send` and `/send/simulate` ([`send`]), `DELETE
//! /send/{ticket}`, `GET /credits`, `GET /campaign/{id}`, `GET /campaigns`
//! ([`reads`]), `GET|POST /blacklist`, `DELETE /blacklist/contact/{id}`,
//! `GET|POST /npai` ([`lists`]), `GET|POST /webhook`, `PUT|DELETE
//! /webhook/{id}` ([`webhooks`]); pushes in [`callbacks`].
//!
//! Translation, and the choices where SMSFactor says nothing:
//! - credentials: the token (`Authorization: Bearer`, or `token=` in the
//!   query) is a relais API key; the SDKs' `X-application` header is ignored;
//! - formats: answers are XML (root `<response>`) unless `Accept` prefers
//!   JSON; request bodies are JSON or XML by `Content-Type` ([`requests`]);
//! - a send: `pushtype=marketing` is a marketing message (quiet hours and
//!   the STOP mention are the pipeline's), `delay` is Europe/Paris local
//!   time, `unicode=1` forces UCS-2, `gsmsmsid` is the recipient's client
//!   reference (returned as the DLR's `message_id`); counters come from the
//!   plan as they are; `/send/simulate` plans without storing and has no
//!   `ticket`;
//! - credits and costs are whole SMS credits ([`credits`]);
//! - errors: `{"status": <negative>, "message", "details"}` with HTTP 200,
//!   because that is where SMSFactor's SDKs look for them: the PHP (Guzzle)
//!   and Java (google-http-client) SDKs throw on any non-2xx status before
//!   reading the body, and the Python SDK prints the HTTP error and returns
//!   nothing. Only rate limiting (429, `Retry-After`, status -99) and server
//!   faults (500, -99) use HTTP statuses. See [`errors`] for the mapping;
//!   -8 (under moderation) is never answered: relais has no moderation.

mod callbacks;
mod context;
mod credits;
mod errors;
mod lists;
mod reads;
pub(crate) mod requests;
mod send;
mod webhooks;

use axum::Router;
use axum::routing::{delete, get, put};

pub use callbacks::render_callback;

use crate::state::SharedState;

/// The dialect's name: its `/compat/` path and its campaigns' `source`.
pub const NAME: &str = "smsfactor";

/// The root element of XML answers.
const XML_ROOT: &str = "response";

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/send", get(send::get_send).post(send::post_send))
        .route(
            "/send/simulate",
            get(send::get_simulate).post(send::post_simulate),
        )
        .route("/send/{ticket}", delete(send::cancel))
        .route("/credits", get(reads::credits))
        .route("/campaign/{id}", get(reads::campaign))
        .route("/campaigns", get(reads::campaigns))
        .route(
            "/blacklist",
            get(lists::get_blacklist).post(lists::post_blacklist),
        )
        .route("/blacklist/contact/{id}", delete(lists::delete_blacklisted))
        .route("/npai", get(lists::get_npai).post(lists::post_npai))
        .route("/webhook", get(webhooks::list).post(webhooks::create))
        .route(
            "/webhook/{id}",
            put(webhooks::update).delete(webhooks::delete),
        )
}
