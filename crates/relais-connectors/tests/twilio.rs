//! Twilio connector contract: the request fields, each mapped error code
//! and the signed status and reply callbacks, against a local stub
//! answering Twilio's documented examples.
mod common;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use common::{Recorder, Stub, json, message, serve_intake};
use hmac::{Hmac, Mac};
use relais_connectors::contract::{Connector, SubmitResult};
use relais_connectors::http::{HttpOptions, twilio};
use relais_store::{MessageStatus, clock};
use serde_json::json;
use sha1::Sha1;

const SID: &str = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const PUBLIC: &str = "https://relais.example";

fn config() -> twilio::Config {
    twilio::Config {
        account_sid: SID.into(),
        auth_token: "t0ken".into(),
        from: Some("+14155552345".into()),
        messaging_service_sid: None,
    }
}

fn start(stub: &Stub, config: twilio::Config, sink: Arc<Recorder>) -> Arc<dyn Connector> {
    let options = HttpOptions {
        base_url: Some(stub.url()),
        public_url: Some(PUBLIC.into()),
        intake_secret: Some("s3cret".into()),
        timeout_ms: Some(500),
        ..HttpOptions::default()
    };
    twilio::start("tw", &options, config, sink).unwrap()
}

/// Twilio's documented answer to a message it took.
fn created(sid: &str) -> common::Reply {
    json(
        201,
        json!({"account_sid": SID, "api_version": "2010-04-01", "body": "Code 1234",
               "direction": "outbound-api", "from": "+14155552345", "num_segments": "1",
               "sid": sid, "status": "queued", "to": "+33612345678",
               "uri": format!("/2010-04-01/Accounts/{SID}/Messages/{sid}.json")}),
    )
}

/// Twilio's documented error shape.
fn error(status: u16, code: u32) -> common::Reply {
    json(
        status,
        json!({"code": code, "message": format!("error {code}"),
               "more_info": format!("https://www.twilio.com/docs/errors/{code}"), "status": status}),
    )
}

#[tokio::test]
async fn each_message_is_one_signed_in_form_request() {
    let stub = Stub::start(|_| created("SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")).await;
    let connector = start(&stub, config(), Arc::new(Recorder::default()));
    let mut expiring = message(1, "+33612345678", "Code 1234");
    expiring.expires_at = Some(clock::now_ms() + 600_000);
    let mut unnamed = message(2, "+33612345679", "Bonjour à vous");
    unnamed.sender = None;
    let results = connector.submit(&[expiring, unnamed]).await;
    let sid = SubmitResult::Accepted {
        carrier_ids: vec!["SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".into()],
    };
    assert_eq!(results, [sid.clone(), sid]);
    let mut requests = stub.requests();
    requests.sort_by_key(|r| r.form()["To"].clone());
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{SID}:t0ken"))
    );
    for request in &requests {
        assert_eq!(request.method, "POST");
        assert_eq!(
            request.uri.path(),
            format!("/2010-04-01/Accounts/{SID}/Messages.json")
        );
        assert_eq!(request.header("authorization"), Some(basic.as_str()));
        assert_eq!(
            request.header("content-type"),
            Some("application/x-www-form-urlencoded")
        );
        assert_eq!(
            request.form()["StatusCallback"],
            format!("{PUBLIC}/connectors/tw/s3cret/status")
        );
    }
    let first = requests[0].form();
    assert_eq!(first["To"], "+33612345678");
    assert_eq!(first["From"], "Relais");
    assert_eq!(first["Body"], "Code 1234");
    let validity: u64 = first["ValidityPeriod"].parse().unwrap();
    assert!((598..=600).contains(&validity), "{validity}");
    let second = requests[1].form();
    assert_eq!(second["From"], "+14155552345", "the configured sender");
    assert_eq!(second["Body"], "Bonjour à vous");
    assert!(!second.contains_key("ValidityPeriod"));
}

#[tokio::test]
async fn a_messaging_service_picks_the_sender_unless_the_message_has_one() {
    let stub = Stub::start(|_| created("SMbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")).await;
    let service = twilio::Config {
        from: None,
        messaging_service_sid: Some("MGcccccccccccccccccccccccccccccccc".into()),
        ..config()
    };
    let connector = start(&stub, service, Arc::new(Recorder::default()));
    let mut unnamed = message(1, "+33612345678", "Code");
    unnamed.sender = None;
    connector.submit(&[unnamed]).await;
    let form = stub.requests()[0].form();
    assert_eq!(
        form["MessagingServiceSid"],
        "MGcccccccccccccccccccccccccccccccc"
    );
    assert!(!form.contains_key("From"));
    connector
        .submit(&[message(2, "+33612345678", "Code")])
        .await;
    assert_eq!(stub.requests()[1].form()["From"], "Relais");
    // Without any sender, nothing is sent.
    let bare = start(
        &stub,
        twilio::Config {
            from: None,
            ..config()
        },
        Arc::new(Recorder::default()),
    );
    let mut nobody = message(3, "+33612345678", "Code");
    nobody.sender = None;
    assert!(matches!(
        bare.submit(&[nobody]).await[0],
        SubmitResult::Permanent { .. }
    ));
    assert_eq!(stub.requests().len(), 2);
}

#[tokio::test]
async fn each_documented_code_is_temporary_or_permanent() {
    let stub = Stub::start(|_| created("SM1")).await;
    let connector = start(&stub, config(), Arc::new(Recorder::default()));
    let temporary = [
        (429, 20429),
        (400, 21611),
        (401, 20003),
        (500, 20500),
        (503, 0),
    ];
    let permanent = [
        (400, 21211),
        (400, 21610),
        (400, 21612),
        (400, 21614),
        (400, 21408),
    ];
    for (status, code, want_temporary) in temporary
        .iter()
        .map(|&(s, c)| (s, c, true))
        .chain(permanent.iter().map(|&(s, c)| (s, c, false)))
    {
        stub.script(move |_| error(status, code));
        let result = &connector
            .submit(&[message(1, "+33612345678", "Code")])
            .await[0];
        match result {
            SubmitResult::Temporary { error } if want_temporary => {
                assert!(error.contains(&format!("HTTP {status}")), "{error}")
            }
            SubmitResult::Permanent { error } if !want_temporary => {
                assert!(error.contains(&code.to_string()), "{error}")
            }
            other => panic!("{status} {code}: {other:?}"),
        }
    }
    // No answer in time: temporary, and the connector counts as down.
    stub.script(|_| created("SM1"));
    stub.set_delay(Duration::from_millis(800));
    let result = &connector
        .submit(&[message(1, "+33612345678", "Code")])
        .await[0];
    assert!(
        matches!(result, SubmitResult::Temporary { error } if error.contains("no answer")),
        "{result:?}"
    );
    assert!(!connector.is_up());
}

/// Signs a callback as Twilio does.
fn sign(url: &str, fields: &[(&str, &str)]) -> String {
    let mut sorted = fields.to_vec();
    sorted.sort();
    let mut mac = Hmac::<Sha1>::new_from_slice(b"t0ken").unwrap();
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[tokio::test]
async fn signed_callbacks_reach_the_sink_and_unsigned_ones_are_refused() {
    let stub = Stub::start(|_| created("SM1")).await;
    let sink = Arc::new(Recorder::default());
    let connector = start(&stub, config(), sink.clone());
    let intake = connector.intake().unwrap();
    let prefix = intake.address.prefix().to_string();
    let base = serve_intake(intake).await;
    let http = reqwest::Client::new();
    let post =
        |path: &str, fields: Vec<(&'static str, &'static str)>, signature: Option<String>| {
            let mut request = http.post(format!("{base}{prefix}{path}")).form(&fields);
            if let Some(signature) = signature {
                request = request.header("x-twilio-signature", signature);
            }
            request.send()
        };
    let url = format!("{PUBLIC}{prefix}/status");
    for (sid, status, code) in [
        ("SM1", "sent", ""),
        ("SM1", "delivered", ""),
        ("SM1", "delivered", ""),
        ("SM2", "undelivered", "30003"),
        ("SM3", "failed", "30008"),
    ] {
        let fields = vec![
            ("AccountSid", SID),
            ("MessageSid", sid),
            ("SmsSid", sid),
            ("MessageStatus", status),
            ("SmsStatus", status),
            ("ErrorCode", code),
            ("To", "+33612345678"),
            ("From", "+14155552345"),
            ("ApiVersion", "2010-04-01"),
        ];
        let signature = sign(&url, &fields);
        let answer = post("/status", fields, Some(signature)).await.unwrap();
        assert_eq!(answer.status(), 200);
    }
    let reports = sink.reports();
    let seen: Vec<_> = reports
        .iter()
        .map(|r| (r.carrier_id.as_str(), r.status, r.error.as_deref()))
        .collect();
    // "sent" is not final; a repeat is handed on (the store applies it once).
    assert_eq!(
        seen,
        [
            ("SM1", MessageStatus::Delivered, None),
            ("SM1", MessageStatus::Delivered, None),
            (
                "SM2",
                MessageStatus::Undelivered,
                Some("twilio undelivered 30003")
            ),
            ("SM3", MessageStatus::Rejected, Some("twilio failed 30008")),
        ]
    );
    assert!(reports.iter().all(|r| r.connector == "tw"));
    // Unsigned, signed for other fields, or signed with another key: refused.
    let forged = vec![("MessageSid", "SM4"), ("MessageStatus", "delivered")];
    let unsigned = post("/status", forged.clone(), None).await.unwrap();
    assert_eq!(unsigned.status(), 403);
    let other_fields = sign(
        &url,
        &[("MessageSid", "SM5"), ("MessageStatus", "delivered")],
    );
    let tampered = post("/status", forged.clone(), Some(other_fields))
        .await
        .unwrap();
    assert_eq!(tampered.status(), 403);
    let garbage = post("/status", forged, Some("bm90IGEgc2lnbmF0dXJl".into()))
        .await
        .unwrap();
    assert_eq!(garbage.status(), 403);
    assert_eq!(sink.reports().len(), 4);
    // A reply, answered with empty TwiML.
    let reply = vec![
        ("MessageSid", "SMreply"),
        ("From", "+33612345678"),
        ("To", "+14155552345"),
        ("Body", "STOP"),
        ("NumMedia", "0"),
    ];
    let signature = sign(&format!("{PUBLIC}{prefix}/mo"), &reply);
    let answer = post("/mo", reply.clone(), Some(signature)).await.unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["content-type"], "text/xml");
    assert!(answer.text().await.unwrap().ends_with("<Response/>"));
    let inbound = sink.inbound();
    assert_eq!(inbound.len(), 1);
    assert_eq!(inbound[0].from.to_string(), "+33612345678");
    assert_eq!(inbound[0].to, "+14155552345");
    assert_eq!(inbound[0].text, "STOP");
    let unsigned = post("/mo", reply, None).await.unwrap();
    assert_eq!(unsigned.status(), 403);
    assert_eq!(sink.inbound().len(), 1);
}
