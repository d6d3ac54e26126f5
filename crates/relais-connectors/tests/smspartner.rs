//! SMS Partner connector contract: every request field, each mapped error
//! code, status polling (multi-status and message-status) and the push
//! intake, against a local stub answering SMS Partner's documented examples.
mod common;

use std::sync::Arc;

use common::{Recorder, Stub, eventually, json, message, serve_intake};
use relais_connectors::contract::SubmitResult;
use relais_connectors::http::{HttpOptions, smspartner};
use relais_core::plan::MessageKind;
use relais_core::pricing::RouteClass;
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

fn config(poll_interval_ms: u64) -> smspartner::Config {
    smspartner::Config {
        api_key: "k3y".into(),
        poll_interval_ms,
        sandbox: false,
    }
}

fn accepted(id: u64) -> serde_json::Value {
    json!({"success": true, "code": 200, "message_id": id, "nb_sms": 1, "cost": 0.038, "currency": "EUR"})
}

fn carrier_ids(results: &[SubmitResult]) -> Vec<String> {
    results
        .iter()
        .map(|r| match r {
            SubmitResult::Accepted { carrier_ids } => carrier_ids.join(","),
            other => panic!("{other:?}"),
        })
        .collect()
}

#[tokio::test]
async fn messages_sharing_a_text_go_in_one_send_named_by_its_id_and_number() {
    let stub = Stub::start(|r| {
        let id = if r.json()["message"] == "Hello" {
            307
        } else {
            308
        };
        json(200, accepted(id))
    })
    .await;
    let connector = smspartner::start(
        "sp",
        &options(&stub, Some("https://relais.example.com/")),
        config(3_600_000),
        Arc::new(Recorder::default()),
    )
    .unwrap();
    let mut promo = message(12, "+33600000003", "Promo\nÉté ☀");
    promo.kind = MessageKind::Marketing;
    promo.route_class = RouteClass::LowCost;
    promo.sender = None;
    let batch = [
        message(10, "+33600000001", "Hello"),
        message(11, "+33600000002", "Hello"),
        promo,
    ];
    let results = connector.submit(&batch).await;
    assert_eq!(
        carrier_ids(&results),
        ["307:+33600000001", "307:+33600000002", "308:+33600000003"]
    );
    let requests = stub.requests();
    assert_eq!(requests.len(), 2);
    let mut bodies: Vec<_> = requests.iter().map(|r| r.json()).collect();
    bodies.sort_by_key(|b| b["phoneNumbers"].to_string());
    for request in &requests {
        assert_eq!(
            (request.method.as_str(), request.uri.path()),
            ("POST", "/v1/send")
        );
    }
    let intake = "https://relais.example.com/connectors/sp/s3cret/push";
    assert_eq!(
        bodies[0],
        json!({"apiKey": "k3y", "phoneNumbers": "+33600000001,+33600000002", "message": "Hello",
               "sender": "Relais", "gamme": 1, "isStopSms": 0, "isUnicode": 0, "sandbox": 0,
               "urlResponse": intake, "urlDlr": intake})
    );
    assert_eq!(
        bodies[1],
        json!({"apiKey": "k3y", "phoneNumbers": "+33600000003", "message": "Promo:br:Été ☀",
               "gamme": 2, "isStopSms": 1, "isUnicode": 1, "sandbox": 0,
               "urlResponse": intake, "urlDlr": intake})
    );
}

#[tokio::test]
async fn each_documented_error_code_is_temporary_or_permanent() {
    let stub = Stub::start(|_| json(200, accepted(1))).await;
    let connector = smspartner::start(
        "sp",
        &options(&stub, None),
        config(3_600_000),
        Arc::new(Recorder::default()),
    )
    .unwrap();
    let cases = [
        (1, true),
        (2, true),
        (9, true),
        (10, false),
        (11, false),
        (13, true),
        (14, true),
        (20, false),
        (22, false),
        (23, false),
        (30, true),
    ];
    for (code, permanent) in cases {
        stub.script(move |_| {
            json(
                400,
                json!({"success": false, "code": code, "message": "Refusé par le stub"}),
            )
        });
        let result = connector
            .submit(&[message(1, "+33600000001", "Hi")])
            .await
            .remove(0);
        match (&result, permanent) {
            (SubmitResult::Permanent { error }, true)
            | (SubmitResult::Temporary { error }, false) => {
                assert!(error.contains(&format!("smspartner {code}")), "{error}");
            }
            _ => panic!("code {code}: {result:?}"),
        }
    }
    for status in [500, 429] {
        stub.script(move |_| (status, "text/plain", "busy".into()));
        let result = connector.submit(&[message(1, "+33600000001", "Hi")]).await;
        assert!(
            matches!(&result[0], SubmitResult::Temporary { error } if error.contains(&status.to_string())),
            "{status}: {result:?}"
        );
    }
}

#[tokio::test]
async fn a_refused_number_in_a_group_fails_alone() {
    // Code 9 with the fields at fault, as SMS Partner answers a bad number.
    let stub = Stub::start(|r| {
        if r.json()["phoneNumbers"]
            .as_str()
            .unwrap()
            .contains("+33600000002")
        {
            json(
                400,
                json!({"success": false, "code": 9, "error": [
                    {"elementId": "children[phoneNumbers]", "message": "Numéro invalide"}]}),
            )
        } else {
            json(200, accepted(42))
        }
    })
    .await;
    let connector = smspartner::start(
        "sp",
        &options(&stub, None),
        config(3_600_000),
        Arc::new(Recorder::default()),
    )
    .unwrap();
    let batch = [
        message(1, "+33600000001", "Hi"),
        message(2, "+33600000002", "Hi"),
        message(3, "+33600000003", "Hi"),
    ];
    let results = connector.submit(&batch).await;
    assert_eq!(
        results[0],
        SubmitResult::Accepted {
            carrier_ids: vec!["42:+33600000001".into()]
        }
    );
    assert!(
        matches!(&results[1], SubmitResult::Permanent { error } if error.contains("Numéro invalide")),
        "{results:?}"
    );
    assert!(matches!(results[2], SubmitResult::Accepted { .. }));
    assert_eq!(stub.requests().len(), 4, "the group, then one per message");
}

#[tokio::test]
async fn awaited_statuses_are_polled_until_final() {
    let stub = Stub::start(|r| match r.uri.path() {
        "/v1/multi-status" => json(
            200,
            json!({"success": true, "code": 200, "StatutResponse_List": [
                {"success": true, "code": 200, "phoneNumber": "+33600000001", "messageId": 307,
                 "status": "Delivered", "date": "1534615206", "stopSms": "0", "isSpam": "0"},
                {"success": true, "code": 200, "phoneNumber": "+33600000002", "messageId": 307,
                 "status": "Waiting", "date": "1534615206", "stopSms": "0", "isSpam": "0"},
                {"success": true, "code": 200, "phoneNumber": "+33600000003", "messageId": 308,
                 "status": "Not delivered", "date": "1534615206", "stopSms": "1", "isSpam": "0"},
                {"success": false, "code": 4, "phoneNumber": "+33600000004", "messageId": 309,
                 "status": "Numéro introuvable"},
            ]}),
        ),
        "/v1/message-status" => json(
            200,
            json!({"success": true, "code": 200, "number": "+33600000005", "messageId": "310",
                   "stopSms": false, "date": "1534615206", "statut": "ko", "cost": 0.038,
                   "countryCode": "FR", "currency": "EUR"}),
        ),
        other => panic!("unexpected {other}"),
    })
    .await;
    let sink = Arc::new(Recorder::default());
    *sink.awaiting.lock().unwrap() = vec![
        "307:+33600000001".into(),
        "307:+33600000002".into(),
        "308:+33600000003".into(),
        "309:+33600000004".into(),
    ];
    let connector =
        smspartner::start("sp", &options(&stub, None), config(50), sink.clone()).unwrap();
    eventually(10, "the polled reports", || sink.reports().len() >= 2).await;
    let reports = sink.reports();
    let seen: Vec<_> = reports[..2]
        .iter()
        .map(|r| (r.carrier_id.as_str(), r.status, r.at))
        .collect();
    assert_eq!(
        seen,
        [
            (
                "307:+33600000001",
                MessageStatus::Delivered,
                1_534_615_206_000
            ),
            (
                "308:+33600000003",
                MessageStatus::Undelivered,
                1_534_615_206_000
            ),
        ]
    );
    let request = stub.requests().remove(0);
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.json(),
        json!({"apiKey": "k3y", "SMSStatut_List": [
            {"phoneNumber": "+33600000001", "messageId": "307"},
            {"phoneNumber": "+33600000002", "messageId": "307"},
            {"phoneNumber": "+33600000003", "messageId": "308"},
            {"phoneNumber": "+33600000004", "messageId": "309"},
        ]})
    );
    // A lone awaited message is asked with message-status.
    *sink.awaiting.lock().unwrap() = vec!["310:+33600000005".into()];
    eventually(10, "the lone report", || {
        sink.reports()
            .iter()
            .any(|r| r.carrier_id == "310:+33600000005")
    })
    .await;
    let lone = sink
        .reports()
        .into_iter()
        .find(|r| r.carrier_id == "310:+33600000005")
        .unwrap();
    assert_eq!(lone.status, MessageStatus::Rejected);
    let asked = stub
        .requests()
        .into_iter()
        .find(|r| r.uri.path() == "/v1/message-status")
        .unwrap();
    assert_eq!(asked.method, "GET");
    let query = asked.query();
    assert_eq!(
        (
            query["apiKey"].as_str(),
            query["messageId"].as_str(),
            query["phoneNumber"].as_str()
        ),
        ("k3y", "310", "+33600000005")
    );
    // Shut down, it stops asking.
    connector.shutdown().await;
    let asked = stub.requests().len();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(stub.requests().len(), asked);
}

#[tokio::test]
async fn replies_stop_and_reports_pushed_to_the_intake_reach_the_sink() {
    let stub = Stub::start(|_| json(200, accepted(1))).await;
    let sink = Arc::new(Recorder::default());
    let connector =
        smspartner::start("sp", &options(&stub, None), config(3_600_000), sink.clone()).unwrap();
    let intake = connector.intake().unwrap();
    let url = format!("{}/push", intake.address.prefix());
    let base = serve_intake(intake).await;
    let http = reqwest::Client::new();
    for body in [
        json!({"type": "response", "phone_number": "+33612345678", "text": "Oui merci", "message_id": 307}),
        json!({"type": "stop", "phone_number": "33612345679", "text": "", "message_id": null}),
        json!({"type": "dlr", "message_id": 307, "phone_number": "+33612345678", "status": "Delivered", "date": "1534615206"}),
        json!({"type": "dlr", "message_id": 307, "phone_number": "+33612345678", "status": "Waiting", "date": "1534615206"}),
        json!({"type": "something else"}),
    ] {
        let answer = http
            .post(format!("{base}{url}"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200, "{body}");
    }
    let inbound = sink.inbound();
    let seen: Vec<_> = inbound
        .iter()
        .map(|i| (i.from.to_string(), i.text.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            ("+33612345678".to_string(), "Oui merci"),
            ("+33612345679".to_string(), "STOP")
        ]
    );
    let reports = sink.reports();
    assert_eq!(reports.len(), 1, "only the final status is a report");
    assert_eq!(
        (reports[0].carrier_id.as_str(), reports[0].status),
        ("307:+33612345678", MessageStatus::Delivered)
    );
}
