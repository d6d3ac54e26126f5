//! Sender IDs: what the recipient's handset shows as the message's origin, and the
//! rules a requested sender must follow before anything is sent with it.
//!
//! Two shapes exist (GSM 03.40 originating address):
//! - alphanumeric: 3 to 11 characters among ASCII letters, digits and spaces,
//!   with at least one letter ("MyShop", "Promo 2025"). Eleven is the most an
//!   alphanumeric address can carry. Other punctuation (`.`, `-`, `_`, `&`…) is
//!   refused: some providers and carriers accept a little of it, others (SMS
//!   Partner: "no special characters") drop or rewrite the message, and a sender
//!   must behave the same on every route;
//! - numeric: 3 to 15 digits (the E.164 maximum), optionally after a `+`
//!   ("+33612345678", "36180").
//!
//! Whitespace around the sender is trimmed; spaces inside an alphanumeric sender
//! are kept.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

const MIN_LEN: usize = 3;
const MAX_ALPHANUMERIC_LEN: usize = 11;
const MAX_NUMERIC_DIGITS: usize = 15;

/// A validated sender ID. See the module documentation for the rules.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SenderId(String);

/// Why a sender ID is refused. [`SenderError::code`] is stable and
/// machine-readable; `Display` is the reason for a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SenderError {
    #[error("the sender ID is empty")]
    Empty,
    #[error("the sender ID contains {0:?}: use ASCII letters, digits and spaces, or + and digits")]
    InvalidCharacter(char),
    /// Digits and spaces only: neither alphanumeric (no letter) nor numeric.
    #[error("the sender ID has no letter: a numeric sender has only digits, without spaces")]
    NoLetter,
    #[error("the sender ID is too short: at least 3 characters")]
    TooShort,
    #[error("the sender ID is too long: an alphanumeric sender has at most 11 characters")]
    AlphanumericTooLong,
    #[error("the sender ID is too long: a numeric sender has at most 15 digits")]
    NumericTooLong,
}

impl SenderError {
    /// A stable identifier for APIs, logs and counters.
    pub fn code(&self) -> &'static str {
        match self {
            SenderError::Empty => "empty",
            SenderError::InvalidCharacter(_) => "invalid_characters",
            SenderError::NoLetter => "no_letter",
            SenderError::TooShort => "too_short",
            SenderError::AlphanumericTooLong | SenderError::NumericTooLong => "too_long",
        }
    }
}

impl SenderId {
    /// Validates a requested sender; surrounding whitespace is trimmed.
    pub fn parse(input: &str) -> Result<SenderId, SenderError> {
        let sender = input.trim();
        if sender.is_empty() {
            return Err(SenderError::Empty);
        }
        let digits = sender.strip_prefix('+').unwrap_or(sender);
        if digits.bytes().all(|b| b.is_ascii_digit()) {
            return match digits.len() {
                len if len < MIN_LEN => Err(SenderError::TooShort),
                len if len > MAX_NUMERIC_DIGITS => Err(SenderError::NumericTooLong),
                _ => Ok(SenderId(sender.to_owned())),
            };
        }
        if !sender.bytes().any(|b| b.is_ascii_alphabetic()) {
            // Meant as a numeric sender: say what is wrong with it as such.
            return Err(
                match digits.chars().find(|&c| !(c.is_ascii_digit() || c == ' ')) {
                    Some(c) => SenderError::InvalidCharacter(c),
                    None => SenderError::NoLetter,
                },
            );
        }
        if let Some(c) = sender
            .chars()
            .find(|&c| !(c.is_ascii_alphanumeric() || c == ' '))
        {
            return Err(SenderError::InvalidCharacter(c));
        }
        // ASCII only from here, so bytes are characters.
        match sender.len() {
            len if len < MIN_LEN => Err(SenderError::TooShort),
            len if len > MAX_ALPHANUMERIC_LEN => Err(SenderError::AlphanumericTooLong),
            _ => Ok(SenderId(sender.to_owned())),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the sender is alphanumeric (has a letter) rather than numeric.
    /// Alphanumeric senders cannot be replied to and some countries refuse them.
    pub fn is_alphanumeric(&self) -> bool {
        self.0.bytes().any(|b| b.is_ascii_alphabetic())
    }
}

impl FromStr for SenderId {
    type Err = SenderError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SenderId::parse(s)
    }
}

impl fmt::Display for SenderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for SenderId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SenderId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        SenderId::parse(&raw).map_err(serde::de::Error::custom)
    }
}
