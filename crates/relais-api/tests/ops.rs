//! Operations endpoints, the OpenAPI document and Swagger UI, and rate limiting.

mod common;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::{TestApp, test_config};
use relais_api::{ApiConfig, RateLimit};
use serde_json::json;

#[tokio::test]
async fn health_and_readiness() {
    let app = TestApp::new().await;
    for path in ["/healthz", "/readyz"] {
        let response = app.raw(Method::GET, path, None, &[], Body::empty()).await;
        assert_eq!(response.status, StatusCode::OK, "{path}");
        assert_eq!(response.json(), json!({"status": "ok"}));
    }
    app.store.close().await;
    let response = app
        .raw(Method::GET, "/readyz", None, &[], Body::empty())
        .await;
    response.assert_error(StatusCode::SERVICE_UNAVAILABLE, "not_ready");
}

#[tokio::test]
async fn the_openapi_document_lists_every_endpoint() {
    let app = TestApp::new().await;
    let response = app
        .raw(Method::GET, "/openapi.json", None, &[], Body::empty())
        .await;
    assert_eq!(response.status, StatusCode::OK);
    let doc = response.json();
    let paths = doc["paths"].as_object().unwrap();
    let expected = [
        ("/v1/messages", "post"),
        ("/v1/messages/{id}", "get"),
        ("/v1/quote", "post"),
        ("/v1/balance", "get"),
        ("/v1/campaigns", "get"),
        ("/v1/campaigns/{id}", "get"),
        ("/v1/campaigns/{id}", "delete"),
        ("/v1/campaigns/{id}/messages", "get"),
        ("/v1/blacklist", "get"),
        ("/v1/blacklist", "post"),
        ("/v1/blacklist/{number}", "delete"),
        ("/v1/npai", "get"),
        ("/v1/npai", "post"),
        ("/v1/npai/{number}", "delete"),
        ("/v1/inbound", "get"),
        ("/v1/webhooks", "get"),
        ("/v1/webhooks", "put"),
        ("/admin/accounts", "post"),
        ("/admin/accounts", "get"),
        ("/admin/accounts/{id}", "get"),
        ("/admin/accounts/{id}/settings", "put"),
        ("/admin/accounts/{id}/credit", "post"),
        ("/admin/accounts/{id}/keys", "post"),
        ("/admin/accounts/{id}/keys", "get"),
        ("/admin/keys/{id}", "delete"),
        ("/admin/accounts/{id}/disable", "post"),
        ("/admin/accounts/{id}/enable", "post"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/metrics", "get"),
    ];
    for (path, method) in expected {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} missing from openapi.json"
        );
    }
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for schema in [
        "SendBody",
        "SendAnswer",
        "ErrorBody",
        "CampaignDetail",
        "MessageStatus",
        "Counters",
        "AccountBody",
    ] {
        assert!(schemas.contains_key(schema), "schema {schema} missing");
    }
    let operation_ids: Vec<&str> = paths
        .values()
        .flat_map(|p| p.as_object().unwrap().values())
        .map(|op| op["operationId"].as_str().unwrap())
        .collect();
    let unique: std::collections::HashSet<&&str> = operation_ids.iter().collect();
    assert_eq!(
        unique.len(),
        operation_ids.len(),
        "operation ids must be unique: {operation_ids:?}"
    );
    let send = &paths["/v1/messages"]["post"];
    assert_eq!(send["security"], json!([{"api_key": []}]));
    assert!(doc["components"]["securitySchemes"]["admin_token"].is_object());
}

#[tokio::test]
async fn swagger_ui_is_served() {
    let app = TestApp::new().await;
    let response = app
        .raw(Method::GET, "/docs/", None, &[], Body::empty())
        .await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(
        response.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        response.text().contains("swagger-ui"),
        "{}",
        response.text()
    );
}

#[tokio::test]
async fn metrics_count_requests_and_messages() {
    let app = TestApp::new().await;
    app.get("/v1/balance").await;
    app.get("/v1/campaigns/12345").await;
    app.post("/v1/messages", json!({"text": "x", "to": ["+33612345678"]}))
        .await;

    let response = app
        .raw(Method::GET, "/metrics", None, &[], Body::empty())
        .await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(
        response.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text();
    let has = |needle: &str| {
        text.lines()
            .any(|line| line.starts_with("relais_http_requests_total") && line.contains(needle))
    };
    assert!(
        has(r#"route="/v1/balance""#) && has(r#"status="200""#),
        "{text}"
    );
    assert!(
        has(r#"route="/v1/campaigns/{id}""#) && has(r#"status="404""#),
        "{text}"
    );
    assert!(
        text.contains("relais_http_request_duration_seconds"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("relais_messages{status=\"queued\"}")),
        "{text}"
    );
    assert!(text.contains("relais_webhooks_pending"), "{text}");

    // With a metrics token, /metrics needs it as a bearer token.
    let guarded = TestApp::with_config(ApiConfig {
        metrics_token: Some("m3trics".into()),
        ..test_config()
    })
    .await;
    for token in [None, Some("wrong"), Some("m3trics-and-more")] {
        guarded
            .raw(Method::GET, "/metrics", token, &[], Body::empty())
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "unauthorized");
    }
    let scraped = guarded
        .raw(Method::GET, "/metrics", Some("m3trics"), &[], Body::empty())
        .await;
    assert_eq!(scraped.status, StatusCode::OK, "{}", scraped.text());
    assert!(scraped.text().contains("relais_messages"));

    let off = TestApp::without_metrics().await;
    let response = off
        .raw(Method::GET, "/metrics", None, &[], Body::empty())
        .await;
    response.assert_error(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn each_key_is_rate_limited_with_retry_after() {
    let config = ApiConfig {
        rate_limit: Some(RateLimit {
            per_second: 1,
            burst: 2,
        }),
        ..test_config()
    };
    let app = TestApp::with_config(config).await;
    assert_eq!(app.get("/v1/balance").await.status, StatusCode::OK);
    assert_eq!(app.get("/v1/balance").await.status, StatusCode::OK);
    let limited = app.get("/v1/balance").await;
    limited.assert_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    let retry_after: u64 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");

    // Another key has its own bucket.
    let (_, other) = app.create_account("other", Some("1")).await;
    assert_eq!(
        app.call_as(&other, Method::GET, "/v1/balance", None)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn unknown_paths_answer_in_the_error_shape() {
    let app = TestApp::new().await;
    app.raw(Method::GET, "/nowhere", None, &[], Body::empty())
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
}

/// Every operation that names a security scheme documents the 401 its
/// authentication answers.
#[tokio::test]
async fn every_secured_operation_documents_401() {
    let app = TestApp::new().await;
    let doc = app
        .raw(Method::GET, "/openapi.json", None, &[], Body::empty())
        .await
        .json();
    let mut secured = 0;
    let mut missing = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let Some(security) = operation.get("security").and_then(|s| s.as_array()) else {
                continue;
            };
            if security
                .iter()
                .all(|s| s.as_object().is_some_and(|o| o.is_empty()))
            {
                continue;
            }
            secured += 1;
            let response = &operation["responses"]["401"];
            if response.is_null() || response["content"]["application/json"].is_null() {
                missing.push(format!("{method} {path}"));
            }
        }
    }
    assert!(secured >= 25, "only {secured} secured operations found");
    assert!(missing.is_empty(), "no documented 401: {missing:?}");
}

/// Every operation that takes a body documents the 400, 413 and 415 its body
/// extractor answers: schemathesis found `POST /admin/accounts/{id}/credit`,
/// `POST /admin/accounts/{id}/keys` and `POST /admin/simulator/inbound`
/// answering an undocumented 400 to a request without a body.
#[tokio::test]
async fn every_operation_with_a_body_documents_its_body_errors() {
    let app = TestApp::new().await;
    let doc = app
        .raw(Method::GET, "/openapi.json", None, &[], Body::empty())
        .await
        .json();
    let mut with_body = 0;
    let mut missing = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if operation.get("requestBody").is_none() {
                continue;
            }
            with_body += 1;
            for status in ["400", "413", "415"] {
                if operation["responses"][status]["content"]["application/json"].is_null() {
                    missing.push(format!("{status} of {method} {path}"));
                }
            }
        }
    }
    assert!(
        with_body >= 9,
        "only {with_body} operations with a body found"
    );
    assert!(missing.is_empty(), "undocumented: {missing:?}");
    // The answer really is one of them.
    let response = app
        .raw(
            Method::POST,
            "/admin/accounts/1/credit",
            Some(common::ADMIN_TOKEN),
            &[],
            Body::empty(),
        )
        .await;
    response.assert_error(StatusCode::BAD_REQUEST, "malformed_json");
}

/// Every `limit` query parameter says 1–1000 and every `offset` starts at 0.
#[tokio::test]
async fn paging_parameters_document_their_bounds() {
    let app = TestApp::new().await;
    let doc = app
        .raw(Method::GET, "/openapi.json", None, &[], Body::empty())
        .await
        .json();
    let mut seen = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            for param in operation["parameters"].as_array().into_iter().flatten() {
                let schema = &param["schema"];
                match param["name"].as_str() {
                    Some("limit") => {
                        seen += 1;
                        assert_eq!(
                            (schema["minimum"].as_i64(), schema["maximum"].as_i64()),
                            (Some(1), Some(1000)),
                            "{method} {path}: {schema}"
                        );
                    }
                    Some("offset") => {
                        seen += 1;
                        assert_eq!(schema["minimum"].as_i64(), Some(0), "{method} {path}");
                        assert_eq!(
                            schema["maximum"].as_i64(),
                            Some(i64::MAX),
                            "{method} {path}"
                        );
                    }
                    _ => {}
                }
            }
        }
    }
    assert!(seen >= 10, "only {seen} paging parameters found");
}

/// The document states the rules the handlers answer 422 (or 400) for, so
/// that a generated client or schemathesis does not send what is refused:
/// `to` xor `recipients` (and `countries` xor `to`), non-empty texts and
/// numbers, absolute URLs, a webhook secret's length, non-negative balances
/// and non-zero credits, statuses and dates of queries, and
/// `additionalProperties: false` on every body whose type refuses unknown
/// fields.
#[tokio::test]
async fn the_document_states_the_refusal_rules() {
    let app = TestApp::new().await;
    let doc = app
        .raw(Method::GET, "/openapi.json", None, &[], Body::empty())
        .await
        .json();
    let schemas = &doc["components"]["schemas"];
    let both = |a: &str, b: &str| json!({"required": [a, b], "properties": {a: {"type": "array"}, b: {"type": "array"}}});
    assert_eq!(schemas["SendBody"]["not"], both("to", "recipients"));
    assert_eq!(schemas["QuoteBody"]["not"], both("countries", "to"));

    let send = &schemas["SendBody"]["properties"];
    assert_eq!(send["text"]["minLength"], 1);
    assert_eq!(send["to"]["minItems"], 1);
    assert_eq!(send["recipients"]["minItems"], 1);
    assert_eq!(
        (
            send["channels"]["minItems"].clone(),
            send["channels"]["maxItems"].clone()
        ),
        (json!(1), json!(2))
    );
    for field in ["send_at", "expires_at"] {
        assert_eq!(send[field]["format"], "date-time", "{field}");
    }
    assert_eq!(schemas["QuoteBody"]["properties"]["text"]["minLength"], 1);
    assert_eq!(
        schemas["RecipientBody"]["properties"]["text"]["minLength"],
        1
    );
    let number = json!({"$ref": "#/components/schemas/PhoneNumber"});
    assert_eq!(send["to"]["items"], number);
    assert_eq!(schemas["RecipientBody"]["properties"]["to"], number);
    assert_eq!(
        schemas["AddNumbers"]["properties"]["numbers"]["items"],
        number
    );
    assert_eq!(schemas["QuoteBody"]["properties"]["to"]["items"], number);
    assert_eq!(schemas["PhoneNumber"]["minLength"], 1);
    assert!(schemas["PhoneNumber"]["pattern"].is_string());

    assert_eq!(send["callback_url"]["format"], "uri");
    let webhooks = &schemas["WebhooksBody"]["properties"];
    for field in ["dlr", "inbound"] {
        assert_eq!(webhooks[field]["format"], "uri", "{field}");
    }
    assert_eq!(
        (
            webhooks["secret"]["minLength"].clone(),
            webhooks["secret"]["maxLength"].clone()
        ),
        (json!(16), json!(256))
    );

    assert_eq!(
        schemas["CreditBody"]["properties"]["amount"]["$ref"],
        "#/components/schemas/SignedAmount"
    );
    assert!(schemas["SignedAmount"]["not"]["pattern"].is_string());
    assert!(
        schemas["Credits"]["pattern"]
            .as_str()
            .unwrap()
            .starts_with(r"^\+?("),
        "a balance has no minus sign: {}",
        schemas["Credits"]
    );

    let query = |path: &str, name: &str| {
        doc["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("no {name} on {path}"))["schema"]
            .clone()
    };
    assert_eq!(
        query("/v1/campaigns", "status"),
        json!({"$ref": "#/components/schemas/CampaignStatus"})
    );
    assert_eq!(
        query("/v1/campaigns/{id}/messages", "status"),
        json!({"$ref": "#/components/schemas/MessageStatus"})
    );
    for name in ["from", "to"] {
        assert_eq!(query("/v1/campaigns", name)["format"], "date-time");
    }

    // Every body schema of the API refuses unknown fields, as its type does.
    let mut bodies = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let schema = &operation["requestBody"]["content"]["application/json"]["schema"];
            let Some(name) = schema["$ref"].as_str() else {
                continue;
            };
            bodies += 1;
            let name = name.trim_start_matches("#/components/schemas/");
            assert_eq!(
                schemas[name]["additionalProperties"], false,
                "{method} {path}: {name}"
            );
        }
    }
    assert!(bodies >= 8, "only {bodies} body schemas found");

    // The settings document too: its fields are listed, others refused (it
    // was a free-form object, and an unknown field answered 400).
    let settings = &schemas["AccountSettings"];
    assert_eq!(settings["additionalProperties"], false, "{settings}");
    for field in ["default_sender", "time_zone", "webhooks", "prices"] {
        assert!(
            settings["properties"].get(field).is_some(),
            "{field}: {settings}"
        );
    }
    let reference = json!({"$ref": "#/components/schemas/AccountSettings"});
    assert_eq!(
        doc["paths"]["/admin/accounts/{id}/settings"]["put"]["requestBody"]["content"]["application/json"]
            ["schema"],
        reference
    );
    assert_eq!(
        schemas["CreateAccount"]["properties"]["settings"]["oneOf"][1]["$ref"],
        reference["$ref"]
    );
}
