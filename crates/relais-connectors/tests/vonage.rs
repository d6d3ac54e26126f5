//! Vonage connector contract: the request fields, every part of a long
//! message tracked, each mapped status and the receipt and inbound intake,
//! against a local stub answering Vonage's documented examples.
mod common;

use std::sync::Arc;

use common::{Recorder, Stub, json, message, serve_intake};
use relais_connectors::contract::{Connector, SubmitResult};
use relais_connectors::http::{HttpOptions, vonage};
use relais_store::{MessageStatus, clock};
use serde_json::json;

const PUBLIC: &str = "https://relais.example";

fn config(from: Option<&str>) -> vonage::Config {
    vonage::Config {
        api_key: "abcd1234".into(),
        api_secret: "s3cr3t".into(),
        from: from.map(str::to_string),
    }
}

fn start(stub: &Stub, config: vonage::Config, sink: Arc<Recorder>) -> Arc<dyn Connector> {
    let options = HttpOptions {
        base_url: Some(stub.url()),
        public_url: Some(PUBLIC.into()),
        intake_secret: Some("s3cret".into()),
        ..HttpOptions::default()
    };
    vonage::start("vn", &options, config, sink).unwrap()
}

/// Vonage's documented answer, one entry per part, each with `status`.
fn parts(parts: &[(&str, &str)]) -> common::Reply {
    let messages: Vec<_> = parts
        .iter()
        .map(|(id, status)| {
            if *status == "0" {
                json!({"to": "33612345678", "message-id": id, "status": "0",
                       "remaining-balance": "3.14159265", "message-price": "0.03330000",
                       "network": "20801"})
            } else {
                json!({"status": status, "error-text": format!("error {status}")})
            }
        })
        .collect();
    json(
        200,
        json!({"message-count": parts.len().to_string(), "messages": messages}),
    )
}

#[tokio::test]
async fn each_message_is_one_form_request_and_every_part_is_tracked() {
    let stub =
        Stub::start(|_| parts(&[("0A0000000123ABCD1", "0"), ("0A0000000123ABCD2", "0")])).await;
    let connector = start(&stub, config(Some("Relais")), Arc::new(Recorder::default()));
    let mut unicode = message(7, "+33612345678", "Bonjour à vous");
    unicode.expires_at = Some(clock::now_ms() + 3_600_000);
    let results = connector.submit(&[unicode]).await;
    assert_eq!(
        results,
        [SubmitResult::Accepted {
            carrier_ids: vec!["0A0000000123ABCD1".into(), "0A0000000123ABCD2".into()]
        }]
    );
    let request = &stub.requests()[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.uri.path(), "/sms/json");
    let form = request.form();
    assert_eq!(form["api_key"], "abcd1234");
    assert_eq!(form["api_secret"], "s3cr3t");
    assert_eq!(form["to"], "33612345678");
    assert_eq!(form["from"], "Relais");
    assert_eq!(form["text"], "Bonjour à vous");
    assert_eq!(form["type"], "unicode");
    assert_eq!(form["client-ref"], "7");
    assert_eq!(
        form["callback"],
        format!("{PUBLIC}/connectors/vn/s3cret/dlr")
    );
    let ttl: u64 = form["ttl"].parse().unwrap();
    assert!((3_590_000..=3_600_000).contains(&ttl), "{ttl}");
    // GSM-7 goes as plain text; without a sender the configured one is used.
    let mut plain = message(8, "+33612345679", "Code 1234");
    plain.sender = None;
    connector.submit(&[plain]).await;
    let form = stub.requests()[1].form();
    assert!(!form.contains_key("type"));
    assert!(!form.contains_key("ttl"));
    assert_eq!(form["from"], "Relais");
    // No sender anywhere: refused here, nothing sent.
    let bare = start(&stub, config(None), Arc::new(Recorder::default()));
    let mut nobody = message(9, "+33612345678", "Code");
    nobody.sender = None;
    assert!(matches!(
        bare.submit(&[nobody]).await[0],
        SubmitResult::Permanent { .. }
    ));
    assert_eq!(stub.requests().len(), 2);
}

#[tokio::test]
async fn each_documented_status_is_temporary_or_permanent() {
    let stub = Stub::start(|_| parts(&[("id", "0")])).await;
    let connector = start(&stub, config(Some("Relais")), Arc::new(Recorder::default()));
    let temporary = ["1", "4", "5", "9"];
    let permanent = ["2", "3", "6", "7", "8", "15", "29", "33"];
    for (status, want_temporary) in temporary
        .iter()
        .map(|s| (*s, true))
        .chain(permanent.iter().map(|s| (*s, false)))
    {
        stub.script(move |_| parts(&[("", status)]));
        let result = &connector
            .submit(&[message(1, "+33612345678", "Code")])
            .await[0];
        match result {
            SubmitResult::Temporary { error } if want_temporary => {
                assert!(error.starts_with(&format!("vonage {status}:")), "{error}")
            }
            SubmitResult::Permanent { error } if !want_temporary => {
                assert!(error.starts_with(&format!("vonage {status}:")), "{error}")
            }
            other => panic!("{status}: {other:?}"),
        }
    }
    // A part refused beside an accepted one: the message was sent.
    stub.script(|_| parts(&[("0A01", "0"), ("", "1")]));
    assert_eq!(
        connector
            .submit(&[message(1, "+33612345678", "Code")])
            .await,
        [SubmitResult::Accepted {
            carrier_ids: vec!["0A01".into()]
        }]
    );
    // Vonage's own trouble and answers without messages are temporary.
    stub.script(|_| json(503, json!({})));
    assert!(matches!(
        connector
            .submit(&[message(1, "+33612345678", "Code")])
            .await[0],
        SubmitResult::Temporary { .. }
    ));
    stub.script(|_| json(200, json!({"message-count": "0", "messages": []})));
    assert!(matches!(
        connector
            .submit(&[message(1, "+33612345678", "Code")])
            .await[0],
        SubmitResult::Temporary { .. }
    ));
}

#[tokio::test]
async fn receipts_and_inbound_messages_reach_the_sink_by_get_or_post() {
    let stub = Stub::start(|_| parts(&[("id", "0")])).await;
    let sink = Arc::new(Recorder::default());
    let connector = start(&stub, config(Some("Relais")), sink.clone());
    let intake = connector.intake().unwrap();
    let prefix = intake.address.prefix().to_string();
    let base = serve_intake(intake).await;
    let http = reqwest::Client::new();
    let receipt = |id: &str, status: &str, code: &str| {
        format!(
            "msisdn=33612345678&to=Relais&network-code=20801&messageId={id}&price=0.0333\
             &status={status}&scts=2001011230&err-code={code}&client-ref=7\
             &message-timestamp=2020-01-01+12%3A30%3A00"
        )
    };
    // Vonage's default: GET with the receipt in the query.
    for (id, status, code) in [
        ("0A01", "accepted", "0"),
        ("0A01", "delivered", "0"),
        ("0A02", "expired", "0"),
    ] {
        let answer = http
            .get(format!("{base}{prefix}/dlr?{}", receipt(id, status, code)))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 204);
    }
    // POST, form-encoded, then JSON.
    let answer = http
        .post(format!("{base}{prefix}/dlr"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(receipt("0A03", "failed", "6"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 204);
    let answer = http
        .post(format!("{base}{prefix}/dlr"))
        .json(
            &json!({"messageId": "0A04", "status": "rejected", "err-code": "15",
                      "scts": "2001011230", "client-ref": "8"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 204);
    let reports = sink.reports();
    let seen: Vec<_> = reports
        .iter()
        .map(|r| (r.carrier_id.as_str(), r.status, r.error.as_deref()))
        .collect();
    assert_eq!(
        seen,
        [
            ("0A01", MessageStatus::Delivered, None),
            ("0A02", MessageStatus::Expired, Some("vonage expired 0")),
            ("0A03", MessageStatus::Undelivered, Some("vonage failed 6")),
            ("0A04", MessageStatus::Rejected, Some("vonage rejected 15")),
        ]
    );
    assert!(
        reports
            .iter()
            .all(|r| r.at == 1_577_881_800_000 && r.connector == "vn")
    );
    // Inbound, by GET.
    let answer = http
        .get(format!(
            "{base}{prefix}/mo?msisdn=33612345678&to=33700000000&messageId=0B01&text=Oui+merci&type=text&keyword=OUI"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 204);
    let inbound = sink.inbound();
    assert_eq!(inbound.len(), 1);
    assert_eq!(inbound[0].from.to_string(), "+33612345678");
    assert_eq!(inbound[0].to, "33700000000");
    assert_eq!(inbound[0].text, "Oui merci");
    // A wrong secret reaches nothing.
    let wrong = http
        .get(format!(
            "{base}/connectors/vn/guess/dlr?{}",
            receipt("0A05", "delivered", "0")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 404);
    assert_eq!(sink.reports().len(), 4);
}
