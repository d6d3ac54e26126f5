//! JSON scalars read as text. Providers' clients send the same parameter as a
//! string or a number (`"unicode": 0` or `"0"`, `"gamme": 1`, a phone number
//! as `33612345678`), and PHP, which those APIs run on, reads both alike:
//! each is taken as the text a form would carry.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A string, integer or boolean JSON value, as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scalar(pub String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        text(&value).map(Scalar).ok_or_else(|| {
            D::Error::custom(format!("expected a string or an integer, found {value}"))
        })
    }
}

/// The text of a scalar: strings as they are, integers in decimal, booleans
/// as `1`/`0` (PHP's way). `None` for null, decimals, lists and objects.
pub fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "1" } else { "0" }.to_owned()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_integers_and_booleans() {
        assert_eq!(text(&json!("0")).as_deref(), Some("0"));
        assert_eq!(text(&json!(33612345678u64)).as_deref(), Some("33612345678"));
        assert_eq!(text(&json!(-4)).as_deref(), Some("-4"));
        assert_eq!(text(&json!(true)).as_deref(), Some("1"));
        assert_eq!(text(&json!(1.5)), None);
        assert_eq!(text(&json!(null)), None);
        assert_eq!(text(&json!([1])), None);
        let s: Scalar = serde_json::from_value(json!(1)).unwrap();
        assert_eq!(s, Scalar("1".into()));
        assert!(serde_json::from_value::<Scalar>(json!({"a": 1})).is_err());
    }
}
