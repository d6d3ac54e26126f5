//! Two `relais serve` nodes on one PostgreSQL database: either accepts
//! requests, both dispatch, and the other node sees the same campaign, fully
//! delivered, with credits exact. Needs `RELAIS_TEST_DATABASE_URL`; in CI
//! (`CI=true`) its absence or an unreachable server is a failure.

mod common;

use std::time::Duration;

use common::Server;
use serde_json::json;

async fn fresh_schema() -> Option<(String, String)> {
    let Ok(url) = std::env::var("RELAIS_TEST_DATABASE_URL") else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "RELAIS_TEST_DATABASE_URL must be set in CI"
        );
        eprintln!("RELAIS_TEST_DATABASE_URL is not set: skipping the PostgreSQL nodes test");
        return None;
    };
    let pool = sqlx::PgPool::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {url}: {e}"));
    let schema = format!(
        "relais_nodes_{}_{}",
        std::process::id(),
        jiff::Timestamp::now().as_millisecond()
    );
    // The name is ours (process id and time): nothing to inject.
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&pool)
        .await
        .expect("create schema");
    Some((url, schema))
}

#[tokio::test(flavor = "multi_thread")]
async fn two_nodes_share_one_database() {
    let Some((url, schema)) = fresh_schema().await else {
        return;
    };
    let config = format!("database_url = \"{url}\"\n[postgres]\nschema = \"{schema}\"\n");
    let a = Server::start(&config);
    let b = Server::start(&config);
    let (_, key) = a.account("acme", Some("100")).await;
    let numbers: Vec<String> = (0..200).map(|i| format!("06123{i:05}")).collect();
    let (status, sent) = a
        .post(
            &key,
            "/v1/messages",
            json!({ "to": numbers, "text": "Hello from two nodes" }),
        )
        .await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["counters"]["sent"], 200);
    let campaign = sent["campaign_id"].as_i64().unwrap();

    // The other node answers for the same account and sees it finish.
    let detail = b
        .wait_for(
            &key,
            &format!("/v1/campaigns/{campaign}"),
            Duration::from_secs(60),
            |c| c["messages"]["delivered"] == 200,
        )
        .await;
    assert_eq!(detail["status"], "done");
    let (_, balance) = b.get(&key, "/v1/balance").await;
    assert_eq!(balance["balance"], "91"); // 100 − 200 × 0.045
    a.stop();
    b.stop();
}
