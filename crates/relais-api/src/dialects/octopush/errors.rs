//! Octopush return codes and how relais' failures map to them.
//!
//! The codes and their texts are those of the official Python SDK's table
//! (`octopush.ERRORS`, PyPI `octopush` 1.0.0), limited to the ones relais
//! answers:
//!
//! | relais | code | v1 status |
//! |---|---|---|
//! | no parameter at all (old API) | 100 | 400 |
//! | `user_login`/`api-login` missing | 108 | 401 |
//! | `api_key`/`api-key` missing | 109 | 401 |
//! | unknown login, unknown or revoked key, key of another account | 101 | 401 |
//! | account disabled | 113 | 403 |
//! | no recipient | 110 | 400 |
//! | no valid number among the recipients | 117 | 422 |
//! | too many recipients | 305 | 400 |
//! | text missing or empty | 107 | 400 |
//! | text too long (characters or segments) | 102 | 400/422 |
//! | `sms_type`/`type` missing, unknown | 112, 208 | 400 |
//! | invalid sender | 106 | 422 |
//! | marketing text without STOP mention: premium; low cost (`no PUB=STOP`) | 121; 122 | 422 |
//! | control character in the text | 500 | 422 |
//! | not enough credit | 104 | 402 |
//! | `request_id` already used | 120 | 409 |
//! | `request_keys` without `request_sha1`, wrong `request_sha1` | 123, 124 | 400 |
//! | unknown ticket; nothing left to cancel | 131; 132 | 404; 409 |
//! | anything else the request gets wrong (unreadable body, bad values, dates) | 500 | 400/409/413/422 |
//! | rate limited; relais failing | 500 | 429; 500 |
//!
//! Per recipient (old API `failures`): invalid number 150, country not
//! allowed or monthly country limit reached 151 (152 for low cost),
//! blacklisted or NPAI 209, anti-flood 128; duplicates are silently dropped.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use relais_core::plan::{FilterReason, PlanError};
use relais_core::pricing::RouteClass;
use relais_engine::send::SendError;

use crate::dialects::common::body::BodyError;
use crate::dialects::common::credentials::AuthError;

/// An Octopush return code (`000` is success).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Code(u16);

impl Code {
    pub const OK: Code = Code(0);
    pub const NO_PARAMETERS: Code = Code(100);
    pub const BAD_LOGIN: Code = Code(101);
    pub const TEXT_TOO_LONG: Code = Code(102);
    pub const NO_CREDIT: Code = Code(104);
    pub const BAD_SENDER: Code = Code(106);
    pub const NO_TEXT: Code = Code(107);
    pub const NO_LOGIN: Code = Code(108);
    pub const NO_API_KEY: Code = Code(109);
    pub const NO_RECIPIENTS: Code = Code(110);
    pub const NO_SMS_TYPE: Code = Code(112);
    pub const ACCOUNT_DISABLED: Code = Code(113);
    pub const NO_VALID_NUMBER: Code = Code(117);
    pub const DUPLICATE_REQUEST: Code = Code(120);
    pub const MISSING_STOP: Code = Code(121);
    pub const MISSING_LOW_COST_STOP: Code = Code(122);
    pub const MISSING_SHA1: Code = Code(123);
    pub const BAD_SHA1: Code = Code(124);
    pub const FLOOD: Code = Code(128);
    pub const CAMPAIGN_NOT_FOUND: Code = Code(131);
    pub const CAMPAIGN_SENT: Code = Code(132);
    pub const UNKNOWN_PREFIX: Code = Code(150);
    pub const COUNTRY_NOT_SERVICED: Code = Code(151);
    pub const NO_LOW_COST: Code = Code(152);
    pub const BAD_SMS_TYPE: Code = Code(208);
    pub const RECIPIENT_REFUSED: Code = Code(209);
    pub const TOO_MANY_CONTACTS: Code = Code(305);
    pub const CANNOT_PROCESS: Code = Code(500);

    pub fn number(self) -> u16 {
        self.0
    }

    /// Three digits, as the old API writes codes: "000", "101".
    pub fn text(self) -> String {
        format!("{:03}", self.0)
    }

    /// The SDK's text for the code.
    pub fn message(self) -> &'static str {
        match self.0 {
            0 => "OK",
            100 => "POST request missing.",
            101 => "Incorrect login details.",
            102 => "Your SMS exceeds 160 characters",
            104 => "You have run out of credit.",
            106 => {
                "You have entered the Sender incorrectly. 3 to 11 characters, chosen from 0 to 9, a to z, A to Z. No accent, space or punctuation."
            }
            107 => "The text of your message is missing.",
            108 => "You have not entered your login details.",
            109 => "You have not entered your password.",
            110 => "You have not entered the list of recipient.",
            112 => "You have not defined the quality of your message.",
            113 => {
                "Your account is not validated. Log in Octopush and go to the \"User interface\" section."
            }
            117 => {
                "Your recipient list contains no correct numbers. Have you formatted your numbers by including the international dialling code? Contact us if you have any problems."
            }
            120 => "A SMS with the same request_id has already been sent.",
            121 => {
                "In Premium SMS, the mention \"STOP au XXXXX\" is mandatory and must belong to your text (respect the case)."
            }
            122 => {
                "In Standard SMS, the mention \"no PUB=STOP\" is mandatory and must belong to your text (respect the case)."
            }
            123 => "The field request_sha1 is missing.",
            124 => {
                "The field request_sha1 does not match. The data is wrong, or the query string contains an error or the frame contains an error : the request is rejected."
            }
            128 => "Too many attempts have been made. You need to start a new campaign.",
            131 => "Campaign not found.",
            132 => "Campaign sent.",
            150 => "No country was found for this prefix.",
            151 => "The recipient country is not part of the countries serviced by Octopush.",
            152 => "You cannot send low cost SMS to this country. Choose Premium SMS",
            208 => "Wrong type of SMS.",
            209 => "You are not allowed to send SMS messages to this user.",
            305 => "There are too many contacts in the query.",
            _ => "Impossible to process the requested action",
        }
    }
}

/// A refused request: its code, the HTTP status the v1 API answers it with
/// (the old API answers 200 but for 413, 429 and 500), and what to tell a
/// person when the code's text is not enough.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: Code,
    pub status: StatusCode,
    pub detail: Option<String>,
    /// Seconds, sent as `Retry-After`.
    pub retry_after: Option<u64>,
}

impl Failure {
    pub fn new(code: Code, status: StatusCode) -> Self {
        Failure {
            code,
            status,
            detail: None,
            retry_after: None,
        }
    }

    /// 400 with a code and what was wrong.
    pub fn invalid(code: Code, detail: impl Into<String>) -> Self {
        Failure::new(code, StatusCode::BAD_REQUEST).with_detail(detail)
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// 500: relais failed; the error is logged, the client told nothing more.
    pub fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "Octopush dialect failed");
        Failure::new(Code::CANNOT_PROCESS, StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The detail, else the code's text.
    pub fn message(&self) -> &str {
        self.detail.as_deref().unwrap_or(self.code.message())
    }

    /// `response` (this failure's answer) with its `Retry-After`, if any.
    pub fn with_retry_after(&self, mut response: Response) -> Response {
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
            AuthError::Missing => Failure::new(Code::NO_API_KEY, StatusCode::UNAUTHORIZED),
            AuthError::Invalid => Failure::new(Code::BAD_LOGIN, StatusCode::UNAUTHORIZED),
            AuthError::AccountDisabled => {
                Failure::new(Code::ACCOUNT_DISABLED, StatusCode::FORBIDDEN)
            }
            AuthError::RateLimited(secs) => Failure {
                retry_after: Some(secs),
                ..Failure::new(Code::CANNOT_PROCESS, StatusCode::TOO_MANY_REQUESTS)
                    .with_detail("too many requests for this API key")
            },
            AuthError::Internal => Failure::internal("authentication failed"),
        }
    }
}

impl From<BodyError> for Failure {
    fn from(e: BodyError) -> Self {
        let status = match e {
            BodyError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            BodyError::Unreadable(_) => StatusCode::BAD_REQUEST,
        };
        Failure::new(Code::CANNOT_PROCESS, status).with_detail(e.to_string())
    }
}

impl From<SendError> for Failure {
    fn from(e: SendError) -> Self {
        match e {
            SendError::Plan(e) => plan_failure(&e),
            SendError::AccountDisabled => AuthError::AccountDisabled.into(),
            // Octopush refuses any repeat of a request_id, the same request or not.
            SendError::IdempotencyKeyReused(_) => {
                Failure::new(Code::DUPLICATE_REQUEST, StatusCode::CONFLICT)
            }
            other => Failure::internal(other),
        }
    }
}

/// A planning error as a code.
fn plan_failure(e: &PlanError) -> Failure {
    let (code, status) = match e {
        PlanError::NoRecipients => (Code::NO_RECIPIENTS, StatusCode::BAD_REQUEST),
        PlanError::TooManyRecipients { .. } => (Code::TOO_MANY_CONTACTS, StatusCode::BAD_REQUEST),
        PlanError::MissingText | PlanError::EmptyText => (Code::NO_TEXT, StatusCode::BAD_REQUEST),
        PlanError::TextTooLong { .. } => (Code::TEXT_TOO_LONG, StatusCode::UNPROCESSABLE_ENTITY),
        PlanError::InvalidSender(_) => (Code::BAD_SENDER, StatusCode::UNPROCESSABLE_ENTITY),
        PlanError::MissingStopMention(m) => {
            let code = match m.class {
                RouteClass::Premium => Code::MISSING_STOP,
                RouteClass::LowCost => Code::MISSING_LOW_COST_STOP,
            };
            (code, StatusCode::UNPROCESSABLE_ENTITY)
        }
        PlanError::InsufficientCredits { .. } => (Code::NO_CREDIT, StatusCode::PAYMENT_REQUIRED),
        PlanError::NoValidRecipient { .. } => {
            (Code::NO_VALID_NUMBER, StatusCode::UNPROCESSABLE_ENTITY)
        }
        PlanError::NotGsm7(_)
        | PlanError::ControlCharacter { .. }
        | PlanError::SendTimeInPast
        | PlanError::WindowEndBeforeStart
        | PlanError::WindowClosedByQuietHours => {
            (Code::CANNOT_PROCESS, StatusCode::UNPROCESSABLE_ENTITY)
        }
    };
    Failure::new(code, status).with_detail(e.to_string())
}

/// The code of a recipient left out, or `None` for a duplicate (sent once,
/// not a failure).
pub fn recipient_code(reason: &FilterReason, class: RouteClass) -> Option<Code> {
    Some(match reason {
        FilterReason::Duplicated => return None,
        FilterReason::Invalid(_) => Code::UNKNOWN_PREFIX,
        FilterReason::NotAllowed if class == RouteClass::LowCost => Code::NO_LOW_COST,
        FilterReason::NotAllowed | FilterReason::CountryLimit => Code::COUNTRY_NOT_SERVICED,
        FilterReason::Blacklisted | FilterReason::Npai => Code::RECIPIENT_REFUSED,
        FilterReason::Flood => Code::FLOOD,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use relais_core::money::Amount;
    use relais_core::optout::MissingMention;

    #[test]
    fn codes_are_three_digits_with_the_sdk_texts() {
        assert_eq!(Code::OK.text(), "000");
        assert_eq!(Code::BAD_LOGIN.text(), "101");
        assert_eq!(Code::BAD_LOGIN.message(), "Incorrect login details.");
        assert_eq!(
            Code::MISSING_LOW_COST_STOP.message(),
            "In Standard SMS, the mention \"no PUB=STOP\" is mandatory and must belong to your text (respect the case)."
        );
        assert_eq!(
            Code::CANNOT_PROCESS.message(),
            "Impossible to process the requested action"
        );
    }

    #[test]
    fn planning_errors_map_to_codes() {
        let code = |e: PlanError| Failure::from(SendError::Plan(e)).code;
        assert_eq!(
            code(PlanError::MissingStopMention(MissingMention {
                class: RouteClass::Premium
            })),
            Code::MISSING_STOP
        );
        assert_eq!(
            code(PlanError::MissingStopMention(MissingMention {
                class: RouteClass::LowCost
            })),
            Code::MISSING_LOW_COST_STOP
        );
        assert_eq!(
            code(PlanError::ControlCharacter {
                position: 0,
                code: 0
            }),
            Code::CANNOT_PROCESS
        );
        assert_eq!(
            code(PlanError::InsufficientCredits {
                needed: Amount::from_units(1),
                available: Amount::ZERO
            }),
            Code::NO_CREDIT
        );
        assert_eq!(
            code(PlanError::TooManyRecipients { max: 2 }),
            Code::TOO_MANY_CONTACTS
        );
        assert_eq!(code(PlanError::EmptyText), Code::NO_TEXT);
        assert_eq!(code(PlanError::SendTimeInPast), Code::CANNOT_PROCESS);
    }

    #[test]
    fn recipients_left_out() {
        let premium = RouteClass::Premium;
        assert_eq!(recipient_code(&FilterReason::Duplicated, premium), None);
        assert_eq!(
            recipient_code(&FilterReason::NotAllowed, RouteClass::LowCost),
            Some(Code::NO_LOW_COST)
        );
        assert_eq!(
            recipient_code(&FilterReason::NotAllowed, premium),
            Some(Code::COUNTRY_NOT_SERVICED)
        );
        assert_eq!(
            recipient_code(&FilterReason::Blacklisted, premium),
            Some(Code::RECIPIENT_REFUSED)
        );
    }
}
