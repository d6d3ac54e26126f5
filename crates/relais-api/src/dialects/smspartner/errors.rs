//! SMS Partner's error answers, `{"success": false, "code": 9, "message": "…"}`,
//! with for constraint violations (code 9) the list of fields at fault, and
//! how relais failures map to them.
//!
//! The list is sent twice: as `error`, the key the API answers with (the
//! official Go client reads it), and as `errors`, the key the documentation
//! shows; each item is `{"elementId": "children[<field>].data", "message"}`.
//!
//! HTTP statuses (SMS Partner only says errors are not 200): 401 for codes 1
//! and 10 (credentials), 402 for 11 (credit), 403 for 20 (disabled account),
//! 404 for 4 (not found), 409 for 5 and 7 (nothing left to cancel), 400 for
//! every other code. Two failures have no SMS Partner code and use the HTTP
//! status as their code: 429 (rate limited, with `Retry-After`) and 500.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use relais_core::plan::PlanError;

use crate::dialects::common::credentials::AuthError;
use crate::dialects::common::failure::failure_from_send_and_store;
use crate::dialects::common::format::{Format, Object, Value};
use crate::error::ApiError;

/// One field at fault in a code 9 answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: u16,
    pub message: String,
    pub errors: Vec<FieldError>,
    pub retry_after: Option<u64>,
}

impl Failure {
    pub fn new(code: u16, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
            errors: Vec::new(),
            retry_after: None,
        }
    }

    /// Code 9: at least one constraint violated; the message repeats the
    /// fields' messages so clients that show only `message` show them too.
    pub fn constraints(errors: Vec<FieldError>) -> Self {
        let message = errors
            .iter()
            .map(|e| e.message.as_str())
            .collect::<Vec<_>>()
            .join(" ; ");
        Failure {
            errors,
            ..Failure::new(9, message)
        }
    }

    pub fn constraint(field: &str, message: impl Into<String>) -> Self {
        Failure::constraints(vec![FieldError::new(field, message)])
    }

    pub fn not_found() -> Self {
        Failure::new(4, "Introuvable")
    }

    pub fn internal() -> Self {
        Failure::new(500, "Erreur interne")
    }

    pub fn http_status(&self) -> StatusCode {
        match self.code {
            1 | 10 => StatusCode::UNAUTHORIZED,
            11 => StatusCode::PAYMENT_REQUIRED,
            20 => StatusCode::FORBIDDEN,
            4 => StatusCode::NOT_FOUND,
            5 | 7 => StatusCode::CONFLICT,
            429 => StatusCode::TOO_MANY_REQUESTS,
            500 => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    pub fn render(&self, format: Format) -> Response {
        let mut body = Object::new()
            .field("success", false)
            .field("code", self.code)
            .field("message", self.message.as_str());
        if !self.errors.is_empty() {
            let list = || {
                Value::list(self.errors.iter().map(|e| {
                    Object::new()
                        .field("elementId", format!("children[{}].data", e.field))
                        .field("message", e.message.as_str())
                }))
            };
            body.push("error", list());
            body.push("errors", list());
        }
        let mut response = Value::from(body).respond(format, self.http_status(), super::XML_ROOT);
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
            AuthError::Missing => Failure::new(1, "La clé API est requise"),
            AuthError::Invalid => Failure::new(10, "Clé API invalide"),
            AuthError::AccountDisabled => Failure::new(20, "Compte désactivé"),
            AuthError::RateLimited(secs) => Failure {
                retry_after: Some(secs),
                ..Failure::new(429, "Trop de requêtes pour cette clé API")
            },
            AuthError::Internal => Failure::internal(),
        }
    }
}

impl From<PlanError> for Failure {
    fn from(e: PlanError) -> Self {
        let detail = e.to_string();
        match e {
            PlanError::NoRecipients => Failure::new(2, "Le numéro de téléphone est requis"),
            // Sends map it with each rejection (see `send::nothing_left`).
            PlanError::NoValidRecipient { .. } => Failure::constraint("phoneNumbers", detail),
            PlanError::TooManyRecipients { max } => {
                Failure::new(50, format!("Plus de {max} numéros de téléphone"))
            }
            PlanError::TextTooLong { segments, max } => Failure::new(
                52,
                format!("Le message fait {segments} SMS : {max} au plus"),
            ),
            PlanError::InsufficientCredits { .. } => {
                Failure::new(11, format!("Crédit insuffisant ({detail})"))
            }
            PlanError::MissingText | PlanError::EmptyText => {
                Failure::constraint("message", "Le message est requis")
            }
            PlanError::NotGsm7(_)
            | PlanError::ControlCharacter { .. }
            | PlanError::MissingStopMention(_) => Failure::constraint("message", detail),
            PlanError::InvalidSender(_) => Failure::constraint("sender", detail),
            PlanError::SendTimeInPast => Failure::constraint(
                "scheduledDeliveryDate",
                "La date est antérieure à la date actuelle",
            ),
            PlanError::WindowEndBeforeStart | PlanError::WindowClosedByQuietHours => {
                Failure::constraint("scheduledDeliveryDate", detail)
            }
        }
    }
}

failure_from_send_and_store!(Failure);

/// Errors of the helpers shared with the native API.
impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        match e.status {
            StatusCode::NOT_FOUND => Failure::not_found(),
            StatusCode::PAYMENT_REQUIRED => Failure::new(11, e.message),
            s if s.is_server_error() => Failure::internal(),
            _ => Failure::constraints(vec![FieldError::new(
                e.field.unwrap_or_default(),
                e.message,
            )]),
        }
    }
}
