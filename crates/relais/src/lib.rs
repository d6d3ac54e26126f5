//! The relais gateway as a library: configuration ([`config`]), logging, and the
//! wiring that builds a running gateway from a configuration ([`wiring`]). The
//! `relais` binary's command line (`main.rs`, `cli/`) is a thin layer over it;
//! benchmarks and end-to-end tests use the same functions.

pub mod config;
pub mod connectors;
pub mod logging;
pub mod wiring;
