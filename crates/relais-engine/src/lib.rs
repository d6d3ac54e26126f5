//! relais-engine: the pipeline between the doors and the carriers.
//!
//! It owns sending (loading an account's context, planning with `relais-core`,
//! committing through the store: [`send`]), the scheduler and dispatcher that
//! lease due messages and hand them to routes of connectors (whose contract
//! is `relais-connectors`'), the per-node account cache, and the webhook
//! outbox worker.
//!
//! It must not parse or render any door's protocol (that is `relais-api`'s and
//! `relais-smpp`'s job) nor hold business rules (those are `relais-core`'s).

pub mod account_cache;
pub mod callback_url;
mod commit_batch;
pub mod dispatcher;
pub mod engine;
pub mod keys;
pub mod progress;
pub mod ratelimit;
mod request_hash;
pub mod routing;
pub mod send;
pub mod webhooks;
