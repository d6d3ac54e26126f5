//! The SMSFactor dialect, `/compat/smsfactor`: every endpoint with the
//! requests and answers of SMSFactor's documentation (seed 000), in JSON and
//! XML, every error status, and its callbacks.
//!
//! The test account has 10 EUR and the default prices (0.045 EUR per segment
//! to France): one credit is 0.045 EUR, so it holds 222 credits.

mod common;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::fixtures;
use common::{Response, TestApp, amount, paris_in_days, test_config, xml_to_json};
use relais_api::ApiConfig;
use relais_store::{EventKind, MessageStatus, Store};
use serde_json::{Value, json};

const BASE: &str = "/compat/smsfactor";
const JSON: (&str, &str) = ("accept", "application/json");
const JSON_BODY: (&str, &str) = ("content-type", "application/json");

/// The seed's campaign, sent `delay`.
fn seed_json(delay: &str) -> Value {
    json!({
        "sms": {
            "message": {
                "text": "Message via API",
                "pushtype": "alert",
                "sender": "Illidan",
                "delay": delay,
                "unicode": 0
            },
            "recipients": {
                "gsm": [
                    {"gsmsmsid": "100", "value": "33612345678"},
                    {"gsmsmsid": "101", "value": "33612345677"}
                ]
            }
        }
    })
}

fn seed_xml(delay: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<sms>
  <message>
    <text>Message via API</text>
    <pushtype>alert</pushtype>
    <sender>Illidan</sender>
    <delay>{delay}</delay>
    <unicode>0</unicode>
  </message>
  <recipients>
    <gsm gsmsmsid="100">33612345678</gsm>
    <gsm gsmsmsid="101">33612345677</gsm>
  </recipients>
</sms>"#
    )
}

impl TestApp {
    /// A JSON request with the JSON answer asked for.
    async fn sf(&self, method: Method, path: &str, body: Option<Value>) -> Response {
        let headers: &[(&str, &str)] = if body.is_some() {
            &[JSON, JSON_BODY]
        } else {
            &[JSON]
        };
        let body = body.map_or(Body::empty(), |b| Body::from(b.to_string()));
        self.raw(
            method,
            &format!("{BASE}{path}"),
            Some(&self.key.clone()),
            headers,
            body,
        )
        .await
    }
}

impl Response {
    /// An SMSFactor answer: HTTP 200 and `status` (1 or a negative code).
    #[track_caller]
    fn sf_status(&self, status: i64) -> Value {
        let body = self.json();
        assert_eq!(self.status, StatusCode::OK, "{body}");
        assert_eq!(body["status"], status, "{body}");
        if status < 0 {
            assert!(
                body["details"].as_str().is_some_and(|d| !d.is_empty()),
                "{body}"
            );
            assert!(
                body["message"].as_str().is_some_and(|m| !m.is_empty()),
                "{body}"
            );
        } else {
            assert_eq!(body["message"], "OK", "{body}");
        }
        body
    }
}

#[tokio::test]
async fn the_seed_campaign_in_json_answers_the_documented_fields() {
    let app = TestApp::new().await;
    let delay = paris_in_days(2);
    let response = app.sf(Method::POST, "/send", Some(seed_json(&delay))).await;
    assert_eq!(response.headers["content-type"], "application/json");
    let body = response.sf_status(1);
    let ticket = body["ticket"]
        .as_str()
        .expect("the ticket is a string")
        .to_owned();
    let mut expected = json!({
        "status": 1, "message": "OK", "ticket": ticket, "cost": 2, "credits": 220,
        "total": 2, "sent": 2, "blacklisted": 0, "duplicated": 0, "npai": 0, "invalid": 0,
        "not_allowed": 0, "flood": 0, "country_limit": 0
    });
    assert_eq!(body, expected);
    // The fields come in the documented order.
    let text = response.text();
    let order: Vec<&str> = text
        .split('"')
        .skip(1)
        .step_by(2)
        .filter(|k| expected.get(*k).is_some())
        .collect();
    assert_eq!(
        order,
        [
            "status",
            "message",
            "ticket",
            "cost",
            "credits",
            "total",
            "sent",
            "blacklisted",
            "duplicated",
            "npai",
            "invalid",
            "not_allowed",
            "flood",
            "country_limit"
        ]
    );

    // The same campaign through the native API: counters, cost, sender, refs, time.
    let native = app.get(&format!("/v1/campaigns/{ticket}")).await.json();
    assert_eq!(native["source"], "smsfactor");
    assert_eq!(native["cost"], "0.09");
    assert_eq!(native["sender"], "Illidan");
    assert_eq!(native["kind"], "transactional");
    assert_eq!(native["status"], "scheduled");
    expected
        .as_object_mut()
        .unwrap()
        .retain(|k, _| !["status", "message", "ticket", "cost", "credits"].contains(&k.as_str()));
    assert_eq!(native["counters"], expected);
    let zone = jiff::tz::TimeZone::get("Europe/Paris").unwrap();
    let send_at: jiff::Timestamp = native["send_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        send_at
            .to_zoned(zone)
            .strftime("%Y-%m-%d %H:%M:%S")
            .to_string(),
        delay
    );
    let messages = app
        .get(&format!("/v1/campaigns/{ticket}/messages"))
        .await
        .json();
    let refs: Vec<(&str, &str)> = messages["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["to"].as_str().unwrap(), m["ref"].as_str().unwrap()))
        .collect();
    assert_eq!(refs, [("+33612345678", "100"), ("+33612345677", "101")]);
    assert_eq!(app.balance().await, Some(amount("9.91")));
}

#[tokio::test]
async fn the_seed_campaign_in_xml_answers_xml_by_default() {
    let app = TestApp::new().await;
    let response = app
        .raw(
            Method::POST,
            &format!("{BASE}/send"),
            Some(&app.key),
            &[("content-type", "application/xml")],
            seed_xml(&paris_in_days(1)),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(
        response.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/xml")
    );
    let text = response.text();
    assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?><response><status>1</status><message>OK</message><ticket>"), "{text}");
    let body = xml_to_json(&text);
    let ticket = body["ticket"].as_str().unwrap().to_owned();
    assert_eq!(
        body,
        json!({
            "status": "1", "message": "OK", "ticket": ticket, "cost": "2", "credits": "220",
            "total": "2", "sent": "2", "blacklisted": "0", "duplicated": "0", "npai": "0",
            "invalid": "0", "not_allowed": "0", "flood": "0", "country_limit": "0"
        })
    );
    let native = app.get(&format!("/v1/campaigns/{ticket}")).await.json();
    assert_eq!(
        (native["counters"]["sent"].clone(), native["cost"].clone()),
        (json!(2), json!("0.09"))
    );
}

#[tokio::test]
async fn an_unlabelled_xml_body_and_an_xml_error_answer() {
    let app = TestApp::new().await;
    // No Content-Type: the body is sniffed; no Accept: XML comes back.
    let response = app
        .raw(
            Method::POST,
            &format!("{BASE}/send"),
            Some(&app.key),
            &[],
            seed_xml(&paris_in_days(1)),
        )
        .await;
    assert_eq!(xml_to_json(&response.text())["status"], "1");
    // The seed's own date is in the past: the bad-delay status, in XML.
    let response = app
        .raw(
            Method::POST,
            &format!("{BASE}/send"),
            Some(&app.key),
            &[],
            seed_xml("2024-12-01 10:38:06"),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK);
    let body = xml_to_json(&response.text());
    assert_eq!(
        (body["status"].as_str(), body["message"].as_str()),
        (Some("-4"), Some("Invalid delay date"))
    );
    assert_eq!(app.campaign_count().await, 1);
}

#[tokio::test]
async fn get_send_takes_the_token_in_the_query() {
    let app = TestApp::new().await;
    let uri = format!(
        "{BASE}/send?token={}&text=Code%201234&to=33612345678&gsmsmsid=order-7&sender=Shop",
        app.key
    );
    let response = app
        .raw(Method::GET, &uri, None, &[JSON], Body::empty())
        .await;
    let body = response.sf_status(1);
    assert_eq!(
        (
            body["total"].clone(),
            body["sent"].clone(),
            body["cost"].clone()
        ),
        (json!(1), json!(1), json!(1))
    );
    assert_eq!(body["credits"], 221);
    let ticket = body["ticket"].as_str().unwrap();
    let messages = app
        .get(&format!("/v1/campaigns/{ticket}/messages"))
        .await
        .json();
    assert_eq!(messages["items"][0]["ref"], "order-7");
    assert_eq!(messages["items"][0]["text"], "Code 1234");
}

#[tokio::test]
async fn marketing_unicode_and_filtering_translate_to_the_pipeline() {
    let app = TestApp::new().await;
    app.sf(
        Method::POST,
        "/blacklist",
        Some(json!({"blacklist": {"contacts": {"gsm": [{"value": "33612345670"}]}}})),
    )
    .await
    .sf_status(1);
    let body = app
        .sf(
            Method::POST,
            "/send",
            Some(json!({"sms": {"message": {"text": "Soldes !", "pushtype": "marketing", "unicode": "1"},
                "recipients": {"gsm": [{"value": "33612345678"}, {"value": "33612345678"}, {"value": "33612345670"},
                                       {"value": "12"}]}}})),
        )
        .await
        .sf_status(1);
    assert_eq!(
        (
            body["total"].clone(),
            body["sent"].clone(),
            body["duplicated"].clone(),
            body["blacklisted"].clone(),
            body["invalid"].clone()
        ),
        (json!(4), json!(1), json!(1), json!(1), json!(1))
    );
    let ticket = body["ticket"].as_str().unwrap();
    let native = app.get(&format!("/v1/campaigns/{ticket}")).await.json();
    assert_eq!(native["kind"], "marketing");
    assert_eq!(native["encoding"], "ucs2");
    assert!(
        native["text"].as_str().unwrap().contains("STOP au 36180"),
        "{native}"
    );
}

#[tokio::test]
async fn simulate_answers_without_a_ticket_and_stores_nothing() {
    let app = TestApp::new().await;
    let body = app
        .sf(
            Method::POST,
            "/send/simulate",
            Some(seed_json(&paris_in_days(1))),
        )
        .await
        .sf_status(1);
    assert!(body.get("ticket").is_none(), "{body}");
    assert_eq!(
        (
            body["cost"].clone(),
            body["credits"].clone(),
            body["sent"].clone()
        ),
        (json!(2), json!(220), json!(2))
    );
    let uri = format!("{BASE}/send/simulate?text=Hi&to=33612345678");
    let response = app
        .raw(Method::GET, &uri, Some(&app.key), &[], Body::empty())
        .await;
    let body = xml_to_json(&response.text());
    assert_eq!(
        (body["status"].as_str(), body.get("ticket")),
        (Some("1"), None)
    );
    app.assert_untouched().await;
}

#[tokio::test]
async fn credentials_are_refused_with_status_minus_one() {
    let app = TestApp::new().await;
    let body = seed_json(&paris_in_days(1)).to_string();
    for token in [Some("not-a-key"), None] {
        let response = app
            .raw(
                Method::POST,
                &format!("{BASE}/send"),
                token,
                &[JSON, JSON_BODY],
                body.clone(),
            )
            .await;
        response.sf_status(-1);
    }
    let response = app
        .raw(
            Method::GET,
            &format!("{BASE}/credits?token=nope"),
            None,
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(xml_to_json(&response.text())["status"], "-1");
    app.set_disabled(app.account.id, true).await;
    let response = app.sf(Method::GET, "/credits", None).await;
    assert!(
        response.sf_status(-1)["details"]
            .as_str()
            .unwrap()
            .contains("disabled")
    );
    app.set_disabled(app.account.id, false).await;
    app.assert_untouched().await;
}

#[tokio::test]
async fn bad_bodies_and_values_get_their_status_and_store_nothing() {
    let app = TestApp::new().await;
    let future = paris_in_days(1);
    let send = |body: Vec<u8>, content_type: &'static str| {
        let app = &app;
        async move {
            app.raw(
                Method::POST,
                &format!("{BASE}/send"),
                Some(&app.key),
                &[JSON, ("content-type", content_type)],
                body,
            )
            .await
        }
    };
    let json_ct = "application/json";
    let with = |pointer: &str, value: Value| {
        let mut body = seed_json(&future);
        *body.pointer_mut(pointer).unwrap() = value;
        body.to_string().into_bytes()
    };
    send("{\"sms\": ".into(), json_ct).await.sf_status(-6);
    send(b"{\"sms\": {\"message\": \"\xff\"}}".to_vec(), json_ct)
        .await
        .sf_status(-6);
    send("{\"sms\": {}}".into(), json_ct).await.sf_status(-7);
    send(with("/sms/message/text", json!({"a": 1})), json_ct)
        .await
        .sf_status(-7);
    send(with("/sms/message/pushtype", json!("promo")), json_ct)
        .await
        .sf_status(-7);
    send(with("/sms/message/unicode", json!(2)), json_ct)
        .await
        .sf_status(-7);
    send(
        with("/sms/message/sender", json!("A sender too long")),
        json_ct,
    )
    .await
    .sf_status(-7);
    send(with("/sms/message/text", json!("")), json_ct)
        .await
        .sf_status(-7);
    send(with("/sms/message/text", json!("Bonjour\u{0}")), json_ct)
        .await
        .sf_status(-7);
    send(with("/sms/message/text", json!("x".repeat(1600))), json_ct)
        .await
        .sf_status(-7);
    send(with("/sms/recipients/gsm", json!([])), json_ct)
        .await
        .sf_status(-7);
    send(
        with("/sms/message/delay", json!("2026-02-30 10:00:00")),
        json_ct,
    )
    .await
    .sf_status(-4);
    send(
        with("/sms/message/delay", json!("01/12/2030 10:00")),
        json_ct,
    )
    .await
    .sf_status(-4);
    send(
        with("/sms/message/delay", json!("2020-01-01 10:00:00")),
        json_ct,
    )
    .await
    .sf_status(-4);
    let xml_ct = "application/xml";
    send("<sms><message><text>Hi</text></message>".into(), xml_ct)
        .await
        .sf_status(-2);
    send(
        "<?xml version=\"1.0\"?><!DOCTYPE sms [<!ENTITY a \"aaaa\">]><sms><message><text>&a;</text></message></sms>".into(),
        xml_ct,
    )
    .await
    .sf_status(-2);
    send(
        "<sms><message><text>&ext;</text></message></sms>".into(),
        xml_ct,
    )
    .await
    .sf_status(-2);
    send("<sms><recipients/></sms>".into(), xml_ct)
        .await
        .sf_status(-7);
    let uri = format!("{BASE}/send?text=Hi&to=336%FF");
    app.raw(Method::GET, &uri, Some(&app.key), &[JSON], Body::empty())
        .await
        .sf_status(-7);
    app.assert_untouched().await;
}

#[tokio::test]
async fn not_enough_credits_is_minus_three() {
    let app = TestApp::new().await;
    let (_, key) = app.create_account("poor", Some("0.05")).await;
    let response = app
        .raw(
            Method::POST,
            &format!("{BASE}/send"),
            Some(&key),
            &[JSON, JSON_BODY],
            seed_json(&paris_in_days(1)).to_string(),
        )
        .await;
    response.sf_status(-3);
    app.assert_untouched().await;
}

#[tokio::test]
async fn a_send_with_no_valid_number_is_a_data_error_and_stores_nothing() {
    let app = TestApp::new().await;
    let gsm: Vec<Value> = (0..3)
        .map(|i| json!({"value": format!("999{i}")}))
        .collect();
    let body = json!({"sms": {"message": {"text": "Hi"}, "recipients": {"gsm": gsm}}});
    let refused = app
        .sf(Method::POST, "/send", Some(body))
        .await
        .sf_status(-7);
    assert_eq!(
        refused["details"],
        "no recipient can be sent to (3 invalid)"
    );
    app.assert_untouched().await;
}

#[tokio::test]
async fn oversized_lists_and_bodies_are_refused() {
    let app = TestApp::with_config(ApiConfig {
        max_recipients: 1,
        body_limit: 4096,
        ..test_config()
    })
    .await;
    app.sf(Method::POST, "/send", Some(seed_json(&paris_in_days(1))))
        .await
        .sf_status(-7);
    let uri = format!("{BASE}/send?text=Hi&to=33612345678,33612345677");
    app.raw(Method::GET, &uri, Some(&app.key), &[JSON], Body::empty())
        .await
        .sf_status(-7);
    let huge = json!({"sms": {"message": {"text": "x".repeat(5000)}, "recipients": {"gsm": [{"value": "33612345678"}]}}});
    app.sf(Method::POST, "/send", Some(huge))
        .await
        .sf_status(-7);
    app.assert_untouched().await;
}

#[tokio::test]
async fn a_scheduled_campaign_is_cancelled_and_refunded() {
    let app = TestApp::new().await;
    let ticket = app
        .sf(Method::POST, "/send", Some(seed_json(&paris_in_days(3))))
        .await
        .sf_status(1)["ticket"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = app
        .sf(Method::DELETE, &format!("/send/{ticket}"), None)
        .await
        .sf_status(1);
    assert_eq!(body["credits"], 2);
    assert_eq!(app.balance().await, Some(amount("10")));
    assert_eq!(
        app.get(&format!("/v1/campaigns/{ticket}")).await.json()["status"],
        "cancelled"
    );
    app.sf(Method::DELETE, &format!("/send/{ticket}"), None)
        .await
        .sf_status(-7);
    app.sf(Method::DELETE, "/send/999999", None)
        .await
        .sf_status(-5);
    app.sf(Method::DELETE, "/send/not-a-ticket", None)
        .await
        .sf_status(-5);
}

#[tokio::test]
async fn credits_are_whole_sms_as_a_string() {
    let app = TestApp::new().await;
    let body = app.sf(Method::GET, "/credits", None).await.sf_status(1);
    assert_eq!(
        body,
        json!({"status": 1, "message": "OK", "credits": "222", "postpaid": "0", "postpaid_limit": false, "unlimited": false})
    );
    let xml = app
        .raw(
            Method::GET,
            &format!("{BASE}/credits"),
            Some(&app.key),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(
        xml.text(),
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><response><status>1</status><message>OK</message>\
         <credits>222</credits><postpaid>0</postpaid><postpaid_limit>false</postpaid_limit>\
         <unlimited>false</unlimited></response>"
    );
    let (_, postpaid) = app.create_account("postpaid", None).await;
    let response = app
        .raw(
            Method::GET,
            &format!("{BASE}/credits"),
            Some(&postpaid),
            &[JSON],
            Body::empty(),
        )
        .await;
    let body = response.sf_status(1);
    assert_eq!(
        (
            body["credits"].clone(),
            body["postpaid"].clone(),
            body["unlimited"].clone()
        ),
        (json!("0"), json!("1"), json!(true))
    );
}

#[tokio::test]
async fn campaigns_read_back_in_smsfactor_s_shape() {
    let app = TestApp::new().await;
    let delay = paris_in_days(2);
    let ticket = app
        .sf(Method::POST, "/send", Some(seed_json(&delay)))
        .await
        .sf_status(1)["ticket"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = app
        .sf(Method::GET, &format!("/campaign/{ticket}"), None)
        .await
        .sf_status(1);
    let campaign = &body["campaign"][0];
    assert_eq!(campaign["id"], ticket.parse::<i64>().unwrap());
    assert_eq!(campaign["sender"], "Illidan");
    assert_eq!(campaign["text"], "Message via API");
    assert_eq!(campaign["date"], delay);
    assert!(campaign["creation_date"].as_str().unwrap().len() == 19);
    assert_eq!(campaign["lists"], json!([]));
    for (field, value) in [
        ("cost", 2),
        ("delivery_rate", 0),
        ("delivered", 0),
        ("error", 0),
        ("expired", 0),
        ("network_error", 0),
        ("stop", 0),
        ("npai", 0),
        ("total", 2),
    ] {
        assert_eq!(campaign[field], value, "{field}: {campaign}");
    }
    assert_eq!(campaign["status"], "scheduled");
    let xml = app
        .raw(
            Method::GET,
            &format!("{BASE}/campaign/{ticket}"),
            Some(&app.key),
            &[],
            Body::empty(),
        )
        .await;
    let xml = xml_to_json(&xml.text());
    assert_eq!(
        (
            xml["campaign"]["sender"].as_str(),
            xml["campaign"]["lists"].clone()
        ),
        (Some("Illidan"), Value::Null)
    );

    app.sf(Method::GET, "/campaign/424242", None)
        .await
        .sf_status(-5);
    app.sf(Method::GET, "/campaign/abc", None)
        .await
        .sf_status(-5);
    let (_, other) = app.create_account("other", Some("10")).await;
    let foreign = app
        .raw(
            Method::GET,
            &format!("{BASE}/campaign/{ticket}"),
            Some(&other),
            &[JSON],
            Body::empty(),
        )
        .await;
    foreign.sf_status(-5);
}

#[tokio::test]
async fn the_campaign_history_pages_and_filters_by_date() {
    let app = TestApp::new().await;
    for _ in 0..3 {
        app.sf(Method::POST, "/send", Some(seed_json(&paris_in_days(1))))
            .await
            .sf_status(1);
    }
    let body = app
        .sf(Method::GET, "/campaigns?start=1&length=1", None)
        .await
        .sf_status(1);
    assert_eq!(
        (
            body["totalRecords"].clone(),
            body["totalDisplayRecords"].clone()
        ),
        (json!(3), json!(1))
    );
    let item = &body["campaigns"][0];
    let keys: Vec<&str> = item
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.len(), 6, "{item}");
    for key in ["id", "sender", "text", "date", "cost", "delivery_rate"] {
        assert!(item.get(key).is_some(), "{key} in {item}");
    }
    let today = paris_in_days(0);
    let today = &today[..10];
    let body = app
        .sf(
            Method::GET,
            &format!("/campaigns?date_start={today}&date_end={today}"),
            None,
        )
        .await
        .sf_status(1);
    assert_eq!(body["totalRecords"], 3);
    let tomorrow = &paris_in_days(1)[..10];
    let body = app
        .sf(
            Method::GET,
            &format!("/campaigns?date_start={tomorrow}"),
            None,
        )
        .await
        .sf_status(1);
    assert_eq!(
        (body["totalRecords"].clone(), body["campaigns"].clone()),
        (json!(0), json!([]))
    );
    app.sf(Method::GET, "/campaigns?length=1001", None)
        .await
        .sf_status(-7);
    app.sf(Method::GET, "/campaigns?date_start=2024-02-30", None)
        .await
        .sf_status(-7);
}

#[tokio::test]
async fn the_blacklist_adds_lists_and_removes() {
    let app = TestApp::new().await;
    let add = json!({"blacklist": {"contacts": {"gsm": [{"value": "33612345678", "info1": "client 12"}, {"value": "33612345677"}]}}});
    assert_eq!(
        app.sf(Method::POST, "/blacklist", Some(add.clone()))
            .await
            .sf_status(1)["added_contacts"],
        2
    );
    assert_eq!(
        app.sf(Method::POST, "/blacklist", Some(add))
            .await
            .sf_status(1)["added_contacts"],
        0
    );
    let xml = "<blacklist><contacts><gsm info2=\"x\">33612345676</gsm></contacts></blacklist>";
    let response = app
        .raw(
            Method::POST,
            &format!("{BASE}/blacklist"),
            Some(&app.key),
            &[("content-type", "text/xml")],
            xml,
        )
        .await;
    assert_eq!(xml_to_json(&response.text())["added_contacts"], "1");

    let body = app.sf(Method::GET, "/blacklist", None).await.sf_status(1);
    assert_eq!(body["totalRecords"], 3);
    let list = body["list"].as_array().unwrap();
    let first = list
        .iter()
        .find(|c| c["destination"] == "33612345678")
        .expect("listed");
    assert_eq!(
        (first["info1"].as_str(), first["info2"].as_str()),
        (Some("client 12"), Some(""))
    );
    assert!(
        first["id"].is_string() && first["date"].as_str().unwrap().len() == 19,
        "{first}"
    );
    assert!(first.get("campaign_id").is_some() && first.get("batch_id").is_some());

    // A blacklisted number is filtered from sends: a simulation counts it;
    // a send left with no recipient is refused and stores nothing.
    let message = json!({"sms": {"message": {"text": "Hi"}, "recipients": {"gsm": [{"value": "33612345678"}]}}});
    let simulated = app
        .sf(Method::POST, "/send/simulate", Some(message.clone()))
        .await
        .sf_status(1);
    assert_eq!(
        (simulated["blacklisted"].clone(), simulated["sent"].clone()),
        (json!(1), json!(0))
    );
    let refused = app
        .sf(Method::POST, "/send", Some(message))
        .await
        .sf_status(-7);
    assert_eq!(
        refused["details"],
        "no recipient can be sent to (1 blacklisted)"
    );
    app.assert_untouched().await;

    let id = first["id"].as_str().unwrap();
    app.sf(Method::DELETE, &format!("/blacklist/contact/{id}"), None)
        .await
        .sf_status(1);
    app.sf(Method::DELETE, &format!("/blacklist/contact/{id}"), None)
        .await
        .sf_status(-5);
    assert_eq!(
        app.sf(Method::GET, "/blacklist", None).await.sf_status(1)["totalRecords"],
        2
    );

    let bad =
        json!({"blacklist": {"contacts": {"gsm": [{"value": "33612345600"}, {"value": "12"}]}}});
    app.sf(Method::POST, "/blacklist", Some(bad))
        .await
        .sf_status(-7);
    app.sf(
        Method::POST,
        "/blacklist",
        Some(json!({"npai": {"contacts": {"gsm": []}}})),
    )
    .await
    .sf_status(-7);
    assert_eq!(
        app.sf(Method::GET, "/blacklist", None).await.sf_status(1)["totalRecords"],
        2
    );
}

#[tokio::test]
async fn the_npai_list_filters_sends() {
    let app = TestApp::new().await;
    let add = json!({"npai": {"contacts": {"gsm": [{"value": "33612345678"}]}}});
    assert_eq!(
        app.sf(Method::POST, "/npai", Some(add)).await.sf_status(1)["added_contacts"],
        1
    );
    let body = app.sf(Method::GET, "/npai", None).await.sf_status(1);
    assert_eq!(body["list"][0]["destination"], "33612345678");
    let sent = app
        .sf(Method::POST, "/send/simulate", Some(json!({"sms": {"message": {"text": "Hi"}, "recipients": {"gsm": [{"value": "33612345678"}]}}})))
        .await
        .sf_status(1);
    assert_eq!(sent["npai"], 1);
}

#[tokio::test]
async fn webhooks_set_the_account_s_callback_urls() {
    let app = TestApp::with_config(ApiConfig {
        allow_private_callbacks: true,
        ..test_config()
    })
    .await;
    let body = app
        .sf(Method::POST, "/webhook", Some(json!({"webhook": {"type": "DLR", "url": "http://127.0.0.1:9/dlr", "signature": "s3cret"}})))
        .await
        .sf_status(1);
    assert_eq!(
        body["webhook"],
        json!({"webhook_id": "1", "type": "DLR", "url": "http://127.0.0.1:9/dlr"})
    );
    let xml = "<webhook><type>MO</type><url>http://127.0.0.1:9/mo</url></webhook>";
    let response = app
        .raw(
            Method::POST,
            &format!("{BASE}/webhook"),
            Some(&app.key),
            &[("content-type", "application/xml")],
            xml,
        )
        .await;
    assert_eq!(xml_to_json(&response.text())["webhook"]["webhook_id"], "2");

    let account = app.store.account(app.account.id).await.unwrap().unwrap();
    assert_eq!(
        account.settings.webhooks.dlr.as_deref(),
        Some("http://127.0.0.1:9/dlr")
    );
    assert_eq!(
        account.settings.webhooks.inbound.as_deref(),
        Some("http://127.0.0.1:9/mo")
    );
    assert_eq!(account.settings.webhook_secret, "s3cret");
    assert_eq!(
        account.settings.webhooks.dialect.as_deref(),
        Some("smsfactor")
    );

    let list = app.sf(Method::GET, "/webhook", None).await.sf_status(1);
    assert_eq!(
        list["webhooks"],
        json!([
            {"webhook_id": "1", "type": "DLR", "url": "http://127.0.0.1:9/dlr"},
            {"webhook_id": "2", "type": "MO", "url": "http://127.0.0.1:9/mo"},
            {"webhook_id": "3", "type": "STOP", "url": "http://127.0.0.1:9/mo"}
        ])
    );
    let updated = app
        .sf(
            Method::PUT,
            "/webhook/1",
            Some(json!({"webhook": {"type": "DLR", "url": "http://127.0.0.1:9/dlr2"}})),
        )
        .await
        .sf_status(1);
    assert_eq!(updated["webhook"]["url"], "http://127.0.0.1:9/dlr2");
    app.sf(
        Method::PUT,
        "/webhook/1",
        Some(json!({"webhook": {"type": "MO"}})),
    )
    .await
    .sf_status(-7);
    let deleted = app
        .sf(Method::DELETE, "/webhook/3", None)
        .await
        .sf_status(1);
    assert_eq!(deleted["deleted_id"], "3");
    app.sf(Method::DELETE, "/webhook/2", None)
        .await
        .sf_status(-5);
    app.sf(
        Method::PUT,
        "/webhook/9",
        Some(json!({"webhook": {"url": "http://127.0.0.1:9/x"}})),
    )
    .await
    .sf_status(-5);
    let account = app.store.account(app.account.id).await.unwrap().unwrap();
    assert_eq!(
        account.settings.webhooks.dlr.as_deref(),
        Some("http://127.0.0.1:9/dlr2")
    );
    assert_eq!(account.settings.webhooks.inbound, None);
}

/// Webhook changes change only the webhook fields: an operator's changes
/// made at the same time are all kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_changes_keep_concurrent_settings_changes() {
    let app = std::sync::Arc::new(TestApp::new().await);
    let uri = format!("/admin/accounts/{}/settings", app.account.id);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..30u8 {
        let (admin, uri) = (app.clone(), uri.clone());
        tasks.spawn(async move {
            let country = format!("{}{}", char::from(b'A' + i / 26), char::from(b'A' + i % 26));
            let response = admin
                .admin(
                    Method::PUT,
                    &uri,
                    Some(json!({"monthly_limits": {country: 1}})),
                )
                .await;
            assert_eq!(response.status, StatusCode::OK, "{}", response.text());
        });
        let client = app.clone();
        tasks.spawn(async move {
            let (path, method) = match i % 3 {
                0 => ("/webhook".to_string(), Method::POST),
                1 => ("/webhook/1".to_string(), Method::PUT),
                _ => ("/webhook/3".to_string(), Method::DELETE),
            };
            let body = (method != Method::DELETE).then(
                || json!({"webhook": {"type": "DLR", "url": format!("https://example.com/{i}")}}),
            );
            client.sf(method, &path, body).await;
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
    assert_eq!(
        settings.monthly_limits.len(),
        30,
        "{:?}",
        settings.monthly_limits
    );
    assert_eq!(settings.webhooks.dialect.as_deref(), Some("smsfactor"));
}

#[tokio::test]
async fn unsupported_or_unsafe_webhooks_are_refused() {
    let app = TestApp::new().await;
    for webhook in [
        json!({"type": "CLICKER", "url": "https://example.com/c"}),
        json!({"type": "BALANCE_ALERT", "url": "https://example.com/c"}),
        json!({"type": "NOPE", "url": "https://example.com/c"}),
        json!({"type": "DLR", "url": "http://127.0.0.1/private"}),
        json!({"type": "DLR"}),
        json!({"url": "https://example.com/c"}),
    ] {
        app.sf(Method::POST, "/webhook", Some(json!({"webhook": webhook})))
            .await
            .sf_status(-7);
    }
    let account = app.store.account(app.account.id).await.unwrap().unwrap();
    assert_eq!(account.settings, app.account.settings);
}

fn rendered(
    kind: EventKind,
    status: Option<MessageStatus>,
    facts: &relais_engine::webhooks::CallbackFacts,
) -> Option<Value> {
    let webhook = fixtures::webhook("smsfactor", kind, status);
    let rendered = relais_api::dialects::render_callback(&webhook, facts)
        .expect("smsfactor renders its callbacks")?;
    assert_eq!(rendered.content_type, "application/json");
    Some(serde_json::from_slice(&rendered.body).unwrap())
}

#[test]
fn delivery_reports_in_smsfactor_s_shape() {
    let facts = fixtures::status_facts("smsfactor", Some("100"));
    assert_eq!(
        rendered(EventKind::Status, Some(MessageStatus::Delivered), &facts),
        Some(
            json!({"date": "2024-07-25T06:23:06+02:00", "status": 3, "destination": "33612345678",
                    "message_id": "100", "campaign_id": "15948909", "country_code": "FR"})
        )
    );
    let statuses = [
        (MessageStatus::Submitted, Some(1)),
        (MessageStatus::Undelivered, Some(2)),
        (MessageStatus::Rejected, Some(9)),
        (MessageStatus::Failed, Some(11)),
        (MessageStatus::Expired, Some(12)),
        (MessageStatus::Queued, None),
        (MessageStatus::Cancelled, None),
    ];
    for (status, code) in statuses {
        let body = rendered(EventKind::Status, Some(status), &facts);
        assert_eq!(
            body.map(|b| b["status"].clone()),
            code.map(Value::from),
            "{status:?}"
        );
    }
    // Without a gsmsmsid, the message's own id.
    let facts = fixtures::status_facts("smsfactor", None);
    let body = rendered(EventKind::Status, Some(MessageStatus::Delivered), &facts).unwrap();
    assert_eq!(body["message_id"], "12");
}

#[test]
fn replies_and_stops_in_smsfactor_s_shape() {
    let mo = fixtures::inbound_facts("Merci !", false);
    assert_eq!(
        rendered(EventKind::Inbound, None, &mo),
        Some(
            json!({"date": "2024-07-25T06:23:06+02:00", "message": "Merci !", "from": "33612345678",
                    "account_id": "7", "last_message_id": "12"})
        )
    );
    let stop = fixtures::inbound_facts("STOP", true);
    let body = rendered(EventKind::Stop, None, &stop).unwrap();
    assert_eq!(body["message"], "Stop SMS");
    assert_eq!(body["from"], "33612345678");
    // Facts that do not match the event render nothing.
    assert_eq!(
        rendered(EventKind::Status, Some(MessageStatus::Delivered), &mo),
        None
    );
}

#[test]
fn signed_pushes_carry_x_smsfactor_signature() {
    use relais_engine::webhooks::{CallbackFacts, hmac_sha256_hex};
    let webhook = fixtures::webhook(
        "smsfactor",
        EventKind::Status,
        Some(MessageStatus::Delivered),
    );
    let header = |facts: &CallbackFacts| {
        let rendered = relais_api::dialects::render_callback(&webhook, facts)
            .unwrap()
            .unwrap();
        let signature = rendered
            .headers
            .iter()
            .find(|(name, _)| *name == "x-smsfactor-signature")
            .map(|(_, value)| value.clone());
        (signature, rendered.body)
    };
    // No signature registered: no header.
    let facts = fixtures::status_facts("smsfactor", Some("100"));
    assert_eq!(header(&facts).0, None);
    let CallbackFacts::Status {
        mut account,
        campaign,
        message,
    } = facts
    else {
        unreachable!()
    };
    account.settings.webhook_secret = "s3cret".into();
    let (signature, body) = header(&CallbackFacts::Status {
        account,
        campaign,
        message,
    });
    assert_eq!(signature, Some(hmac_sha256_hex("s3cret", &[&body])));
}
