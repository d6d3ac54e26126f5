//! What every SMS Partner handler starts from ([`Input`]): the parameters of
//! the query string and of the body (a JSON object, or a form), the JSON body
//! itself for its lists, the answer format (`_format`, JSON by default) and
//! the caller, authenticated by `apiKey`.
//!
//! JSON scalars are read as text whatever their type (`"gamme": 1` or
//! `"1"`); body parameters win over query ones. A body that is not a JSON
//! object is SMS Partner's invalid JSON (code 90).

use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value as Json;

use super::errors::{Failure, FieldError};
use crate::auth::Caller;
use crate::dialects::common::body::{self, BodyKind};
use crate::dialects::common::credentials::authenticate;
use crate::dialects::common::format::{Format, Object, Value};
use crate::dialects::common::forms::Params;
use crate::dialects::common::scalar;
use crate::state::SharedState;

/// An authenticated request.
pub struct Input {
    pub format: Format,
    pub caller: Caller,
    pub params: Params,
    /// The JSON body, when there is one.
    pub json: Option<serde_json::Map<String, Json>>,
}

impl Input {
    /// A parameter, blanks trimmed; empty counts as absent.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .get(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }

    /// A list in the JSON body, under the first of `names` present.
    pub fn list(&self, names: &[&str]) -> Option<&Vec<Json>> {
        let json = self.json.as_ref()?;
        names.iter().find_map(|name| json.get(*name)?.as_array())
    }

    /// The answer: `{"success":true,"code":200,…}` with HTTP 200, or the failure.
    pub fn reply(&self, result: Result<Value, Failure>) -> Response {
        match result {
            Ok(value) => value.respond(self.format, StatusCode::OK, super::XML_ROOT),
            Err(failure) => failure.render(self.format),
        }
    }
}

/// `{"success":true,"code":200}`, to which an answer adds its fields.
pub fn success() -> Object {
    Object::new().field("success", true).field("code", 200)
}

fn format_of(params: &Params) -> Result<Format, Failure> {
    match params
        .get("_format")
        .map(str::trim)
        .filter(|f| !f.is_empty())
    {
        None => Ok(Format::Json),
        Some(name) => Format::from_name(name).ok_or_else(|| {
            Failure::constraints(vec![FieldError::new(
                "_format",
                format!("Le format doit être json ou xml, pas {name:?}"),
            )])
        }),
    }
}

/// Adds the body's parameters to `params` (a form's, or a JSON object's
/// scalars as text) and returns the JSON object when the body is one; a
/// blank body adds nothing.
pub(crate) fn read_body(
    kind: BodyKind,
    bytes: &[u8],
    params: &mut Params,
) -> Result<Option<serde_json::Map<String, Json>>, Failure> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    if kind == BodyKind::Form {
        let form = Params::parse(bytes).map_err(|e| Failure::constraint("body", e.to_string()))?;
        params.extend(form);
        return Ok(None);
    }
    let invalid = |detail: String| Failure::new(90, format!("JSON invalide : {detail}"));
    let object = match serde_json::from_slice::<Json>(bytes) {
        Ok(Json::Object(object)) => object,
        Ok(_) => return Err(invalid("un objet est attendu".into())),
        Err(e) => return Err(invalid(e.to_string())),
    };
    for (key, value) in &object {
        if let Some(text) = scalar::text(value) {
            params.push(key.clone(), text);
        }
    }
    Ok(Some(object))
}

impl FromRequest<SharedState> for Input {
    type Rejection = Response;

    async fn from_request(request: Request, state: &SharedState) -> Result<Self, Response> {
        let mut params = Params::from_query(request.uri().query())
            .map_err(|e| Failure::constraint("query", e.to_string()).render(Format::Json))?;
        // The query's format, until the body says otherwise.
        let mut format = format_of(&params).map_err(|f| f.render(Format::Json))?;
        let kind = BodyKind::of(request.headers());
        let bytes = body::read(request)
            .await
            .map_err(|e| Failure::constraint("body", e.to_string()).render(format))?;
        let json = read_body(kind, &bytes, &mut params).map_err(|f| f.render(format))?;
        format = format_of(&params).map_err(|f| f.render(format))?;
        let caller = authenticate(state, params.get("apiKey"))
            .await
            .map_err(|e| Failure::from(e).render(format))?;
        Ok(Input {
            format,
            caller,
            params,
            json,
        })
    }
}
