//! Pricing: unit prices per destination country and route class, and the cost of
//! a message (segments × unit price), in exact [`Amount`]s.

use std::collections::HashMap;

use crate::money::Amount;
use crate::number::Country;

/// The quality of route a client pays for (SMS Partner's `gamme`, Octopush's
/// `sms_type`, the v1 API's `type`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum RouteClass {
    #[default]
    Premium,
    LowCost,
}

impl RouteClass {
    pub const ALL: [RouteClass; 2] = [RouteClass::Premium, RouteClass::LowCost];

    pub fn as_str(self) -> &'static str {
        match self {
            RouteClass::Premium => "premium",
            RouteClass::LowCost => "low_cost",
        }
    }
}

/// One row of a price table as written in configuration: `country = "*"` is the
/// price for every country without a row of its own.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PriceEntry {
    pub country: String,
    pub class: RouteClass,
    pub price: Amount,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceError {
    #[error("unknown country code {0:?} in the price table")]
    BadCountry(String),
    #[error("negative price for {0}")]
    Negative(String),
}

/// Unit prices (per segment) by destination country and route class. A country
/// with no price and no fallback cannot be sent to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PriceTable {
    by_country: HashMap<(Country, RouteClass), Amount>,
    fallback: HashMap<RouteClass, Amount>,
}

impl PriceTable {
    /// Sets the unit price for a country and class.
    pub fn set(&mut self, country: Country, class: RouteClass, price: Amount) {
        self.by_country.insert((country, class), price);
    }

    /// Sets the unit price for every country without one of its own.
    pub fn set_fallback(&mut self, class: RouteClass, price: Amount) {
        self.fallback.insert(class, price);
    }

    /// The unit price of one segment, if the destination is priced.
    pub fn unit_price(&self, country: Country, class: RouteClass) -> Option<Amount> {
        self.by_country
            .get(&(country, class))
            .or_else(|| self.fallback.get(&class))
            .copied()
    }

    /// Builds a table from configuration rows.
    pub fn from_entries(entries: &[PriceEntry]) -> Result<Self, PriceError> {
        let mut table = PriceTable::default();
        for e in entries {
            if e.price.is_negative() {
                return Err(PriceError::Negative(e.country.clone()));
            }
            if e.country == "*" {
                table.set_fallback(e.class, e.price);
            } else {
                let country = e
                    .country
                    .parse()
                    .map_err(|_| PriceError::BadCountry(e.country.clone()))?;
                table.set(country, e.class, e.price);
            }
        }
        Ok(table)
    }

    /// The rows of this table, sorted, for display and storage.
    pub fn entries(&self) -> Vec<PriceEntry> {
        let mut rows: Vec<PriceEntry> = self
            .by_country
            .iter()
            .map(|(&(country, class), &price)| PriceEntry {
                country: country.as_str().to_string(),
                class,
                price,
            })
            .chain(self.fallback.iter().map(|(&class, &price)| PriceEntry {
                country: "*".to_string(),
                class,
                price,
            }))
            .collect();
        rows.sort_by(|a, b| (&a.country, a.class.as_str()).cmp(&(&b.country, b.class.as_str())));
        rows
    }

    /// The prices an account gets unless it has its own table: euros per segment,
    /// in the range the French providers charge.
    pub fn default_table() -> Self {
        const ROWS: &[(&str, &str, &str)] = &[
            ("FR", "0.045", "0.035"),
            ("RE", "0.090", "0.080"),
            ("GP", "0.090", "0.080"),
            ("MQ", "0.090", "0.080"),
            ("GF", "0.090", "0.080"),
            ("YT", "0.090", "0.080"),
            ("BE", "0.075", "0.065"),
            ("CH", "0.070", "0.060"),
            ("DE", "0.080", "0.070"),
            ("ES", "0.070", "0.060"),
            ("RO", "0.050", "0.040"),
            ("GB", "0.045", "0.040"),
            ("US", "0.020", "0.015"),
            ("*", "0.100", "0.080"),
        ];
        let entries: Vec<PriceEntry> = ROWS
            .iter()
            .flat_map(|&(country, premium, low_cost)| {
                [
                    (RouteClass::Premium, premium),
                    (RouteClass::LowCost, low_cost),
                ]
                .map(|(class, price)| PriceEntry {
                    country: country.to_string(),
                    class,
                    price: price.parse().expect("default prices are decimals"),
                })
            })
            .collect();
        PriceTable::from_entries(&entries).expect("default price table is valid")
    }
}

/// The cost of one message to one recipient.
pub fn message_cost(segments: u16, unit_price: Amount) -> Amount {
    unit_price * i64::from(segments)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Country {
        s.parse().unwrap()
    }

    #[test]
    fn country_price_then_fallback_then_none() {
        let mut t = PriceTable::default();
        t.set(c("FR"), RouteClass::Premium, "0.045".parse().unwrap());
        assert_eq!(
            t.unit_price(c("FR"), RouteClass::Premium),
            Some("0.045".parse().unwrap())
        );
        assert_eq!(t.unit_price(c("FR"), RouteClass::LowCost), None);
        assert_eq!(t.unit_price(c("DE"), RouteClass::Premium), None);
        t.set_fallback(RouteClass::Premium, "0.1".parse().unwrap());
        assert_eq!(
            t.unit_price(c("DE"), RouteClass::Premium),
            Some("0.1".parse().unwrap())
        );
    }

    #[test]
    fn entries_round_trip_and_bad_rows_are_refused() {
        let t = PriceTable::default_table();
        assert_eq!(PriceTable::from_entries(&t.entries()).unwrap(), t);
        let bad = PriceEntry {
            country: "France".into(),
            class: RouteClass::Premium,
            price: Amount::ZERO,
        };
        assert_eq!(
            PriceTable::from_entries(&[bad]),
            Err(PriceError::BadCountry("France".into()))
        );
        let neg = PriceEntry {
            country: "FR".into(),
            class: RouteClass::Premium,
            price: Amount::from_micros(-1),
        };
        assert_eq!(
            PriceTable::from_entries(&[neg]),
            Err(PriceError::Negative("FR".into()))
        );
    }

    #[test]
    fn cost_is_segments_times_unit_price() {
        assert_eq!(
            message_cost(3, "0.045".parse().unwrap()),
            "0.135".parse().unwrap()
        );
        assert_eq!(message_cost(0, "0.045".parse().unwrap()), Amount::ZERO);
    }
}
