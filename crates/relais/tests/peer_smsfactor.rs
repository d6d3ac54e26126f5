//! The real PyPI `smsfactor` client (pinned) against the real `relais serve`
//! binary: it reads credits, registers a delivery-report webhook, simulates
//! and sends a campaign through `/compat/smsfactor`, and the campaign shows
//! up in the native API with the same counters and cost, its delivery
//! reports pushed in SMSFactor's shape.

mod common;
#[path = "common/python.rs"]
mod python;

use std::path::Path;
use std::time::Duration;

use common::{Listener, Server};
use python::Venv;
use serde_json::{Value, json};

/// The client's version on PyPI (`pip index versions smsfactor`).
const SMSFACTOR_VERSION: &str = "0.0.5";

#[tokio::test(flavor = "multi_thread")]
async fn the_python_smsfactor_client_sends_through_relais() {
    let venv = tokio::task::spawn_blocking(|| Venv::with("smsfactor", SMSFACTOR_VERSION))
        .await
        .unwrap();
    let server = Server::start("");
    let hook = Listener::start().await;
    let (_, key) = server.account("acme", Some("10")).await;
    let base = format!("{}/compat/smsfactor", server.base);

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/smsfactor_client.py");
    let (url, token) = (hook.url.clone(), key.clone());
    let output =
        tokio::task::spawn_blocking(move || venv.run_script(&script, &[&base, &token, &url]))
            .await
            .unwrap();
    let seen: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "the script printed no JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    });

    // 10 EUR at 0.045 a message: 222 credits, 220 after two messages.
    assert_eq!(seen["credits_before"], 222, "{seen}");
    assert_eq!(seen["credits_after"], 220, "{seen}");
    assert_eq!(
        seen["webhook"]["webhook"],
        json!({"webhook_id": "1", "type": "DLR", "url": hook.url}),
        "{seen}"
    );
    let simulate = &seen["simulate"];
    assert!(simulate.get("ticket").is_none(), "{seen}");
    assert_eq!(
        (
            simulate["status"].clone(),
            simulate["sent"].clone(),
            simulate["cost"].clone()
        ),
        (json!(1), json!(2), json!(2))
    );
    let send = &seen["send"];
    let ticket = send["ticket"].as_str().expect("a ticket").to_owned();
    assert_eq!(
        send,
        &json!({"status": 1, "message": "OK", "ticket": ticket, "cost": 2, "credits": 220, "total": 2, "sent": 2,
                "blacklisted": 0, "duplicated": 0, "npai": 0, "invalid": 0, "not_allowed": 0, "flood": 0,
                "country_limit": 0})
    );
    let wrong = seen["wrong_token"]
        .as_str()
        .expect("the client raised on a wrong token");
    assert!(
        wrong.starts_with("Error -1: Authentication error"),
        "{wrong}"
    );

    let (status, native) = server.get(&key, &format!("/v1/campaigns/{ticket}")).await;
    assert_eq!(status, 200, "{native}");
    assert_eq!(native["source"], "smsfactor");
    assert_eq!(native["cost"], "0.09");
    assert_eq!(native["sender"], "Relais");
    let mut counters = send.clone();
    counters
        .as_object_mut()
        .unwrap()
        .retain(|k, _| !["status", "message", "ticket", "cost", "credits"].contains(&k.as_str()));
    assert_eq!(native["counters"], counters);

    // The simulator delivers both messages; their reports come in SMSFactor's shape.
    let delivered = hook
        .wait_for(2, Duration::from_secs(20), |r| r.json()["status"] == 3)
        .await;
    let mut ids: Vec<String> = delivered
        .iter()
        .map(|r| r.json()["message_id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    assert_eq!(ids, ["100", "101"]);
    let report = delivered[0].json();
    assert_eq!(report["campaign_id"], ticket);
    assert_eq!(report["country_code"], "FR");
    let date = report["date"].as_str().unwrap();
    assert!(
        date.ends_with("+01:00") || date.ends_with("+02:00"),
        "Paris time with its offset: {report}"
    );
    date.parse::<jiff::Timestamp>().expect("an RFC 3339 date");
    server.stop();
}
