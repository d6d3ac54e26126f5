//! Delivery receipts: the de-facto text format of SMPP 3.4 Appendix B
//!
//! ```text
//! id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD err:E text:…
//! ```
//!
//! and the `message_state` values, both mapped to the store's final statuses.
//! Parsing is lenient (SMSCs vary in case, widths and field order, and some
//! omit fields); formatting writes the canonical layout.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use relais_store::MessageStatus;

/// A receipt as carried in a `deliver_sm`'s text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReceiptText {
    pub id: String,
    pub sub: u32,
    pub dlvrd: u32,
    /// `YYMMDDhhmm` (sometimes with seconds) as written; empty when absent.
    pub submit_date: String,
    pub done_date: String,
    /// `DELIVRD`, `UNDELIV`, `EXPIRED`, …
    pub stat: String,
    pub err: String,
    /// The first characters of the message.
    pub text: String,
}

impl ReceiptText {
    /// Parses a receipt; `None` without an `id:` field.
    pub fn parse(input: &str) -> Option<ReceiptText> {
        let lower = input.to_ascii_lowercase();
        // Each field runs until the next known key; `text:` runs to the end.
        const KEYS: [&str; 8] = [
            "id:",
            "sub:",
            "dlvrd:",
            "submit date:",
            "done date:",
            "stat:",
            "err:",
            "text:",
        ];
        let mut found: Vec<(usize, usize)> = Vec::new(); // (key index, start of key)
        for (k, key) in KEYS.iter().enumerate() {
            let mut from = 0;
            while let Some(pos) = lower[from..].find(key) {
                let at = from + pos;
                // A key starts the text or follows a space ("done date:" must
                // not be read as a second "date:", nor "id:" inside "dlvrd:").
                let starts_word = at == 0 || lower.as_bytes()[at - 1] == b' ';
                if starts_word && !found.iter().any(|&(_, s)| s == at) {
                    found.push((k, at));
                    break;
                }
                from = at + 1;
            }
        }
        found.sort_by_key(|&(_, at)| at);
        // Whatever follows `text:` is the message's text, keys included.
        if let Some(text) = found.iter().position(|&(k, _)| KEYS[k] == "text:") {
            found.truncate(text + 1);
        }
        let mut receipt = ReceiptText::default();
        let mut has_id = false;
        for (i, &(k, at)) in found.iter().enumerate() {
            let start = at + KEYS[k].len();
            let end = if KEYS[k] == "text:" {
                input.len()
            } else {
                found.get(i + 1).map_or(input.len(), |&(_, next)| next)
            };
            let value = input.get(start..end.max(start)).unwrap_or("");
            let value = if KEYS[k] == "text:" {
                value
            } else {
                value.trim()
            };
            match k {
                0 => {
                    receipt.id = value.to_owned();
                    has_id = !value.is_empty();
                }
                1 => receipt.sub = value.parse().unwrap_or(0),
                2 => receipt.dlvrd = value.parse().unwrap_or(0),
                3 => receipt.submit_date = value.to_owned(),
                4 => receipt.done_date = value.to_owned(),
                5 => receipt.stat = value.to_ascii_uppercase(),
                6 => receipt.err = value.to_owned(),
                _ => receipt.text = value.to_owned(),
            }
        }
        has_id.then_some(receipt)
    }

    /// The canonical text.
    pub fn format(&self) -> String {
        format!(
            "id:{} sub:{:03} dlvrd:{:03} submit date:{} done date:{} stat:{} err:{} text:{}",
            self.id,
            self.sub,
            self.dlvrd,
            self.submit_date,
            self.done_date,
            self.stat,
            self.err,
            self.text
        )
    }
}

/// `YYMMDDhhmm` in UTC, as receipts write dates.
pub fn receipt_date(epoch_ms: i64) -> String {
    Timestamp::from_millisecond(epoch_ms)
        .unwrap_or(Timestamp::UNIX_EPOCH)
        .to_zoned(TimeZone::UTC)
        .strftime("%y%m%d%H%M")
        .to_string()
}

/// What a receipt says became of a message: a final status of the store, or
/// `None` while the message is still on its way (ENROUTE, ACCEPTD as an
/// intermediate notification, SCHEDULED).
pub fn status_of_stat(stat: &str) -> Option<MessageStatus> {
    match stat.to_ascii_uppercase().as_str() {
        "DELIVRD" | "DELIVERED" => Some(MessageStatus::Delivered),
        "EXPIRED" => Some(MessageStatus::Expired),
        "UNDELIV" | "UNDELIVERABLE" | "DELETED" | "UNKNOWN" | "FAILED" => {
            Some(MessageStatus::Undelivered)
        }
        "REJECTD" | "REJECTED" => Some(MessageStatus::Rejected),
        _ => None,
    }
}

/// The same for the `message_state` TLV.
pub fn status_of_state(state: u8) -> Option<MessageStatus> {
    match state {
        2 => Some(MessageStatus::Delivered),
        3 => Some(MessageStatus::Expired),
        4 | 5 | 7 | 9 => Some(MessageStatus::Undelivered),
        8 => Some(MessageStatus::Rejected),
        _ => None, // 0 scheduled, 1 enroute, 6 accepted: not final
    }
}

/// The `stat` word and `message_state` value for a final status.
pub fn stat_of_status(status: MessageStatus) -> (&'static str, u8) {
    match status {
        MessageStatus::Delivered => ("DELIVRD", 2),
        MessageStatus::Expired => ("EXPIRED", 3),
        MessageStatus::Cancelled => ("DELETED", 4),
        MessageStatus::Rejected => ("REJECTD", 8),
        MessageStatus::Undelivered | MessageStatus::Failed => ("UNDELIV", 5),
        // Not final: "on its way".
        _ => ("ENROUTE", 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_appendix_b_format() {
        let r = ReceiptText::parse(
            "id:0123456789 sub:001 dlvrd:001 submit date:2501021530 done date:2501021531 stat:DELIVRD err:000 text:Hello id: world",
        )
        .unwrap();
        assert_eq!(r.id, "0123456789");
        assert_eq!((r.sub, r.dlvrd), (1, 1));
        assert_eq!(r.submit_date, "2501021530");
        assert_eq!(r.done_date, "2501021531");
        assert_eq!(r.stat, "DELIVRD");
        assert_eq!(r.err, "000");
        assert_eq!(r.text, "Hello id: world");
        assert_eq!(
            r.format(),
            "id:0123456789 sub:001 dlvrd:001 submit date:2501021530 done date:2501021531 stat:DELIVRD err:000 text:Hello id: world"
        );
    }

    #[test]
    fn lenient_about_case_order_and_missing_fields() {
        let r = ReceiptText::parse("ID:a1b2 Stat:undeliv Err:34").unwrap();
        assert_eq!(r.id, "a1b2");
        assert_eq!(r.stat, "UNDELIV");
        assert_eq!(r.err, "34");
        assert_eq!(status_of_stat(&r.stat), Some(MessageStatus::Undelivered));
        assert_eq!(ReceiptText::parse("stat:DELIVRD"), None);
        assert_eq!(ReceiptText::parse("hello"), None);
    }

    #[test]
    fn statuses() {
        assert_eq!(status_of_stat("DELIVRD"), Some(MessageStatus::Delivered));
        assert_eq!(status_of_stat("ENROUTE"), None);
        assert_eq!(status_of_state(2), Some(MessageStatus::Delivered));
        assert_eq!(status_of_state(6), None);
        for status in [
            MessageStatus::Delivered,
            MessageStatus::Expired,
            MessageStatus::Rejected,
            MessageStatus::Undelivered,
        ] {
            let (stat, state) = stat_of_status(status);
            assert_eq!(status_of_stat(stat), Some(status));
            assert_eq!(status_of_state(state), Some(status));
        }
        assert_eq!(receipt_date(0), "7001010000");
    }
}
