//! Failover across a route's connectors: a provider that answers 503 or
//! does not answer in time hands its messages to the route's next
//! connector; a provider that refuses a message for good does not.

mod common;

use std::time::Duration;

use common::{Listener, Server};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(30);

/// A relais whose one route is `connector` (named "provider") then the
/// built-in simulator.
fn with_route(connector: &str) -> Server {
    Server::start(&format!(
        r#"
[[connectors]]
name = "provider"
{connector}

[[routes]]
name = "all"
connectors = ["provider", "simulator"]
"#
    ))
}

/// Sends one message and answers it once final.
async fn final_message(server: &Server) -> serde_json::Value {
    let (_, key) = server.account("client", Some("10")).await;
    let (status, sent) = server
        .post(
            &key,
            "/v1/messages",
            json!({ "to": ["+33612345678"], "text": "Failover" }),
        )
        .await;
    assert_eq!(status, 201, "{sent}");
    let campaign = sent["campaign_id"].as_i64().unwrap();
    server
        .wait_for(&key, &format!("/v1/campaigns/{campaign}"), WAIT, |c| {
            c["status"] == "done"
        })
        .await;
    let (_, messages) = server
        .get(&key, &format!("/v1/campaigns/{campaign}/messages"))
        .await;
    messages["items"][0].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_provider_answering_503_hands_its_messages_to_the_next_connector() {
    let provider = Listener::start().await;
    provider.set_status(503);
    let server = with_route(&format!(
        "kind = \"smsfactor\"\nbase_url = \"http://{}\"\ntoken = \"t\"",
        provider.addr
    ));
    let message = final_message(&server).await;
    assert_eq!(message["status"], "delivered", "{message}");
    assert_eq!(message["connector"], "simulator", "{message}");
    assert!(
        !provider.received().is_empty(),
        "the provider was tried first"
    );
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_provider_that_does_not_answer_in_time_hands_its_messages_on() {
    let provider = Listener::start().await;
    provider.set_delay(Duration::from_secs(5));
    let server = with_route(&format!(
        "kind = \"smsfactor\"\nbase_url = \"http://{}\"\ntoken = \"t\"\ntimeout_ms = 300",
        provider.addr
    ));
    let message = final_message(&server).await;
    assert_eq!(message["status"], "delivered", "{message}");
    assert_eq!(message["connector"], "simulator", "{message}");
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_permanent_refusal_is_not_handed_on() {
    let provider = Listener::start().await;
    provider.set_status(422);
    let server = with_route(&format!(
        "kind = \"octopush\"\nbase_url = \"http://{}\"\nlogin = \"l\"\napi_key = \"k\"",
        provider.addr
    ));
    let message = final_message(&server).await;
    assert_eq!(message["status"], "rejected", "{message}");
    assert_eq!(provider.received().len(), 1, "tried once");
    server.stop();
}
