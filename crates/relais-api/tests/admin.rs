//! `/admin`: accounts, settings, credits and keys behind the admin token.

mod common;

use axum::http::{Method, StatusCode};
use common::{ADMIN_TOKEN, TestApp, mobile, test_config};
use relais_api::ApiConfig;
use relais_store::{AccountSettings, SmppLogin, Store};
use serde_json::{Value, json};

async fn create(app: &TestApp, body: Value) -> Value {
    let response = app.admin(Method::POST, "/admin/accounts", Some(body)).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    response.json()
}

#[tokio::test]
async fn the_admin_token_is_required_and_admin_is_off_without_one() {
    let app = TestApp::new().await;
    let listed = app.admin(Method::GET, "/admin/accounts", None).await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.json().as_array().unwrap().len(), 1);

    let missing = app
        .raw(
            Method::GET,
            "/admin/accounts",
            None,
            &[],
            axum::body::Body::empty(),
        )
        .await;
    missing.assert_error(StatusCode::UNAUTHORIZED, "unauthorized");
    app.call_as("wrong-token", Method::GET, "/admin/accounts", None)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthorized");
    // An API key is not an admin token.
    app.call(Method::GET, "/admin/accounts", None)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthorized");

    let off = TestApp::with_config(ApiConfig {
        admin_token: None,
        ..test_config()
    })
    .await;
    for token in [Some(ADMIN_TOKEN), None] {
        let response = off
            .raw(
                Method::GET,
                "/admin/accounts",
                token,
                &[],
                axum::body::Body::empty(),
            )
            .await;
        response.assert_error(StatusCode::FORBIDDEN, "admin_disabled");
    }
    let refused = off
        .raw(
            Method::POST,
            "/admin/accounts",
            Some(ADMIN_TOKEN),
            &[("content-type", "application/json")],
            r#"{"name": "x"}"#,
        )
        .await;
    refused.assert_error(StatusCode::FORBIDDEN, "admin_disabled");
    assert_eq!(off.store.accounts().await.unwrap().len(), 1);
}

#[tokio::test]
async fn accounts_are_created_read_and_listed() {
    let app = TestApp::new().await;
    let account = create(
        &app,
        json!({"name": "shop", "email": "ops@shop.example", "balance": "25.50", "sandbox": true}),
    )
    .await;
    assert_eq!(account["name"], "shop");
    assert_eq!(account["email"], "ops@shop.example");
    assert_eq!(account["balance"], "25.5");
    assert_eq!(account["sandbox"], true);
    assert_eq!(account["disabled"], false);
    assert_eq!(account["settings"]["default_region"], "FR");
    let id = account["id"].as_i64().unwrap();

    assert_eq!(
        app.admin(Method::GET, &format!("/admin/accounts/{id}"), None)
            .await
            .json(),
        account
    );
    assert_eq!(
        app.admin(Method::GET, "/admin/accounts", None)
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        2
    );
    for uri in ["/admin/accounts/999", "/admin/accounts/abc"] {
        app.admin(Method::GET, uri, None)
            .await
            .assert_error(StatusCode::NOT_FOUND, "not_found");
    }

    // Without a balance an account is prepaid and empty; null makes it postpaid.
    assert_eq!(create(&app, json!({"name": "empty"})).await["balance"], "0");
    assert_eq!(
        create(&app, json!({"name": "postpaid", "balance": null})).await["balance"],
        Value::Null
    );

    let settings = create(
        &app,
        json!({"name": "be", "settings": {"default_region": "BE", "smart_encoding": true}}),
    )
    .await;
    assert_eq!(settings["settings"]["default_region"], "BE");
    assert_eq!(settings["settings"]["smart_encoding"], true);

    let refused = [
        (
            json!({"name": "shop"}),
            StatusCode::CONFLICT,
            "conflict",
            Value::Null,
        ),
        (
            json!({"name": " "}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_name",
            json!("name"),
        ),
        (
            json!({"name": "a\0b"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_name",
            json!("name"),
        ),
        (
            json!({"name": "a\nb"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_name",
            json!("name"),
        ),
        (
            json!({"name": "a".repeat(1 << 20)}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_name",
            json!("name"),
        ),
        (
            json!({"name": "ops@shop.fr"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_name",
            json!("name"),
        ),
        (
            json!({"name": "x", "email": "not an e-mail"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_email",
            json!("email"),
        ),
        (
            json!({"name": "x", "balance": "-1"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_amount",
            json!("balance"),
        ),
        (
            json!({"name": "x", "balance": 1.5}),
            StatusCode::BAD_REQUEST,
            "invalid_field",
            json!("balance"),
        ),
        (
            json!({"name": "x", "balance": "1.2.3"}),
            StatusCode::BAD_REQUEST,
            "invalid_field",
            json!("balance"),
        ),
        (
            json!({"name": "x", "settings": {"default_sender": "Bad!"}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_settings",
            json!("settings.default_sender"),
        ),
        (
            json!({"name": "x", "settings": {"defaut_region": "FR"}}),
            StatusCode::BAD_REQUEST,
            "unknown_field",
            json!("settings.defaut_region"),
        ),
        (
            json!({"name": "x", "settings": {"default_region": "FRA"}}),
            StatusCode::BAD_REQUEST,
            "invalid_field",
            json!("settings.default_region"),
        ),
        (
            json!({"nom": "x"}),
            StatusCode::BAD_REQUEST,
            "unknown_field",
            json!("nom"),
        ),
    ];
    for (body, status, code, field) in refused {
        let response = app
            .admin(Method::POST, "/admin/accounts", Some(body.clone()))
            .await;
        assert_eq!(response.assert_error(status, code), field, "{body}");
    }
    assert_eq!(
        app.admin(Method::GET, "/admin/accounts", None)
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        5
    );
}

#[tokio::test]
async fn settings_are_validated_before_they_are_stored() {
    let app = TestApp::new().await;
    let uri = format!("/admin/accounts/{}/settings", app.account.id);
    let good = json!({
        "default_sender": "Acme",
        "default_region": "FR",
        "allowed_countries": ["FR", "BE"],
        "flood": {"max": 3, "period_secs": 3600},
        "monthly_limits": {"FR": 1000},
        "opt_out": {"mode": "append", "mention": "STOP au 36180"},
        "sending_windows": {"FR": {"time_zone": "Europe/Paris", "days": ["mon", "tue"], "start": "09:00", "end": "18:00", "holidays": "france"}},
        "webhooks": {"dlr": "https://example.com/dlr", "inbound": null},
        "prices": [{"country": "FR", "class": "premium", "price": "0.05"}, {"country": "*", "class": "premium", "price": "0.1"}]
    });
    let response = app.admin(Method::PUT, &uri, Some(good)).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(response.json()["settings"]["default_sender"], "Acme");
    let stored = app
        .store
        .account(app.account.id)
        .await
        .unwrap()
        .unwrap()
        .settings;
    assert_eq!(stored.default_sender.as_deref(), Some("Acme"));
    assert_eq!(stored.allowed_countries.as_ref().map(Vec::len), Some(2));

    // The new prices apply to sends.
    let sent = app
        .post("/v1/messages", json!({"text": "x", "to": [mobile(1)]}))
        .await
        .json();
    assert_eq!(sent["cost"], "0.05");

    let refused = [
        (
            json!({"prices": [{"country": "France", "class": "premium", "price": "0.05"}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_settings",
            "prices",
        ),
        (
            json!({"prices": [{"country": "FR", "class": "premium", "price": "-0.05"}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_settings",
            "prices",
        ),
        (
            json!({"prices": [{"country": "FR", "class": "premium", "price": 0.05}]}),
            StatusCode::BAD_REQUEST,
            "invalid_field",
            "prices[0].price",
        ),
        (
            json!({"sending_windows": {"FR": {"time_zone": "Europe/Nowhere", "days": ["mon"], "start": "09:00", "end": "18:00", "holidays": "none"}}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_settings",
            "sending_windows.FR",
        ),
        (
            json!({"sending_windows": {"FR": {"time_zone": "Europe/Paris", "days": ["mon"], "start": "19:00", "end": "18:00", "holidays": "none"}}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_settings",
            "sending_windows.FR",
        ),
        (
            json!({"allowed_countries": ["FR", "Belgium"]}),
            StatusCode::BAD_REQUEST,
            "invalid_field",
            "allowed_countries[1]",
        ),
        (
            json!({"time_zone": "Mars/Olympus"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_settings",
            "time_zone",
        ),
        (
            json!({"opt_out": {"mode": "append", "mention": "Unsubscribe"}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_settings",
            "opt_out.mention",
        ),
        (
            json!({"flood": {"max": 0, "period_secs": 60}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_settings",
            "flood",
        ),
        (
            json!({"webhooks": {"dlr": "http://10.1.1.1/"}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_callback_url",
            "webhooks.dlr",
        ),
        (
            json!({"smart_encodng": true}),
            StatusCode::BAD_REQUEST,
            "unknown_field",
            "smart_encodng",
        ),
    ];
    for (body, status, code, field) in refused {
        let response = app.admin(Method::PUT, &uri, Some(body.clone())).await;
        assert_eq!(response.assert_error(status, code), field, "{body}");
    }
    let unchanged = app
        .store
        .account(app.account.id)
        .await
        .unwrap()
        .unwrap()
        .settings;
    assert_eq!(unchanged, stored);
    app.admin(Method::PUT, "/admin/accounts/999/settings", Some(json!({})))
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    app.admin(Method::PUT, &uri, Some(json!([1])))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_field");
}

#[tokio::test]
async fn a_partial_settings_put_keeps_the_fields_it_does_not_name() {
    let app = TestApp::new().await;
    let uri = format!("/admin/accounts/{}/settings", app.account.id);
    let hooks = app
        .call(
            Method::PUT,
            "/v1/webhooks",
            Some(json!({"dlr": "https://example.com/dlr", "inbound": "https://example.com/mo"})),
        )
        .await;
    assert_eq!(hooks.status, StatusCode::OK, "{}", hooks.text());
    let login = SmppLogin {
        system_id: "acme01".into(),
        password_hash: "the-hash".into(),
        max_binds: 2,
        throughput_per_second: 100,
    };
    app.store
        .patch_account_settings(app.account.id, &mut |settings| {
            settings.smpp = Some(login.clone());
            true
        })
        .await
        .unwrap();
    let before = app
        .store
        .account(app.account.id)
        .await
        .unwrap()
        .unwrap()
        .settings;

    let response = app
        .admin(Method::PUT, &uri, Some(json!({"default_sender": "Acme"})))
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(response.json()["settings"]["default_sender"], "Acme");
    let after = app
        .store
        .account(app.account.id)
        .await
        .unwrap()
        .unwrap()
        .settings;
    assert_eq!(after.webhook_secret, before.webhook_secret);
    assert!(!after.webhook_secret.is_empty());
    assert_eq!(after.webhooks, before.webhooks);
    assert_eq!(after.smpp, Some(login.clone()));
    assert_eq!(
        after,
        AccountSettings {
            default_sender: Some("Acme".into()),
            ..before.clone()
        }
    );

    // Objects merge field by field: the password hash stays; null resets.
    let response = app
        .admin(
            Method::PUT,
            &uri,
            Some(json!({"smpp": {"max_binds": 5}, "default_sender": null})),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let after = app
        .store
        .account(app.account.id)
        .await
        .unwrap()
        .unwrap()
        .settings;
    assert_eq!(
        after.smpp,
        Some(SmppLogin {
            max_binds: 5,
            ..login
        })
    );
    assert_eq!(after.default_sender, None);
    assert_eq!(after.webhook_secret, before.webhook_secret);
}

/// An operator's changes and the client's webhook changes, 50 of each at
/// once: every one is kept (each request changes only what it names, on the
/// settings as they are when it is stored, not as read at authentication).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_admin_and_webhook_changes_are_all_kept() {
    let app = std::sync::Arc::new(TestApp::new().await);
    let uri = format!("/admin/accounts/{}/settings", app.account.id);
    let countries: Vec<String> = (0..50u8)
        .map(|i| format!("{}{}", char::from(b'A' + i / 26), char::from(b'A' + i % 26)))
        .collect();
    let mut tasks = tokio::task::JoinSet::new();
    for (i, country) in countries.iter().enumerate() {
        let (operator, uri, country) = (app.clone(), uri.clone(), country.clone());
        tasks.spawn(async move {
            let admin = operator
                .admin(
                    Method::PUT,
                    &uri,
                    Some(json!({"monthly_limits": {country: i + 1}})),
                )
                .await;
            assert_eq!(admin.status, StatusCode::OK, "{}", admin.text());
        });
        let client = app.clone();
        tasks.spawn(async move {
            let dlr = format!("https://example.com/dlr/{i}");
            let hooks = client
                .call(Method::PUT, "/v1/webhooks", Some(json!({"dlr": dlr})))
                .await;
            assert_eq!(hooks.status, StatusCode::OK, "{}", hooks.text());
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    let settings = app
        .store
        .account(app.account.id)
        .await
        .unwrap()
        .unwrap()
        .settings;
    for (i, country) in countries.iter().enumerate() {
        let limit = settings.monthly_limits.get(&country.parse().unwrap());
        assert_eq!(limit, Some(&(i as u64 + 1)), "the limit of {country}");
    }
    assert!(
        settings
            .webhooks
            .dlr
            .unwrap()
            .starts_with("https://example.com/dlr/")
    );
    assert!(!settings.webhook_secret.is_empty());
}

#[tokio::test]
async fn credits_are_added_and_taken_back() {
    let app = TestApp::new().await;
    let uri = format!("/admin/accounts/{}/credit", app.account.id);
    let added = app
        .admin(
            Method::POST,
            &uri,
            Some(json!({"amount": "5.25", "reason": "top-up"})),
        )
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.text());
    assert_eq!(added.json(), json!({"balance": "15.25"}));
    assert_eq!(app.get("/v1/balance").await.json()["balance"], "15.25");
    assert_eq!(
        app.admin(Method::POST, &uri, Some(json!({"amount": -5})))
            .await
            .json(),
        json!({"balance": "10.25"})
    );

    app.admin(Method::POST, &uri, Some(json!({"amount": "-100"})))
        .await
        .assert_error(StatusCode::PAYMENT_REQUIRED, "insufficient_credits");
    app.admin(Method::POST, &uri, Some(json!({"amount": "0"})))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_amount");
    // The largest amount there is, on a non-zero balance: too large, not
    // a negative "needed" figure; the balance is unchanged.
    let too_large = app
        .admin(
            Method::POST,
            &uri,
            Some(json!({"amount": "9223372036854.775807"})),
        )
        .await;
    too_large.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "amount_too_large");
    assert!(!too_large.text().contains("needed"), "{}", too_large.text());
    app.admin(Method::POST, &uri, Some(json!({"amount": 0.5})))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_field");
    app.admin(
        Method::POST,
        "/admin/accounts/999/credit",
        Some(json!({"amount": "1"})),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "not_found");
    let (postpaid, _) = app.create_account("postpaid", None).await;
    app.admin(
        Method::POST,
        &format!("/admin/accounts/{}/credit", postpaid.id),
        Some(json!({"amount": "1"})),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "postpaid_account");
    assert_eq!(app.get("/v1/balance").await.json()["balance"], "10.25");
}

#[tokio::test]
async fn keys_are_created_shown_once_listed_and_revoked() {
    let app = TestApp::new().await;
    let uri = format!("/admin/accounts/{}/keys", app.account.id);
    let created = app
        .admin(Method::POST, &uri, Some(json!({"label": "ci"})))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let key = created.json();
    let token = key["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("rl_"));
    assert!(token.starts_with(key["prefix"].as_str().unwrap()));
    assert_eq!(key["label"], "ci");
    assert_eq!(
        app.call_as(&token, Method::GET, "/v1/balance", None)
            .await
            .status,
        StatusCode::OK
    );

    let listed = app.admin(Method::GET, &uri, None).await;
    let keys = listed.json();
    assert_eq!(keys.as_array().unwrap().len(), 2);
    assert!(
        !listed.text().contains(&token),
        "the token is never shown again"
    );

    let revoke = app
        .admin(Method::DELETE, &format!("/admin/keys/{}", key["id"]), None)
        .await;
    assert_eq!(revoke.status, StatusCode::NO_CONTENT, "{}", revoke.text());
    app.call_as(&token, Method::GET, "/v1/balance", None)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthorized");
    let revoked = app.admin(Method::GET, &uri, None).await.json();
    assert!(
        revoked
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["id"] == key["id"] && k["revoked_at"].is_string())
    );

    app.admin(Method::DELETE, "/admin/keys/999", None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    app.admin(Method::POST, "/admin/accounts/999/keys", Some(json!({})))
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    app.admin(Method::GET, "/admin/accounts/999/keys", None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn accounts_are_disabled_and_enabled() {
    let app = TestApp::new().await;
    let id = app.account.id;
    let disabled = app
        .admin(Method::POST, &format!("/admin/accounts/{id}/disable"), None)
        .await;
    assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.text());
    assert_eq!(disabled.json()["disabled"], true);
    app.post("/v1/messages", json!({"text": "x", "to": [mobile(1)]}))
        .await
        .assert_error(StatusCode::FORBIDDEN, "account_disabled");

    let enabled = app
        .admin(Method::POST, &format!("/admin/accounts/{id}/enable"), None)
        .await
        .json();
    assert_eq!(enabled["disabled"], false);
    assert_eq!(
        app.post("/v1/messages", json!({"text": "x", "to": [mobile(1)]}))
            .await
            .status,
        StatusCode::CREATED
    );
    app.admin(Method::POST, "/admin/accounts/999/disable", None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
}
