//! The real PyPI `octopush` client (pinned) against the real `relais serve`
//! binary, pointed at `/compat/octopush` by its module global `DOMAIN`: it
//! reads the balance, sends (signed, with a `request_id`), repeats the
//! request (120), schedules a marketing send, omits the STOP mention (121),
//! simulates and uses a wrong key (101), recognising every code through its
//! own `ERRORS` table. The campaigns show up in the native API with the same
//! counters and cost, and their delivery reports and replies reach the
//! account's webhooks in Octopush's shapes.

mod common;
#[path = "common/python.rs"]
mod python;

use std::path::Path;
use std::time::Duration;

use common::{Listener, Server};
use python::Venv;
use serde_json::{Value, json};

/// The client's version on PyPI.
const OCTOPUSH_VERSION: &str = "1.0.0";
const WAIT: Duration = Duration::from_secs(20);

/// Every simulated delivery is answered with a reply, to see MO callbacks.
const SIMULATOR: &str = r#"
[simulator]
reply_ratio = 1.0
reply_text = "Merci"
"#;

#[tokio::test(flavor = "multi_thread")]
async fn the_python_octopush_client_sends_through_relais() {
    let venv = tokio::task::spawn_blocking(|| Venv::with("octopush", OCTOPUSH_VERSION))
        .await
        .unwrap();
    let server = Server::start(SIMULATOR);
    let hook = Listener::start().await;
    let (_, key) = server.account("acme", Some("10")).await;
    let response = server
        .http
        .put(format!("{}/v1/webhooks", server.base))
        .bearer_auth(&key)
        .json(&json!({"dlr": hook.url, "inbound": hook.url}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let base = format!("{}/compat/octopush", server.base);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/octopush_client.py");
    let token = key.clone();
    let output =
        tokio::task::spawn_blocking(move || venv.run_script(&script, &[&base, "acme", &token]))
            .await
            .unwrap();
    let seen: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "the script printed no JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    });

    // 10 EUR buys 222.22 premium SMS (0.045) or 285.71 low-cost ones (0.035).
    assert_eq!(
        seen["balance"],
        json!({"FR": "222.22", "XXX": "285.71"}),
        "{seen}"
    );

    let send = &seen["send"];
    let ticket = send["ticket"].as_str().expect("a ticket").to_owned();
    let sending_date = send["sending_date"].clone();
    let success = |number: &str| json!({"recipient": number, "country_code": "FR", "cost": "0.045", "sms_needed": "1"});
    assert_eq!(
        send,
        &json!({
            "error_code": "000", "cost": "0.09", "balance": "9.91", "ticket": ticket,
            "sending_date": sending_date, "number_of_sendings": "2", "currency_code": "€",
            "successes": [success("+33601010101"), success("+33601010102")],
            "failures": [{"error_code": "150", "recipient": "+3"}]
        })
    );
    // The SDK turned each error code into its own ERRORS text.
    assert_eq!(
        seen["repeat"],
        "A SMS with the same request_id has already been sent."
    );
    // A low-cost (SMS_STANDARD) text without a mention: 122, the SDK's
    // "Standard SMS" text, not the premium 121.
    assert_eq!(
        seen["missing_stop"],
        "In Standard SMS, the mention \"no PUB=STOP\" is mandatory and must belong to your text (respect the case)."
    );
    assert_eq!(seen["wrong_key"], "Incorrect login details.");

    let deferred = &seen["deferred"];
    assert_eq!(deferred["error_code"], "000", "{seen}");
    assert_eq!(deferred["cost"], "0.035");
    assert_eq!(deferred["sending_date"], deferred["expected_sending_date"]);
    assert_eq!(
        seen["simulation"],
        json!({"error_code": "000", "ticket": null, "cost": "0.035"})
    );

    // The native API sees the same campaigns, counters and cost; the
    // simulation and the refused requests stored nothing.
    let id = |ticket: &str| ticket.strip_prefix("api").expect("api<id>").to_owned();
    let (status, native) = server
        .get(&key, &format!("/v1/campaigns/{}", id(&ticket)))
        .await;
    assert_eq!(status, 200, "{native}");
    assert_eq!(native["source"], "octopush");
    assert_eq!(native["kind"], "transactional");
    assert_eq!(native["sender"], "MyShop");
    assert_eq!(native["cost"], "0.09");
    assert_eq!(
        native["counters"],
        json!({"total": 4, "sent": 2, "blacklisted": 0, "duplicated": 1, "npai": 0,
               "invalid": 1, "not_allowed": 0, "flood": 0, "country_limit": 0})
    );
    let deferred_ticket = deferred["ticket"].as_str().unwrap();
    let (_, scheduled) = server
        .get(&key, &format!("/v1/campaigns/{}", id(deferred_ticket)))
        .await;
    assert_eq!(scheduled["status"], "scheduled", "{scheduled}");
    assert_eq!(scheduled["kind"], "marketing");
    assert_eq!(scheduled["route_class"], "low_cost");
    let (_, campaigns) = server.get(&key, "/v1/campaigns").await;
    assert_eq!(
        campaigns["items"].as_array().unwrap().len(),
        2,
        "{campaigns}"
    );
    let (_, balance) = server.get(&key, "/v1/balance").await;
    assert_eq!(balance["balance"], "9.875");

    // The simulator delivers both messages and each recipient replies: the
    // account's webhooks get Octopush's DLR and MO bodies.
    let sms_ticket = format!("sms_{}", id(&ticket));
    let delivered = hook
        .wait_for(2, WAIT, |r| r.json()["status"] == "DELIVERED")
        .await;
    let mut numbers: Vec<String> = delivered
        .iter()
        .map(|r| {
            let report = r.json();
            assert_eq!(report["channel"], "sms", "{report}");
            assert_eq!(report["sms_ticket"], sms_ticket.as_str(), "{report}");
            assert!(report["message_id"].is_string(), "{report}");
            assert!(
                report["delivery_date"]
                    .as_str()
                    .is_some_and(|d| d.parse::<jiff::Timestamp>().is_ok()),
                "{report}"
            );
            report["number"].as_str().unwrap().to_owned()
        })
        .collect();
    numbers.sort();
    assert_eq!(numbers, ["+33601010101", "+33601010102"]);
    let replies = hook
        .wait_for(2, WAIT, |r| r.json().get("reception_date").is_some())
        .await;
    for reply in replies {
        let body = reply.json();
        assert_eq!(body["text"], "Merci", "{body}");
        assert!(body["message_id"].is_string(), "{body}");
        assert!(
            body["number"].as_str().unwrap().starts_with("+3360101010"),
            "{body}"
        );
    }
    server.stop();
}
