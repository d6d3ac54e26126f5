//! Money as SMS credits. Providers that sell credits count them in messages
//! (SMSFactor's `credits`, SMS Partner's `creditSms`); relais keeps money.
//! One credit is the price of one SMS segment to the account's default region
//! (France unless configured) on a route class, so a client's thresholds
//! ("alert below 100 credits") keep their meaning. The conversions are exact
//! integer arithmetic on micro-units, never floats.

use relais_core::money::Amount;
use relais_core::pricing::RouteClass;
use relais_store::Account;

use crate::error::ApiError;
use crate::state::AppState;

/// The price of one credit for `account` on `class`: its unit price to its
/// default region. `None` when that price is missing or zero (free), when
/// credits cannot be counted.
pub fn unit_price(
    state: &AppState,
    account: &Account,
    class: RouteClass,
) -> Result<Option<Amount>, ApiError> {
    let prices = state
        .pipeline
        .prices_for(account)
        .map_err(ApiError::internal)?;
    Ok(prices
        .unit_price(account.settings.default_region, class)
        .filter(|p| p.micros() > 0))
}

/// Whole credits an amount buys (rounded down): what a balance is worth.
pub fn whole(amount: Amount, unit: Amount) -> u64 {
    u64::try_from(amount.micros().max(0) / unit.micros()).unwrap_or(0)
}

/// Credits an amount takes (rounded up): what a cost is worth.
pub fn rounded_up(amount: Amount, unit: Amount) -> u64 {
    let (micros, unit) = (
        amount.micros().max(0).unsigned_abs(),
        unit.micros().unsigned_abs(),
    );
    micros.div_ceil(unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> Amount {
        s.parse().unwrap()
    }

    #[test]
    fn balances_round_down_and_costs_up() {
        let unit = a("0.045");
        assert_eq!(whole(a("10"), unit), 222);
        assert_eq!(whole(a("0.09"), unit), 2);
        assert_eq!(whole(a("-1"), unit), 0);
        assert_eq!(rounded_up(a("0.09"), unit), 2);
        assert_eq!(rounded_up(a("0.075"), unit), 2);
        assert_eq!(rounded_up(Amount::ZERO, unit), 0);
    }
}
