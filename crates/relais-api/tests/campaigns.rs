//! Reading and cancelling campaigns and messages, and keeping accounts apart.

mod common;

use axum::http::{Method, StatusCode};
use common::{TestApp, amount, mobile};
use serde_json::json;

/// Sends `text` to `count` numbers, `send_at` (RFC 3339) or now; answers the campaign id.
async fn send(app: &TestApp, count: u32, send_at: Option<&str>) -> i64 {
    let to: Vec<String> = (0..count).map(mobile).collect();
    let mut body = json!({"text": "Hello", "to": to});
    if let Some(at) = send_at {
        body["send_at"] = at.into();
    }
    let response = app.post("/v1/messages", body).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    response.json()["campaign_id"].as_i64().unwrap()
}

#[tokio::test]
async fn a_campaign_shows_its_counters_messages_and_cost() {
    let app = TestApp::new().await;
    let id = send(&app, 3, None).await;

    let body = app.get(&format!("/v1/campaigns/{id}")).await.json();
    assert_eq!(body["id"], id);
    assert_eq!(body["status"], "sending");
    assert_eq!(body["kind"], "transactional");
    assert_eq!(body["route_class"], "premium");
    assert_eq!(body["text"], "Hello");
    assert_eq!(body["encoding"], "gsm7");
    assert_eq!(body["counters"]["total"], 3);
    assert_eq!(body["counters"]["sent"], 3);
    assert_eq!(body["cost"], "0.135");
    assert_eq!(body["refunded"], "0");
    assert_eq!(body["messages"]["queued"], 3);
    assert_eq!(body["messages"]["delivered"], 0);
    assert_eq!(body["messages"].as_object().unwrap().len(), 10);
    assert_eq!(body["delivery_rate"], 0.0);
    for field in ["send_at", "created_at"] {
        assert!(
            body[field]
                .as_str()
                .unwrap()
                .parse::<jiff::Timestamp>()
                .is_ok(),
            "{field}: {body}"
        );
    }

    let messages = app
        .get(&format!("/v1/campaigns/{id}/messages?limit=2"))
        .await
        .json();
    assert_eq!(messages["limit"], 2);
    assert_eq!(messages["offset"], 0);
    let items = messages["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["to"], mobile(0));
    assert_eq!(items[0]["status"], "queued");
    assert_eq!(items[0]["cost"], "0.045");
    assert_eq!(items[0]["country"], "FR");
    let rest = app
        .get(&format!(
            "/v1/campaigns/{id}/messages?offset=2&status=queued"
        ))
        .await
        .json();
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    let none = app
        .get(&format!("/v1/campaigns/{id}/messages?status=delivered"))
        .await
        .json();
    assert_eq!(none["items"], json!([]));

    let message_id = items[0]["id"].as_i64().unwrap();
    let message = app.get(&format!("/v1/messages/{message_id}")).await.json();
    assert_eq!(message["id"], message_id);
    assert_eq!(message["campaign_id"], id);
    assert_eq!(message["text"], "Hello");
    let history = message["history"].as_array().unwrap();
    assert_eq!(history.last().unwrap()["status"], "queued");
    assert!(history[0]["at"].as_str().is_some());
}

#[tokio::test]
async fn campaigns_are_listed_filtered_and_paged() {
    let app = TestApp::new().await;
    let now = send(&app, 1, None).await;
    let later = send(&app, 1, Some("2090-01-01T10:00:00Z")).await;

    let all = app.get("/v1/campaigns").await.json();
    assert_eq!(all["limit"], 100);
    let ids: Vec<i64> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&now) && ids.contains(&later));

    let scheduled = app.get("/v1/campaigns?status=scheduled").await.json();
    let items = scheduled["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], later);
    assert_eq!(items[0]["send_at"], "2090-01-01T10:00:00Z");

    assert_eq!(
        app.get("/v1/campaigns?limit=1").await.json()["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let future = app
        .get("/v1/campaigns?from=2089-01-01T00:00:00Z")
        .await
        .json();
    assert_eq!(future["items"], json!([]));
    let past = app
        .get("/v1/campaigns?to=2089-01-01T00:00:00%2B01:00")
        .await
        .json();
    assert_eq!(past["items"].as_array().unwrap().len(), 2);

    for (query, field) in [
        ("limit=1001", "limit"),
        ("limit=0", "limit"),
        ("offset=9223372036854775808", "offset"),
        ("status=paused", "status"),
        ("from=2026-02-30T00:00:00Z", "from"),
    ] {
        let field_got = app
            .get(&format!("/v1/campaigns?{query}"))
            .await
            .assert_error(
                StatusCode::BAD_REQUEST,
                if field == "from" {
                    "invalid_date"
                } else {
                    "invalid_query"
                },
            );
        assert_eq!(field_got, field, "{query}");
    }
    app.get("/v1/campaigns?offset=minus-one")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_query");
}

#[tokio::test]
async fn cancelling_refunds_what_has_not_left() {
    let app = TestApp::new().await;
    let id = send(&app, 2, Some("2090-01-01T10:00:00Z")).await;
    assert_eq!(app.balance().await, Some(amount("9.91")));

    let response = app
        .call(Method::DELETE, &format!("/v1/campaigns/{id}"), None)
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(response.json(), json!({"cancelled": 2, "refunded": "0.09"}));
    assert_eq!(app.balance().await, Some(amount("10")));

    let campaign = app.get(&format!("/v1/campaigns/{id}")).await.json();
    assert_eq!(campaign["status"], "cancelled");
    assert_eq!(campaign["refunded"], "0.09");
    assert_eq!(campaign["messages"]["cancelled"], 2);

    let again = app
        .call(Method::DELETE, &format!("/v1/campaigns/{id}"), None)
        .await
        .json();
    assert_eq!(again, json!({"cancelled": 0, "refunded": "0"}));
}

#[tokio::test]
async fn another_accounts_records_and_unknown_ids_are_404() {
    let app = TestApp::new().await;
    let id = send(&app, 1, Some("2090-01-01T10:00:00Z")).await;
    let message_id = app
        .get(&format!("/v1/campaigns/{id}/messages"))
        .await
        .json()["items"][0]["id"]
        .as_i64()
        .unwrap();
    let (_, other) = app.create_account("other", Some("5")).await;

    let foreign = [
        (Method::GET, format!("/v1/campaigns/{id}")),
        (Method::GET, format!("/v1/campaigns/{id}/messages")),
        (Method::DELETE, format!("/v1/campaigns/{id}")),
        (Method::GET, format!("/v1/messages/{message_id}")),
    ];
    for (method, uri) in foreign {
        let response = app.call_as(&other, method.clone(), &uri, None).await;
        response.assert_error(StatusCode::NOT_FOUND, "not_found");
        assert!(
            !response.text().contains("Hello"),
            "{method} {uri} leaked: {}",
            response.text()
        );
    }
    // Nothing was cancelled by the other account.
    assert_eq!(
        app.get(&format!("/v1/campaigns/{id}")).await.json()["messages"]["scheduled"],
        1
    );
    assert_eq!(
        app.call_as(&other, Method::GET, "/v1/campaigns", None)
            .await
            .json()["items"],
        json!([])
    );

    for uri in [
        "/v1/campaigns/abc",
        "/v1/campaigns/999999",
        "/v1/messages/1x",
        "/v1/messages/999999",
        "/v1/campaigns/abc/messages",
        "/v1/nowhere",
    ] {
        app.get(uri)
            .await
            .assert_error(StatusCode::NOT_FOUND, "not_found");
    }
    app.call(Method::DELETE, "/v1/campaigns/12.5", None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
}
