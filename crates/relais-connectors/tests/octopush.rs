//! Octopush connector contract: the request fields, each mapped error code
//! and the callback intake, against a local stub answering Octopush's
//! documented examples.
mod common;

use std::sync::Arc;

use common::{Recorder, Stub, json, message, serve_intake};
use relais_connectors::contract::{Connector, SubmitResult};
use relais_connectors::http::{HttpOptions, octopush};
use relais_core::plan::MessageKind;
use relais_core::pricing::RouteClass;
use relais_store::MessageStatus;
use serde_json::json;

fn start(stub: &Stub, sink: Arc<Recorder>) -> Arc<dyn Connector> {
    let options = HttpOptions {
        base_url: Some(stub.url()),
        intake_secret: Some("s3cret".into()),
        ..HttpOptions::default()
    };
    let config = octopush::Config {
        login: "ops@example.com".into(),
        api_key: "k3y".into(),
    };
    octopush::start("octo", &options, config, sink).unwrap()
}

fn accepted() -> common::Reply {
    json(
        201,
        json!({"sms_ticket": "sms_5f6c4ba715694", "number_of_contacts": 2, "total_cost": 0.062}),
    )
}

#[tokio::test]
async fn a_group_is_one_campaign_and_each_message_is_ticket_and_number() {
    let stub = Stub::start(|_| accepted()).await;
    let connector = start(&stub, Arc::new(Recorder::default()));
    let mut low_cost = message(3, "+33600000003", "Promo STOP au 30101");
    low_cost.kind = MessageKind::Marketing;
    low_cost.route_class = RouteClass::LowCost;
    let batch = [
        message(1, "+33600000001", "Code 1234"),
        message(2, "+33600000002", "Code 1234"),
        low_cost,
    ];
    let results = connector.submit(&batch).await;
    assert_eq!(
        results,
        [
            "sms_5f6c4ba715694:+33600000001",
            "sms_5f6c4ba715694:+33600000002",
            "sms_5f6c4ba715694:+33600000003"
        ]
        .map(|id| SubmitResult::Accepted {
            carrier_ids: vec![id.to_string()]
        })
    );
    let requests = stub.requests();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_eq!(request.method, "POST");
        assert_eq!(request.uri.path(), "/v1/public/sms-campaign/send");
        assert_eq!(request.header("api-login"), Some("ops@example.com"));
        assert_eq!(request.header("api-key"), Some("k3y"));
    }
    let mut bodies: Vec<_> = requests.iter().map(|r| r.json()).collect();
    bodies.sort_by_key(|b| b["recipients"].as_array().unwrap().len());
    let group = &bodies[1];
    assert_eq!(
        group["recipients"],
        json!([{"phone_number": "+33600000001"}, {"phone_number": "+33600000002"}])
    );
    assert_eq!(group["text"], "Code 1234");
    assert_eq!(group["type"], "sms_premium");
    assert_eq!(group["purpose"], "alert");
    assert_eq!(group["sender"], "Relais");
    let request_id = group["request_id"].as_str().unwrap();
    assert!(
        request_id.starts_with("relais-") && request_id.len() > 20,
        "{request_id}"
    );
    assert_eq!(bodies[0]["type"], "sms_low_cost");
    assert_eq!(bodies[0]["purpose"], "wholesale");
    assert_eq!(bodies[0]["request_id"], "relais-3");
    // The same group retried carries the same request_id.
    connector.submit(&batch[..2]).await;
    assert_eq!(stub.requests()[2].json()["request_id"], request_id);
}

#[tokio::test]
async fn each_documented_code_is_temporary_permanent_or_already_taken() {
    let stub = Stub::start(|_| accepted()).await;
    let connector = start(&stub, Arc::new(Recorder::default()));
    let temporary = [
        (101, 401),
        (104, 402),
        (105, 402),
        (108, 401),
        (109, 401),
        (113, 403),
        (128, 429),
        (153, 503),
        (500, 500),
    ];
    let permanent = [
        (102, 400),
        (106, 422),
        (107, 400),
        (117, 422),
        (121, 422),
        (122, 422),
        (150, 422),
        (151, 422),
        (152, 422),
        (209, 422),
        (500, 400),
    ];
    for (code, status, want_temporary) in temporary
        .iter()
        .map(|&(c, s)| (c, s, true))
        .chain(permanent.iter().map(|&(c, s)| (c, s, false)))
    {
        stub.script(move |_| json(status, json!({"code": code, "message": "from the stub"})));
        let result = connector
            .submit(&[message(1, "+33600000001", "Hi")])
            .await
            .remove(0);
        match (&result, want_temporary) {
            (SubmitResult::Temporary { error }, true)
            | (SubmitResult::Permanent { error }, false) => {
                assert!(error.contains(&format!("octopush {code}")), "{error}");
            }
            _ => panic!("code {code} (HTTP {status}): {result:?}"),
        }
    }
    // 120: an earlier attempt went through; not sent again.
    stub.script(|_| json(409, json!({"code": 120, "message": "duplicate request_id"})));
    let result = connector.submit(&[message(9, "+33600000009", "Hi")]).await;
    assert!(
        matches!(&result[0], SubmitResult::Accepted { .. }),
        "{result:?}"
    );
}

#[tokio::test]
async fn callbacks_of_each_kind_reach_the_sink() {
    let stub = Stub::start(|_| accepted()).await;
    let sink = Arc::new(Recorder::default());
    let connector = start(&stub, sink.clone());
    let intake = connector.intake().unwrap();
    let url = format!(
        "{}{}/callback",
        serve_intake(intake).await,
        "/connectors/octo/s3cret"
    );
    let http = reqwest::Client::new();
    let pushes = [
        json!({"message_id": "sms_1", "number": "+33600000001", "status": "ACK", "delivery_date": "2024-07-25 06:23:06"}),
        json!({"message_id": "sms_1", "number": "+33600000001", "status": "DELIVERED", "delivery_date": "2024-07-25 06:23:06"}),
        json!({"message_id": "sms_1", "number": "33600000002", "status": "NOT_DELIVERED", "delivery_date": "2024-07-25 06:23:07"}),
        json!({"message_id": "sms_1", "number": "+33600000003", "status": "BLACKLISTED_NUMBER", "delivery_date": "2024-07-25 06:23:08"}),
        json!({"message_id": "sms_1", "number": "+33600000004", "status": "UNKNOWN_DELIVERY", "delivery_date": "2024-07-25 06:23:09"}),
        json!({"channel": "sms", "message_id": "12", "sms_ticket": "sms_2", "number": "+33600000005", "status": "DELIVERED", "delivery_date": "2026-03-01T09:30:01Z"}),
        json!({"message_id": "sms_1", "number": "+33600000001", "text": "Merci", "sim_card_number": "+33700000000", "answer_date": "2024-07-25 07:00:00"}),
        json!({"message_id": "sms_1", "number": "+33600000002", "text": "", "stop_date": "2024-07-25 07:01:00"}),
    ];
    for body in pushes {
        let answer = http.post(&url).json(&body).send().await.unwrap();
        assert_eq!(answer.status(), 200);
        assert_eq!(
            answer.text().await.unwrap(),
            "",
            "answered with an empty body"
        );
    }
    let seen: Vec<_> = sink
        .reports()
        .iter()
        .map(|r| (r.carrier_id.clone(), r.status))
        .collect();
    assert_eq!(
        seen,
        [
            ("sms_1:+33600000001".to_string(), MessageStatus::Delivered),
            ("sms_1:+33600000002".to_string(), MessageStatus::Undelivered),
            ("sms_1:+33600000003".to_string(), MessageStatus::Rejected),
            ("sms_1:+33600000004".to_string(), MessageStatus::Expired),
            ("sms_2:+33600000005".to_string(), MessageStatus::Delivered),
        ]
    );
    assert_eq!(sink.reports()[0].at, 1_721_881_386_000, "Paris time");
    let inbound = sink.inbound();
    assert_eq!(inbound.len(), 2);
    assert_eq!(
        (
            inbound[0].text.as_str(),
            inbound[0].from.to_string().as_str()
        ),
        ("Merci", "+33600000001")
    );
    assert_eq!(
        inbound[1].text, "STOP",
        "a STOP push without text is a STOP"
    );
}
