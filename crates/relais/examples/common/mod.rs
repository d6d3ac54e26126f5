//! What the gateway benchmarks share: the PostgreSQL they run on by default
//! and a fresh schema per run, dropped at the end.

#![allow(dead_code)] // each benchmark uses its own part

/// PostgreSQL when neither an argument nor `RELAIS_BENCH_DATABASE_URL` names one.
pub const DEFAULT_POSTGRES: &str = "postgres://root@127.0.0.1:5432/test";

/// `url`, else `RELAIS_BENCH_DATABASE_URL`, else [`DEFAULT_POSTGRES`].
pub fn postgres_url(url: Option<String>) -> String {
    url.or_else(|| std::env::var("RELAIS_BENCH_DATABASE_URL").ok())
        .unwrap_or_else(|| DEFAULT_POSTGRES.into())
}

/// A schema of its own for one run, named after the process and the time.
pub struct FreshSchema {
    pub name: String,
    admin: sqlx::PgPool,
}

impl FreshSchema {
    /// Connects to `url` (panicking with its masked form if it cannot) and
    /// creates the schema.
    pub async fn create(url: &str) -> FreshSchema {
        let shown = relais::config::mask_url_password(url);
        let admin = sqlx::PgPool::connect(url)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {shown}: {e}"));
        let name = format!(
            "relais_bench_{}_{}",
            std::process::id(),
            jiff::Timestamp::now().as_microsecond()
        );
        let schema = FreshSchema { name, admin };
        schema.ddl(format!("CREATE SCHEMA {}", schema.name)).await;
        schema
    }

    /// The connection the schema was created with, for the server's statistics.
    pub fn admin(&self) -> &sqlx::PgPool {
        &self.admin
    }

    /// Drops the schema with everything in it.
    pub async fn drop(self) {
        self.ddl(format!("DROP SCHEMA {} CASCADE", self.name)).await;
        self.admin.close().await;
    }

    async fn ddl(&self, sql: String) {
        // The name is ours (process id and time): nothing to inject.
        sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .execute(&self.admin)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}
