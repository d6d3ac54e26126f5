//! The account's lists (blacklist, NPAI), inbound messages and webhooks.

mod common;

use axum::http::{Method, StatusCode};
use common::{TestApp, mobile, test_config};
use relais_api::ApiConfig;
use relais_core::number::E164;
use relais_store::{NewInbound, Store};
use serde_json::json;

#[tokio::test]
async fn blacklist_and_npai_add_list_and_remove_numbers() {
    let app = TestApp::new().await;
    for list in ["blacklist", "npai"] {
        let path = format!("/v1/{list}");
        let response = app
            .post(
                &path,
                json!({"numbers": ["06 12 34 00 01", "+33612340002", "0033612340002"]}),
            )
            .await;
        assert_eq!(
            response.status,
            StatusCode::OK,
            "{list}: {}",
            response.text()
        );
        assert_eq!(
            response.json(),
            json!({"added": 2, "numbers": ["+33612340001", "+33612340002", "+33612340002"]}),
            "{list}"
        );

        let listed = app.get(&path).await.json();
        let numbers: Vec<&str> = listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["number"].as_str().unwrap())
            .collect();
        assert_eq!(numbers, vec!["+33612340001", "+33612340002"], "{list}");
        assert_eq!(listed["items"][0]["source"], "api");
        assert_eq!(
            app.get(&format!("{path}?limit=1&offset=1")).await.json()["items"]
                .as_array()
                .unwrap()
                .len(),
            1
        );

        // All or nothing: one invalid number refuses the whole request.
        let field = app
            .post(&path, json!({"numbers": [mobile(9), "12", "06 12"]}))
            .await
            .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_number");
        assert_eq!(field, "numbers[1]");
        assert_eq!(
            app.get(&path).await.json()["items"]
                .as_array()
                .unwrap()
                .len(),
            2,
            "{list}"
        );
        app.post(&path, json!({"number": [mobile(9)]}))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "unknown_field");

        let removed = app
            .call(Method::DELETE, &format!("{path}/%2B33612340001"), None)
            .await;
        assert_eq!(
            removed.status,
            StatusCode::NO_CONTENT,
            "{list}: {}",
            removed.text()
        );
        let national = app
            .call(Method::DELETE, &format!("{path}/0612340002"), None)
            .await;
        assert_eq!(national.status, StatusCode::NO_CONTENT, "{list}");
        for gone in ["%2B33612340001", "not-a-number"] {
            app.call(Method::DELETE, &format!("{path}/{gone}"), None)
                .await
                .assert_error(StatusCode::NOT_FOUND, "not_found");
        }
        assert_eq!(app.get(&path).await.json()["items"], json!([]));
    }
}

#[tokio::test]
async fn a_blacklisted_number_is_filtered_from_sends() {
    let app = TestApp::new().await;
    app.post("/v1/blacklist", json!({"numbers": [mobile(1)]}))
        .await;
    let body = app
        .post(
            "/v1/messages",
            json!({"text": "Hi", "to": [mobile(1), mobile(2)]}),
        )
        .await
        .json();
    assert_eq!(body["counters"]["blacklisted"], 1);
    assert_eq!(body["counters"]["sent"], 1);
    // Lists are per account.
    let (_, other) = app.create_account("other", Some("1")).await;
    assert_eq!(
        app.call_as(&other, Method::GET, "/v1/blacklist", None)
            .await
            .json()["items"],
        json!([])
    );
}

#[tokio::test]
async fn inbound_messages_are_listed() {
    let app = TestApp::new().await;
    let from: E164 = mobile(5).parse().unwrap();
    for (i, text) in ["Merci", "STOP"].into_iter().enumerate() {
        let inbound = NewInbound {
            from,
            to: "36180".into(),
            text: text.into(),
            connector: "sim".into(),
            at: 1_000 * i as i64,
        };
        app.store
            .record_inbound(inbound, Some(app.account.id), text == "STOP")
            .await
            .unwrap();
    }
    let body = app.get("/v1/inbound").await.json();
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{body}");
    let mut texts: Vec<(&str, bool)> = items
        .iter()
        .map(|i| (i["text"].as_str().unwrap(), i["is_stop"].as_bool().unwrap()))
        .collect();
    texts.sort();
    assert_eq!(texts, vec![("Merci", false), ("STOP", true)]);
    assert_eq!(items[0]["from"], mobile(5));
    assert_eq!(items[0]["to"], "36180");
    assert!(
        items[0]["received_at"]
            .as_str()
            .unwrap()
            .starts_with("1970-01-01T00:00:0")
    );
    assert_eq!(
        app.get("/v1/inbound?limit=1").await.json()["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    app.get("/v1/inbound?limit=5000")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_query");

    let (_, other) = app.create_account("other", Some("1")).await;
    assert_eq!(
        app.call_as(&other, Method::GET, "/v1/inbound", None)
            .await
            .json()["items"],
        json!([])
    );
}

#[tokio::test]
async fn webhooks_are_validated_and_the_secret_shown_once() {
    let app = TestApp::new().await;
    assert_eq!(
        app.get("/v1/webhooks").await.json(),
        json!({"dlr": null, "inbound": null, "callback_events": "all", "batch_max": null, "has_secret": false})
    );

    let put = app
        .call(
            Method::PUT,
            "/v1/webhooks",
            Some(json!({"dlr": "https://example.com/dlr", "inbound": "https://example.com/mo"})),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text());
    let body = put.json();
    assert_eq!(body["dlr"], "https://example.com/dlr");
    assert_eq!(body["has_secret"], true);
    let secret = body["secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 64);
    let stored = app
        .store
        .account(app.account.id)
        .await
        .unwrap()
        .unwrap()
        .settings;
    assert_eq!(stored.webhook_secret, secret);
    assert_eq!(
        stored.webhooks.inbound.as_deref(),
        Some("https://example.com/mo")
    );

    // GET never shows it; a PUT without one keeps it.
    let get = app.get("/v1/webhooks").await.json();
    assert_eq!(
        get,
        json!({"dlr": "https://example.com/dlr", "inbound": "https://example.com/mo", "callback_events": "all", "batch_max": null, "has_secret": true})
    );
    let keep = app
        .call(
            Method::PUT,
            "/v1/webhooks",
            Some(json!({"dlr": "https://example.com/v2"})),
        )
        .await
        .json();
    assert_eq!(
        keep,
        json!({"dlr": "https://example.com/v2", "inbound": null, "callback_events": "all", "batch_max": null, "has_secret": true})
    );
    assert_eq!(
        app.store
            .account(app.account.id)
            .await
            .unwrap()
            .unwrap()
            .settings
            .webhook_secret,
        secret
    );

    let own = app
        .call(
            Method::PUT,
            "/v1/webhooks",
            Some(json!({"secret": "a-secret-of-my-own"})),
        )
        .await;
    assert_eq!(own.status, StatusCode::OK);
    assert_eq!(
        app.store
            .account(app.account.id)
            .await
            .unwrap()
            .unwrap()
            .settings
            .webhook_secret,
        "a-secret-of-my-own"
    );

    let refused = [
        (
            json!({"dlr": "http://192.168.1.10/hook"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_callback_url",
            "dlr",
        ),
        (
            json!({"inbound": "http://localhost:9000/"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_callback_url",
            "inbound",
        ),
        (
            json!({"dlr": "gopher://example.com/"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_callback_url",
            "dlr",
        ),
        (
            json!({"secret": "short"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_secret",
            "secret",
        ),
        (
            json!({"dlr": 5}),
            StatusCode::BAD_REQUEST,
            "invalid_field",
            "dlr",
        ),
        (
            json!({"url": "https://example.com"}),
            StatusCode::BAD_REQUEST,
            "unknown_field",
            "url",
        ),
    ];
    for (body, status, code, field) in refused {
        let response = app
            .call(Method::PUT, "/v1/webhooks", Some(body.clone()))
            .await;
        assert_eq!(response.assert_error(status, code), field, "{body}");
    }
    let settings = app
        .store
        .account(app.account.id)
        .await
        .unwrap()
        .unwrap()
        .settings;
    assert_eq!(
        settings.webhooks.dlr, None,
        "refused requests change nothing"
    );
    assert_eq!(settings.webhook_secret, "a-secret-of-my-own");
}

#[tokio::test]
async fn private_callbacks_pass_when_allowed() {
    let app = TestApp::with_config(ApiConfig {
        allow_private_callbacks: true,
        ..test_config()
    })
    .await;
    let put = app
        .call(
            Method::PUT,
            "/v1/webhooks",
            Some(json!({"dlr": "http://127.0.0.1:9000/dlr"})),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text());
    let send = app
        .post(
            "/v1/messages",
            json!({"text": "x", "to": [mobile(1)], "callback_url": "http://10.0.0.5/cb"}),
        )
        .await;
    assert_eq!(send.status, StatusCode::CREATED, "{}", send.text());
    let campaign = app
        .get(&format!("/v1/campaigns/{}", send.json()["campaign_id"]))
        .await
        .json();
    assert_eq!(campaign["callback_url"], "http://10.0.0.5/cb");
}
