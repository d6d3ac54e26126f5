//! Generic HTTP connector contract: templates rendered and escaped where
//! they stand, answers sorted by the configured regexes and statuses, the
//! provider's id read from its answer, and reports read from the query, a
//! form or JSON.
mod common;

use std::sync::Arc;

use common::{Recorder, Stub, json, message, serve_intake};
use relais_connectors::contract::SubmitResult;
use relais_connectors::http::{HttpOptions, generic};
use relais_store::MessageStatus;
use serde_json::json;

/// A Kannel-style GET API: everything in the URL.
fn get_config(stub: &Stub) -> generic::Config {
    config(json!({
        "url": format!("{}/cgi-bin/send?to={{to_digits}}&from={{from}}&text={{text}}&coding={{coding}}&ref={{id}}&dlr={{dlr_url}}", stub.url()),
    }))
}

fn config(keys: serde_json::Value) -> generic::Config {
    serde_json::from_value(keys).expect("a generic configuration")
}

fn options(public_url: Option<&str>) -> HttpOptions {
    HttpOptions {
        public_url: public_url.map(str::to_string),
        intake_secret: Some("s3cret".into()),
        ..HttpOptions::default()
    }
}

fn start(
    config: generic::Config,
    sink: Arc<Recorder>,
) -> Arc<dyn relais_connectors::contract::Connector> {
    generic::start(
        "gen",
        &options(Some("https://relais.example.com")),
        config,
        sink,
    )
    .unwrap()
}

#[tokio::test]
async fn a_url_template_is_rendered_url_encoded() {
    let stub = Stub::start(|_| (202, "text/plain", "Accepted for delivery".into())).await;
    let connector = start(get_config(&stub), Arc::new(Recorder::default()));
    let results = connector
        .submit(&[
            message(7, "+33600000001", "Hi & bye = 100%"),
            message(8, "+33600000002", "Café ☕"),
        ])
        .await;
    assert_eq!(
        results,
        [
            SubmitResult::Accepted {
                carrier_ids: vec!["7".into()]
            },
            SubmitResult::Accepted {
                carrier_ids: vec!["8".into()]
            }
        ],
        "without an id_regex the carrier id is relais' id"
    );
    let mut requests = stub.requests();
    requests.sort_by_key(|r| r.query()["ref"].clone());
    let query = requests[0].query();
    assert_eq!(requests[0].method, "GET");
    assert_eq!(requests[0].uri.path(), "/cgi-bin/send");
    assert!(requests[0].body.is_empty());
    assert_eq!(query["to"], "33600000001");
    assert_eq!(query["from"], "Relais");
    assert_eq!(query["text"], "Hi & bye = 100%");
    assert_eq!(query["coding"], "gsm7");
    assert_eq!(
        query["dlr"],
        "https://relais.example.com/connectors/gen/s3cret/dlr"
    );
    let query = requests[1].query();
    assert_eq!(
        (query["text"].as_str(), query["coding"].as_str()),
        ("Café ☕", "ucs2")
    );
}

#[tokio::test]
async fn a_json_body_template_is_json_escaped_and_the_id_read_from_the_answer() {
    let stub =
        Stub::start(|_| json(200, json!({"result": "ok", "message": {"uid": "abc-123"}}))).await;
    let connector = start(
        config(json!({
            "url": format!("{}/api/messages", stub.url()),
            "body": r#"{"to":"{to}","text":"{text}","unicode":{unicode},"ref":"{id}"}"#,
            "content_type": "application/json",
            "authorization": "Bearer t0ken",
            "id_regex": r#""uid"\s*:\s*"([^"]+)""#,
            "success_regex": r#""result"\s*:\s*"ok""#,
        })),
        Arc::new(Recorder::default()),
    );
    let text = "Il a dit \"oui\"\nà 10h \\ ok";
    let results = connector.submit(&[message(9, "+33600000003", text)]).await;
    assert_eq!(
        results[0],
        SubmitResult::Accepted {
            carrier_ids: vec!["abc-123".into()]
        }
    );
    let request = stub.requests().remove(0);
    assert_eq!(request.method, "POST");
    assert_eq!(request.header("authorization"), Some("Bearer t0ken"));
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(
        request.json(),
        json!({"to": "+33600000003", "text": text, "unicode": 1, "ref": "9"})
    );
}

#[tokio::test]
async fn answers_are_sorted_by_the_regexes_then_the_status() {
    let stub = Stub::start(|_| (200, "text/plain", "OK".into())).await;
    let connector = start(
        config(json!({
            "url": format!("{}/send", stub.url()),
            "body": "to={to}&msg={text}",
            "success_regex": "^OK",
            "permanent_regex": "^ERR (INVALID|BLACKLISTED)",
            "temporary_regex": "^ERR (THROTTLED|NO CREDIT)",
        })),
        Arc::new(Recorder::default()),
    );
    let cases: [(u16, &str, &str); 7] = [
        (200, "OK queued", "accepted"),
        (200, "ERR INVALID number", "permanent"),
        (400, "ERR BLACKLISTED", "permanent"),
        (200, "ERR THROTTLED", "temporary"),
        (402, "ERR NO CREDIT", "temporary"),
        // A success_regex that does not match: permanent unless 5xx/429.
        (200, "something unexpected", "permanent"),
        (503, "down for maintenance", "temporary"),
    ];
    for (status, body, expected) in cases {
        stub.script(move |_| (status, "text/plain", body.into()));
        let result = connector
            .submit(&[message(1, "+33600000001", "Hi")])
            .await
            .remove(0);
        let got = match &result {
            SubmitResult::Accepted { .. } => "accepted",
            SubmitResult::Permanent { .. } => "permanent",
            SubmitResult::Temporary { .. } => "temporary",
        };
        assert_eq!(got, expected, "{status} {body}: {result:?}");
    }
    let form = stub.requests().remove(0).form();
    assert_eq!(
        (form["to"].as_str(), form["msg"].as_str()),
        ("+33600000001", "Hi")
    );
}

#[tokio::test]
async fn an_answer_without_the_id_is_temporary_and_bad_templates_are_refused() {
    let stub = Stub::start(|_| (200, "text/plain", "queued".into())).await;
    let connector = start(
        config(json!({"url": format!("{}/send?to={{to}}", stub.url()), "id_regex": "id=(\\d+)"})),
        Arc::new(Recorder::default()),
    );
    let result = connector.submit(&[message(1, "+33600000001", "Hi")]).await;
    assert!(
        matches!(&result[0], SubmitResult::Temporary { error } if error.contains("no id")),
        "{result:?}"
    );
    let refused = |keys: serde_json::Value| {
        generic::start(
            "gen",
            &options(None),
            config(keys),
            Arc::new(Recorder::default()),
        )
        .err()
        .expect("refused")
    };
    assert!(
        refused(json!({"url": "http://x/send?to={number}"}))
            .contains("unknown placeholder {number}")
    );
    assert!(
        refused(json!({"url": "http://x/", "body": "{\"a\":{nme}}"}))
            .contains("unknown placeholder {nme}")
    );
    assert!(refused(json!({"url": "http://x/", "id_regex": "id=\\d+"})).contains("capture group"));
    assert!(refused(json!({"url": "http://x/", "id_regex": "("})).contains("id_regex"));
    assert!(refused(json!({"url": "http://x/", "method": "PUT"})).contains("GET or POST"));
}

#[tokio::test]
async fn reports_are_read_from_the_query_a_form_or_json() {
    let sink = Arc::new(Recorder::default());
    let connector = start(
        config(json!({
            "url": "http://127.0.0.1:9/send",
            "dlr_id_field": "msgid",
            "dlr_status_field": "stat",
            "delivered": ["DELIVRD", "8"],
            "undelivered": ["UNDELIV"],
        })),
        sink.clone(),
    );
    let intake = connector.intake().unwrap();
    let dlr = format!("{}/dlr", intake.address.prefix());
    let base = serve_intake(intake).await;
    let http = reqwest::Client::new();
    let url = format!("{base}{dlr}");
    let answers = [
        http.get(format!("{url}?msgid=a1&stat=DELIVRD"))
            .send()
            .await,
        http.post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("msgid=a2&stat=undeliv")
            .send()
            .await,
        http.post(&url)
            .json(&json!({"msgid": 3, "stat": 8}))
            .send()
            .await,
        // Intermediate, then missing fields: acknowledged, no report.
        http.get(format!("{url}?msgid=a4&stat=ACCEPTD"))
            .send()
            .await,
        http.get(format!("{url}?id=a5&status=DELIVRD")).send().await,
    ];
    for answer in answers {
        let answer = answer.unwrap();
        assert_eq!(answer.status(), 200);
        assert_eq!(answer.text().await.unwrap(), "OK");
    }
    let seen: Vec<_> = sink
        .reports()
        .iter()
        .map(|r| (r.carrier_id.clone(), r.status))
        .collect();
    assert_eq!(
        seen,
        [
            ("a1".to_string(), MessageStatus::Delivered),
            ("a2".to_string(), MessageStatus::Undelivered),
            ("3".to_string(), MessageStatus::Delivered),
        ]
    );
}
