//! The SMS Partner dialect: SMS Partner's API (`https://api.smspartner.fr/v1`),
//! served under `/compat/smspartner/v1` (or `/v1` at the root of a listener
//! of its own), so an application moves to relais by changing its base URL.
//!
//! Endpoints: `POST /v1/send`, `POST /v1/bulk-send` ([`send`]),
//! `GET /v1/message-status`, `POST /v1/multi-status`, `GET /v1/bulk-status`
//! ([`status`]), `GET /v1/me`, `GET /v1/message-cancel` ([`account`]),
//! `GET /v1/stop-sms/list`, `POST /v1/stop-sms/add`, `GET /v1/stop-sms/delete`
//! ([`stops`]); callbacks in [`callbacks`].
//!
//! Translation, and the choices where SMS Partner says nothing:
//! - credentials: `apiKey` (JSON body, form or query) is a relais API key:
//!   missing is code 1, unknown 10, a disabled account 20 ([`input`]);
//! - formats: JSON unless `_format=xml` (root `<response>`, the same fields);
//!   answers `{"success":true,"code":200,…}`, errors as [`errors`] says;
//! - a message id is a relais campaign id; amounts are numbers with their
//!   exact decimals, in EUR;
//! - messages are sent as written: SMS Partner replaces accented characters,
//!   relais leaves that to the account's smart-encoding setting.

mod account;
mod callbacks;
mod errors;
pub(crate) mod input;
pub(crate) mod send;
mod status;
mod stops;

use axum::Router;
use axum::routing::{get, post};

pub use callbacks::render_callback;

use crate::state::SharedState;

/// The dialect's name: its `/compat/` path and its campaigns' `source`.
pub const NAME: &str = "smspartner";

/// The root element of XML answers.
const XML_ROOT: &str = "response";

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/v1/send", post(send::send))
        .route("/v1/bulk-send", post(send::bulk_send))
        .route("/v1/message-status", get(status::message_status))
        .route("/v1/multi-status", post(status::multi_status))
        .route("/v1/bulk-status", get(status::bulk_status))
        .route("/v1/me", get(account::me))
        .route("/v1/message-cancel", get(account::message_cancel))
        .route("/v1/stop-sms/list", get(stops::list))
        .route("/v1/stop-sms/add", post(stops::add))
        .route("/v1/stop-sms/delete", get(stops::delete))
}
