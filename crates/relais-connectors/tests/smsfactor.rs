//! SMSFactor connector contract: every request field, each mapped answer,
//! and the intake routes, against a local stub answering SMSFactor's
//! documented examples.
mod common;

use std::sync::Arc;

use common::{Recorder, Stub, eventually, json, message, serve_intake};
use relais_connectors::contract::SubmitResult;
use relais_connectors::http::{HttpOptions, smsfactor};
use relais_core::plan::MessageKind;
use relais_store::MessageStatus;
use serde_json::json;

fn options(stub: &Stub, public_url: Option<&str>) -> HttpOptions {
    HttpOptions {
        base_url: Some(stub.url()),
        public_url: public_url.map(str::to_string),
        intake_secret: Some("s3cret".into()),
        ..HttpOptions::default()
    }
}

fn config(register_webhooks: bool) -> smsfactor::Config {
    smsfactor::Config {
        token: "t0ken".into(),
        register_webhooks,
    }
}

const ACCEPTED: &str = r#"{"status":1,"message":"OK","ticket":"14672468","cost":2,"credits":642,"total":2,"sent":2,"blacklisted":0,"duplicated":0,"invalid":0,"npai":0}"#;

#[tokio::test]
async fn messages_sharing_a_text_go_in_one_request_with_their_ids() {
    let stub = Stub::start(|_| (200, "application/json", ACCEPTED.into())).await;
    let sink = Arc::new(Recorder::default());
    let connector =
        smsfactor::start("sf", &options(&stub, None), config(true), sink.clone()).unwrap();
    let mut marketing = message(12, "+33600000003", "Promo -50% STOP 36173");
    marketing.kind = MessageKind::Marketing;
    let batch = [
        message(10, "+33600000001", "Hello"),
        message(11, "+33600000002", "Hello"),
        marketing,
        message(13, "+33600000004", "Café ☕"),
    ];
    let results = connector.submit(&batch).await;
    let ids: Vec<_> = results
        .iter()
        .map(|r| match r {
            SubmitResult::Accepted { carrier_ids } => carrier_ids.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(ids, [["10"], ["11"], ["12"], ["13"]]);
    let requests = stub.requests();
    assert_eq!(requests.len(), 3, "one request per distinct message");
    let mut bodies: Vec<_> = requests.iter().map(|r| r.json()).collect();
    bodies.sort_by_key(|b| b["sms"]["recipients"]["gsm"][0]["gsmsmsid"].to_string());
    for request in &requests {
        assert_eq!(request.method, "POST");
        assert_eq!(request.uri.path(), "/send");
        assert_eq!(request.header("authorization"), Some("Bearer t0ken"));
        assert_eq!(request.header("accept"), Some("application/json"));
    }
    assert_eq!(
        bodies[0],
        json!({"sms": {
            "message": {"text": "Hello", "pushtype": "alert", "sender": "Relais"},
            "recipients": {"gsm": [
                {"gsmsmsid": "10", "value": "33600000001"},
                {"gsmsmsid": "11", "value": "33600000002"},
            ]},
        }})
    );
    assert_eq!(bodies[1]["sms"]["message"]["pushtype"], "marketing");
    assert_eq!(bodies[2]["sms"]["message"]["unicode"], 1);
    assert_eq!(bodies[2]["sms"]["message"]["text"], "Café ☕");
    // No public_url: nothing to register.
    assert!(requests.iter().all(|r| r.uri.path() == "/send"));
}

#[tokio::test]
async fn each_documented_error_is_temporary_or_permanent() {
    let stub = Stub::start(|_| (200, "application/json", ACCEPTED.into())).await;
    let connector = smsfactor::start(
        "sf",
        &options(&stub, None),
        config(false),
        Arc::new(Recorder::default()),
    )
    .unwrap();
    let cases = [
        (-1, false),
        (-2, true),
        (-3, false),
        (-6, true),
        (-7, true),
        (-99, false),
    ];
    for (code, permanent) in cases {
        stub.script(move |_| {
            json(
                200,
                json!({"status": code, "message": "Error", "details": "from the stub"}),
            )
        });
        let result = connector
            .submit(&[message(1, "+33600000001", "Hi")])
            .await
            .remove(0);
        match (&result, permanent) {
            (SubmitResult::Permanent { error }, true)
            | (SubmitResult::Temporary { error }, false) => {
                assert!(error.contains(&code.to_string()), "{error}");
            }
            _ => panic!("status {code}: {result:?}"),
        }
    }
    for status in [500, 503, 429] {
        stub.script(move |_| (status, "text/plain", "busy".into()));
        let result = connector.submit(&[message(1, "+33600000001", "Hi")]).await;
        assert!(
            matches!(&result[0], SubmitResult::Temporary { error } if error.contains(&status.to_string())),
            "{status}: {result:?}"
        );
    }
    assert!(!connector.is_up(), "down after a 5xx");
    assert!(connector.status().last_error.unwrap().contains("429"));
    // No answer in time is temporary too.
    stub.set_delay(std::time::Duration::from_secs(3));
    let slow = smsfactor::start(
        "sf2",
        &HttpOptions {
            timeout_ms: Some(200),
            ..options(&stub, None)
        },
        config(false),
        Arc::new(Recorder::default()),
    )
    .unwrap();
    let result = slow.submit(&[message(1, "+33600000001", "Hi")]).await;
    assert!(
        matches!(&result[0], SubmitResult::Temporary { error } if error.contains("in time")),
        "{result:?}"
    );
}

#[tokio::test]
async fn reports_and_replies_pushed_to_the_intake_reach_the_sink() {
    let stub = Stub::start(|_| (200, "application/json", ACCEPTED.into())).await;
    let sink = Arc::new(Recorder::default());
    let connector =
        smsfactor::start("sf", &options(&stub, None), config(false), sink.clone()).unwrap();
    let intake = connector.intake().unwrap();
    let prefix = intake.address.prefix().to_string();
    assert_eq!(prefix, "/connectors/sf/s3cret");
    let base = serve_intake(intake).await;
    let http = reqwest::Client::new();
    let push = |path: &str, body: serde_json::Value| {
        http.post(format!("{base}{prefix}{path}"))
            .json(&body)
            .send()
    };
    for (status, message_id) in [(1, "7"), (3, "7"), (3, "7"), (2, "8"), (12, "9"), (5, "10")] {
        let answer = push(
            "/dlr",
            json!({"date": "2024-07-25T06:23:06+02:00", "status": status, "destination": "33612345678",
                   "message_id": message_id, "campaign_id": "15948909", "country_code": "FR"}),
        )
        .await
        .unwrap();
        assert_eq!(answer.status(), 200);
    }
    let reports = sink.reports();
    let seen: Vec<_> = reports
        .iter()
        .map(|r| (r.carrier_id.as_str(), r.status))
        .collect();
    // "sent" (1) is not final; a repeat is handed on (the store applies it once).
    assert_eq!(
        seen,
        [
            ("7", MessageStatus::Delivered),
            ("7", MessageStatus::Delivered),
            ("8", MessageStatus::Undelivered),
            ("9", MessageStatus::Expired),
            ("10", MessageStatus::Rejected),
        ]
    );
    assert!(reports.iter().all(|r| r.connector == "sf"));
    assert_eq!(reports[0].at, 1_721_881_386_000);
    assert!(
        reports[4]
            .error
            .as_deref()
            .unwrap()
            .contains("INVALID_DESTINATION")
    );
    let answer = push(
        "/mo",
        json!({"date": "2024-07-25T06:23:06+02:00", "message": "Stop SMS", "from": "33612345678",
               "account_id": "1", "last_message_id": "7"}),
    )
    .await
    .unwrap();
    assert_eq!(answer.status(), 200);
    let inbound = sink.inbound();
    assert_eq!(inbound.len(), 1);
    assert_eq!(inbound[0].from.to_string(), "+33612345678");
    assert_eq!(inbound[0].text, "Stop SMS");
    // A body that is no JSON is refused, not stored.
    let bad = http
        .post(format!("{base}{prefix}/dlr"))
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert!(bad.status().is_client_error());
    let wrong = push("/../other/dlr", json!({})).await.unwrap();
    assert_eq!(wrong.status(), 404);
    assert_eq!(sink.reports().len(), 5);
}

#[tokio::test]
async fn with_a_public_url_the_webhooks_are_registered() {
    let stub = Stub::start(|r| match (r.method.as_str(), r.uri.path()) {
        ("GET", "/webhook") => json(
            200,
            json!({"status": 1, "webhooks": [{"webhook_id": 5, "type": "DLR", "url": "https://old.example/dlr"}]}),
        ),
        _ => json(200, json!({"status": 1, "message": "OK"})),
    })
    .await;
    let _connector = smsfactor::start(
        "sf",
        &options(&stub, Some("https://relais.example")),
        config(true),
        Arc::new(Recorder::default()),
    )
    .unwrap();
    eventually(5, "three webhook calls after the list", || {
        stub.requests().len() >= 4
    })
    .await;
    let requests = stub.requests();
    let calls: Vec<_> = requests
        .iter()
        .map(|r| format!("{} {}", r.method, r.uri.path()))
        .collect();
    assert_eq!(
        calls,
        [
            "GET /webhook",
            "PUT /webhook/5",
            "POST /webhook",
            "POST /webhook"
        ]
    );
    let base = "https://relais.example/connectors/sf/s3cret";
    assert_eq!(
        requests[1].json(),
        json!({"webhook": {"type": "DLR", "url": format!("{base}/dlr")}})
    );
    assert_eq!(requests[2].json()["webhook"]["type"], "MO");
    assert_eq!(requests[3].json()["webhook"]["url"], format!("{base}/mo"));
    assert!(
        requests
            .iter()
            .all(|r| r.header("authorization") == Some("Bearer t0ken"))
    );
}
