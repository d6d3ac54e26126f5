//! The SMSAdvert dialect (`/compat/smsadvert`): the documented requests and
//! answers, every error it answers (storing nothing), the campaign as the
//! native API sees it, and its delivery-report callbacks.

mod common;

use axum::http::{Method, StatusCode};
use common::fixtures;
use common::{Response, TestApp, amount, mobile, test_config};
use relais_api::dialects::smsadvert::render_callback;
use relais_api::{ApiConfig, RateLimit};
use relais_core::plan::ChannelOrder;
use relais_store::{EventKind, MessageStatus, Store};
use serde_json::{Value, json};

const SEND: &str = "/compat/smsadvert/api/sms/";
const SUBMITTED: &str = "Your message has been successfully submitted!";

/// A year far ahead, in Unix milliseconds (2100-01-01T00:00:00Z).
const FUTURE_MS: i64 = 4_102_444_800_000;

/// Posts `body` with `Authorization: <authorization>` (none when `None`).
async fn post(app: &TestApp, authorization: Option<&str>, body: impl Into<String>) -> Response {
    let mut headers = vec![("content-type", "application/json")];
    if let Some(value) = authorization {
        headers.push(("authorization", value));
    }
    app.raw(Method::POST, SEND, None, &headers, body.into())
        .await
}

async fn send(app: &TestApp, body: Value) -> Response {
    post(app, Some(&app.key.clone()), body.to_string()).await
}

/// Asserts the success answer; answers the campaign id.
#[track_caller]
fn submitted(response: &Response) -> i64 {
    let body = response.json();
    assert_eq!(response.status, StatusCode::OK, "{body}");
    assert_eq!(body["successMessage"], SUBMITTED);
    assert_eq!(body.as_object().unwrap().len(), 2, "{body}");
    body["msgId"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("msgId is not an id string: {body}"))
}

/// Asserts a per-field error answer (400) and that nothing was stored.
async fn assert_field_errors(app: &TestApp, response: &Response, expected: Value) {
    assert_eq!(
        response.status,
        StatusCode::BAD_REQUEST,
        "{}",
        response.text()
    );
    assert_eq!(response.json(), json!({ "errors": expected }));
    app.assert_untouched().await;
}

/// Asserts an `errorMessage` answer with `status` and that nothing was stored.
async fn assert_error_message(app: &TestApp, response: &Response, status: StatusCode) {
    let body = response.json();
    assert_eq!(response.status, status, "{body}");
    assert!(
        body["errorMessage"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert_eq!(body.as_object().unwrap().len(), 1, "{body}");
    app.assert_untouched().await;
}

async fn campaign(app: &TestApp, id: i64) -> Value {
    let response = app.get(&format!("/v1/campaigns/{id}")).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response.json()
}

#[tokio::test]
async fn the_documented_sends_are_submitted_and_seen_by_the_native_api() {
    let app = TestApp::new().await;
    // The seed's examples: through the network, through own devices, with
    // failover, and with a callback.
    let examples = [
        json!({"phone": "+40740123456", "shortTextMessage": "This is the content of the SMS message", "sendAsShort": true}),
        json!({"phone": "+40740123456", "shortTextMessage": "C'est le contenu du message SMS"}),
        json!({"phone": "+40740123456", "shortTextMessage": "C'est le contenu du message SMS", "failover": "short"}),
        json!({"phone": "+40740123456", "shortTextMessage": "C'est le contenu du message SMS", "callback": "http://votresite.com/callback-url/"}),
    ];
    let mut ids = Vec::new();
    for example in examples {
        let id = submitted(&send(&app, example).await);
        let campaign = campaign(&app, id).await;
        assert_eq!(campaign["source"], "smsadvert");
        assert_eq!(campaign["kind"], "transactional");
        assert_eq!(campaign["route_class"], "premium");
        assert_eq!(campaign["counters"]["total"], 1);
        assert_eq!(campaign["counters"]["sent"], 1);
        // Romania, premium: 0.05 per SMS.
        assert_eq!(campaign["cost"], "0.05");
        ids.push((id, campaign["callback_url"].clone()));
    }
    assert_eq!(ids[3].1, "http://votresite.com/callback-url/");
    assert_eq!(ids[0].1, Value::Null);
    assert_eq!(app.balance().await, Some(amount("9.8")));
}

/// `sendAsShort` and `failover: "short"` reach the store as the campaign's
/// channel order, read back on the campaign and on the messages the
/// dispatcher claims.
#[tokio::test]
async fn send_as_short_and_failover_reach_the_store_as_the_channel_order() {
    let app = TestApp::new().await;
    let cases = [
        (
            json!({"sendAsShort": true}),
            ChannelOrder::Network,
            json!(["network"]),
        ),
        (
            json!({"sendAsShort": true, "failover": "short"}),
            ChannelOrder::Network,
            json!(["network"]),
        ),
        (json!({}), ChannelOrder::Devices, json!(["devices"])),
        (
            json!({"sendAsShort": false}),
            ChannelOrder::Devices,
            json!(["devices"]),
        ),
        (
            json!({"failover": "short"}),
            ChannelOrder::DevicesThenNetwork,
            json!(["devices", "network"]),
        ),
        (
            json!({"sendAsShort": false, "failover": "short"}),
            ChannelOrder::DevicesThenNetwork,
            json!(["devices", "network"]),
        ),
    ];
    let mut expected = Vec::new();
    for (i, (extra, order, native)) in cases.into_iter().enumerate() {
        let mut body =
            json!({"phone": format!("+4074012345{i}"), "shortTextMessage": "Hello there"});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let id = submitted(&send(&app, body.clone()).await);
        let stored = app
            .store
            .campaign(app.account.id, id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.channels, order, "{body}");
        assert_eq!(campaign(&app, id).await["channels"], native, "{body}");
        expected.push((id, order));
    }

    let now = jiff::Timestamp::now().as_millisecond();
    let claimed = app.store.claim_due(now, 100, now + 60_000).await.unwrap();
    let mut got: Vec<(i64, ChannelOrder)> = claimed
        .iter()
        .map(|m| (m.campaign_id, m.channels))
        .collect();
    got.sort_by_key(|(id, _)| *id);
    assert_eq!(got, expected);
}

#[tokio::test]
async fn several_recipients_count_duplicates_like_the_native_api() {
    let app = TestApp::new().await;
    let id = submitted(
        &send(
            &app,
            json!({"phone": "+40740123456,+40740123457,+40740123458, +40740123456", "shortTextMessage": "C'est le contenu du message SMS"}),
        )
        .await,
    );
    let campaign = campaign(&app, id).await;
    assert_eq!(
        campaign["counters"],
        json!({"total": 4, "sent": 3, "blacklisted": 0, "duplicated": 1, "npai": 0, "invalid": 0,
               "not_allowed": 0, "flood": 0, "country_limit": 0})
    );
    assert_eq!(campaign["cost"], "0.15");
    assert_eq!(campaign["messages"]["queued"], 3);
    assert_eq!(app.balance().await, Some(amount("9.85")));
}

#[tokio::test]
async fn a_send_every_recipient_is_filtered_out_of_is_refused() {
    let app = TestApp::new().await;
    let blacklisted = "+40740123456".parse().unwrap();
    app.store
        .add_listed(
            app.account.id,
            relais_store::NumberList::Blacklist,
            &[(blacklisted, vec![])],
            "stop",
            0,
        )
        .await
        .unwrap();
    let response = send(
        &app,
        json!({"phone": "+40740123456", "shortTextMessage": "C'est le contenu du message SMS"}),
    )
    .await;
    assert_field_errors(
        &app,
        &response,
        json!({"phone": "Numéro de téléphone invalide!"}),
    )
    .await;
}

#[tokio::test]
async fn a_time_window_schedules_and_expires_the_campaign() {
    let app = TestApp::new().await;
    let id = submitted(
        &send(
            &app,
            json!({"phone": "+40740123456", "shortTextMessage": "C'est le contenu du message SMS",
                   "startDate": FUTURE_MS, "endDate": FUTURE_MS + 6_200_000}),
        )
        .await,
    );
    let campaign = campaign(&app, id).await;
    assert_eq!(campaign["status"], "scheduled");
    assert_eq!(campaign["send_at"], "2100-01-01T00:00:00Z");
    assert_eq!(campaign["expires_at"], "2100-01-01T01:43:20Z");
    assert_eq!(campaign["messages"]["scheduled"], 1);
}

#[tokio::test]
async fn the_path_without_its_final_slash_and_a_bearer_prefix_work_too() {
    let app = TestApp::new().await;
    let bearer = format!("Bearer {}", app.key);
    let response = app
        .raw(
            Method::POST,
            "/compat/smsadvert/api/sms",
            None,
            &[("authorization", bearer.as_str())],
            json!({"phone": "+40740123456", "shortTextMessage": "Hello"}).to_string(),
        )
        .await;
    submitted(&response);
}

#[tokio::test]
async fn the_documented_error_example() {
    let app = TestApp::new().await;
    let response = send(
        &app,
        json!({"phone": "0740123456", "shortTextMessage": "Hi"}),
    )
    .await;
    assert_field_errors(
        &app,
        &response,
        json!({"phone": "Numéro de téléphone invalide!", "shortTextMessage": "Saisissez un minimum de caractères 3!"}),
    )
    .await;
}

#[tokio::test]
async fn bad_fields_are_refused_per_field() {
    let app = TestApp::new().await;
    let text = "C'est le contenu du message SMS";
    let cases = [
        (
            json!({"phone": "+40740123456,", "shortTextMessage": text}),
            json!({"phone": "La virgule n'est pas acceptée à la fin de la liste!"}),
        ),
        (
            json!({"phone": "+40740123456,,+40740123457", "shortTextMessage": text}),
            json!({"phone": "Numéro de téléphone invalide!"}),
        ),
        (
            json!({"phone": "+40740123456,+999", "shortTextMessage": text}),
            json!({"phone": "Numéro de téléphone invalide!"}),
        ),
        (
            json!({"phone": vec!["+40740123456"; 1001].join(","), "shortTextMessage": text}),
            json!({"phone": "Maximum 1000 numéros de téléphone!"}),
        ),
        (
            json!({"shortTextMessage": text}),
            json!({"phone": "Le numéro de téléphone est obligatoire!"}),
        ),
        (
            json!({"phone": "+40740123456", "shortTextMessage": "x".repeat(481)}),
            json!({"shortTextMessage": "Saisissez un maximum de caractères 480!"}),
        ),
        (
            json!({"phone": "+40740123456", "shortTextMessage": "Bonjour\u{0} toi"}),
            json!({"shortTextMessage": "Le message contient des caractères non acceptés!"}),
        ),
        (
            json!({"phone": "+40740123456", "shortTextMessage": 42}),
            json!({"shortTextMessage": "Le message doit être un texte!"}),
        ),
        (
            json!({"phone": "+40740123456", "shortTextMessage": text, "sendAsShort": "true"}),
            json!({"sendAsShort": "sendAsShort doit être true ou false!"}),
        ),
        (
            json!({"phone": "+40740123456", "shortTextMessage": text, "failover": "sms"}),
            json!({"failover": "Le canal secondaire doit être \"short\"!"}),
        ),
        (
            json!({"phone": "+40740123456", "shortTextMessage": text, "startDate": "2100-01-01"}),
            json!({"startDate": "Date invalide!"}),
        ),
        // The seed's own schedule example lies in 2017.
        (
            json!({"phone": "+40740123456", "shortTextMessage": text, "startDate": 1_486_883_578_036_i64, "endDate": 1_486_889_778_036_i64}),
            json!({"startDate": "La date de début est passée!"}),
        ),
        (
            json!({"phone": "+40740123456", "shortTextMessage": text, "startDate": FUTURE_MS, "endDate": FUTURE_MS - 1}),
            json!({"endDate": "La date de fin doit suivre la date de début!"}),
        ),
    ];
    for (body, errors) in cases {
        let response = send(&app, body.clone()).await;
        assert_eq!(
            response.status,
            StatusCode::BAD_REQUEST,
            "{body}: {}",
            response.text()
        );
        assert_eq!(response.json(), json!({ "errors": errors }), "{body}");
    }
    // A callback to a private address, when the gateway does not allow them.
    let response = send(
        &app,
        json!({"phone": "+40740123456", "shortTextMessage": text, "callback": "http://127.0.0.1/hook"}),
    )
    .await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert!(
        response.json()["errors"]["callback"]
            .as_str()
            .unwrap()
            .starts_with("URL de rappel invalide!")
    );
    app.assert_untouched().await;
}

#[tokio::test]
async fn credentials_are_checked_before_anything_else() {
    let app = TestApp::new().await;
    let body = json!({"phone": "+40740123456", "shortTextMessage": "Hello"}).to_string();
    let missing = post(&app, None, body.clone()).await;
    assert_error_message(&app, &missing, StatusCode::UNAUTHORIZED).await;
    let wrong = post(&app, Some("rl_not_a_key"), body.clone()).await;
    assert_error_message(&app, &wrong, StatusCode::UNAUTHORIZED).await;
    assert_eq!(wrong.json(), json!({"errorMessage": "Invalid API token!"}));

    app.set_disabled(app.account.id, true).await;
    let disabled = post(&app, Some(&app.key.clone()), body).await;
    assert_error_message(&app, &disabled, StatusCode::FORBIDDEN).await;
}

#[tokio::test]
async fn unreadable_requests_get_an_error_message() {
    let app = TestApp::new().await;
    let key = app.key.clone();
    for body in ["{\"phone\": ", "[]", "\"text\"", ""] {
        let response = post(&app, Some(&key), body).await;
        assert_error_message(&app, &response, StatusCode::BAD_REQUEST).await;
    }
    let response = app
        .raw(
            Method::POST,
            SEND,
            None,
            &[("authorization", key.as_str())],
            vec![0xff, 0xfe],
        )
        .await;
    assert_error_message(&app, &response, StatusCode::BAD_REQUEST).await;
    let response = app
        .raw(
            Method::GET,
            SEND,
            None,
            &[("authorization", key.as_str())],
            "",
        )
        .await;
    assert_error_message(&app, &response, StatusCode::METHOD_NOT_ALLOWED).await;
}

#[tokio::test]
async fn not_enough_credit_is_402() {
    let app = TestApp::new().await;
    // 300 French mobiles at 0.045: 13.5, above the 10 available.
    let phones: Vec<String> = (0..300).map(mobile).collect();
    let response = send(
        &app,
        json!({"phone": phones.join(","), "shortTextMessage": "Hello"}),
    )
    .await;
    assert_error_message(&app, &response, StatusCode::PAYMENT_REQUIRED).await;
    assert_eq!(
        response.json(),
        json!({"errorMessage": "Insufficient credit!"})
    );
}

#[tokio::test]
async fn oversized_bodies_and_rate_limits() {
    let app = TestApp::with_config(ApiConfig {
        body_limit: 1024,
        rate_limit: Some(RateLimit {
            per_second: 1,
            burst: 2,
        }),
        ..test_config()
    })
    .await;
    let big = json!({"phone": "+40740123456", "shortTextMessage": "x".repeat(2000)});
    let response = send(&app, big).await;
    assert_error_message(&app, &response, StatusCode::PAYLOAD_TOO_LARGE).await;

    let fine = json!({"phone": "+40740123456"});
    send(&app, fine.clone()).await;
    let limited = send(&app, fine).await;
    assert_error_message(&app, &limited, StatusCode::TOO_MANY_REQUESTS).await;
    assert!(limited.headers.contains_key("retry-after"));
}

#[test]
fn final_statuses_are_posted_as_delivered_or_failed() {
    let render = |status: MessageStatus| {
        render_callback(
            // The message (delivered) may have moved on since: the event's status counts.
            &fixtures::webhook("smsadvert", EventKind::Status, Some(status)),
            &fixtures::status_facts("smsadvert", None),
        )
    };
    let delivered = render(MessageStatus::Delivered).expect("a callback");
    assert_eq!(delivered.content_type, "application/json");
    assert_eq!(
        String::from_utf8(delivered.body).unwrap(),
        r#"{"status":"delivered","msgId":"15948909"}"#
    );
    for status in [
        MessageStatus::Undelivered,
        MessageStatus::Expired,
        MessageStatus::Failed,
        MessageStatus::Rejected,
        MessageStatus::Cancelled,
    ] {
        let body: Value =
            serde_json::from_slice(&render(status).expect("a callback").body).unwrap();
        assert_eq!(
            body,
            json!({"status": "failed", "msgId": "15948909"}),
            "{status:?}"
        );
    }
    for status in [
        MessageStatus::Scheduled,
        MessageStatus::Queued,
        MessageStatus::Submitting,
        MessageStatus::Submitted,
    ] {
        assert!(render(status).is_none(), "{status:?}");
    }
}

#[test]
fn replies_send_no_callback() {
    for kind in [EventKind::Inbound, EventKind::Stop] {
        let webhook = fixtures::webhook("smsadvert", kind, None);
        assert!(render_callback(&webhook, &fixtures::inbound_facts("STOP", true)).is_none());
    }
}
