//! SMSFactor's request statuses and the error answer
//! `{"status": -7, "message": "Data error", "details": "…"}`, and how relais
//! failures map to them.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use relais_core::plan::PlanError;

use crate::dialects::common::body::BodyError;
use crate::dialects::common::credentials::AuthError;
use crate::dialects::common::failure::failure_from_send_and_store;
use crate::dialects::common::format::{Format, Object};
use crate::dialects::common::xml::XmlError;
use crate::error::ApiError;

/// The `status` of an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    Authentication,
    Xml,
    NotEnoughCredits,
    BadDelay,
    NotFound,
    Json,
    Data,
    Unknown,
}

impl Status {
    pub fn code(self) -> i32 {
        match self {
            Status::Ok => 1,
            Status::Authentication => -1,
            Status::Xml => -2,
            Status::NotEnoughCredits => -3,
            Status::BadDelay => -4,
            Status::NotFound => -5,
            Status::Json => -6,
            Status::Data => -7,
            Status::Unknown => -99,
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Authentication => "Authentication error",
            Status::Xml => "XML error",
            Status::NotEnoughCredits => "Not enough credits",
            Status::BadDelay => "Invalid delay date",
            Status::NotFound => "Not found",
            Status::Json => "JSON error",
            Status::Data => "Data error",
            Status::Unknown => "Unknown error",
        }
    }
}

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub status: Status,
    pub details: String,
    /// 200 but for rate limiting (429) and server faults (500): see the
    /// module documentation of the dialect.
    pub http: StatusCode,
    pub retry_after: Option<u64>,
}

impl Failure {
    pub fn new(status: Status, details: impl Into<String>) -> Self {
        Failure {
            status,
            details: details.into(),
            http: StatusCode::OK,
            retry_after: None,
        }
    }

    pub fn data(details: impl Into<String>) -> Self {
        Failure::new(Status::Data, details)
    }

    pub fn not_found() -> Self {
        Failure::new(Status::NotFound, "no such resource for this account")
    }

    fn internal() -> Self {
        Failure {
            http: StatusCode::INTERNAL_SERVER_ERROR,
            ..Failure::new(Status::Unknown, "internal error")
        }
    }

    pub fn render(&self, format: Format) -> Response {
        let body = Object::new()
            .field("status", self.status.code())
            .field("message", self.status.message())
            .field("details", self.details.as_str());
        let mut response = crate::dialects::common::format::Value::from(body).respond(
            format,
            self.http,
            super::XML_ROOT,
        );
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<AuthError> for Failure {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Missing => Failure::new(
                Status::Authentication,
                "no token: send Authorization: Bearer <token>",
            ),
            AuthError::Invalid => Failure::new(Status::Authentication, "unknown or revoked token"),
            AuthError::AccountDisabled => {
                Failure::new(Status::Authentication, "the account is disabled")
            }
            AuthError::RateLimited(secs) => Failure {
                http: StatusCode::TOO_MANY_REQUESTS,
                retry_after: Some(secs),
                ..Failure::new(Status::Unknown, "too many requests for this token")
            },
            AuthError::Internal => Failure::internal(),
        }
    }
}

impl From<PlanError> for Failure {
    fn from(e: PlanError) -> Self {
        let status = match e {
            PlanError::InsufficientCredits { .. } => Status::NotEnoughCredits,
            PlanError::SendTimeInPast => Status::BadDelay,
            _ => Status::Data,
        };
        Failure::new(status, e.to_string())
    }
}

failure_from_send_and_store!(Failure);

/// Errors of the helpers shared with the native API.
impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        match e.status {
            StatusCode::NOT_FOUND => Failure::not_found(),
            StatusCode::PAYMENT_REQUIRED => Failure::new(Status::NotEnoughCredits, e.message),
            s if s.is_server_error() => Failure::internal(),
            _ => Failure::data(e.message),
        }
    }
}

impl From<BodyError> for Failure {
    fn from(e: BodyError) -> Self {
        Failure::data(e.to_string())
    }
}

impl From<XmlError> for Failure {
    fn from(e: XmlError) -> Self {
        match e {
            XmlError::Data(_) => Failure::data(e.to_string()),
            _ => Failure::new(Status::Xml, e.to_string()),
        }
    }
}
