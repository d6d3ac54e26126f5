//! SMSAdvert connector contract: the request fields per channel, the
//! mapped errors and the report intake, against a local stub answering
//! SMSAdvert's documented examples.
mod common;

use std::sync::Arc;

use common::{Recorder, Stub, json, message, serve_intake};
use relais_connectors::contract::{Connector, SubmitResult};
use relais_connectors::http::{HttpOptions, smsadvert};
use relais_core::plan::ChannelOrder;
use relais_store::MessageStatus;
use serde_json::json;

fn start(stub: &Stub, sink: Arc<Recorder>, send_as_short: Option<bool>) -> Arc<dyn Connector> {
    let options = HttpOptions {
        base_url: Some(stub.url()),
        public_url: Some("https://relais.example".into()),
        intake_secret: Some("s3cret".into()),
        ..HttpOptions::default()
    };
    let config = smsadvert::Config {
        token: "t0ken".into(),
        send_as_short,
    };
    smsadvert::start("adv", &options, config, sink).unwrap()
}

#[tokio::test]
async fn each_message_is_one_request_with_its_channel_and_callback() {
    let stub = Stub::start(|r| {
        let phone = r.json()["phone"].as_str().unwrap().to_string();
        json(200, json!({"successMessage": "Your message has been successfully submitted!", "msgId": &phone[phone.len() - 1..]}))
    })
    .await;
    let connector = start(&stub, Arc::new(Recorder::default()), None);
    let mut devices = message(2, "+40740000002", "Salut");
    devices.channels = ChannelOrder::Devices;
    let mut both = message(3, "+40740000003", "Salut");
    both.channels = ChannelOrder::DevicesThenNetwork;
    let mut expiring = message(1, "+40740000001", "Salut");
    expiring.expires_at = Some(1_800_000_000_000);
    let results = connector.submit(&[expiring, devices, both]).await;
    assert_eq!(
        results,
        ["1", "2", "3"].map(|id| SubmitResult::Accepted {
            carrier_ids: vec![id.into()]
        })
    );
    let mut requests = stub.requests();
    requests.sort_by_key(|r| r.json()["phone"].as_str().unwrap().to_string());
    for request in &requests {
        assert_eq!(request.method, "POST");
        assert_eq!(request.uri.path(), "/api/sms/");
        assert_eq!(request.header("authorization"), Some("t0ken"));
    }
    assert_eq!(
        requests[0].json(),
        json!({"phone": "+40740000001", "shortTextMessage": "Salut", "sendAsShort": true,
               "endDate": 1_800_000_000_000_i64,
               "callback": "https://relais.example/connectors/adv/s3cret/dlr"})
    );
    assert_eq!(requests[1].json()["sendAsShort"], false);
    assert!(requests[1].json().get("failover").is_none());
    assert_eq!(requests[2].json()["sendAsShort"], false);
    assert_eq!(requests[2].json()["failover"], "short");

    let forced = start(&stub, Arc::new(Recorder::default()), Some(false));
    forced.submit(&[message(4, "+40740000004", "Salut")]).await;
    assert_eq!(stub.requests()[3].json()["sendAsShort"], false);
}

#[tokio::test]
async fn errors_are_temporary_or_permanent() {
    let stub = Stub::start(|_| json(200, json!({}))).await;
    let connector = start(&stub, Arc::new(Recorder::default()), None);
    let cases = [
        (
            400,
            json!({"errors": {"phone": "Numărul de telefon nu este valid"}}),
            false,
            "phone",
        ),
        (
            413,
            json!({"errorMessage": "Request too large"}),
            false,
            "too large",
        ),
        (
            422,
            json!({"errorMessage": "Invalid sender"}),
            false,
            "sender",
        ),
        (
            401,
            json!({"errorMessage": "Unauthorized"}),
            true,
            "Unauthorized",
        ),
        (
            402,
            json!({"errorMessage": "Not enough credit"}),
            true,
            "credit",
        ),
        (
            403,
            json!({"errorMessage": "Account disabled"}),
            true,
            "disabled",
        ),
        (
            429,
            json!({"errorMessage": "Too many requests"}),
            true,
            "429",
        ),
        (
            500,
            json!({"errorMessage": "There was a database error!"}),
            true,
            "database",
        ),
    ];
    for (status, body, temporary, needle) in cases {
        let reply = body.clone();
        stub.script(move |_| json(status, reply.clone()));
        let result = connector
            .submit(&[message(1, "+40740000001", "Salut")])
            .await
            .remove(0);
        match (&result, temporary) {
            (SubmitResult::Temporary { error }, true)
            | (SubmitResult::Permanent { error }, false) => {
                assert!(error.contains(needle), "{status}: {error}");
            }
            _ => panic!("{status} {body}: {result:?}"),
        }
    }
    // A 200 without msgId is no acceptance.
    stub.script(|_| json(200, json!({"successMessage": "ok"})));
    let result = connector
        .submit(&[message(1, "+40740000001", "Salut")])
        .await;
    assert!(
        matches!(result[0], SubmitResult::Permanent { .. }),
        "{result:?}"
    );
}

#[tokio::test]
async fn reports_reach_the_sink() {
    let stub = Stub::start(|_| json(200, json!({}))).await;
    let sink = Arc::new(Recorder::default());
    let connector = start(&stub, sink.clone(), None);
    let base = serve_intake(connector.intake().unwrap()).await;
    let url = format!("{base}/connectors/adv/s3cret/dlr");
    let http = reqwest::Client::new();
    for body in [
        json!({"status": "delivered", "msgId": "41"}),
        json!({"status": "delivered", "msgId": "41"}),
        json!({"status": "failed", "msgId": 42}),
        json!({"status": "pending", "msgId": "43"}),
        json!({"msgId": "44"}),
    ] {
        assert_eq!(
            http.post(&url).json(&body).send().await.unwrap().status(),
            200
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
            ("41".to_string(), MessageStatus::Delivered),
            ("41".to_string(), MessageStatus::Delivered),
            ("42".to_string(), MessageStatus::Undelivered),
        ]
    );
    let wrong_secret = http
        .post(format!("{base}/connectors/adv/guess/dlr"))
        .json(&json!({"status": "delivered", "msgId": "45"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_secret.status(), 404);
    assert_eq!(sink.reports().len(), 3);
}
