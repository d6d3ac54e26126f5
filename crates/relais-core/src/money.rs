//! Exact money: amounts in millionths of a currency unit, never floats.
//!
//! Providers quote unit prices with up to four decimals (Octopush) and costs are
//! sums of thousands of them, so a fixed-point integer keeps every total exact.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Mul, Sub, SubAssign};
use std::str::FromStr;

/// Number of decimal places an [`Amount`] keeps.
pub const SCALE_DIGITS: u32 = 6;
const SCALE: i64 = 10i64.pow(SCALE_DIGITS);

/// An exact amount of money (or credits), stored as millionths of a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Amount(i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("not a decimal amount: {0:?}")]
    Invalid(String),
    #[error("more than {SCALE_DIGITS} decimal places: {0:?}")]
    TooPrecise(String),
    #[error("amount out of range: {0:?}")]
    OutOfRange(String),
}

impl Amount {
    pub const ZERO: Amount = Amount(0);

    /// An amount from millionths of a unit.
    pub const fn from_micros(micros: i64) -> Self {
        Amount(micros)
    }

    /// A whole number of units.
    pub const fn from_units(units: i64) -> Self {
        Amount(units * SCALE)
    }

    pub const fn micros(self) -> i64 {
        self.0
    }

    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    pub fn checked_add(self, other: Amount) -> Option<Amount> {
        self.0.checked_add(other.0).map(Amount)
    }

    pub fn checked_sub(self, other: Amount) -> Option<Amount> {
        self.0.checked_sub(other.0).map(Amount)
    }

    pub fn checked_mul(self, n: i64) -> Option<Amount> {
        self.0.checked_mul(n).map(Amount)
    }

    /// Renders with at least `min_places` and at most six decimals, dropping
    /// trailing zeros beyond `min_places` (`0.045000` → `0.045` for 2, `1` → `1.00`).
    pub fn to_decimal_string(self, min_places: u32) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let units = abs / SCALE as u64;
        let frac = abs % SCALE as u64;
        let mut frac_str = format!("{frac:06}");
        while frac_str.len() > min_places as usize && frac_str.ends_with('0') {
            frac_str.pop();
        }
        if frac_str.is_empty() {
            format!("{sign}{units}")
        } else {
            format!("{sign}{units}.{frac_str}")
        }
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_decimal_string(0))
    }
}

impl FromStr for Amount {
    type Err = AmountError;

    /// Parses `12`, `-3.5`, `0.0455`; refuses exponents, more than six decimals,
    /// and anything that is not a plain decimal.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || AmountError::Invalid(s.to_string());
        let (negative, body) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s.strip_prefix('+').unwrap_or(s)),
        };
        let (int_part, frac_part) = body.split_once('.').unwrap_or((body, ""));
        if int_part.is_empty() && frac_part.is_empty()
            || !int_part.bytes().all(|b| b.is_ascii_digit())
            || !frac_part.bytes().all(|b| b.is_ascii_digit())
            || (body.contains('.') && frac_part.is_empty() && int_part.is_empty())
        {
            return Err(invalid());
        }
        if frac_part.len() > SCALE_DIGITS as usize {
            return Err(AmountError::TooPrecise(s.to_string()));
        }
        let out_of_range = || AmountError::OutOfRange(s.to_string());
        let units: i64 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| out_of_range())?
        };
        let mut frac: i64 = 0;
        for (i, b) in frac_part.bytes().enumerate() {
            frac += i64::from(b - b'0') * 10i64.pow(SCALE_DIGITS - 1 - i as u32);
        }
        let micros = units
            .checked_mul(SCALE)
            .and_then(|m| m.checked_add(frac))
            .ok_or_else(out_of_range)?;
        Ok(Amount(if negative { -micros } else { micros }))
    }
}

impl serde::Serialize for Amount {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> serde::Deserialize<'de> for Amount {
    /// Accepts a decimal string or an integer; a JSON float is refused because it
    /// may already have lost exactness.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Str(String),
            Int(i64),
        }
        match Repr::deserialize(d)? {
            Repr::Str(s) => s.parse().map_err(serde::de::Error::custom),
            Repr::Int(i) => i
                .checked_mul(SCALE)
                .map(Amount)
                .ok_or_else(|| serde::de::Error::custom("amount out of range")),
        }
    }
}

impl Add for Amount {
    type Output = Amount;
    fn add(self, rhs: Amount) -> Amount {
        Amount(self.0 + rhs.0)
    }
}

impl AddAssign for Amount {
    fn add_assign(&mut self, rhs: Amount) {
        self.0 += rhs.0;
    }
}

impl Sub for Amount {
    type Output = Amount;
    fn sub(self, rhs: Amount) -> Amount {
        Amount(self.0 - rhs.0)
    }
}

impl SubAssign for Amount {
    fn sub_assign(&mut self, rhs: Amount) {
        self.0 -= rhs.0;
    }
}

impl Mul<i64> for Amount {
    type Output = Amount;
    fn mul(self, rhs: i64) -> Amount {
        Amount(self.0 * rhs)
    }
}

impl Sum for Amount {
    fn sum<I: Iterator<Item = Amount>>(iter: I) -> Amount {
        iter.fold(Amount::ZERO, Add::add)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_renders_exactly() {
        let cases = [
            ("0.045", 45_000, "0.045"),
            ("12", 12_000_000, "12"),
            ("-3.5", -3_500_000, "-3.5"),
            ("0.000001", 1, "0.000001"),
            (".5", 500_000, "0.5"),
            ("7.", 7_000_000, "7"),
        ];
        for (input, micros, shown) in cases {
            let a: Amount = input.parse().unwrap();
            assert_eq!(a.micros(), micros, "{input}");
            assert_eq!(a.to_string(), shown, "{input}");
        }
        assert_eq!(Amount::from_micros(38_000).to_decimal_string(2), "0.038");
        assert_eq!(Amount::from_units(1).to_decimal_string(2), "1.00");
        assert_eq!(
            Amount::from_micros(1_251_800_000).to_decimal_string(2),
            "1251.80"
        );
    }

    #[test]
    fn refuses_what_is_not_a_plain_decimal() {
        for bad in ["", ".", "-", "1e3", "1,5", "abc", "1.2.3", " 1"] {
            assert!(
                matches!(bad.parse::<Amount>(), Err(AmountError::Invalid(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            "0.0000001".parse::<Amount>(),
            Err(AmountError::TooPrecise(_))
        ));
        assert!(matches!(
            "99999999999999999".parse::<Amount>(),
            Err(AmountError::OutOfRange(_))
        ));
    }

    #[test]
    fn sums_stay_exact_where_floats_drift() {
        let unit: Amount = "0.1".parse().unwrap();
        let total: Amount = std::iter::repeat_n(unit, 10).sum();
        assert_eq!(total, Amount::from_units(1));
        assert_eq!(
            "0.045".parse::<Amount>().unwrap() * 100_000,
            Amount::from_units(4500)
        );
    }

    #[test]
    fn serde_is_a_decimal_string_and_refuses_floats() {
        let a: Amount = serde_json::from_str("\"0.062\"").unwrap();
        assert_eq!(serde_json::to_string(&a).unwrap(), "\"0.062\"");
        assert_eq!(
            serde_json::from_str::<Amount>("5").unwrap(),
            Amount::from_units(5)
        );
        assert!(serde_json::from_str::<Amount>("0.1").is_err());
    }
}
