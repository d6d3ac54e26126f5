//! SMSFactor counts money in credits, one credit being one SMS to France:
//! `credits` and `cost` are whole numbers its clients parse as integers (the
//! Python SDK does `int(credits)`, the Java SDK declares them `Integer`).
//! relais keeps money, so a credit here is the account's premium price of one
//! segment to its default region (see [`common::credits`]): a balance is shown
//! as the whole credits it buys (rounded down), a cost as the credits it takes
//! (rounded up). An account with no such price has no credit unit: amounts
//! are then shown as they are, in currency.
//!
//! [`common::credits`]: crate::dialects::common::credits

use relais_core::money::Amount;
use relais_core::pricing::RouteClass;
use relais_store::Account;

use super::errors::Failure;
use crate::dialects::common::credits;
use crate::dialects::common::format::Value;
use crate::state::AppState;

/// The credit unit of one account.
pub struct Credits(Option<Amount>);

impl Credits {
    pub fn of(state: &AppState, account: &Account) -> Result<Credits, Failure> {
        Ok(Credits(credits::unit_price(
            state,
            account,
            RouteClass::Premium,
        )?))
    }

    /// A balance (`None`, postpaid: no credits held) as a number.
    pub fn balance(&self, balance: Option<Amount>) -> Value {
        let balance = balance.unwrap_or(Amount::ZERO);
        match self.0 {
            Some(unit) => credits::whole(balance, unit).into(),
            None => Value::amount(balance),
        }
    }

    /// A balance as `/credits` writes it: the same number, as a string.
    pub fn balance_text(&self, balance: Option<Amount>) -> String {
        match self.balance(balance) {
            Value::Number(text) => text,
            other => other.to_json(),
        }
    }

    /// A cost (or a refund) as a number.
    pub fn cost(&self, cost: Amount) -> Value {
        match self.0 {
            Some(unit) => credits::rounded_up(cost, unit).into(),
            None => Value::amount(cost),
        }
    }
}
