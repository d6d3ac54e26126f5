//! The SMS Partner dialect, `/compat/smspartner/v1`: every endpoint with the
//! requests and answers of SMS Partner's documentation (seed 001) and of its
//! official Go client's fixtures, in JSON and XML, every error code, and its
//! callbacks.
//!
//! The test account has 10 EUR and the default prices (0.045 EUR per segment
//! to France, 0.035 low cost).

mod common;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::fixtures;
use common::{Response, TestApp, amount, test_config, xml_to_json};
use relais_api::ApiConfig;
use relais_core::number::Country;
use relais_store::{CarrierReport, EventKind, MessageStatus, NewInbound, Store, SubmitOutcome};
use serde_json::{Value, json};

const BASE: &str = "/compat/smspartner/v1";

impl TestApp {
    /// A JSON POST with the account's `apiKey` added to `body`.
    async fn sp_post(&self, path: &str, mut body: Value) -> Response {
        body["apiKey"] = self.key.clone().into();
        self.raw(
            Method::POST,
            &format!("{BASE}{path}"),
            None,
            &[("content-type", "application/json")],
            body.to_string(),
        )
        .await
    }

    /// A GET with `apiKey` and `query` in the query string.
    async fn sp_get(&self, path: &str, query: &str) -> Response {
        let uri = format!("{BASE}{path}?apiKey={}&{query}", self.key);
        self.raw(Method::GET, &uri, None, &[], Body::empty()).await
    }
}

impl Response {
    #[track_caller]
    fn sp_ok(&self) -> Value {
        let body = self.json();
        assert_eq!(self.status, StatusCode::OK, "{body}");
        assert_eq!(
            (body["success"].clone(), body["code"].clone()),
            (json!(true), json!(200)),
            "{body}"
        );
        body
    }

    /// An error answer: its HTTP status and code; answers the body.
    #[track_caller]
    fn sp_error(&self, status: u16, code: u16) -> Value {
        let body = self.json();
        assert_eq!(self.status.as_u16(), status, "{body}");
        assert_eq!(
            (body["success"].clone(), body["code"].clone()),
            (json!(false), json!(code)),
            "{body}"
        );
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{body}"
        );
        body
    }

    /// A code 9 answer: the fields at fault, in order.
    #[track_caller]
    fn sp_constraints(&self) -> Vec<String> {
        let body = self.sp_error(400, 9);
        assert_eq!(body["error"], body["errors"], "{body}");
        body["error"]
            .as_array()
            .expect("an error list")
            .iter()
            .map(|e| {
                assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{e}");
                e["elementId"].as_str().unwrap().to_owned()
            })
            .collect()
    }
}

/// `dd/mm/YYYY` of the day `days` from now in Paris.
fn paris_dmy(days: i64) -> String {
    let zone = jiff::tz::TimeZone::get("Europe/Paris").unwrap();
    let date = jiff::Timestamp::now().to_zoned(zone).date() + jiff::Span::new().days(days);
    date.strftime("%d/%m/%Y").to_string()
}

#[tokio::test]
async fn a_send_answers_like_the_documentation_and_lands_in_the_native_api() {
    let app = TestApp::new().await;
    let response = app
        .sp_post(
            "/send",
            json!({"phoneNumbers": "0612345678,+33612345677", "message": "Bonjour:br:à demain", "sender": "Relais", "tag": "rentree"}),
        )
        .await;
    let body = response.sp_ok();
    let id = body["message_id"].as_i64().expect("message_id is a number");
    assert_eq!(
        body,
        json!({"success": true, "code": 200, "message_id": id, "nb_sms": 2, "cost": 0.09, "currency": "EUR"})
    );
    assert!(
        response.text().contains("\"cost\":0.09,"),
        "exact decimal: {}",
        response.text()
    );
    let native = app.get(&format!("/v1/campaigns/{id}")).await.json();
    assert_eq!(native["source"], "smspartner");
    assert_eq!(native["cost"], "0.09");
    assert_eq!(native["tag"], "rentree");
    assert_eq!(native["sender"], "Relais");
    assert_eq!(native["route_class"], "premium");
    assert_eq!(native["text"], "Bonjour\nà demain");
    assert_eq!(
        (
            native["counters"]["total"].clone(),
            native["counters"]["sent"].clone()
        ),
        (json!(2), json!(2))
    );
    assert_eq!(app.balance().await, Some(amount("9.91")));
}

#[tokio::test]
async fn xml_answers_on_request() {
    let app = TestApp::new().await;
    let response = app
        .sp_post(
            "/send",
            json!({"phoneNumbers": "0612345678", "message": "Hi", "_format": "xml"}),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(
        response.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/xml")
    );
    let body = xml_to_json(&response.text());
    assert_eq!(
        (
            body["success"].as_str(),
            body["code"].as_str(),
            body["nb_sms"].as_str()
        ),
        (Some("true"), Some("200"), Some("1"))
    );
    assert_eq!(body["cost"], "0.045");
    let me = app.sp_get("/me", "_format=xml").await;
    assert_eq!(xml_to_json(&me.text())["credits"]["currency"], "EUR");
    let error = app
        .raw(
            Method::GET,
            &format!("{BASE}/me?_format=xml&apiKey=nope"),
            None,
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(error.status, StatusCode::UNAUTHORIZED);
    assert_eq!(xml_to_json(&error.text())["code"], "10");
    app.sp_get("/me", "_format=csv").await.sp_constraints();
}

#[tokio::test]
async fn gamme_stop_unicode_translate_to_the_pipeline() {
    let app = TestApp::new().await;
    let body = app
        .sp_post("/send", json!({"phoneNumbers": "0612345678", "message": "Promo", "gamme": 2, "isStopSms": "1", "isUnicode": 1}))
        .await
        .sp_ok();
    let native = app
        .get(&format!("/v1/campaigns/{}", body["message_id"]))
        .await
        .json();
    assert_eq!(native["route_class"], "low_cost");
    assert_eq!(native["kind"], "marketing");
    assert_eq!(native["encoding"], "ucs2");
    assert!(
        native["text"].as_str().unwrap().ends_with("STOP au 36180"),
        "{native}"
    );
}

#[tokio::test]
async fn sandbox_sends_nothing_and_charges_nothing() {
    let app = TestApp::new().await;
    let body = app
        .sp_post(
            "/send",
            json!({"phoneNumbers": "0612345678,0612345677", "message": "Test", "sandbox": 1}),
        )
        .await
        .sp_ok();
    assert_eq!(
        body,
        json!({"success": true, "code": 200, "nb_sms": 2, "cost": 0.09, "currency": "EUR"})
    );
    app.assert_untouched().await;
}

#[tokio::test]
async fn a_scheduled_send_needs_time_and_minute() {
    let app = TestApp::new().await;
    let tomorrow = paris_dmy(1);
    let body = app
        .sp_post("/send", json!({"phoneNumbers": "0612345678", "message": "Plus tard", "scheduledDeliveryDate": tomorrow, "time": 9, "minute": "35"}))
        .await
        .sp_ok();
    let (d, m, y) = (&tomorrow[..2], &tomorrow[3..5], &tomorrow[6..]);
    assert_eq!(
        body["scheduledDeliveryDate"],
        format!("{y}-{m}-{d} 09:35:00")
    );
    let native = app
        .get(&format!("/v1/campaigns/{}", body["message_id"]))
        .await
        .json();
    assert_eq!(native["status"], "scheduled");

    let before = app.campaign_count().await;
    let bad = |extra: Value| {
        let mut body = json!({"phoneNumbers": "0612345678", "message": "x"});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    let fields = app
        .sp_post("/send", bad(json!({"scheduledDeliveryDate": tomorrow})))
        .await
        .sp_constraints();
    assert_eq!(fields, ["children[time].data", "children[minute].data"]);
    let fields = app
        .sp_post(
            "/send",
            bad(json!({"scheduledDeliveryDate": tomorrow, "time": 9, "minute": 7})),
        )
        .await
        .sp_constraints();
    assert_eq!(fields, ["children[minute].data"]);
    let fields = app
        .sp_post(
            "/send",
            bad(json!({"scheduledDeliveryDate": tomorrow, "time": 24, "minute": 0})),
        )
        .await
        .sp_constraints();
    assert_eq!(fields, ["children[time].data"]);
    let fields = app
        .sp_post(
            "/send",
            bad(json!({"scheduledDeliveryDate": "31/02/2030", "time": 9, "minute": 0})),
        )
        .await
        .sp_constraints();
    assert_eq!(fields, ["children[scheduledDeliveryDate].data"]);
    let fields = app
        .sp_post(
            "/send",
            bad(json!({"scheduledDeliveryDate": paris_dmy(-2), "time": 9, "minute": 0})),
        )
        .await
        .sp_constraints();
    assert_eq!(fields, ["children[scheduledDeliveryDate].data"]);
    let fields = app
        .sp_post("/send", bad(json!({"message": "Bonjour\u{1}"})))
        .await
        .sp_constraints();
    assert_eq!(fields, ["children[message].data"]);
    assert_eq!(app.campaign_count().await, before);
}

#[tokio::test]
async fn credentials_get_codes_1_10_and_20() {
    let app = TestApp::new().await;
    let send = json!({"phoneNumbers": "0612345678", "message": "Hi"});
    let uri = format!("{BASE}/send");
    let post = |body: Value| {
        app.raw(
            Method::POST,
            &uri,
            None,
            &[("content-type", "application/json")],
            body.to_string(),
        )
    };
    post(send.clone()).await.sp_error(401, 1);
    let mut wrong = send.clone();
    wrong["apiKey"] = "nope".into();
    post(wrong).await.sp_error(401, 10);
    app.raw(Method::GET, &format!("{BASE}/me"), None, &[], Body::empty())
        .await
        .sp_error(401, 1);
    // The key may also come in the query of a POST.
    let uri = format!("{BASE}/send?apiKey={}", app.key);
    let response = app
        .raw(
            Method::POST,
            &uri,
            None,
            &[("content-type", "application/json")],
            json!({"phoneNumbers": "0612345678", "message": "Hi", "sandbox": 1}).to_string(),
        )
        .await;
    response.sp_ok();
    app.set_disabled(app.account.id, true).await;
    app.sp_post("/send", send).await.sp_error(403, 20);
    app.set_disabled(app.account.id, false).await;
    app.assert_untouched().await;
}

#[tokio::test]
async fn bad_sends_get_their_code_and_store_nothing() {
    let app = TestApp::new().await;
    app.sp_post("/send", json!({"message": "Hi"}))
        .await
        .sp_error(400, 2);
    app.sp_post("/send", json!({"phoneNumbers": " , ", "message": "Hi"}))
        .await
        .sp_error(400, 2);
    let many: Vec<String> = (0..501).map(|i| format!("+336123{i:05}")).collect();
    app.sp_post(
        "/send",
        json!({"phoneNumbers": many.join(","), "message": "Hi"}),
    )
    .await
    .sp_error(400, 50);
    assert_eq!(
        app.sp_post("/send", json!({"phoneNumbers": "0612345678"}))
            .await
            .sp_constraints(),
        ["children[message].data"]
    );
    app.sp_post(
        "/send",
        json!({"phoneNumbers": "0612345678", "message": "x".repeat(1600)}),
    )
    .await
    .sp_error(400, 52);
    let fields = app
        .sp_post(
            "/send",
            json!({"phoneNumbers": "0612345678,0699", "message": "Hi"}),
        )
        .await
        .sp_constraints();
    assert_eq!(fields, ["children[phoneNumbers].data"]);
    let fields = app
        .sp_post("/send", json!({"phoneNumbers": "0612345678", "message": "Hi", "sender": "Far too long a sender", "gamme": 3, "tag": "t".repeat(21), "urlDlr": "http://10.0.0.1/dlr", "isStopSms": "yes"}))
        .await
        .sp_constraints();
    assert_eq!(
        fields,
        [
            "children[gamme].data",
            "children[isStopSms].data",
            "children[tag].data",
            "children[urlDlr].data"
        ]
    );
    let fields = app.sp_post("/send", json!({"phoneNumbers": "0612345678", "message": "Hi", "sender": "Far too long a sender"})).await.sp_constraints();
    assert_eq!(fields, ["children[sender].data"]);
    for body in ["{\"phoneNumbers\": ", "[1, 2]", "\"text\""] {
        let uri = format!("{BASE}/send?apiKey={}", app.key);
        app.raw(
            Method::POST,
            &uri,
            None,
            &[("content-type", "application/json")],
            body,
        )
        .await
        .sp_error(400, 90);
    }
    app.assert_untouched().await;
}

#[tokio::test]
async fn not_enough_credit_is_11() {
    let app = TestApp::new().await;
    let (_, key) = app.create_account("poor", Some("0.01")).await;
    let body = json!({"apiKey": key, "phoneNumbers": "0612345678", "message": "Hi"});
    let response = app
        .raw(
            Method::POST,
            &format!("{BASE}/send"),
            None,
            &[("content-type", "application/json")],
            body.to_string(),
        )
        .await;
    response.sp_error(402, 11);
    app.assert_untouched().await;
}

#[tokio::test]
async fn a_stopped_number_is_14_and_an_unpriced_destination_13() {
    let app = TestApp::new().await;
    let stop = app
        .sp_post("/stop-sms/add", json!({"phoneNumber": "0612345678"}))
        .await
        .sp_ok();
    assert!(stop["stopId"].as_i64().is_some(), "{stop}");
    app.sp_post(
        "/send",
        json!({"phoneNumbers": "0612345678", "message": "Hi"}),
    )
    .await
    .sp_error(400, 14);
    // Among others, a stopped number is only filtered.
    let body = app
        .sp_post(
            "/send",
            json!({"phoneNumbers": "0612345678,0612345677", "message": "Hi", "sandbox": 1}),
        )
        .await
        .sp_ok();
    assert_eq!(body["nb_sms"], 1);

    let mut account = app.store.account(app.account.id).await.unwrap().unwrap();
    account.settings.allowed_countries = Some(vec![Country::FR]);
    app.pipeline
        .accounts()
        .update_settings(account.id, &account.settings)
        .await
        .unwrap();
    app.sp_post(
        "/send",
        json!({"phoneNumbers": "+4915112345678,+32470123456", "message": "Hi"}),
    )
    .await
    .sp_error(400, 13);
    assert_eq!(app.campaign_count().await, 0);
}

#[tokio::test]
async fn bulk_send_answers_each_entry() {
    let app = TestApp::new().await;
    let body = app
        .sp_post(
            "/bulk-send",
            json!({"sender": "Relais", "SMSList": [
                {"phoneNumber": "+33612345671", "message": "Bonjour Anne"},
                {"phoneNumber": "0699", "message": "Bonjour ?"},
                {"phoneNumber": "+33612345672", "message": "Bonjour Paul, ".repeat(12)}
            ]}),
        )
        .await
        .sp_ok();
    let id = body["message_id"].as_i64().unwrap();
    assert_eq!(
        (
            body["currency"].clone(),
            body["nbSMS"].clone(),
            body["cost"].clone()
        ),
        (json!("EUR"), json!(3), json!(0.135))
    );
    let list = body["SMSResponse_List"].as_array().unwrap();
    assert_eq!(
        list[0],
        json!({"success": true, "code": 200, "nbSms": 1, "cost": 0.045, "phoneNumber": "+33612345671"})
    );
    assert_eq!(
        (
            list[1]["success"].clone(),
            list[1]["code"].clone(),
            list[1]["phoneNumber"].clone()
        ),
        (json!(false), json!(9), json!("0699"))
    );
    assert_eq!(
        (list[2]["nbSms"].clone(), list[2]["cost"].clone()),
        (json!(2), json!(0.09))
    );
    let messages = app
        .get(&format!("/v1/campaigns/{id}/messages"))
        .await
        .json();
    assert_eq!(messages["items"][0]["text"], "Bonjour Anne");
    let native = app.get(&format!("/v1/campaigns/{id}")).await.json();
    assert_eq!(
        (
            native["cost"].clone(),
            native["counters"]["invalid"].clone()
        ),
        (json!("0.135"), json!(1))
    );

    let before = app.campaign_count().await;
    app.sp_post("/bulk-send", json!({"SMSList": []}))
        .await
        .sp_error(400, 2);
    let fields = app
        .sp_post(
            "/bulk-send",
            json!({"SMSList": [{"phoneNumber": "0612345678"}]}),
        )
        .await
        .sp_constraints();
    assert_eq!(fields, ["children[SMSList][0][message].data"]);
    let many: Vec<Value> = (0..501)
        .map(|i| json!({"phoneNumber": format!("+336123{i:05}"), "message": "x"}))
        .collect();
    app.sp_post("/bulk-send", json!({"SMSList": many}))
        .await
        .sp_error(400, 50);
    assert_eq!(app.campaign_count().await, before);
}

/// Hands the due messages to a pretend carrier and reports `status` for them.
async fn deliver_all(app: &TestApp, status: MessageStatus) {
    let now = relais_store::clock::now_ms();
    let leased = app.store.claim_due(now, 100, now + 60_000).await.unwrap();
    let outcomes: Vec<_> = leased
        .iter()
        .map(|m| {
            (
                m.id,
                SubmitOutcome::Submitted {
                    connector: "sim".into(),
                    carrier_ids: vec![format!("c-{}", m.id)],
                    report_by: i64::MAX,
                },
            )
        })
        .collect();
    app.store.record_submissions(&outcomes, now).await.unwrap();
    let reports: Vec<_> = leased
        .iter()
        .map(|m| CarrierReport {
            connector: "sim".into(),
            carrier_id: format!("c-{}", m.id),
            status,
            error: None,
            at: now,
        })
        .collect();
    app.store.apply_reports(&reports).await.unwrap();
}

#[tokio::test]
async fn statuses_of_one_several_and_all_messages() {
    let app = TestApp::new().await;
    let id = app
        .sp_post(
            "/send",
            json!({"phoneNumbers": "0612345678,0612345677", "message": "Hi"}),
        )
        .await
        .sp_ok()["message_id"]
        .as_i64()
        .unwrap();
    let waiting = app
        .sp_get(
            "/message-status",
            &format!("messageId={id}&phoneNumber=0612345678"),
        )
        .await
        .sp_ok();
    assert_eq!(waiting["statut"], "Waiting");
    deliver_all(&app, MessageStatus::Delivered).await;
    app.sp_post("/stop-sms/add", json!({"phoneNumber": "+33612345677"}))
        .await
        .sp_ok();

    let status = app
        .sp_get(
            "/message-status",
            &format!("messageId={id}&phoneNumber=%2B33612345678"),
        )
        .await
        .sp_ok();
    let date = status["date"]
        .as_str()
        .expect("date is a string")
        .to_owned();
    assert!(date.parse::<i64>().is_ok(), "{status}");
    assert_eq!(
        status,
        json!({"success": true, "code": 200, "number": "+33612345678", "messageId": id.to_string(), "stopSms": false,
               "date": date, "statut": "Delivered", "cost": 0.045, "countryCode": "FR", "currency": "EUR"})
    );
    let stopped = app
        .sp_get(
            "/message-status",
            &format!("messageId={id}&phoneNumber=0612345677"),
        )
        .await
        .sp_ok();
    assert_eq!(stopped["stopSms"], true);

    let bulk = app
        .sp_get("/bulk-status", &format!("messageId={id}"))
        .await
        .sp_ok();
    assert_eq!(bulk["message_id"], id.to_string());
    let list = bulk["StatutResponse_List"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert!(
        list.iter().all(|s| s["status"] == "Delivered"
            && s["date"].is_string()
            && s["stopSMS"].is_boolean()),
        "{bulk}"
    );

    for key in ["SMSStatut_List", "SMSStatus_List"] {
        let multi = app
            .sp_post("/multi-status", json!({key: [{"phoneNumber": "0612345678", "messageId": id}, {"phoneNumber": "0611111111", "messageId": id}]}))
            .await
            .sp_ok();
        let list = multi["StatutResponse_List"].as_array().unwrap();
        assert_eq!(
            (
                list[0]["status"].clone(),
                list[0]["messageId"].clone(),
                list[0]["stopSms"].clone()
            ),
            (json!("Delivered"), json!(id), json!("0"))
        );
        assert_eq!(
            list[1],
            json!({"success": false, "code": 4, "phoneNumber": "0611111111", "messageId": id, "status": "Numéro introuvable"})
        );
    }

    app.sp_get("/message-status", "phoneNumber=0612345678")
        .await
        .sp_error(400, 3);
    app.sp_get("/message-status", &format!("messageId={id}"))
        .await
        .sp_error(400, 2);
    app.sp_get("/message-status", "messageId=999999&phoneNumber=0612345678")
        .await
        .sp_error(404, 4);
    app.sp_get(
        "/message-status",
        &format!("messageId={id}&phoneNumber=0699999999"),
    )
    .await
    .sp_error(404, 4);
    app.sp_get("/bulk-status", "messageId=abc")
        .await
        .sp_error(404, 4);
    app.sp_get("/bulk-status", "").await.sp_error(400, 3);
    app.sp_post("/multi-status", json!({}))
        .await
        .sp_constraints();
    let (_, other) = app.create_account("other", Some("1")).await;
    let uri = format!("{BASE}/bulk-status?apiKey={other}&messageId={id}");
    app.raw(Method::GET, &uri, None, &[], Body::empty())
        .await
        .sp_error(404, 4);

    // An unknown campaign id, a non-numeric one and another account's
    // campaign fail their own item only, as the provider answers.
    let multi = app
        .sp_post(
            "/multi-status",
            json!({"SMSStatut_List": [
                {"phoneNumber": "0612345678", "messageId": 999999},
                {"phoneNumber": "0612345678", "messageId": id},
                {"phoneNumber": "0612345678", "messageId": "abc"},
            ]}),
        )
        .await
        .sp_ok();
    let list = multi["StatutResponse_List"].as_array().unwrap();
    assert_eq!(list.len(), 3, "{multi}");
    assert_eq!(
        list[0],
        json!({"success": false, "code": 4, "phoneNumber": "0612345678", "messageId": 999999, "status": "Numéro introuvable"})
    );
    assert_eq!(list[1]["status"], "Delivered", "{multi}");
    assert_eq!(list[2]["code"], 4, "{multi}");
    let uri = format!("{BASE}/multi-status");
    let body = json!({"apiKey": other, "SMSStatut_List": [{"phoneNumber": "0612345678", "messageId": id}]});
    let theirs = app
        .raw(
            Method::POST,
            &uri,
            None,
            &[("content-type", "application/json")],
            Body::from(body.to_string()),
        )
        .await
        .sp_ok();
    assert_eq!(theirs["StatutResponse_List"][0]["code"], 4, "{theirs}");
}

#[tokio::test]
async fn undelivered_and_refused_messages_have_their_words() {
    let app = TestApp::new().await;
    let id = app
        .sp_post(
            "/send",
            json!({"phoneNumbers": "0612345678", "message": "Hi"}),
        )
        .await
        .sp_ok()["message_id"]
        .clone();
    deliver_all(&app, MessageStatus::Undelivered).await;
    let status = app
        .sp_get(
            "/message-status",
            &format!("messageId={id}&phoneNumber=0612345678"),
        )
        .await
        .sp_ok();
    assert_eq!(status["statut"], "Not delivered");
    let id = app
        .sp_post(
            "/send",
            json!({"phoneNumbers": "0612345678", "message": "Hi"}),
        )
        .await
        .sp_ok()["message_id"]
        .clone();
    deliver_all(&app, MessageStatus::Rejected).await;
    let status = app
        .sp_get(
            "/message-status",
            &format!("messageId={id}&phoneNumber=0612345678"),
        )
        .await
        .sp_ok();
    assert_eq!(status["statut"], "ko");
}

#[tokio::test]
async fn cancelling_a_message_and_its_refusals() {
    let app = TestApp::new().await;
    let later = json!({"phoneNumbers": "0612345678", "message": "Plus tard", "scheduledDeliveryDate": paris_dmy(2), "time": 10, "minute": 0});
    let id = app.sp_post("/send", later).await.sp_ok()["message_id"]
        .as_i64()
        .unwrap();
    let body = app
        .sp_get("/message-cancel", &format!("messageId={id}"))
        .await
        .sp_ok();
    assert_eq!(body["message"], "L'envoi du SMS a été annulé.");
    assert_eq!(app.balance().await, Some(amount("10")));
    app.sp_get("/message-cancel", &format!("messageId={id}"))
        .await
        .sp_error(409, 5);
    app.sp_get("/message-cancel", "messageId=999999")
        .await
        .sp_error(404, 4);
    app.sp_get("/message-cancel", "").await.sp_error(400, 3);
    let sent = app
        .sp_post(
            "/send",
            json!({"phoneNumbers": "0612345678", "message": "Now"}),
        )
        .await
        .sp_ok()["message_id"]
        .clone();
    deliver_all(&app, MessageStatus::Delivered).await;
    app.sp_get("/message-cancel", &format!("messageId={sent}"))
        .await
        .sp_error(409, 7);
}

#[tokio::test]
async fn me_counts_credits_in_sms() {
    let app = TestApp::new().await;
    let later = json!({"phoneNumbers": "0612345678,0612345677", "message": "x", "scheduledDeliveryDate": paris_dmy(2), "time": 10, "minute": 0});
    app.sp_post("/send", later).await.sp_ok();
    let body = app.sp_get("/me", "").await.sp_ok();
    assert_eq!(
        body,
        json!({"success": true, "code": 200, "user": {"username": "acme", "email": null},
               "credits": {"balance": "9.910", "solde": "9.910", "creditSms": 220, "creditSmsLowCost": 283,
                           "creditSmsECO": 283, "toSend": 2, "currency": "EUR"}})
    );
}

#[tokio::test]
async fn the_stop_list_adds_lists_and_deletes() {
    let app = TestApp::new().await;
    let first = app
        .sp_post("/stop-sms/add", json!({"phoneNumber": "0612345678"}))
        .await
        .sp_ok()["stopId"]
        .clone();
    let again = app
        .sp_post("/stop-sms/add", json!({"phoneNumber": "+33612345678"}))
        .await
        .sp_ok()["stopId"]
        .clone();
    assert_eq!(first, again);
    app.sp_post("/stop-sms/add", json!({"phoneNumber": "+33612345677"}))
        .await
        .sp_ok();
    let list = app.sp_get("/stop-sms/list", "").await.sp_ok();
    assert_eq!(list["nbData"], 2);
    let entry = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == first)
        .unwrap()
        .clone();
    assert_eq!(entry["phoneNumber"], "+33612345678");
    assert_eq!(entry["createdAt"].as_str().unwrap().len(), 19);
    app.sp_get("/stop-sms/delete", &format!("id={first}"))
        .await
        .sp_ok();
    app.sp_get("/stop-sms/delete", &format!("id={first}"))
        .await
        .sp_error(404, 4);
    app.sp_get("/stop-sms/delete", "").await.sp_error(400, 3);
    app.sp_post("/stop-sms/add", json!({}))
        .await
        .sp_error(400, 2);
    assert_eq!(
        app.sp_post("/stop-sms/add", json!({"phoneNumber": "12"}))
            .await
            .sp_constraints(),
        ["children[phoneNumber].data"]
    );
    assert_eq!(app.sp_get("/stop-sms/list", "").await.sp_ok()["nbData"], 1);
}

#[tokio::test]
async fn url_dlr_and_url_response_route_the_campaign_s_callbacks() {
    let app = TestApp::with_config(ApiConfig {
        allow_private_callbacks: true,
        ..test_config()
    })
    .await;
    let body = app
        .sp_post("/send", json!({"phoneNumbers": "0612345678", "message": "Hi", "urlDlr": "http://127.0.0.1:9/dlr", "urlResponse": "http://127.0.0.1:9/mo"}))
        .await
        .sp_ok();
    let native = app
        .get(&format!("/v1/campaigns/{}", body["message_id"]))
        .await
        .json();
    assert_eq!(native["callback_url"], "http://127.0.0.1:9/dlr");
    deliver_all(&app, MessageStatus::Delivered).await;
    let now = relais_store::clock::now_ms();
    let reply = NewInbound {
        from: "+33612345678".parse().unwrap(),
        to: "36180".into(),
        text: "Merci".into(),
        connector: "sim".into(),
        at: now,
    };
    app.store
        .record_inbound(reply, Some(app.account.id), false)
        .await
        .unwrap()
        .expect("stored");
    let hooks = app
        .store
        .claim_webhooks(now + 1000, 100, now + 60_000)
        .await
        .unwrap();
    let urls: Vec<(&str, EventKind, &str)> = hooks
        .iter()
        .map(|h| (h.url.as_str(), h.kind, h.source.as_str()))
        .collect();
    assert!(
        urls.contains(&("http://127.0.0.1:9/dlr", EventKind::Status, "smspartner")),
        "{urls:?}"
    );
    assert!(
        urls.contains(&("http://127.0.0.1:9/mo", EventKind::Inbound, "smspartner")),
        "{urls:?}"
    );
}

fn rendered(
    kind: EventKind,
    status: Option<MessageStatus>,
    facts: &relais_engine::webhooks::CallbackFacts,
) -> Option<Value> {
    let webhook = fixtures::webhook("smspartner", kind, status);
    let rendered = relais_api::dialects::render_callback(&webhook, facts)
        .expect("smspartner renders its callbacks")?;
    assert_eq!(rendered.content_type, "application/json");
    Some(serde_json::from_slice(&rendered.body).unwrap())
}

#[test]
fn replies_and_stops_in_sms_partner_s_shape() {
    assert_eq!(
        rendered(
            EventKind::Inbound,
            None,
            &fixtures::inbound_facts("Oui, merci", false)
        ),
        Some(
            json!({"type": "response", "phone_number": "+33612345678", "text": "Oui, merci", "message_id": 15948909})
        )
    );
    assert_eq!(
        rendered(
            EventKind::Stop,
            None,
            &fixtures::inbound_facts("STOP", true)
        ),
        Some(
            json!({"type": "stop", "phone_number": "+33612345678", "text": "STOP", "message_id": 15948909})
        )
    );
}

#[test]
fn delivery_reports_in_the_chosen_shape() {
    let facts = fixtures::status_facts("smspartner", None);
    assert_eq!(
        rendered(EventKind::Status, Some(MessageStatus::Delivered), &facts),
        Some(
            json!({"type": "dlr", "message_id": 15948909, "phone_number": "+33612345678", "status": "Delivered",
                    "date": "1721881386", "tag": "promo-juillet"})
        )
    );
    for (status, word) in [
        (MessageStatus::Undelivered, Some("Not delivered")),
        (MessageStatus::Expired, Some("Not delivered")),
        (MessageStatus::Failed, Some("ko")),
        (MessageStatus::Rejected, Some("ko")),
        (MessageStatus::Submitted, None),
        (MessageStatus::Cancelled, None),
    ] {
        let body = rendered(EventKind::Status, Some(status), &facts);
        assert_eq!(
            body.map(|b| b["status"].clone()),
            word.map(Value::from),
            "{status:?}"
        );
    }
}
