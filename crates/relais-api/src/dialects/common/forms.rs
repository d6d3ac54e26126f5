//! Query strings and `application/x-www-form-urlencoded` bodies as
//! [`Params`]: every key with all its values, in order, so repeated keys
//! (`to=1&to=2`) are kept rather than refused or overwritten.
//!
//! Decoding is strict: a percent-encoded byte sequence that is not UTF-8 is
//! an error, not a replacement character.

use percent_encoding::percent_decode;

/// Decoded `key=value` pairs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Params(Vec<(String, String)>);

/// A query or form that does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the parameter {0:?} is not valid UTF-8 once decoded")]
pub struct FormError(pub String);

impl Params {
    /// Parses `a=1&b=2&a=3` (`+` is a space; a key without `=` has an empty value).
    pub fn parse(input: &[u8]) -> Result<Params, FormError> {
        let mut pairs = Vec::new();
        for part in input.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
            let (key, value) = match part.iter().position(|&b| b == b'=') {
                Some(i) => (&part[..i], &part[i + 1..]),
                None => (part, &[][..]),
            };
            let key = decode(key).map_err(|_| FormError(String::from_utf8_lossy(key).into()))?;
            let value = decode(value).map_err(|_| FormError(key.clone()))?;
            pairs.push((key, value));
        }
        Ok(Params(pairs))
    }

    /// The query string of a URI (none: no parameters).
    pub fn from_query(query: Option<&str>) -> Result<Params, FormError> {
        Params::parse(query.unwrap_or_default().as_bytes())
    }

    /// The last value of `key`: a repeated scalar parameter takes its last
    /// value, as PHP (which these providers run on) reads it.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, in order.
    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Adds a pair (for parameters gathered from elsewhere, e.g. a JSON body).
    pub fn push(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.0.push((key.into(), value.into()));
    }

    /// The pairs of `other` after this one's (so they win in [`Params::get`]).
    pub fn extend(&mut self, other: Params) {
        self.0.extend(other.0);
    }
}

fn decode(raw: &[u8]) -> Result<String, std::str::Utf8Error> {
    let plus_as_space: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    percent_decode(&plus_as_space)
        .decode_utf8()
        .map(|s| s.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_keys_plus_and_percent() {
        let p = Params::parse(b"to=336&text=Hello+world%21&to=337&flag&&x=%C3%A9").unwrap();
        assert_eq!(p.all("to").collect::<Vec<_>>(), ["336", "337"]);
        assert_eq!(p.get("to"), Some("337"));
        assert_eq!(p.get("text"), Some("Hello world!"));
        assert_eq!(p.get("flag"), Some(""));
        assert_eq!(p.get("x"), Some("é"));
        assert_eq!(p.get("missing"), None);
    }

    #[test]
    fn invalid_utf8_is_an_error() {
        assert_eq!(
            Params::parse(b"text=%FF").unwrap_err(),
            FormError("text".into())
        );
        assert!(Params::from_query(None).unwrap().get("a").is_none());
    }

    #[test]
    fn later_pairs_win() {
        let mut p = Params::parse(b"a=1").unwrap();
        p.extend(Params::parse(b"a=2").unwrap());
        p.push("b", "3");
        assert_eq!((p.get("a"), p.get("b")), (Some("2"), Some("3")));
    }
}
