//! relais as an aggregator, against relais itself: a relais (A) whose HTTP
//! provider connectors point at another relais (B) serving the provider's
//! dialect; a campaign through A reaches B's simulator, B pushes reports in
//! the provider's shape to A's intake route, A's messages are delivered and
//! A's client gets its callbacks.

mod common;

use std::time::Duration;

use common::{ADMIN_TOKEN, Listener, Server, free_port};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(30);

/// A (listening on a port chosen now, so that it knows its `public_url`)
/// with `connector` (a `[[connectors]]` body without name) as its only route.
fn aggregator(connector: &str) -> Server {
    let port = free_port();
    Server::start(&format!(
        r#"listen = "127.0.0.1:{port}"

[[connectors]]
name = "up"
public_url = "http://127.0.0.1:{port}"
{connector}

[[routes]]
name = "all"
connectors = ["up"]
"#
    ))
}

/// Sends `count` messages through A and waits for every one to be delivered
/// and for A's client to get a `delivered` callback for each.
async fn campaign_is_delivered(a: &Server, count: usize) {
    let hook = Listener::start().await;
    let (_, key) = a.account("client", Some("100")).await;
    let status = a
        .http
        .put(format!("{}/v1/webhooks", a.base))
        .bearer_auth(&key)
        .json(&json!({ "dlr": hook.url }))
        .send()
        .await
        .unwrap()
        .status();
    assert!(status.is_success(), "webhooks: {status}");
    let to: Vec<String> = (0..count).map(|i| format!("+3361234{i:04}")).collect();
    let (status, sent) = a
        .post(
            &key,
            "/v1/messages",
            json!({ "to": to, "text": "Through a provider" }),
        )
        .await;
    assert_eq!(status, 201, "{sent}");
    let campaign = sent["campaign_id"].as_i64().unwrap();
    let detail = a
        .wait_for(&key, &format!("/v1/campaigns/{campaign}"), WAIT, |c| {
            c["status"] == "done"
        })
        .await;
    assert_eq!(detail["messages"]["delivered"], count as u64, "{detail}");
    let (_, messages) = a
        .get(&key, &format!("/v1/campaigns/{campaign}/messages"))
        .await;
    for message in messages["items"].as_array().unwrap() {
        assert_eq!(message["connector"], "up", "{message}");
        assert_eq!(message["status"], "delivered", "{message}");
    }
    hook.wait_for(count, WAIT, |r| r.json()["status"] == "delivered")
        .await;
}

/// Polls `check` until it answers something, for up to [`WAIT`].
async fn eventually<T, F, Fut>(check: F) -> T
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(std::time::Instant::now() < deadline, "timed out");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A's `GET /admin/connectors` entry for the provider connector.
async fn listed(a: &Server) -> Value {
    let (status, list) = a
        .admin(reqwest::Method::GET, "/admin/connectors", None)
        .await;
    assert_eq!(status, 200, "{list}");
    let connectors = list["connectors"].as_array().unwrap();
    assert!(
        connectors.iter().any(|c| c["name"] == "simulator"),
        "the built-in simulator is listed: {list}"
    );
    connectors
        .iter()
        .find(|c| c["name"] == "up")
        .cloned()
        .unwrap_or_else(|| panic!("no connector up in {list}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn smsfactor_connector_round_trip() {
    let b = Server::start("");
    let (_, b_key) = b.account("aggregator", None).await;
    let a = aggregator(&format!(
        "kind = \"smsfactor\"\nbase_url = \"{}/compat/smsfactor\"\ntoken = \"{b_key}\"",
        b.base
    ));
    let entry = listed(&a).await;
    assert_eq!(entry["kind"], "smsfactor");
    let intake = entry["intake"].as_array().unwrap();
    assert_eq!(intake.len(), 2, "{entry}");
    let dlr_url = intake[0]["url"].as_str().unwrap().to_string();
    assert!(
        dlr_url.starts_with(&format!("{}/connectors/up/", a.base)) && dlr_url.ends_with("/dlr"),
        "{entry}"
    );
    // The connector registered its intake URLs with B's /webhook API.
    let webhooks = eventually(|| async {
        let list: Value = b
            .http
            .get(format!("{}/compat/smsfactor/webhook", b.base))
            .bearer_auth(&b_key)
            .header("accept", "application/json")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        list["webhooks"]
            .as_array()
            .is_some_and(|l| l.len() == 3)
            .then_some(list)
    })
    .await;
    assert!(
        webhooks["webhooks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["type"] == "DLR" && w["url"] == dlr_url.as_str()),
        "{webhooks}"
    );
    campaign_is_delivered(&a, 3).await;
    // The admin token is not a provider credential: the intake needs the secret.
    let forged = reqwest::Client::new()
        .post(format!("{}/connectors/up/wrong/dlr", a.base))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"message_id": "1", "status": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 404);
    a.stop();
    b.stop();
}

/// Sets B's account callbacks (reports and replies) to A's intake URL, as an
/// operator pastes it in a provider's console.
async fn point_callbacks_at(b: &Server, b_key: &str, url: &str) {
    let status = b
        .http
        .put(format!("{}/v1/webhooks", b.base))
        .bearer_auth(b_key)
        .json(&json!({ "dlr": url, "inbound": url }))
        .send()
        .await
        .unwrap()
        .status();
    assert!(status.is_success(), "B's webhooks: {status}");
}

#[tokio::test(flavor = "multi_thread")]
async fn octopush_connector_round_trip() {
    let b = Server::start("");
    let (_, b_key) = b.account("aggregator", None).await;
    let a = aggregator(&format!(
        "kind = \"octopush\"\nbase_url = \"{}/compat/octopush\"\nlogin = \"aggregator\"\napi_key = \"{b_key}\"",
        b.base
    ));
    let entry = listed(&a).await;
    assert_eq!(entry["kind"], "octopush");
    let url = entry["intake"][0]["url"].as_str().unwrap().to_string();
    assert!(url.ends_with("/callback"), "{entry}");
    point_callbacks_at(&b, &b_key, &url).await;
    campaign_is_delivered(&a, 3).await;
    a.stop();
    b.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn smsadvert_connector_round_trip() {
    let b = Server::start("");
    let (_, b_key) = b.account("aggregator", None).await;
    let a = aggregator(&format!(
        "kind = \"smsadvert\"\nbase_url = \"{}/compat/smsadvert\"\ntoken = \"{b_key}\"",
        b.base
    ));
    assert_eq!(listed(&a).await["kind"], "smsadvert");
    // SMSAdvert takes its callback URL with each message: nothing to paste.
    campaign_is_delivered(&a, 3).await;
    a.stop();
    b.stop();
}
