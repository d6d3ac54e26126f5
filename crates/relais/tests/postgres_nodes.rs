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

/// Each node keeps API keys and accounts in memory for at most a second: a
/// key revoked and an account disabled through node A are refused by A at
/// once and by node B within that second (polled for up to 2 s), having been
/// accepted by B just before. A credit made through A covers a send on B at
/// once, whatever balance B remembers.
#[tokio::test(flavor = "multi_thread")]
async fn revocations_and_credits_reach_the_other_node_within_a_second() {
    let Some(schema) = TestSchema::create("relais_auth_cache").await else {
        return;
    };
    let config = schema.config();
    let a = Server::start(&config);
    let b = Server::start(&config);
    let (id, first_key) = a.account("acme", Some("0")).await;
    let (status, second) = a
        .admin(
            reqwest::Method::POST,
            &format!("/admin/accounts/{id}/keys"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 201, "{second}");
    let second_key = second["token"].as_str().unwrap().to_string();
    let first_id = {
        let (_, keys) = a
            .admin(
                reqwest::Method::GET,
                &format!("/admin/accounts/{id}/keys"),
                None,
            )
            .await;
        keys.as_array().unwrap()[0]["id"].as_i64().unwrap()
    };

    // Both nodes know the account with no credits.
    for node in [&a, &b] {
        let (status, balance) = node.get(&first_key, "/v1/balance").await;
        assert_eq!((status, &balance["balance"]), (200, &json!("0")));
    }
    // A credit through A covers a send on B at once.
    let (status, credited) = a
        .admin(
            reqwest::Method::POST,
            &format!("/admin/accounts/{id}/credit"),
            Some(json!({ "amount": "1" })),
        )
        .await;
    assert_eq!(status, 200, "{credited}");
    let (status, sent) = b
        .post(
            &first_key,
            "/v1/messages",
            json!({ "to": ["0612345678"], "text": "Hello" }),
        )
        .await;
    assert_eq!(status, 201, "{sent}");

    // A revoked key: refused by A at once, by B within a second.
    let (status, _) = b.get(&first_key, "/v1/balance").await;
    assert_eq!(status, 200, "accepted by B just before");
    let (status, _) = a
        .admin(
            reqwest::Method::DELETE,
            &format!("/admin/keys/{first_id}"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(a.get(&first_key, "/v1/balance").await.0, 401);
    refused_within(&b, &first_key, 401).await;

    // A disabled account: the same.
    let (status, _) = b.get(&second_key, "/v1/balance").await;
    assert_eq!(status, 200, "accepted by B just before");
    let (status, _) = a
        .admin(
            reqwest::Method::POST,
            &format!("/admin/accounts/{id}/disable"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(a.get(&second_key, "/v1/balance").await.0, 403);
    refused_within(&b, &second_key, 403).await;

    a.stop();
    b.stop();
    schema.drop().await;
}

/// Polls `node` with `key` until it answers `status`, which must happen
/// within 2 s (the cache's second, and room for a loaded machine).
async fn refused_within(node: &Server, key: &str, status: u16) {
    let start = std::time::Instant::now();
    loop {
        let (got, body) = node.get(key, "/v1/balance").await;
        if got == status {
            return;
        }
        assert_eq!(got, 200, "{body}");
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "still accepted {:?} later",
            start.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
