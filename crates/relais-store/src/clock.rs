//! Time for relais: the one place that reads the wall clock, as epoch
//! milliseconds for the store and as a jiff `Timestamp` for planning.

use crate::Millis;
use jiff::Timestamp;

pub fn now_ms() -> Millis {
    Timestamp::now().as_millisecond()
}

pub fn to_timestamp(ms: Millis) -> Timestamp {
    Timestamp::from_millisecond(ms).expect("epoch milliseconds within jiff's range")
}
