//! relais-core: the pure domain of the relais SMS gateway.
//!
//! It owns every rule that decides what is sent, how and when: phone-number
//! normalisation, GSM-7/UCS-2 encoding and segmentation, smart encoding, sender
//! IDs, the commercial rules (STOP mention, quiet hours, public holidays), pricing
//! and campaign planning.
//!
//! It must not do I/O or read a clock: the current time and every lookup
//! (blacklist, balance, counters) are passed in, so everything here is
//! deterministic, exhaustively testable and fast. Front doors translate their
//! protocol into [`plan::SendRequest`]; the store persists the resulting
//! [`plan::Plan`].

pub mod account;
pub mod calendar;
pub mod encoding;
pub mod gsm7;
pub mod money;
pub mod number;
pub mod optout;
pub mod paris;
pub mod plan;
pub mod pricing;
pub mod segments;
pub mod sender;
pub mod smart;
pub mod template;
