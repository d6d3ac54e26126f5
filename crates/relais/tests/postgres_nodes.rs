//! Two `relais serve` nodes on one PostgreSQL database: either accepts
//! requests, both dispatch, and the other node sees the same campaign, fully
//! delivered, with credits exact. Needs `RELAIS_TEST_DATABASE_URL`; in CI
//! (`CI=true`) its absence or an unreachable server is a failure.

mod common;
#[path = "common/postgres.rs"]
mod postgres;

use std::time::Duration;

use common::Server;
use postgres::TestSchema;
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn two_nodes_share_one_database() {
    let Some(schema) = TestSchema::create("relais_nodes").await else {
        return;
    };
    let config = schema.config();
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
    schema.drop().await;
}
