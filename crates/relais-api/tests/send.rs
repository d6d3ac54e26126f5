//! Sending through `POST /v1/messages`, quoting and the balance.

mod common;

use axum::http::{Method, StatusCode};
use common::{TestApp, amount, mobile, test_config};
use relais_api::ApiConfig;
use relais_core::plan::ChannelOrder;
use relais_store::{NumberList, Page, Store};
use serde_json::json;

#[tokio::test]
async fn a_send_answers_counters_cost_credits_and_rejections() {
    let app = TestApp::new().await;
    let blacklisted = mobile(3);
    let number = relais_core::number::normalize(
        &blacklisted,
        relais_core::number::Country::FR,
        Default::default(),
    )
    .unwrap()
    .e164;
    app.store
        .add_listed(
            app.account.id,
            NumberList::Blacklist,
            &[(number, vec![])],
            "api",
            0,
        )
        .await
        .unwrap();

    let response = app
        .post(
            "/v1/messages",
            json!({"text": "Your code is 1234", "to": [mobile(1), mobile(2), mobile(1), "12", blacklisted], "tag": "otp"}),
        )
        .await;

    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let body = response.json();
    assert!(
        body["campaign_id"].as_i64().is_some_and(|id| id > 0),
        "{body}"
    );
    assert_eq!(body["simulated"], false);
    assert_eq!(
        body["counters"],
        json!({"total": 5, "sent": 2, "blacklisted": 1, "duplicated": 1, "npai": 0, "invalid": 1,
               "not_allowed": 0, "flood": 0, "country_limit": 0})
    );
    assert_eq!(body["cost"], "0.09");
    assert_eq!(body["credits_left"], "9.91");
    assert_eq!(body["encoding"], "gsm7");
    assert_eq!(body["segments"], 1);
    assert!(body["send_at"].as_str().unwrap().ends_with('Z'), "{body}");
    let rejected = body["rejected"].as_array().unwrap();
    let summary: Vec<(i64, &str, &str)> = rejected
        .iter()
        .map(|r| {
            (
                r["index"].as_i64().unwrap(),
                r["to"].as_str().unwrap(),
                r["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (2, mobile(1).as_str(), "duplicated"),
            (3, "12", "invalid"),
            (4, blacklisted.as_str(), "blacklisted")
        ]
    );
    assert!(
        rejected
            .iter()
            .all(|r| r["detail"].as_str().is_some_and(|d| !d.is_empty()))
    );

    assert_eq!(app.balance().await, Some(amount("9.91")));
    let campaign = app
        .get(&format!("/v1/campaigns/{}", body["campaign_id"]))
        .await
        .json();
    assert_eq!(campaign["tag"], "otp");
    assert_eq!(campaign["source"], "api");
    assert_eq!(campaign["cost"], "0.09");
}

#[tokio::test]
async fn per_recipient_texts_and_references_are_kept() {
    let app = TestApp::new().await;
    let response = app
        .post(
            "/v1/messages",
            json!({"text": "Hello", "recipients": [
                {"to": mobile(1), "ref": "a-1"},
                {"to": mobile(2), "ref": "b-2", "text": "Bonjour à vous"}
            ]}),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let id = response.json()["campaign_id"].clone();
    let messages = app
        .get(&format!("/v1/campaigns/{id}/messages"))
        .await
        .json();
    let items = messages["items"].as_array().unwrap();
    let got: Vec<(&str, &str, &str)> = items
        .iter()
        .map(|m| {
            (
                m["to"].as_str().unwrap(),
                m["ref"].as_str().unwrap(),
                m["text"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (mobile(1).as_str(), "a-1", "Hello"),
            (mobile(2).as_str(), "b-2", "Bonjour à vous")
        ]
    );
}

#[tokio::test]
async fn a_simulation_stores_and_debits_nothing() {
    let app = TestApp::new().await;
    let response = app
        .post(
            "/v1/messages",
            json!({"text": "Hello", "to": [mobile(1), mobile(2)], "simulate": true}),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let body = response.json();
    assert_eq!(body["campaign_id"], serde_json::Value::Null);
    assert_eq!(body["simulated"], true);
    assert_eq!(body["counters"]["sent"], 2);
    assert_eq!(body["cost"], "0.09");
    assert_eq!(body["credits_left"], "9.91");
    app.assert_untouched().await;
}

#[tokio::test]
async fn an_idempotent_retry_answers_the_same_body_and_sends_once() {
    let app = TestApp::new().await;
    let send = || {
        app.raw(
            Method::POST,
            "/v1/messages",
            Some(&app.key),
            &[
                ("content-type", "application/json"),
                ("idempotency-key", "order-42"),
            ],
            json!({"text": "Hello", "to": [mobile(1), "{campaign_id}"]}).to_string(),
        )
    };
    let first = send().await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text());
    assert!(first.headers.get("idempotent-replayed").is_none());
    let second = send().await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.text());
    assert_eq!(second.headers.get("idempotent-replayed").unwrap(), "true");
    assert_eq!(
        second.headers.get("content-type").unwrap(),
        "application/json"
    );

    assert_eq!(first.json(), second.json());
    assert!(first.json()["campaign_id"].as_i64().is_some());
    assert_eq!(second.json()["rejected"][0]["to"], "{campaign_id}");
    assert_eq!(app.campaign_count().await, 1);
    assert_eq!(app.balance().await, Some(amount("9.955")));

    // Another key is another send.
    let other = app
        .raw(
            Method::POST,
            "/v1/messages",
            Some(&app.key),
            &[
                ("content-type", "application/json"),
                ("idempotency-key", "order-43"),
            ],
            json!({"text": "Hello", "to": [mobile(1)]}).to_string(),
        )
        .await;
    assert_eq!(other.status, StatusCode::CREATED);
    assert_ne!(other.json()["campaign_id"], first.json()["campaign_id"]);
    assert_eq!(app.campaign_count().await, 2);
}

#[tokio::test]
async fn a_key_reused_for_another_request_is_refused_422() {
    let app = TestApp::new().await;
    let send = |body: serde_json::Value| {
        app.raw(
            Method::POST,
            "/v1/messages",
            Some(&app.key),
            &[
                ("content-type", "application/json"),
                ("idempotency-key", "order-42"),
            ],
            body.to_string(),
        )
    };
    let first = send(json!({"text": "Hello", "to": [mobile(1)]})).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text());

    // Another text, another number, another option: refused, nothing sent.
    for body in [
        json!({"text": "Hello!", "to": [mobile(1)]}),
        json!({"text": "Hello", "to": [mobile(2)]}),
        json!({"text": "Hello", "to": [mobile(1)], "sender": "Acme"}),
    ] {
        let reused = send(body.clone()).await;
        assert_eq!(
            reused.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused"),
            "Idempotency-Key",
            "{body}"
        );
        assert!(reused.headers.get("idempotent-replayed").is_none());
    }
    assert_eq!(app.campaign_count().await, 1);
    assert_eq!(app.balance().await, Some(amount("9.955")));

    // The same request laid out otherwise is a retry, answered again.
    let retry = app
        .raw(
            Method::POST,
            "/v1/messages",
            Some(&app.key),
            &[
                ("content-type", "application/json"),
                ("idempotency-key", "order-42"),
            ],
            format!("{{ \"to\": [\"{}\"],\n  \"text\": \"Hello\" }}", mobile(1)),
        )
        .await;
    assert_eq!(retry.status, StatusCode::CREATED, "{}", retry.text());
    assert_eq!(retry.headers.get("idempotent-replayed").unwrap(), "true");
    assert_eq!(retry.json(), first.json());
    assert_eq!(app.campaign_count().await, 1);
}

#[tokio::test]
async fn a_send_with_no_valid_recipient_is_422_and_stores_nothing() {
    let app = TestApp::new().await;
    let invalid: Vec<String> = (0..2_000).map(|i| format!("+999{i}")).collect();
    let response = app
        .post("/v1/messages", json!({"text": "Hello", "to": invalid}))
        .await;
    let field = response.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "no_valid_recipient");
    assert_eq!(field, "recipients");
    let body = response.json();
    let details = &body["error"]["details"];
    assert_eq!(details["counters"]["total"], 2_000);
    assert_eq!(details["counters"]["invalid"], 2_000);
    assert_eq!(details["counters"]["sent"], 0);
    // The first 1,000 rejections are listed; the counters count them all.
    assert_eq!(details["rejected"].as_array().unwrap().len(), 1_000);
    assert_eq!(details["rejected"][0]["to"], "+9990");
    assert_eq!(details["rejected"][0]["reason"], "invalid");
    app.assert_untouched().await;

    // Blacklisted only: refused the same way.
    let listed = app
        .post("/v1/blacklist", json!({"numbers": [mobile(1)]}))
        .await;
    assert!(listed.status.is_success(), "{}", listed.text());
    let blacklisted = app
        .post("/v1/messages", json!({"text": "Hello", "to": [mobile(1)]}))
        .await;
    blacklisted.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "no_valid_recipient");
    assert_eq!(
        blacklisted.json()["error"]["details"]["counters"]["blacklisted"],
        1
    );
    app.assert_untouched().await;

    // A simulation shows the counters of what would be refused.
    let simulated = app
        .post(
            "/v1/messages",
            json!({"text": "Hello", "to": [mobile(1)], "simulate": true}),
        )
        .await;
    assert_eq!(simulated.status, StatusCode::OK, "{}", simulated.text());
    assert_eq!(simulated.json()["counters"]["blacklisted"], 1);

    // One valid recipient is a send, whose answer lists 1,000 rejections.
    let mut to = vec![mobile(2)];
    to.extend((0..1_500).map(|i| format!("+999{i}")));
    let sent = app
        .post("/v1/messages", json!({"text": "Hello", "to": to}))
        .await;
    assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.text());
    let sent = sent.json();
    assert_eq!(sent["counters"]["invalid"], 1_500);
    assert_eq!(sent["rejected"].as_array().unwrap().len(), 1_000);
}

#[tokio::test]
async fn insufficient_credits_is_402_and_stores_nothing() {
    let app = TestApp::new().await;
    // 10 segments at 0.045 each: 0.45 per message, 23 messages cost 10.35.
    let text = "x".repeat(153 * 10);
    let to: Vec<String> = (0..23).map(mobile).collect();
    let response = app
        .post("/v1/messages", json!({"text": text, "to": to}))
        .await;
    response.assert_error(StatusCode::PAYMENT_REQUIRED, "insufficient_credits");
    app.assert_untouched().await;
}

/// Every request here is refused with the status, code and field given, and
/// leaves no campaign and the balance as it was.
#[tokio::test]
async fn bad_input_is_refused_with_a_clear_error_and_stores_nothing() {
    let app = TestApp::with_config(ApiConfig {
        max_recipients: 3,
        ..test_config()
    })
    .await;
    let to = || json!([mobile(1)]);
    let cases: Vec<(&str, String, StatusCode, &str, Option<&str>)> = vec![
        ("malformed JSON", r#"{"text": "x", "to": ["#.into(), StatusCode::BAD_REQUEST, "malformed_json", None),
        ("trailing garbage", r#"{"text": "x"} {}"#.into(), StatusCode::BAD_REQUEST, "malformed_json", None),
        ("empty body", String::new(), StatusCode::BAD_REQUEST, "malformed_json", None),
        ("not an object", r#""hello""#.into(), StatusCode::BAD_REQUEST, "invalid_field", None),
        ("text of the wrong type", json!({"text": 5, "to": to()}).to_string(), StatusCode::BAD_REQUEST, "invalid_field", Some("text")),
        ("to as a string", json!({"text": "x", "to": mobile(1)}).to_string(), StatusCode::BAD_REQUEST, "invalid_field", Some("to")),
        ("a number as a JSON number", json!({"text": "x", "to": [33612345678u64]}).to_string(), StatusCode::BAD_REQUEST, "invalid_field", Some("to[0]")),
        ("recipient without to", json!({"text": "x", "recipients": [{"ref": "a"}]}).to_string(), StatusCode::BAD_REQUEST, "missing_field", Some("recipients[0].to")),
        ("unknown field", json!({"txt": "x", "to": to()}).to_string(), StatusCode::BAD_REQUEST, "unknown_field", Some("txt")),
        ("unknown recipient field", json!({"text": "x", "recipients": [{"to": mobile(1), "reference": "a"}]}).to_string(), StatusCode::BAD_REQUEST, "unknown_field", Some("recipients[0].reference")),
        ("unknown kind", json!({"text": "x", "to": to(), "kind": "promo"}).to_string(), StatusCode::BAD_REQUEST, "invalid_field", Some("kind")),
        ("simulate as a string", json!({"text": "x", "to": to(), "simulate": "yes"}).to_string(), StatusCode::BAD_REQUEST, "invalid_field", Some("simulate")),
        ("impossible date", json!({"text": "x", "to": to(), "send_at": "2026-02-30T10:00:00Z"}).to_string(), StatusCode::BAD_REQUEST, "invalid_date", Some("send_at")),
        ("date without offset", json!({"text": "x", "to": to(), "expires_at": "2030-01-01T10:00:00"}).to_string(), StatusCode::BAD_REQUEST, "invalid_date", Some("expires_at")),
        ("send time in the past", json!({"text": "x", "to": to(), "send_at": "2020-01-01T10:00:00Z"}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "send_time_in_past", Some("send_at")),
        ("window ending before it starts", json!({"text": "x", "to": to(), "send_at": "2090-01-02T10:00:00Z", "expires_at": "2090-01-01T10:00:00Z"}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "window_end_before_start", Some("expires_at")),
        ("too many recipients", json!({"text": "x", "to": [mobile(1), mobile(2), mobile(3), mobile(4)]}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "too_many_recipients", Some("recipients")),
        ("empty text", json!({"text": "  ", "to": to()}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "empty_text", Some("text")),
        ("no text at all", json!({"to": to()}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "missing_text", Some("text")),
        ("no recipient", json!({"text": "x"}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "no_recipients", Some("recipients")),
        ("both to and recipients", json!({"text": "x", "to": to(), "recipients": [{"to": mobile(2)}]}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "conflicting_fields", Some("recipients")),
        ("sender with punctuation", json!({"text": "x", "to": to(), "sender": "My-Shop!"}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_sender", Some("sender")),
        ("sender too long", json!({"text": "x", "to": to(), "sender": "ABCDEFGHIJKL"}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_sender", Some("sender")),
        ("text not in GSM-7", json!({"text": "emoji 😀", "to": to(), "encoding": "gsm7"}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "not_gsm7", Some("text")),
        ("text with a NUL", json!({"text": "Bonjour\u{0}", "to": to()}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "control_character", Some("text")),
        ("text with an escape", json!({"text": "a\u{1b}[31m", "to": to()}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "control_character", Some("text")),
        ("private callback URL", json!({"text": "x", "to": to(), "callback_url": "http://127.0.0.1:8080/hook"}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_callback_url", Some("callback_url")),
        ("callback URL that is not http", json!({"text": "x", "to": to(), "callback_url": "ftp://example.com/"}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_callback_url", Some("callback_url")),
    ];
    for (name, body, status, code, field) in cases {
        let response = app
            .raw(
                Method::POST,
                "/v1/messages",
                Some(&app.key),
                &[("content-type", "application/json")],
                body,
            )
            .await;
        let got_field = response.assert_error(status, code);
        assert_eq!(got_field.as_str(), field, "{name}: {}", response.text());
    }

    let invalid_utf8 = app
        .raw(
            Method::POST,
            "/v1/messages",
            Some(&app.key),
            &[("content-type", "application/json")],
            b"{\"text\": \"caf\xe9\", \"to\": []}".to_vec(),
        )
        .await;
    invalid_utf8.assert_error(StatusCode::BAD_REQUEST, "invalid_utf8");

    let form = app
        .raw(
            Method::POST,
            "/v1/messages",
            Some(&app.key),
            &[("content-type", "application/x-www-form-urlencoded")],
            "text=x",
        )
        .await;
    form.assert_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");

    let body = json!({"text": "x", "to": [mobile(1)]}).to_string();
    let no_key = app
        .raw(
            Method::POST,
            "/v1/messages",
            None,
            &[("content-type", "application/json")],
            body.clone(),
        )
        .await;
    no_key.assert_error(StatusCode::UNAUTHORIZED, "unauthorized");
    let unknown_key = app
        .raw(
            Method::POST,
            "/v1/messages",
            Some("rl_0000000000000000"),
            &[("content-type", "application/json")],
            body.clone(),
        )
        .await;
    unknown_key.assert_error(StatusCode::UNAUTHORIZED, "unauthorized");
    let basic = app
        .raw(
            Method::POST,
            "/v1/messages",
            None,
            &[
                ("content-type", "application/json"),
                ("authorization", "Basic eDp5"),
            ],
            body.clone(),
        )
        .await;
    basic.assert_error(StatusCode::UNAUTHORIZED, "unauthorized");
    let bad_idempotency_key = app
        .raw(
            Method::POST,
            "/v1/messages",
            Some(&app.key),
            &[
                ("content-type", "application/json"),
                ("idempotency-key", "two words"),
            ],
            body,
        )
        .await;
    bad_idempotency_key.assert_error(StatusCode::BAD_REQUEST, "invalid_header");

    app.assert_untouched().await;
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let app = TestApp::with_config(ApiConfig {
        body_limit: 1024,
        ..test_config()
    })
    .await;
    let to: Vec<String> = (0..100).map(mobile).collect();
    let body = json!({"text": "x", "to": to}).to_string();
    assert!(body.len() > 1024);
    let response = app
        .raw(
            Method::POST,
            "/v1/messages",
            Some(&app.key),
            &[("content-type", "application/json")],
            body,
        )
        .await;
    response.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large");
    app.assert_untouched().await;
}

#[tokio::test]
async fn a_disabled_account_is_403() {
    let app = TestApp::new().await;
    app.set_disabled(app.account.id, true).await;
    let response = app
        .post("/v1/messages", json!({"text": "x", "to": [mobile(1)]}))
        .await;
    response.assert_error(StatusCode::FORBIDDEN, "account_disabled");
    app.get("/v1/balance")
        .await
        .assert_error(StatusCode::FORBIDDEN, "account_disabled");
    let page = Page {
        offset: 0,
        limit: 10,
    };
    assert!(
        app.store
            .campaigns(app.account.id, &Default::default(), page)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn quote_gives_encoding_segments_and_prices() {
    let app = TestApp::new().await;
    let response = app
        .post(
            "/v1/quote",
            json!({"text": "Salut 😀", "countries": ["FR", "be"]}),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let body = response.json();
    assert_eq!(body["encoding"], "ucs2");
    assert_eq!(body["chars"], 7);
    assert_eq!(body["units"], 8);
    assert_eq!(body["segments"], 1);
    assert_eq!(body["ucs2_chars"], json!(["😀"]));
    assert_eq!(body["text"], "Salut 😀");
    assert_eq!(
        body["destinations"],
        json!([
            {"country": "FR", "unit_price": "0.045", "cost": "0.045"},
            {"country": "BE", "unit_price": "0.075", "cost": "0.075"}
        ])
    );

    let marketing = app
        .post(
            "/v1/quote",
            json!({"text": "Promo", "kind": "marketing", "to": [mobile(1)]}),
        )
        .await
        .json();
    assert_eq!(marketing["text"], "Promo\nSTOP au 36180");
    assert_eq!(
        marketing["destinations"],
        json!([{"country": "FR", "unit_price": "0.045", "cost": "0.045"}])
    );

    let smart = app
        .post(
            "/v1/quote",
            json!({"text": "l’été", "smart_encoding": true}),
        )
        .await
        .json();
    assert_eq!(smart["encoding"], "gsm7");
    assert_eq!(smart["replacements"], json!([{"from": "’", "to": "'"}]));
    assert_eq!(smart["destinations"][0]["country"], "FR");

    app.post("/v1/quote", json!({"text": "x", "countries": ["France"]}))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_field");
    let field = app
        .post("/v1/quote", json!({"text": "x", "to": [mobile(1), "12"]}))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_number");
    assert_eq!(field, "to[1]");
    app.post("/v1/quote", json!({"text": ""}))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "empty_text");
}

#[tokio::test]
async fn balance_is_a_decimal_string_or_null_when_postpaid() {
    let app = TestApp::new().await;
    let body = app.get("/v1/balance").await.json();
    assert_eq!(body, json!({"balance": "10", "currency": "EUR"}));

    let (_, postpaid_key) = app.create_account("postpaid", None).await;
    let response = app
        .call_as(&postpaid_key, Method::GET, "/v1/balance", None)
        .await;
    assert_eq!(response.json(), json!({"balance": null, "currency": "EUR"}));
}

/// Keys and accounts are cached for a second, but a balance answer reads
/// the stored balance: a refund or a credit made elsewhere shows at once,
/// and a send it covers is accepted.
#[tokio::test]
async fn the_balance_shown_and_spent_is_the_stored_one() {
    let app = TestApp::new().await;
    assert_eq!(app.get("/v1/balance").await.json()["balance"], "10");
    app.store
        .credit_account(app.account.id, amount("-10"), "elsewhere", 0)
        .await
        .unwrap();
    assert_eq!(app.get("/v1/balance").await.json()["balance"], "0");
    app.store
        .credit_account(app.account.id, amount("1"), "elsewhere", 0)
        .await
        .unwrap();
    assert_eq!(app.get("/v1/balance").await.json()["balance"], "1");
    app.store
        .credit_account(app.account.id, amount("-1"), "elsewhere", 0)
        .await
        .unwrap();
    // Cached as empty; credited on another node, then sent at once.
    assert_eq!(app.get("/v1/balance").await.json()["balance"], "0");
    app.store
        .credit_account(app.account.id, amount("1"), "elsewhere", 0)
        .await
        .unwrap();
    let response = app
        .post("/v1/messages", json!({"text": "x", "to": [mobile(1)]}))
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    assert_eq!(response.json()["credits_left"], "0.955");
}

#[tokio::test]
async fn channels_choose_devices_the_network_or_both_in_turn() {
    let app = TestApp::new().await;
    for (channels, order) in [
        (None, ChannelOrder::Network),
        (Some(json!(["network"])), ChannelOrder::Network),
        (Some(json!(["devices"])), ChannelOrder::Devices),
        (
            Some(json!(["devices", "network"])),
            ChannelOrder::DevicesThenNetwork,
        ),
    ] {
        let mut body = json!({"text": "Hello", "to": [mobile(1)]});
        if let Some(channels) = &channels {
            body["channels"] = channels.clone();
        }
        let response = app.post("/v1/messages", body).await;
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
        let id = response.json()["campaign_id"].as_i64().unwrap();
        let campaign = app
            .store
            .campaign(app.account.id, id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(campaign.channels, order, "{channels:?}");
        let native = app.get(&format!("/v1/campaigns/{id}")).await.json();
        assert_eq!(native["channels"], json!(order.channels()), "{channels:?}");
    }

    for refused in [
        json!([]),
        json!(["network", "devices"]),
        json!(["devices", "devices"]),
    ] {
        let response = app
            .post(
                "/v1/messages",
                json!({"text": "Hello", "to": [mobile(1)], "channels": refused}),
            )
            .await;
        let field = response.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_channels");
        assert_eq!(field, "channels");
    }
    let response = app
        .post(
            "/v1/messages",
            json!({"text": "Hello", "to": [mobile(1)], "channels": ["phones"]}),
        )
        .await;
    assert_eq!(response.status.as_u16() / 100, 4, "{}", response.text());
    assert_eq!(app.campaign_count().await, 4);
}

#[tokio::test]
async fn a_marketing_send_in_quiet_hours_says_it_is_deferred() {
    let app = TestApp::new().await;
    // New Year's Day is a French public holiday: marketing waits for the next
    // allowed morning, transactional goes when asked.
    let asked = "2090-01-01T10:00:00Z";
    let marketing = app
        .post(
            "/v1/messages",
            json!({"text": "Promo STOP au 36180", "kind": "marketing", "to": [mobile(1)], "send_at": asked}),
        )
        .await;
    assert_eq!(
        marketing.status,
        StatusCode::CREATED,
        "{}",
        marketing.text()
    );
    let marketing = marketing.json();
    assert_eq!(marketing["deferred"], true, "{marketing}");
    let send_at: jiff::Timestamp = marketing["send_at"].as_str().unwrap().parse().unwrap();
    assert!(send_at > asked.parse().unwrap(), "{marketing}");
    let transactional = app
        .post(
            "/v1/messages",
            json!({"text": "Code 1234", "to": [mobile(1)], "send_at": asked}),
        )
        .await;
    assert_eq!(
        transactional.status,
        StatusCode::CREATED,
        "{}",
        transactional.text()
    );
    let transactional = transactional.json();
    assert_eq!(transactional["deferred"], false, "{transactional}");
    assert_eq!(transactional["send_at"], asked, "{transactional}");
}
