//! relais-connectors: the back doors.
//!
//! [`contract`] is what every connector is to the engine (submit a batch,
//! say whether it is up and what it is doing, stop, and optionally serve the
//! routes its peer pushes reports and replies to); [`sink`] is where a
//! connector hands what its peer reports, stored durably before the call
//! returns; [`secret`] keeps credentials out of logs and printed
//! configurations; [`intake`] is what the HTTP routes of connectors share.
//! The connectors themselves: the built-in [`simulator`] and the HTTP
//! providers under [`http`]. SMPP carriers are `relais-smpp`'s ESME, which
//! implements the same contract (the SMPP codec it shares with the SMPP door
//! lives there); the binary's registry builds every kind from `[[connectors]]`.
//!
//! A connector only talks to its peer: routing, failover, retries across
//! routes and persistence are the engine's and the store's.

pub mod contract;
pub mod http;
pub mod intake;
pub mod secret;
pub mod simulator;
pub mod sink;
