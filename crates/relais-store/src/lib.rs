//! relais-store: everything relais keeps durably — accounts and keys, campaigns
//! and their messages with every status change, credits, blacklists, inbound
//! messages, the webhook outbox and idempotency records.
//!
//! [`Store`] is the one interface the engine and the API use; backends implement
//! it ([`sqlite::SqliteStore`], [`postgres::PostgresStore`]). It holds no business rule:
//! what to send and how much it costs is decided by `relais-core` before
//! [`Store::commit_campaign`] is called; the store only guarantees that what it
//! acknowledges is committed, atomically and exactly (credits never below zero).
//! Times are epoch milliseconds (`i64`) so every backend stores them alike.

pub mod clock;
mod codec;
mod commit;
mod logins;
pub mod model;
mod outbox;
pub mod postgres;
pub mod sqlite;
mod store;
mod submission;

pub use model::*;
pub use store::{SettingsPatch, Store, StoreError, StoreResult, patch_settings};
