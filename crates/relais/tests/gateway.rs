//! End-to-end: the real `relais serve` binary driven over HTTP, with the
//! simulator as its route and a test listener as the client's callback endpoint.

mod common;

use std::time::Duration;

use common::{Listener, Server, SmscProcess};
use hmac::{Hmac, Mac};
use relais_store::sqlite::{SqliteOptions, SqliteStore};
use relais_store::{MessageStatus, Page, Store};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(20);

fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

async fn put_webhooks(server: &Server, key: &str, body: Value) -> Value {
    let response = server
        .http
        .put(format!("{}/v1/webhooks", server.base))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn first_message_id(server: &Server, key: &str, campaign: i64) -> i64 {
    let (status, list) = server
        .get(key, &format!("/v1/campaigns/{campaign}/messages"))
        .await;
    assert_eq!(status, 200, "{list}");
    let messages = &list["items"];
    messages[0]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no message in {list}"))
}

fn history(message: &Value) -> Vec<String> {
    message["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_send_is_delivered_and_its_signed_callback_arrives() {
    let server = Server::start("");
    let hook = Listener::start().await;
    let (_, key) = server.account("acme", Some("10")).await;
    put_webhooks(
        &server,
        &key,
        json!({ "dlr": hook.url, "secret": "s3cret-s3cret-s3cret" }),
    )
    .await;

    let (status, sent) = server
        .post(&key, "/v1/messages", json!({ "to": ["+33612345678", "0612345678", "06 12 34"], "text": "Hello from relais" }))
        .await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["counters"]["total"], 3);
    assert_eq!(sent["counters"]["sent"], 1);
    assert_eq!(sent["counters"]["duplicated"], 1);
    assert_eq!(sent["counters"]["invalid"], 1);
    assert_eq!(sent["cost"], "0.045");
    assert_eq!(sent["credits_left"], "9.955");
    let campaign = sent["campaign_id"].as_i64().unwrap();

    let delivered = hook
        .wait_for(1, WAIT, |r| r.json()["status"] == "delivered")
        .await;
    let callback = &delivered[0];
    let body = callback.json();
    assert_eq!(body["to"], "+33612345678");
    assert_eq!(body["campaign_id"], campaign);
    let timestamp = callback.headers["x-relais-timestamp"].to_str().unwrap();
    let signature = callback.headers["x-relais-signature"].to_str().unwrap();
    assert_eq!(
        signature,
        sign("s3cret-s3cret-s3cret", timestamp, &callback.body),
        "signature must cover timestamp and body"
    );

    let message_id = first_message_id(&server, &key, campaign).await;
    let (_, message) = server
        .get(&key, &format!("/v1/messages/{message_id}"))
        .await;
    assert_eq!(message["status"], "delivered");
    assert_eq!(
        history(&message),
        ["queued", "submitting", "submitted", "delivered"]
    );
    // Which connector took it, and under which id.
    assert_eq!(message["connector"], "simulator");
    assert!(
        message["carrier_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty()),
        "{message}"
    );

    let detail = server
        .wait_for(&key, &format!("/v1/campaigns/{campaign}"), WAIT, |c| {
            c["status"] == "done"
        })
        .await;
    assert_eq!(detail["messages"]["delivered"], 1);
    assert_eq!(detail["delivery_rate"], 1.0);
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scheduled_send_is_cancelled_and_refunded() {
    let server = Server::start("");
    let (_, key) = server.account("acme", Some("10")).await;
    let send_at = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1)).to_string();
    let (status, sent) = server
        .post(
            &key,
            "/v1/messages",
            json!({ "to": ["0612345678", "0612345679"], "text": "Later", "send_at": send_at }),
        )
        .await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["credits_left"], "9.91");
    let campaign = sent["campaign_id"].as_i64().unwrap();
    let (_, detail) = server.get(&key, &format!("/v1/campaigns/{campaign}")).await;
    assert_eq!(detail["status"], "scheduled");

    let (status, cancelled) = server
        .delete(&key, &format!("/v1/campaigns/{campaign}"))
        .await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["cancelled"], 2);
    assert_eq!(cancelled["refunded"], "0.09");
    let (_, balance) = server.get(&key, "/v1/balance").await;
    assert_eq!(balance["balance"], "10");
    let (_, again) = server
        .delete(&key, &format!("/v1/campaigns/{campaign}"))
        .await;
    assert_eq!(again["cancelled"], 0);
    let (_, detail) = server.get(&key, &format!("/v1/campaigns/{campaign}")).await;
    assert_eq!(detail["status"], "cancelled");
    assert_eq!(detail["refunded"], "0.09");
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_marketing_send_at_21h_paris_waits_for_the_next_working_morning() {
    let server = Server::start("");
    let (_, key) = server.account("acme", Some("10")).await;
    // Tuesday 2030-05-07 21:00 Paris; Wednesday 8 May is a public holiday.
    let (status, sent) = server
        .post(
            &key,
            "/v1/messages",
            json!({ "to": ["0612345678"], "text": "Soldes !", "kind": "marketing", "send_at": "2030-05-07T21:00:00+02:00" }),
        )
        .await;
    assert_eq!(status, 201, "{sent}");
    let send_at: jiff::Timestamp = sent["send_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        send_at,
        "2030-05-09T08:00:00+02:00"
            .parse::<jiff::Timestamp>()
            .unwrap()
    );
    let campaign = sent["campaign_id"].as_i64().unwrap();
    let message_id = first_message_id(&server, &key, campaign).await;
    let (_, message) = server
        .get(&key, &format!("/v1/messages/{message_id}"))
        .await;
    assert_eq!(message["status"], "scheduled");
    assert!(
        message["text"].as_str().unwrap().ends_with("STOP au 36180"),
        "{message}"
    );
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_whose_window_closes_before_it_can_go_expires_and_is_refunded() {
    let server = Server::start(
        r#"
[simulator]
temporary_prefixes = ["33655"]

[engine.dispatcher]
retry_base_ms = 100
max_attempts = 1000
"#,
    );
    let (_, key) = server.account("acme", Some("1")).await;
    let expires_at = (jiff::Timestamp::now() + jiff::SignedDuration::from_secs(2)).to_string();
    let (status, sent) = server
        .post(
            &key,
            "/v1/messages",
            json!({ "to": ["0655000000"], "text": "Soon", "expires_at": expires_at }),
        )
        .await;
    assert_eq!(status, 201, "{sent}");
    let campaign = sent["campaign_id"].as_i64().unwrap();
    let message_id = first_message_id(&server, &key, campaign).await;
    let message = server
        .wait_for(&key, &format!("/v1/messages/{message_id}"), WAIT, |m| {
            m["status"] == "expired"
        })
        .await;
    assert!(history(&message).contains(&"queued".to_string()));
    let (_, balance) = server.get(&key, "/v1/balance").await;
    assert_eq!(balance["balance"], "1");
    let (_, detail) = server.get(&key, &format!("/v1/campaigns/{campaign}")).await;
    assert_eq!(detail["refunded"], "0.045");
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stop_reply_blacklists_the_number_for_the_next_send() {
    let server = Server::start(
        r#"
[simulator]
reply_ratio = 1.0
reply_text = "Stop"
"#,
    );
    let hook = Listener::start().await;
    let (_, key) = server.account("acme", Some("10")).await;
    put_webhooks(&server, &key, json!({ "inbound": hook.url })).await;
    let (status, sent) = server
        .post(
            &key,
            "/v1/messages",
            json!({ "to": ["0612345678"], "text": "Hi" }),
        )
        .await;
    assert_eq!(status, 201, "{sent}");

    let stops = hook
        .wait_for(1, WAIT, |r| r.json()["event"] == "message.stop")
        .await;
    assert_eq!(stops[0].json()["from"], "+33612345678");
    let blacklist = server
        .wait_for(&key, "/v1/blacklist", WAIT, |b| {
            b.to_string().contains("+33612345678")
        })
        .await;
    assert!(blacklist.to_string().contains("stop"), "{blacklist}");
    let (_, inbound) = server.get(&key, "/v1/inbound").await;
    assert!(inbound.to_string().contains("Stop"), "{inbound}");

    let (status, again) = server
        .post(
            &key,
            "/v1/messages",
            json!({ "to": ["0612345678"], "text": "Hi again" }),
        )
        .await;
    // Nothing left to send to: refused, with the counters saying why.
    assert_eq!(status, 422, "{again}");
    assert_eq!(again["error"]["code"], "no_valid_recipient");
    assert_eq!(again["error"]["details"]["counters"]["blacklisted"], 1);
    assert_eq!(again["error"]["details"]["counters"]["sent"], 0);
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idempotent_retry_answers_the_first_answer_and_sends_once() {
    let server = Server::start("");
    let (_, key) = server.account("acme", Some("10")).await;
    let send = || async {
        let response = server
            .http
            .post(format!("{}/v1/messages", server.base))
            .bearer_auth(&key)
            .header("Idempotency-Key", "order-42")
            .json(&json!({ "to": ["0612345678"], "text": "Once" }))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    };
    let first = send().await;
    let second = send().await;
    assert_eq!(first.0, 201, "{}", first.1);
    assert_eq!(first, second);
    let (_, campaigns) = server.get(&key, "/v1/campaigns").await;
    let list = &campaigns["items"];
    assert_eq!(list.as_array().unwrap().len(), 1, "{campaigns}");
    let (_, balance) = server.get(&key, "/v1/balance").await;
    assert_eq!(balance["balance"], "9.955");
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_concurrent_sends_against_credits_for_ten_accept_exactly_ten() {
    let server = Server::start("");
    let (_, key) = server.account("acme", Some("0.45")).await;
    let sends = (0..50).map(|i| {
        let (server, key) = (&server, &key);
        async move {
            server
                .post(
                    key,
                    "/v1/messages",
                    json!({ "to": [format!("06123456{i:02}")], "text": "Race" }),
                )
                .await
        }
    });
    let answers = futures_util::future::join_all(sends).await;
    let accepted = answers.iter().filter(|(s, _)| *s == 201).count();
    let refused = answers
        .iter()
        .filter(|(s, b)| *s == 402 && b["error"]["code"] == "insufficient_credits")
        .count();
    assert_eq!((accepted, refused), (10, 40), "{answers:?}");
    let (_, balance) = server.get(&key, "/v1/balance").await;
    assert_eq!(balance["balance"], "0");
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restart_loses_neither_queued_messages_nor_pending_callbacks() {
    // The client's endpoint is down at first: reserve its address, then free it.
    let reserved = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hook_addr = reserved.local_addr().unwrap();
    drop(reserved);
    let hook_url = format!("http://{hook_addr}/hook");

    let server = Server::start("");
    let (_, key) = server.account("acme", Some("10")).await;
    let (status, now) = server
        .post(
            &key,
            "/v1/messages",
            json!({ "to": ["0612345678"], "text": "Now", "callback_url": hook_url }),
        )
        .await;
    assert_eq!(status, 201, "{now}");
    let send_at = (jiff::Timestamp::now() + jiff::SignedDuration::from_secs(3)).to_string();
    let (status, later) = server
        .post(
            &key,
            "/v1/messages",
            json!({ "to": ["0612345671", "0612345672", "0612345673"], "text": "Later", "send_at": send_at, "callback_url": hook_url }),
        )
        .await;
    assert_eq!(status, 201, "{later}");
    let now_campaign = now["campaign_id"].as_i64().unwrap();
    let later_campaign = later["campaign_id"].as_i64().unwrap();
    // The first message is delivered, but its callback cannot be: it waits in the outbox.
    server
        .wait_for(&key, &format!("/v1/campaigns/{now_campaign}"), WAIT, |c| {
            c["messages"]["delivered"] == 1
        })
        .await;
    let dir = server.dir.clone();
    server.stop();

    let hook = Listener::start_on(&hook_addr.to_string()).await;
    let server = Server::start_in(dir, "");
    let detail = server
        .wait_for(
            &key,
            &format!("/v1/campaigns/{later_campaign}"),
            WAIT,
            |c| c["messages"]["delivered"] == 3,
        )
        .await;
    assert_eq!(detail["status"], "done");
    let delivered = hook
        .wait_for(4, WAIT, |r| r.json()["status"] == "delivered")
        .await;
    let mut numbers: Vec<String> = delivered
        .iter()
        .map(|r| r.json()["to"].as_str().unwrap().to_string())
        .collect();
    numbers.sort();
    numbers.dedup();
    assert_eq!(
        numbers,
        [
            "+33612345671",
            "+33612345672",
            "+33612345673",
            "+33612345678"
        ]
    );
    server.stop();
}

/// Callbacks survive a crash in the middle of a batch: the client's endpoint
/// is slow, relais is killed (SIGKILL) while callbacks are in flight and
/// restarted on its database. Every callback arrives at least once; the only
/// ones that may arrive twice are those the dead process had sent without
/// recording the answer, at most one claimed batch.
#[tokio::test(flavor = "multi_thread")]
async fn callbacks_survive_a_crash_in_the_middle_of_a_batch() {
    const MESSAGES: u32 = 100;
    const BATCH: usize = 10;
    let config = format!(
        r#"
[engine.webhooks]
batch_size = {BATCH}
concurrency = 4
lease_ms = 3000
timeout_ms = 2000
"#
    );
    let hook = Listener::start().await;
    hook.set_delay(Duration::from_millis(100));
    let server = Server::start(&config);
    let (_, key) = server.account("acme", Some("10")).await;
    let (status, sent) = server
        .post(
            &key,
            "/v1/messages",
            json!({ "to": mobiles(MESSAGES), "text": "crash", "callback_url": hook.url,
                    "callback_events": "final" }),
        )
        .await;
    assert_eq!(status, 201, "{sent}");
    let campaign = sent["campaign_id"].as_i64().unwrap();
    // Every message is final (so none is sent again), and the client,
    // answering ten callbacks a second per connection, is still receiving.
    server
        .wait_for(&key, &format!("/v1/campaigns/{campaign}"), WAIT, |c| {
            c["status"] == "done"
        })
        .await;
    hook.wait_for(10, WAIT, |_| true).await;
    let dir = server.dir.clone();
    server.kill();
    let at_kill = hook.received().len();
    assert!(
        at_kill < MESSAGES as usize,
        "every callback arrived before the kill"
    );

    let server = Server::start_in(dir, &config);
    let message_ids = |received: &[common::Received]| {
        let mut ids: Vec<i64> = received
            .iter()
            .map(|r| r.json()["message_id"].as_i64().unwrap())
            .collect();
        ids.sort();
        ids.dedup();
        ids.len()
    };
    let deadline = std::time::Instant::now() + WAIT;
    while message_ids(&hook.received()) < MESSAGES as usize {
        assert!(
            std::time::Instant::now() < deadline,
            "{} of {MESSAGES} callbacks arrived",
            message_ids(&hook.received())
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Nothing more comes: every callback was recorded as delivered.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let received = hook.received();
    let duplicates = received.len() - message_ids(&received);
    assert!(
        duplicates <= BATCH,
        "{duplicates} callbacks arrived twice (killed after {at_kill})"
    );
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reply_injected_through_the_simulator_reaches_the_account() {
    let server = Server::start("");
    let hook = Listener::start().await;
    let (account_id, key) = server.account("acme", Some("10")).await;
    put_webhooks(&server, &key, json!({ "inbound": hook.url })).await;
    let (status, sent) = server
        .post(
            &key,
            "/v1/messages",
            json!({ "to": ["0612345678"], "text": "Hi", "sender": "Acme" }),
        )
        .await;
    assert_eq!(status, 201, "{sent}");

    let (status, reply) = server
        .admin(
            reqwest::Method::POST,
            "/admin/simulator/inbound",
            Some(json!({ "from": "+33612345678", "to": "Acme", "text": "Merci !" })),
        )
        .await;
    assert_eq!(status, 201, "{reply}");
    assert_eq!(reply["is_stop"], false);
    assert_eq!(reply["campaign_id"], sent["campaign_id"]);
    let pushed = hook
        .wait_for(1, WAIT, |r| r.json()["event"] == "message.inbound")
        .await;
    assert_eq!(pushed[0].json()["text"], "Merci !");

    // An explicit account, and a STOP: the number is blacklisted at once.
    let (status, stop) = server
        .admin(
            reqwest::Method::POST,
            "/admin/simulator/inbound",
            Some(json!({ "from": "0699999999", "text": "ARRET", "account_id": account_id })),
        )
        .await;
    assert_eq!(status, 201, "{stop}");
    assert_eq!(stop["is_stop"], true);
    let (_, blacklist) = server.get(&key, "/v1/blacklist").await;
    assert!(
        blacklist.to_string().contains("+33699999999"),
        "{blacklist}"
    );

    // A number nobody sent to, with no account given.
    let (status, _) = server
        .admin(
            reqwest::Method::POST,
            "/admin/simulator/inbound",
            Some(json!({ "from": "0611111111", "text": "Hello?" })),
        )
        .await;
    assert_eq!(status, 404);
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dialect_is_served_at_the_root_of_its_own_listener() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = Server::start(&format!(
        "[dialects.smsfactor]\nlisten = \"127.0.0.1:{port}\"\n"
    ));
    let (_, key) = server.account("acme", Some("10")).await;
    // Its start says which dialect listens where.
    let line = server.printed_line("dialect listener").await;
    assert_eq!(
        line.trim(),
        format!("smsfactor dialect listener on http://127.0.0.1:{port}")
    );
    // An SMSFactor client that cannot change paths, only host and port.
    let own = format!("http://127.0.0.1:{port}");
    let response = server
        .http
        .post(format!("{own}/send"))
        .bearer_auth(&key)
        .header("accept", "application/json")
        .json(&json!({ "sms": { "message": { "text": "Hello" }, "recipients": { "gsm": [{ "gsmsmsid": "100", "value": "33612345678" }] } } }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["status"], 1, "{answer}");
    assert_eq!(answer["sent"], 1);
    // The same campaign through the main listener's native API and its /compat prefix.
    let ticket = answer["ticket"].as_str().unwrap();
    let (status, campaign) = server.get(&key, &format!("/v1/campaigns/{ticket}")).await;
    assert_eq!(status, 200, "{campaign}");
    assert_eq!(campaign["source"], "smsfactor");
    let (status, _) = server.get(&key, "/compat/smsfactor/credits").await;
    assert_eq!(status, 200);
    server.stop();
}

/// SMSAdvert's `sendAsShort` and `failover: "short"` choose between a route
/// for the customer's own devices (an SMPP link to `relais smsc-simulator`,
/// standing in for them, French numbers only) and the network's (the
/// built-in simulator); which connector took each message is read from the
/// database.
#[tokio::test(flavor = "multi_thread")]
async fn smsadvert_channels_take_the_devices_route_then_the_network() {
    let smsc = SmscProcess::start();
    let server = Server::start(&format!(
        r#"{phones}
[[routes]]
name = "own-devices"
channel = "devices"
countries = ["FR"]
connectors = ["phones"]

[[routes]]
name = "network"
channel = "network"
connectors = ["simulator"]
"#,
        phones = smsc.connector("phones")
    ));
    let (account, key) = server.account("acme", Some("10")).await;
    let store = SqliteStore::open(server.db_path().to_str().unwrap(), SqliteOptions::default())
        .await
        .unwrap();
    // Sends, waits for the campaign to end, answers its message's status and
    // the connector that took it.
    let send = async |fields: Value| {
        let mut body = json!({"shortTextMessage": "Bonjour de relais"});
        body.as_object_mut()
            .unwrap()
            .extend(fields.as_object().unwrap().clone());
        let (status, answer) = server
            .post(&key, "/compat/smsadvert/api/sms/", body.clone())
            .await;
        assert_eq!(status, 200, "{body}: {answer}");
        let campaign: i64 = answer["msgId"].as_str().unwrap().parse().unwrap();
        server
            .wait_for(
                &key,
                &format!("/v1/campaigns/{campaign}"),
                Duration::from_secs(30),
                |c| c["status"] == "done",
            )
            .await;
        let messages = store
            .campaign_messages(account, campaign, None, Page::default())
            .await
            .unwrap();
        assert_eq!(messages.len(), 1, "{body}");
        (messages[0].status, messages[0].connector.clone())
    };
    let delivered_by = |name: &str| (MessageStatus::Delivered, Some(name.to_string()));

    // Own devices only (the first send also waits for the SMPP bind).
    assert_eq!(
        send(json!({"phone": "+33612345678"})).await,
        delivered_by("phones")
    );
    // Devices first, with the network as fallback.
    assert_eq!(
        send(json!({"phone": "+33612345679", "sendAsShort": false, "failover": "short"})).await,
        delivered_by("phones")
    );
    // The network, failover or not.
    assert_eq!(
        send(json!({"phone": "+33612345680", "sendAsShort": true})).await,
        delivered_by("simulator")
    );
    assert_eq!(
        send(json!({"phone": "+33612345681", "sendAsShort": true, "failover": "short"})).await,
        delivered_by("simulator")
    );
    // No devices route for Romania: the failover goes to the network, devices
    // only fails with no route.
    assert_eq!(
        send(json!({"phone": "+40740123456", "failover": "short"})).await,
        delivered_by("simulator")
    );
    assert_eq!(
        send(json!({"phone": "+40740123457"})).await,
        (MessageStatus::Failed, None)
    );
    store.close().await;
    server.stop();
}

/// `count` distinct French mobile numbers.
fn mobiles(count: u32) -> Vec<String> {
    (0..count).map(|i| format!("+3361200{i:04}")).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn callback_events_final_sends_exactly_one_callback_per_message() {
    let server = Server::start("");
    let hook = Listener::start().await;
    let (_, key) = server.account("acme", Some("10")).await;
    let to = mobiles(20);
    let (status, sent) = server
        .post(
            &key,
            "/v1/messages",
            json!({ "to": to, "text": "final only", "callback_url": hook.url,
                    "callback_events": "final" }),
        )
        .await;
    assert_eq!(status, 201, "{sent}");
    let campaign = sent["campaign_id"].as_i64().unwrap();
    server
        .wait_for(&key, &format!("/v1/campaigns/{campaign}"), WAIT, |c| {
            c["status"] == "done"
        })
        .await;
    hook.wait_for(20, WAIT, |_| true).await;
    // Anything else would have been enqueued with the statuses already reached.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let received = hook.received();
    let mut ids: Vec<i64> = received
        .iter()
        .map(|r| {
            let body = r.json();
            assert_eq!(body["status"], "delivered", "{body}");
            body["message_id"].as_i64().unwrap()
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!((received.len(), ids.len()), (20, 20));

    let (status, refused) = server
        .post(
            &key,
            "/v1/messages",
            json!({ "to": ["+33612345678"], "text": "x", "callback_events": "some" }),
        )
        .await;
    assert_eq!(status, 400, "{refused}");
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn batched_webhooks_carry_every_event_once_with_a_valid_signature() {
    let server = Server::start("");
    let hook = Listener::start().await;
    let (_, key) = server.account("acme", Some("10")).await;
    let answer = put_webhooks(
        &server,
        &key,
        json!({ "dlr": hook.url, "secret": "s3cret-s3cret-s3cret", "batch_max": 50 }),
    )
    .await;
    assert_eq!(answer["batch_max"], 50, "{answer}");
    let (status, sent) = server
        .post(
            &key,
            "/v1/messages",
            json!({ "to": mobiles(30), "text": "batched" }),
        )
        .await;
    assert_eq!(status, 201, "{sent}");

    // 30 submitted and 30 delivered events, in arrays.
    let events = |received: &[common::Received]| -> Vec<Value> {
        received
            .iter()
            .flat_map(|r| r.json().as_array().cloned().expect("a JSON array"))
            .collect()
    };
    let deadline = std::time::Instant::now() + WAIT;
    while events(&hook.received()).len() < 60 {
        assert!(
            std::time::Instant::now() < deadline,
            "{:?}",
            hook.received()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let received = hook.received();
    let mut seen: Vec<(i64, String)> = events(&received)
        .iter()
        .map(|e| {
            (
                e["message_id"].as_i64().unwrap(),
                e["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let total = seen.len();
    seen.sort();
    seen.dedup();
    assert_eq!((total, seen.len()), (60, 60), "every event exactly once");
    for request in &received {
        assert_eq!(request.headers["x-relais-event"], "batch");
        let timestamp = request.headers["x-relais-timestamp"].to_str().unwrap();
        assert_eq!(
            request.headers["x-relais-signature"].to_str().unwrap(),
            sign("s3cret-s3cret-s3cret", timestamp, &request.body)
        );
        let carried = request.json().as_array().unwrap().len();
        let ids = request.headers["x-relais-delivery"].to_str().unwrap();
        assert_eq!(ids.split(',').count(), carried);
        assert!((1..=50).contains(&carried));
    }
    assert!(
        received.len() < 60,
        "events were joined: {} requests for 60 events",
        received.len()
    );
    server.stop();
}

/// The built-in simulator's reports wait in memory: after a crash, the
/// restarted node reports the messages still awaiting theirs (submitted
/// longer ago than any live simulator would hold them), so none stays
/// `submitted`, and each callback arrives.
#[tokio::test(flavor = "multi_thread")]
async fn a_restart_finishes_the_reports_the_simulator_owed() {
    let hook = Listener::start().await;
    // Reports that would come long after the crash.
    let server = Server::start(
        "[simulator]\nreport_delay_ms = [60000, 60000]\nreport_timeout_ms = 600000\n",
    );
    let (_, key) = server.account("acme", Some("10")).await;
    let (status, sent) = server
        .post(
            &key,
            "/v1/messages",
            json!({ "to": ["0612345671", "0612345672", "0612345673"], "text": "Hi",
                    "callback_url": hook.url, "callback_events": "final" }),
        )
        .await;
    assert_eq!(status, 201, "{sent}");
    let campaign = sent["campaign_id"].as_i64().unwrap();
    server
        .wait_for(&key, &format!("/v1/campaigns/{campaign}"), WAIT, |c| {
            c["messages"]["submitted"] == 3
        })
        .await;
    let dir = server.dir.clone();
    server.kill();

    // The same report timeout (deadlines were set with it), quick reports.
    let server = Server::start_in(dir, "[simulator]\nreport_timeout_ms = 600000\n");
    let detail = server
        .wait_for(&key, &format!("/v1/campaigns/{campaign}"), WAIT, |c| {
            c["messages"]["delivered"] == 3
        })
        .await;
    assert_eq!(detail["status"], "done", "{detail}");
    let delivered = hook
        .wait_for(3, WAIT, |r| r.json()["status"] == "delivered")
        .await;
    let mut numbers: Vec<String> = delivered
        .iter()
        .map(|r| r.json()["to"].as_str().unwrap().to_string())
        .collect();
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers, ["+33612345671", "+33612345672", "+33612345673"]);
    server.stop();
}
