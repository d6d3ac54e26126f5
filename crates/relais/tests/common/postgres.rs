//! PostgreSQL for end-to-end tests: a fresh schema per test run in the
//! database named by `RELAIS_TEST_DATABASE_URL`, the TOML that points
//! `relais serve` nodes at it, and a pool to read it directly.
//!
//! Without that variable the test is skipped, except in CI (`CI=true`), where
//! its absence, like an unreachable server, is a failure.

use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// A schema of its own, created empty (each node migrates it at start).
pub struct TestSchema {
    pub url: String,
    pub name: String,
    /// Connected with the schema as its `search_path`.
    pub pool: PgPool,
}

impl TestSchema {
    /// Creates `{prefix}_{pid}_{ms}`; `None` when the test is to be skipped.
    pub async fn create(prefix: &str) -> Option<TestSchema> {
        let Ok(url) = std::env::var("RELAIS_TEST_DATABASE_URL") else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "RELAIS_TEST_DATABASE_URL must be set in CI"
            );
            eprintln!("RELAIS_TEST_DATABASE_URL is not set: skipping this PostgreSQL test");
            return None;
        };
        let name = format!(
            "{prefix}_{}_{}",
            std::process::id(),
            jiff::Timestamp::now().as_millisecond()
        );
        let options: PgConnectOptions = url
            .parse()
            .unwrap_or_else(|e| panic!("RELAIS_TEST_DATABASE_URL {url}: {e}"));
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.options([("search_path", name.as_str())]))
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {url}: {e}"));
        // The name is ours (a prefix, the process id and the time): nothing to inject.
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}")))
            .execute(&pool)
            .await
            .expect("create schema");
        Some(TestSchema { url, name, pool })
    }

    /// The configuration every node on this schema gets.
    pub fn config(&self) -> String {
        format!(
            "database_url = \"{}\"\n[postgres]\nschema = \"{}\"\n",
            self.url, self.name
        )
    }

    /// Drops the schema and everything in it. Call it once the test passed
    /// (a failed test leaves its schema to look at) and its nodes stopped.
    pub async fn drop(self) {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA {} CASCADE",
            self.name
        )))
        .execute(&self.pool)
        .await
        .expect("drop schema");
        self.pool.close().await;
    }
}
