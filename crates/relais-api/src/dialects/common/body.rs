//! Reading a request body for a dialect: the bytes (within the configured
//! limit) and what its `Content-Type` says they are. Dialects render the
//! failures in their own error shape.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};

/// Why a body could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("the request body is too large")]
    TooLarge,
    #[error("the request body could not be read: {0}")]
    Unreadable(String),
}

/// What a body claims to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    Json,
    Xml,
    /// `application/x-www-form-urlencoded`.
    Form,
    /// No `Content-Type`.
    Unspecified,
    Other,
}

impl BodyKind {
    pub fn of(headers: &HeaderMap) -> BodyKind {
        let Some(value) = headers.get(header::CONTENT_TYPE) else {
            return BodyKind::Unspecified;
        };
        let essence = value
            .to_str()
            .unwrap_or_default()
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            "application/json" | "text/json" => BodyKind::Json,
            "application/xml" | "text/xml" => BodyKind::Xml,
            "application/x-www-form-urlencoded" => BodyKind::Form,
            "" => BodyKind::Unspecified,
            e if e.ends_with("+json") => BodyKind::Json,
            e if e.ends_with("+xml") => BodyKind::Xml,
            _ => BodyKind::Other,
        }
    }

    /// The kind of an unlabelled body, from its first visible character: `<`
    /// is XML, anything else JSON.
    pub fn sniff(bytes: &[u8]) -> BodyKind {
        match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'<') => BodyKind::Xml,
            _ => BodyKind::Json,
        }
    }
}

/// The whole body of `request`, within the body limit the router enforces.
pub async fn read(request: Request) -> Result<Bytes, BodyError> {
    Bytes::from_request(request, &())
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                BodyError::TooLarge
            } else {
                BodyError::Unreadable(rejection.body_text())
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(content_type: &str) -> BodyKind {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, content_type.parse().unwrap());
        BodyKind::of(&headers)
    }

    #[test]
    fn content_types() {
        assert_eq!(BodyKind::of(&HeaderMap::new()), BodyKind::Unspecified);
        assert_eq!(kind("application/json; charset=utf-8"), BodyKind::Json);
        assert_eq!(kind("Text/XML"), BodyKind::Xml);
        assert_eq!(kind("application/x-www-form-urlencoded"), BodyKind::Form);
        assert_eq!(kind("application/vnd.api+json"), BodyKind::Json);
        assert_eq!(kind("text/plain"), BodyKind::Other);
        assert_eq!(BodyKind::sniff(b"  <sms/>"), BodyKind::Xml);
        assert_eq!(BodyKind::sniff(b"{}"), BodyKind::Json);
    }
}
