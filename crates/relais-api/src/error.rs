//! The one error shape of the native API, `{"error": {"code", "message",
//! "field"}}`, and how every failure maps to an HTTP status.
//!
//! Status codes, consistently:
//! - 400 the request cannot be read: malformed JSON, invalid UTF-8, wrong
//!   types, unknown or missing fields, values that do not parse (dates such as
//!   2026-02-30, amounts, countries, query parameters, headers);
//! - 422 it reads, but is refused: every planning error (empty text, bad
//!   sender, too many recipients, send time in the past…), a private callback
//!   URL, invalid numbers or settings;
//! - 401 missing or unknown credentials, 402 not enough credits, 403 disabled
//!   account or administration switched off, 404 unknown resource (including
//!   another account's, and ids that are not numbers), 409 conflict, 413 body
//!   too large, 415 not JSON, 429 rate limited (with `Retry-After`);
//! - 500 anything else, logged, its details never sent to the client.

use std::borrow::Cow;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use relais_core::plan::PlanError;
use relais_engine::callback_url::CallbackUrlError;
use relais_engine::send::SendError;
use relais_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// An error answer. Build one with [`ApiError::new`] or the shortcuts, and
/// return it from a handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: Cow<'static, str>,
    pub message: String,
    pub field: Option<String>,
    /// Seconds, sent as `Retry-After` (429).
    pub retry_after: Option<u64>,
    /// What the refusal is about, when a code and message cannot say it all
    /// (boxed: errors travel in every `Result`).
    pub details: Option<Box<serde_json::Value>>,
}

/// The JSON body of every error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine code, e.g. `empty_text`, `not_found`.
    #[schema(example = "empty_text")]
    pub code: String,
    /// For a person.
    pub message: String,
    /// The request field at fault, when known (`recipients[2].to`).
    pub field: Option<String>,
    /// Only on some errors: for `no_valid_recipient`, the send's `counters`
    /// and the first 1,000 recipients `rejected` (as in a send's answer).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            code: code.into(),
            message: message.into(),
            field: None,
            retry_after: None,
            details: None,
        }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(Box::new(details));
        self
    }

    /// 400: a value that does not parse.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 422: a well-formed request that is refused.
    pub fn unprocessable(code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    pub fn not_found() -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such resource")
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::FORBIDDEN, code, message)
    }

    pub fn too_many_requests(retry_after_secs: u64) -> Self {
        ApiError {
            retry_after: Some(retry_after_secs.max(1)),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many requests for this API key",
            )
        }
    }

    /// 422 `invalid_callback_url` on `field`.
    pub fn callback_url(field: &str, e: CallbackUrlError) -> Self {
        ApiError::unprocessable("invalid_callback_url", e.to_string()).with_field(field)
    }

    /// 500: logs `error` and tells the client nothing about it.
    pub fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "internal error answering a request");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error",
        )
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message.clone(),
                field: self.field.clone(),
                details: self.details.as_deref().cloned(),
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body())).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<PlanError> for ApiError {
    fn from(e: PlanError) -> Self {
        let status = match e {
            PlanError::InsufficientCredits { .. } => StatusCode::PAYMENT_REQUIRED,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        let error = ApiError::new(status, e.code(), e.to_string());
        match e.field() {
            Some(field) => error.with_field(field),
            None => error,
        }
    }
}

impl From<SendError> for ApiError {
    fn from(e: SendError) -> Self {
        match e {
            SendError::Plan(e) => e.into(),
            SendError::AccountDisabled => {
                ApiError::forbidden("account_disabled", "the account is disabled")
            }
            SendError::Store(e) => e.into(),
            // The account's stored settings are broken: the operator's problem,
            // not the client's, and not something to show them.
            SendError::Settings(_) => ApiError::internal(e),
            SendError::IdempotencyKeyReused(_) => ApiError::unprocessable(
                "idempotency_key_reused",
                "this Idempotency-Key was used for another request: a retry must repeat the \
                 request exactly, and a new request needs a new key",
            )
            .with_field("Idempotency-Key"),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::not_found(),
            StoreError::Conflict(what) => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                format!("already exists: {what}"),
            ),
            StoreError::InsufficientCredits { .. } => ApiError::new(
                StatusCode::PAYMENT_REQUIRED,
                "insufficient_credits",
                e.to_string(),
            ),
            StoreError::Database(_) | StoreError::Migrate(_) | StoreError::Corrupt(_) => {
                ApiError::internal(e)
            }
        }
    }
}

/// Answers unknown paths in the error shape.
pub async fn not_found_fallback() -> ApiError {
    ApiError::not_found()
}
