//! From a client's `submit_sm` / `submit_multi` to the pipeline's
//! [`SendRequest`], and from the pipeline's refusals back to SMPP statuses.
//!
//! | relais                                        | command_status                  |
//! |-----------------------------------------------|---------------------------------|
//! | invalid number, no or unknown destination     | 0x0B ESME_RINVDSTADR            |
//! | invalid sender                                | 0x0A ESME_RINVSRCADR            |
//! | empty or too long text                        | 0x01 ESME_RINVMSGLEN            |
//! | `data_coding` that is not text                | 0x104 ESME_RINVDCS              |
//! | bad `schedule_delivery_time` / in the past    | 0x61 ESME_RINVSCHED             |
//! | bad `validity_period`, window before start    | 0x62 ESME_RINVEXPIRY            |
//! | too many destinations (`submit_multi`)        | 0x33 ESME_RINVNUMDESTS          |
//! | not enough credits, account disabled          | 0x45 ESME_RSUBMITFAIL           |
//! | over the account's throughput                 | 0x58 ESME_RTHROTTLED            |
//! | store or settings failure                     | 0x08 ESME_RSYSERR               |
//! | blacklisted (STOP)                            | 0x400 (vendor)                  |
//! | NPAI (number no longer assigned)              | 0x401 (vendor)                  |
//! | country not allowed for the account           | 0x402 (vendor)                  |
//! | anti-flood limit for the number               | 0x403 (vendor)                  |
//! | monthly limit for the country                 | 0x404 (vendor)                  |
//! | duplicate destination                         | 0x405 (vendor)                  |
//! | marketing text without the STOP mention       | 0x406 (vendor)                  |
//! | window closed by quiet hours                  | 0x407 (vendor)                  |

use jiff::{SignedDuration, Timestamp};
use relais_core::encoding::EncodingMode;
use relais_core::plan::{FilterReason, PlanError, Recipient, SendRequest};
use relais_engine::send::SendError;

use crate::pdu::{Address, status};

pub const BLACKLISTED: u32 = 0x400;
pub const NPAI: u32 = 0x401;
pub const COUNTRY_NOT_ALLOWED: u32 = 0x402;
pub const FLOOD: u32 = 0x403;
pub const COUNTRY_LIMIT: u32 = 0x404;
pub const DUPLICATE: u32 = 0x405;
pub const MISSING_STOP_MENTION: u32 = 0x406;
pub const QUIET_HOURS: u32 = 0x407;

/// The status for a request the pipeline refused.
pub fn status_of_error(error: &SendError) -> u32 {
    match error {
        SendError::Plan(e) => match e {
            PlanError::NoRecipients => status::INVALID_DESTINATION,
            PlanError::TooManyRecipients { .. } => status::INVALID_DEST_COUNT,
            PlanError::MissingText
            | PlanError::EmptyText
            | PlanError::TextTooLong { .. }
            | PlanError::ControlCharacter { .. } => status::INVALID_MESSAGE_LENGTH,
            PlanError::NotGsm7(_) => status::INVALID_DATA_CODING,
            PlanError::InvalidSender(_) => status::INVALID_SOURCE,
            PlanError::SendTimeInPast => status::INVALID_SCHEDULE,
            PlanError::WindowEndBeforeStart => status::INVALID_EXPIRY,
            PlanError::WindowClosedByQuietHours => QUIET_HOURS,
            PlanError::MissingStopMention(_) => MISSING_STOP_MENTION,
            PlanError::InsufficientCredits { .. } => status::SUBMIT_FAILED,
            // Why the first destination was left out.
            PlanError::NoValidRecipient { rejections, .. } => {
                rejections.first().map_or(status::INVALID_DESTINATION, |r| {
                    status_of_rejection(&r.reason)
                })
            }
        },
        // The SMPP server sends no idempotency key.
        SendError::AccountDisabled | SendError::IdempotencyKeyReused(_) => status::SUBMIT_FAILED,
        SendError::Settings(_) | SendError::Store(_) => status::SYSTEM_ERROR,
    }
}

/// The status for a destination the plan left out.
pub fn status_of_rejection(reason: &FilterReason) -> u32 {
    match reason {
        FilterReason::Invalid(_) => status::INVALID_DESTINATION,
        FilterReason::Duplicated => DUPLICATE,
        FilterReason::NotAllowed => COUNTRY_NOT_ALLOWED,
        FilterReason::Blacklisted => BLACKLISTED,
        FilterReason::Npai => NPAI,
        FilterReason::Flood => FLOOD,
        FilterReason::CountryLimit => COUNTRY_LIMIT,
    }
}

/// A destination as the pipeline reads numbers: international numbers get
/// their plus, others are read in the account's region.
pub fn number_of(address: &Address) -> String {
    let digits = address.addr.trim();
    if address.ton == 1 && !digits.starts_with('+') {
        format!("+{digits}")
    } else {
        digits.to_owned()
    }
}

/// What a submit asks for, once its text is whole.
pub struct Submit {
    pub source: Address,
    pub destinations: Vec<Address>,
    pub text: String,
    pub schedule_delivery_time: String,
    pub validity_period: String,
}

impl Submit {
    /// The pipeline's request, or the status refusing it.
    pub fn request(&self, now: Timestamp, template: &SendRequest) -> Result<SendRequest, u32> {
        let send_at =
            parse_time(&self.schedule_delivery_time, now).map_err(|_| status::INVALID_SCHEDULE)?;
        let expires_at =
            parse_time(&self.validity_period, now).map_err(|_| status::INVALID_EXPIRY)?;
        let sender = self.source.addr.trim();
        Ok(SendRequest {
            text: Some(self.text.clone()),
            recipients: self
                .destinations
                .iter()
                .map(|d| Recipient::new(number_of(d)))
                .collect(),
            sender: (!sender.is_empty()).then(|| sender.to_owned()),
            send_at,
            expires_at,
            encoding: EncodingMode::Auto,
            ..template.clone()
        })
    }
}

/// An SMPP time that is not one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidTime;

/// Reads an SMPP time (`schedule_delivery_time`, `validity_period`):
/// absolute `YYMMDDhhmmsstnn±` (offset in quarter hours from UTC) or
/// relative `YYMMDDhhmmss000R`; empty is `None`.
pub fn parse_time(value: &str, now: Timestamp) -> Result<Option<Timestamp>, InvalidTime> {
    if value.is_empty() {
        return Ok(None);
    }
    let b = value.as_bytes();
    if b.len() != 16 || !b[..15].iter().all(u8::is_ascii_digit) {
        return Err(InvalidTime);
    }
    let n = |at: usize| i64::from(b[at] - b'0') * 10 + i64::from(b[at + 1] - b'0');
    let (yy, mo, dd, hh, mi, ss) = (n(0), n(2), n(4), n(6), n(8), n(10));
    let tenths = i64::from(b[12] - b'0');
    match b[15] {
        b'R' => {
            // Relative: years and months approximated as 365 and 30 days.
            let secs = ((yy * 365 + mo * 30 + dd) * 24 + hh) * 3600 + mi * 60 + ss;
            Ok(Some(now + SignedDuration::from_secs(secs)))
        }
        sign @ (b'+' | b'-') => {
            let quarters = n(13);
            let offset = if sign == b'+' {
                quarters * 15
            } else {
                -quarters * 15
            };
            let date = jiff::civil::Date::new(2000 + yy as i16, mo as i8, dd as i8)
                .map_err(|_| InvalidTime)?;
            let time =
                jiff::civil::Time::new(hh as i8, mi as i8, ss as i8, (tenths * 100_000_000) as i32)
                    .map_err(|_| InvalidTime)?;
            let local = jiff::civil::DateTime::from_parts(date, time);
            let utc = local
                .to_zoned(jiff::tz::TimeZone::UTC)
                .map_err(|_| InvalidTime)?
                .timestamp();
            Ok(Some(utc - SignedDuration::from_mins(offset)))
        }
        _ => Err(InvalidTime),
    }
}

/// The status for a `submit_sm` rusmpp could not decode, by the first field
/// that is wrong, so that the client learns which one.
pub fn status_of_invalid_submit(body: &[u8]) -> u32 {
    // A C-string of at most `max` octets with its NUL at `at`: its end.
    let c_string = |at: usize, max: usize| -> Option<usize> {
        let len = body.get(at..)?.iter().position(|&b| b == 0)?;
        (len < max && body[at..at + len].is_ascii()).then_some(at + len + 1)
    };
    // Times are empty or exactly 16 characters.
    let time = |at: usize| match body.get(at) {
        Some(0) => Some(at + 1),
        Some(_) if body.get(at + 16) == Some(&0) => Some(at + 17),
        _ => None,
    };
    let Some(at) = c_string(0, 6) else {
        return 0x15; // ESME_RINVSERTYP
    };
    let Some(at) = c_string(at + 2, 21) else {
        return status::INVALID_SOURCE;
    };
    let Some(at) = c_string(at + 2, 21) else {
        return status::INVALID_DESTINATION;
    };
    let Some(at) = time(at + 3) else {
        return status::INVALID_SCHEDULE;
    };
    let Some(at) = time(at) else {
        return status::INVALID_EXPIRY;
    };
    let at = at + 4;
    match body.get(at) {
        Some(&sm_length) if body.len() >= at + 1 + usize::from(sm_length) => {
            status::INVALID_TLV_STREAM
        }
        _ => status::INVALID_MESSAGE_LENGTH,
    }
}

/// The status for a bind rusmpp could not decode (an over-long field).
pub fn status_of_invalid_bind(body: &[u8]) -> u32 {
    let mut fields = body.split(|&b| b == 0);
    let system_id = fields.next().unwrap_or(&[]);
    if system_id.len() > 15 || !system_id.is_ascii() {
        return status::INVALID_SYSTEM_ID;
    }
    let password = fields.next().unwrap_or(&[]);
    if password.len() > 8 || !password.is_ascii() {
        return status::INVALID_PASSWORD;
    }
    status::BIND_FAILED
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smpp_times() {
        let now: Timestamp = "2025-03-01T10:00:00Z".parse().unwrap();
        assert_eq!(parse_time("", now), Ok(None));
        assert_eq!(
            parse_time("250301120000000+", now),
            Ok(Some("2025-03-01T12:00:00Z".parse().unwrap()))
        );
        // +04 quarters: local time one hour ahead of UTC.
        assert_eq!(
            parse_time("250301120000004+", now),
            Ok(Some("2025-03-01T11:00:00Z".parse().unwrap()))
        );
        assert_eq!(
            parse_time("000001020000000R", now),
            Ok(Some("2025-03-02T12:00:00Z".parse().unwrap()))
        );
        assert_eq!(parse_time("251301120000000+", now), Err(InvalidTime));
        assert_eq!(parse_time("2503011200", now), Err(InvalidTime));
    }

    #[test]
    fn invalid_fields_are_named() {
        let mut body = vec![0, 1, 1];
        body.extend_from_slice(&[b'1'; 25]);
        body.push(0);
        assert_eq!(status_of_invalid_submit(&body), status::INVALID_SOURCE);
        let mut body = vec![0, 1, 1, b'1', 0, 1, 1];
        body.extend_from_slice(&[b'2'; 22]);
        body.push(0);
        assert_eq!(status_of_invalid_submit(&body), status::INVALID_DESTINATION);
        assert_eq!(
            status_of_invalid_bind(b"a-system-id-far-too-long\0pw\0\0"),
            status::INVALID_SYSTEM_ID
        );
        assert_eq!(
            status_of_invalid_bind(b"client\0a-very-long-password\0\0"),
            status::INVALID_PASSWORD
        );
    }
}
