//! Times on the wire: RFC 3339 in both directions (the store keeps epoch
//! milliseconds).

use jiff::Timestamp;
use relais_store::Millis;

use crate::error::ApiError;

/// "2026-03-01T09:30:00Z" (fractional seconds only when there are some).
pub fn rfc3339(ms: Millis) -> String {
    match Timestamp::from_millisecond(ms) {
        Ok(t) => t.to_string(),
        // Out of jiff's range (years beyond ±9999): no stored time is.
        Err(_) => ms.to_string(),
    }
}

/// Parses an RFC 3339 time with its offset ("2026-03-01T10:30:00+01:00");
/// impossible dates (2026-02-30) and times without an offset are refused with
/// 400 `invalid_date` on `field`.
pub fn parse_rfc3339(field: &str, value: &str) -> Result<Timestamp, ApiError> {
    value.trim().parse().map_err(|e: jiff::Error| {
        ApiError::bad_request(
            "invalid_date",
            format!("{field} is not an RFC 3339 time ({value:?}): {e}"),
        )
        .with_field(field)
    })
}

/// [`parse_rfc3339`] for an optional field.
pub fn parse_optional(field: &str, value: Option<&str>) -> Result<Option<Timestamp>, ApiError> {
    value.map(|v| parse_rfc3339(field, v)).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_and_parses_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_500), "1970-01-01T00:00:01.5Z");
        let t = parse_rfc3339("send_at", "2026-03-01T10:30:00+01:00").unwrap();
        assert_eq!(t.to_string(), "2026-03-01T09:30:00Z");
    }

    #[test]
    fn refuses_impossible_dates_and_missing_offsets() {
        for bad in [
            "2026-02-30T10:00:00Z",
            "2026-03-01T10:00:00",
            "tomorrow",
            "",
        ] {
            let e = parse_rfc3339("send_at", bad).unwrap_err();
            assert_eq!(
                (e.code.as_ref(), e.field.as_deref()),
                ("invalid_date", Some("send_at")),
                "{bad}"
            );
        }
    }
}
