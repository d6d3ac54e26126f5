//! Request extractors whose rejections speak our error shape: a JSON body
//! ([`JsonBody`]), a query string ([`Query`]) and a numeric id in the path
//! ([`Id`]). axum's own extractors answer plain-text errors.

use std::borrow::Cow;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON request body deserialized into `T`.
///
/// - a body over the configured limit → 413 `body_too_large`;
/// - a `Content-Type` other than JSON → 415 (no `Content-Type` is read as JSON);
/// - invalid UTF-8 → 400 `invalid_utf8`;
/// - malformed JSON → 400 `malformed_json`;
/// - wrong types, unknown fields (types deny them), missing fields → 400
///   `invalid_field`, `unknown_field`, `missing_field`, with the field's path.
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if let Some(content_type) = req.headers().get(header::CONTENT_TYPE)
            && !is_json(content_type.to_str().unwrap_or_default())
        {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "the body must be JSON (Content-Type: application/json)",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body_too_large",
                    "the request body is too large",
                )
            } else {
                ApiError::bad_request("unreadable_body", rejection.body_text())
            }
        })?;
        parse_json(&bytes).map(JsonBody)
    }
}

fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Parses a JSON document into `T`, with errors as [`JsonBody`] describes.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        ApiError::bad_request(
            "invalid_utf8",
            format!("the body is not valid UTF-8 (at byte {})", e.valid_up_to()),
        )
    })?;
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(json_error)?;
    deserializer
        .end()
        .map_err(|e| ApiError::bad_request("malformed_json", e.to_string()))?;
    Ok(value)
}

/// Deserializes an already parsed JSON value, with errors as [`JsonBody`] describes.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(json_error)
}

fn json_error(error: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = error.path().to_string();
    let inner = error.into_inner();
    if !inner.is_data() {
        return ApiError::bad_request("malformed_json", format!("malformed JSON: {inner}"));
    }
    let message = inner.to_string();
    // The path of an unknown field ends with its name; that of a missing
    // field is its parent's.
    let (code, field) = if message.starts_with("unknown field `") {
        ("unknown_field", Cow::Owned(path))
    } else if let Some(name) = quoted_name(&message, "missing field `") {
        ("missing_field", join_path(&path, name))
    } else {
        ("invalid_field", Cow::Owned(path))
    };
    let error = ApiError::bad_request(code, format!("invalid request: {message}"));
    if field == "." {
        error
    } else {
        error.with_field(field)
    }
}

/// The name in serde's "missing field `x`" messages.
fn quoted_name<'m>(message: &'m str, prefix: &str) -> Option<&'m str> {
    let rest = message.strip_prefix(prefix)?;
    rest.split_once('`').map(|(name, _)| name)
}

/// `parent.name`, or `name` at the top level (whose path is ".").
fn join_path<'a>(parent: &str, name: &'a str) -> Cow<'a, str> {
    if parent == "." {
        Cow::Borrowed(name)
    } else {
        Cow::Owned(format!("{parent}.{name}"))
    }
}

/// A query string deserialized into `T` (repeated keys allowed: `status=a&status=b`).
/// Values that do not parse → 400 `invalid_query`.
#[derive(Debug, Clone)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum_extra::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum_extra::extract::Query(value)| Query(value))
            .map_err(|rejection| ApiError::bad_request("invalid_query", rejection.body_text()))
    }
}

/// The one path parameter of a route, as a record id. An id that is not a
/// number is answered like an unknown one: 404 `not_found`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Id(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::not_found())?;
        raw.parse().map(Id).map_err(|_| ApiError::not_found())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        name: String,
        #[serde(default)]
        items: Vec<Inner>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        to: String,
    }

    fn fail(json: &[u8]) -> (String, Option<String>) {
        let e = parse_json::<Outer>(json).unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        (e.code.into_owned(), e.field)
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(
            fail(br#"{"name": 5}"#),
            ("invalid_field".into(), Some("name".into()))
        );
        assert_eq!(
            fail(br#"{"nam": "x"}"#),
            ("unknown_field".into(), Some("nam".into()))
        );
        assert_eq!(
            fail(br#"{}"#),
            ("missing_field".into(), Some("name".into()))
        );
        assert_eq!(
            fail(br#"{"name": "x", "items": [{"to": "1"}, {"to": 2}]}"#),
            ("invalid_field".into(), Some("items[1].to".into()))
        );
        assert_eq!(
            fail(br#"{"name": "x", "items": [{"to": "1", "ref": 2}]}"#),
            ("unknown_field".into(), Some("items[0].ref".into()))
        );
    }

    #[test]
    fn syntax_and_encoding_errors() {
        assert_eq!(fail(br#"{"name": "x""#).0, "malformed_json");
        assert_eq!(fail(br#"{"name": "x"} trailing"#).0, "malformed_json");
        assert_eq!(fail(b"").0, "malformed_json");
        assert_eq!(fail(b"{\"name\": \"\xff\"}").0, "invalid_utf8");
    }

    #[test]
    fn json_content_types() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(is_json("application/merge-patch+json"));
        assert!(!is_json("text/plain"));
        assert!(!is_json("application/x-www-form-urlencoded"));
    }
}
