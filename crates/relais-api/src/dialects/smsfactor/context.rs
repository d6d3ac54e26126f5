//! What every SMSFactor handler starts from: the answer format (`Accept`,
//! XML by default), the query string, and the caller, authenticated by
//! `Authorization: Bearer <token>` or a `token` query parameter.

use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;

use super::errors::{Failure, Status};
use crate::auth::{Caller, bearer_token};
use crate::dialects::common::credentials::authenticate;
use crate::dialects::common::format::{Format, Object, Value};
use crate::dialects::common::forms::Params;
use crate::state::SharedState;

/// An authenticated request.
pub struct Ctx {
    pub format: Format,
    pub caller: Caller,
    pub query: Params,
}

impl Ctx {
    /// The answer: `value` with HTTP 200, or the failure.
    pub fn reply(&self, result: Result<Value, Failure>) -> Response {
        match result {
            Ok(value) => value.respond(self.format, StatusCode::OK, super::XML_ROOT),
            Err(failure) => failure.render(self.format),
        }
    }
}

impl FromRequestParts<SharedState> for Ctx {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, Response> {
        let format = Format::from_accept(&parts.headers, Format::Xml);
        let query = Params::from_query(parts.uri.query())
            .map_err(|e| Failure::data(e.to_string()).render(format))?;
        let token = bearer_token(&parts.headers).or_else(|| query.get("token"));
        let caller = authenticate(state, token)
            .await
            .map_err(|e| Failure::from(e).render(format))?;
        Ok(Ctx {
            format,
            caller,
            query,
        })
    }
}

/// The numeric id of a route's path (`/campaign/{id}`); anything else is
/// unknown: SMSFactor's not found (-5).
pub fn path_id(path: Result<Path<String>, PathRejection>) -> Result<i64, Failure> {
    path.ok()
        .and_then(|Path(raw)| raw.trim().parse().ok())
        .ok_or_else(Failure::not_found)
}

/// `{"status": 1, "message": "OK"}`, to which an answer adds its fields.
pub fn ok() -> Object {
    Object::new()
        .field("status", Status::Ok.code())
        .field("message", Status::Ok.message())
}
