//! The Octopush dialect (`/compat/octopush`): the old API (forms in, XML or
//! JSON out) and the v1 API (JSON), their documented requests and answers,
//! every return code they answer (storing nothing), campaigns as the native
//! API sees them, and callbacks in Octopush's shapes.

mod common;

use axum::http::{Method, StatusCode};
use common::fixtures;
use common::{Response, TestApp, amount, mobile, test_config};
use relais_api::dialects::common::forms::Params;
use relais_api::dialects::octopush::old_api::request_sha1;
use relais_api::dialects::octopush::render_callback;
use relais_api::{ApiConfig, RateLimit};
use relais_core::pricing::{PriceEntry, RouteClass};
use relais_engine::keys;
use relais_store::{AccountSettings, EventKind, MessageStatus, NewAccount, Store};
use serde_json::{Value, json};

/// A French mobile in the international format the old API documents.
const NUMBER: &str = "+33601010101";
const PROMO: &str = "Soldes -20% ce week-end STOP au 36180";

// --- helpers -------------------------------------------------------------------

/// `application/x-www-form-urlencoded` text of `pairs`.
fn form(pairs: &[(&str, &str)]) -> String {
    let encode = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                    (b as char).to_string()
                }
                b' ' => "+".into(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// POSTs a form to an old-API path (`/api/sms`, `/api/balance/json`…).
async fn old_api(app: &TestApp, path: &str, pairs: &[(&str, &str)]) -> Response {
    app.raw(
        Method::POST,
        &format!("/compat/octopush{path}"),
        None,
        &[("content-type", "application/x-www-form-urlencoded")],
        form(pairs),
    )
    .await
}

/// The login and key of the test account, then `pairs`.
fn with_login<'a>(app: &'a TestApp, pairs: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut all = vec![("user_login", "acme"), ("api_key", app.key.as_str())];
    all.extend_from_slice(pairs);
    all
}

/// The text of the first `<tag>` element.
fn xml_text<'t>(xml: &'t str, tag: &str) -> Option<&'t str> {
    let start = xml.find(&format!("<{tag}>"))? + tag.len() + 2;
    let end = start + xml[start..].find(&format!("</{tag}>"))?;
    Some(&xml[start..end])
}

/// Asserts an old-API error: HTTP 200 and only `error_code` (XML).
#[track_caller]
fn assert_old_error(response: &Response, code: &str) {
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(
        response.text(),
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><octopush><error_code>{code}</error_code></octopush>"
        )
    );
}

/// Asserts a v1 error: its status, code and a message.
#[track_caller]
fn assert_v1_error(response: &Response, status: StatusCode, code: u16) {
    let body = response.json();
    assert_eq!(response.status, status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert_eq!(body.as_object().unwrap().len(), 2, "{body}");
}

async fn v1(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> Response {
    v1_as(app, "acme", &app.key.clone(), method, path, body).await
}

async fn v1_as(
    app: &TestApp,
    login: &str,
    key: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Response {
    let headers = [
        ("api-login", login),
        ("api-key", key),
        ("content-type", "application/json"),
    ];
    let body = body.map_or_else(String::new, |b| b.to_string());
    app.raw(
        method,
        &format!("/compat/octopush/v1/public{path}"),
        None,
        &headers,
        body,
    )
    .await
}

async fn campaign(app: &TestApp, id: i64) -> Value {
    let response = app.get(&format!("/v1/campaigns/{id}")).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response.json()
}

/// Creates an account (prepaid with `balance`) with a key; answers the key.
async fn account(
    app: &TestApp,
    name: &str,
    email: Option<&str>,
    balance: &str,
    settings: AccountSettings,
) -> (i64, String) {
    let account = app
        .store
        .create_account(
            NewAccount {
                name: name.into(),
                email: email.map(Into::into),
                balance: Some(amount(balance)),
                sandbox: true,
                settings,
            },
            0,
        )
        .await
        .unwrap();
    let (key, _) = keys::create_key(app.store.as_ref(), account.id, None)
        .await
        .unwrap();
    (account.id, key)
}

/// The campaign id of an old-API ticket (`api42`).
fn old_ticket(ticket: &str) -> i64 {
    ticket
        .strip_prefix("api")
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("not a ticket: {ticket:?}"))
}

// --- old API: sending ------------------------------------------------------------

#[tokio::test]
async fn an_old_api_send_answers_the_documented_xml() {
    let app = TestApp::new().await;
    let response = old_api(
        &app,
        "/api/sms",
        &with_login(
            &app,
            &[
                ("sms_text", "Votre code : 1234"),
                (
                    "sms_recipients",
                    "+33601010101,+33601010102,+33601010101,+3",
                ),
                ("sms_type", "FR"),
                ("sms_sender", "Octopush"),
                ("sms_mode", "1"),
                ("request_mode", "real"),
                ("with_replies", "0"),
                ("transactional", "1"),
            ],
        ),
    )
    .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert!(
        response.headers["content-type"]
            .to_str()
            .unwrap()
            .contains("xml")
    );
    let xml = response.text();
    let ticket = xml_text(&xml, "ticket").expect("a ticket");
    let sending_date = xml_text(&xml, "sending_date").expect("a sending date");
    let now = jiff::Timestamp::now().as_second();
    assert!(
        (now - 60..=now).contains(&sending_date.parse::<i64>().unwrap()),
        "{xml}"
    );
    let success = |n: &str| {
        format!(
            "<success><recipient>{n}</recipient><country_code>FR</country_code><cost>0.045</cost><sms_needed>1</sms_needed></success>"
        )
    };
    assert_eq!(
        xml,
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><octopush><error_code>000</error_code>\
             <cost>0.09</cost><balance>9.91</balance><ticket>{ticket}</ticket>\
             <sending_date>{sending_date}</sending_date><number_of_sendings>2</number_of_sendings>\
             <currency_code>€</currency_code><successs>{}{}</successs>\
             <failures><failure><error_code>150</error_code><recipient>+3</recipient></failure></failures>\
             </octopush>",
            success("+33601010101"),
            success("+33601010102")
        )
    );

    let campaign = campaign(&app, old_ticket(ticket)).await;
    assert_eq!(campaign["source"], "octopush");
    assert_eq!(campaign["kind"], "transactional");
    assert_eq!(campaign["route_class"], "premium");
    assert_eq!(campaign["sender"], "Octopush");
    assert_eq!(campaign["cost"], "0.09");
    assert_eq!(
        campaign["counters"],
        json!({"total": 4, "sent": 2, "blacklisted": 0, "duplicated": 1, "npai": 0, "invalid": 1,
               "not_allowed": 0, "flood": 0, "country_limit": 0})
    );
    assert_eq!(app.balance().await, Some(amount("9.91")));
}

#[tokio::test]
async fn the_json_answer_has_the_same_names_and_exact_numbers() {
    let app = TestApp::new().await;
    let response = old_api(
        &app,
        "/api/sms/json",
        &with_login(
            &app,
            &[
                ("sms_text", "Votre code : 1234"),
                ("sms_recipients", "0033601010101,+3"),
                ("sms_type", "FR"),
                ("transactional", "1"),
            ],
        ),
    )
    .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let text = response.text();
    assert!(text.contains(r#""cost":0.045,"balance":9.955,"#), "{text}");
    let body = response.json();
    let ticket = body["ticket"].as_str().unwrap();
    assert_eq!(
        body,
        json!({
            "error_code": "000", "cost": 0.045, "balance": 9.955, "ticket": ticket,
            "sending_date": body["sending_date"], "number_of_sendings": 1, "currency_code": "€",
            "successs": [{"recipient": "+33601010101", "country_code": "FR", "cost": 0.045, "sms_needed": 1}],
            "failures": [{"error_code": "150", "recipient": "+3"}]
        })
    );
    assert!(body["sending_date"].is_i64());
    assert_eq!(campaign(&app, old_ticket(ticket)).await["cost"], "0.045");
}

#[tokio::test]
async fn the_documented_get_request_is_read_from_the_query() {
    let app = TestApp::new().await;
    // The seed's curl example, its deferred date moved to the future (a
    // Tuesday, 12:00 in Paris: within marketing hours) and a STOP mention
    // added (it is a marketing send to France).
    let query = form(&with_login(
        &app,
        &[
            ("sms_text", "un exemple de texte STOP au 36180"),
            ("sms_recipients", "0033601010101"),
            ("sms_type", "FR"),
            ("sms_sender", "Octopush"),
            ("sms_mode", "2"),
            ("sending_date", "4102830000"),
        ],
    ));
    let response = app
        .raw(
            Method::GET,
            &format!("/compat/octopush/api/sms/?{query}"),
            None,
            &[],
            "",
        )
        .await;
    let xml = response.text();
    assert_eq!(xml_text(&xml, "error_code"), Some("000"), "{xml}");
    assert_eq!(xml_text(&xml, "sending_date"), Some("4102830000"), "{xml}");
    let campaign = campaign(&app, old_ticket(xml_text(&xml, "ticket").unwrap())).await;
    assert_eq!(campaign["status"], "scheduled");
    assert_eq!(campaign["kind"], "marketing");
    assert_eq!(campaign["send_at"], "2100-01-05T11:00:00Z");
    // Refused, not appended: the text is sent as written.
    assert_eq!(campaign["text"], "un exemple de texte STOP au 36180");

    // As written in the seed: its date (2016) is long past.
    let seed = form(&with_login(
        &app,
        &[
            ("sms_text", "un exemple de texte STOP au 36180"),
            ("sms_recipients", "0033601010101"),
            ("sms_type", "FR"),
            ("sms_mode", "2"),
            ("sending_date", "1455975613"),
        ],
    ));
    let response = app
        .raw(
            Method::GET,
            &format!("/compat/octopush/api/sms/?{seed}"),
            None,
            &[],
            "",
        )
        .await;
    assert_old_error(&response, "500");
}

#[tokio::test]
async fn marketing_texts_need_a_stop_mention_121() {
    let app = TestApp::new().await;
    let response = old_api(
        &app,
        "/api/sms",
        &with_login(
            &app,
            &[
                ("sms_text", "Soldes -20% ce week-end"),
                ("sms_recipients", NUMBER),
                ("sms_type", "FR"),
            ],
        ),
    )
    .await;
    assert_old_error(&response, "121");
    app.assert_untouched().await;

    let response = old_api(
        &app,
        "/api/sms",
        &with_login(
            &app,
            &[
                ("sms_text", PROMO),
                ("sms_recipients", NUMBER),
                ("sms_type", "FR"),
            ],
        ),
    )
    .await;
    let xml = response.text();
    assert_eq!(xml_text(&xml, "error_code"), Some("000"), "{xml}");
    let campaign = campaign(&app, old_ticket(xml_text(&xml, "ticket").unwrap())).await;
    assert_eq!(campaign["kind"], "marketing");
    assert_eq!(campaign["text"], PROMO);
}

#[tokio::test]
async fn low_cost_marketing_takes_no_pub_stop_and_its_absence_answers_122() {
    let app = TestApp::new().await;
    let send = |text: &'static str, sms_type: &'static str| {
        let app = &app;
        async move {
            old_api(
                app,
                "/api/sms",
                &with_login(
                    app,
                    &[
                        ("sms_text", text),
                        ("sms_recipients", NUMBER),
                        ("sms_type", sms_type),
                    ],
                ),
            )
            .await
        }
    };
    let response = send("Soldes -20% ce week-end", "XXX").await;
    assert_old_error(&response, "122");
    // Premium keeps its own code and wording.
    let response = send("Soldes -20% no PUB=STOP", "FR").await;
    assert_old_error(&response, "121");
    app.assert_untouched().await;

    let response = send("Soldes -20% no PUB=STOP", "XXX").await;
    let xml = response.text();
    assert_eq!(xml_text(&xml, "error_code"), Some("000"), "{xml}");
    let campaign = campaign(&app, old_ticket(xml_text(&xml, "ticket").unwrap())).await;
    assert_eq!(campaign["route_class"], "low_cost");
    assert_eq!(campaign["text"], "Soldes -20% no PUB=STOP");

    let response = v1(
        &app,
        Method::POST,
        "/sms-campaign/send",
        Some(
            json!({"recipients": [{"phone_number": NUMBER}], "text": "Soldes",
                    "type": "sms_low_cost", "purpose": "wholesale"}),
        ),
    )
    .await;
    assert_v1_error(&response, StatusCode::UNPROCESSABLE_ENTITY, 122);
    let message = response.json()["message"].as_str().unwrap().to_owned();
    assert!(message.contains("no PUB=STOP"), "{message}");
}

#[tokio::test]
async fn low_cost_takes_low_cost_routes_without_a_sender() {
    let app = TestApp::new().await;
    let response = old_api(
        &app,
        "/api/sms",
        &with_login(
            &app,
            &[
                ("sms_text", PROMO),
                ("sms_recipients", NUMBER),
                ("sms_type", "XXX"),
                ("sms_sender", "Ignored"),
            ],
        ),
    )
    .await;
    let xml = response.text();
    assert_eq!(xml_text(&xml, "cost"), Some("0.035"), "{xml}");
    let campaign = campaign(&app, old_ticket(xml_text(&xml, "ticket").unwrap())).await;
    assert_eq!(campaign["route_class"], "low_cost");
    assert_eq!(campaign["sender"], Value::Null);
}

#[tokio::test]
async fn a_simulation_stores_nothing() {
    let app = TestApp::new().await;
    let response = old_api(
        &app,
        "/api/sms",
        &with_login(
            &app,
            &[
                ("sms_text", PROMO),
                ("sms_recipients", "+33601010101,+33601010102"),
                ("sms_type", "FR"),
                ("request_mode", "simu"),
            ],
        ),
    )
    .await;
    let xml = response.text();
    assert_eq!(xml_text(&xml, "error_code"), Some("000"), "{xml}");
    assert_eq!(xml_text(&xml, "cost"), Some("0.09"));
    assert_eq!(xml_text(&xml, "balance"), Some("10"));
    assert!(xml.contains("<ticket></ticket>"), "{xml}");
    app.assert_untouched().await;
}

#[tokio::test]
async fn a_send_left_with_no_recipient_is_refused_117_simulated_or_not() {
    let app = TestApp::new().await;
    let blacklisted = NUMBER.parse().unwrap();
    app.store
        .add_listed(
            app.account.id,
            relais_store::NumberList::Blacklist,
            &[(blacklisted, vec![])],
            "stop",
            0,
        )
        .await
        .unwrap();
    let pairs = with_login(
        &app,
        &[
            ("sms_text", PROMO),
            ("sms_recipients", NUMBER),
            ("sms_type", "FR"),
        ],
    );
    assert_old_error(&old_api(&app, "/api/sms", &pairs).await, "117");
    let mut simulated = pairs.clone();
    simulated.push(("request_mode", "simu"));
    assert_old_error(&old_api(&app, "/api/sms", &simulated).await, "117");
    app.assert_untouched().await;
}

#[tokio::test]
async fn a_repeated_request_id_is_refused_120() {
    let app = TestApp::new().await;
    let pairs = with_login(
        &app,
        &[
            ("sms_text", PROMO),
            ("sms_recipients", NUMBER),
            ("sms_type", "FR"),
            ("request_id", "order42"),
        ],
    );
    let first = old_api(&app, "/api/sms", &pairs).await;
    assert_eq!(xml_text(&first.text(), "error_code"), Some("000"));
    let again = old_api(&app, "/api/sms", &pairs).await;
    assert_old_error(&again, "120");
    // The request_id reused for another request: refused the same way.
    let other = with_login(
        &app,
        &[
            ("sms_text", "Another text STOP au 36180"),
            ("sms_recipients", NUMBER),
            ("sms_type", "FR"),
            ("request_id", "order42"),
        ],
    );
    assert_old_error(&old_api(&app, "/api/sms", &other).await, "120");
    let mut simulated = pairs.clone();
    simulated.push(("request_mode", "simu"));
    assert_old_error(&old_api(&app, "/api/sms", &simulated).await, "120");
    assert_eq!(app.campaign_count().await, 1);
    assert_eq!(app.balance().await, Some(amount("9.955")));
}

#[tokio::test]
async fn signed_requests_are_checked_123_124() {
    let app = TestApp::new().await;
    let fields = [
        ("sms_text", PROMO),
        ("sms_recipients", NUMBER),
        ("sms_type", "FR"),
        ("request_id", "signed1"),
    ];
    // What the SDK sends: the SHA-1 of the named fields, in the keys' order.
    let mut params = Params::default();
    for (k, v) in fields {
        params.push(k, v);
    }
    let sha1 = request_sha1("TRYSQ", &params);
    // T, R, Y and Q; S (sms_sender) is absent and skipped.
    let expected = {
        use sha1::{Digest, Sha1};
        hex::encode(Sha1::digest(format!("{PROMO}{NUMBER}FRsigned1")))
    };
    assert_eq!(sha1, expected);

    let mut missing = with_login(&app, &fields);
    missing.push(("request_keys", "TRYSQ"));
    assert_old_error(&old_api(&app, "/api/sms", &missing).await, "123");
    let mut wrong = missing.clone();
    wrong.push(("request_sha1", "da39a3ee5e6b4b0d3255bfef95601890afd80709"));
    assert_old_error(&old_api(&app, "/api/sms", &wrong).await, "124");
    app.assert_untouched().await;

    let mut signed = missing.clone();
    signed.push(("request_sha1", sha1.as_str()));
    let response = old_api(&app, "/api/sms", &signed).await;
    assert_eq!(
        xml_text(&response.text(), "error_code"),
        Some("000"),
        "{}",
        response.text()
    );
}

// --- old API: balance and credit -------------------------------------------------

#[tokio::test]
async fn balance_and_credit_in_xml_and_json() {
    let app = TestApp::new().await;
    let login = with_login(&app, &[]);
    // 10 EUR buys 222.22 premium SMS (0.045) and 285.71 low-cost ones (0.035).
    let xml = old_api(&app, "/api/balance", &login).await;
    assert_eq!(xml.status, StatusCode::OK);
    assert_eq!(
        xml.text(),
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><octopush><error_code>000</error_code>\
         <balance type=\"FR\">222.22</balance><balance type=\"XXX\">285.71</balance></octopush>"
    );
    let json = old_api(&app, "/api/balance/json", &login).await;
    assert_eq!(
        json.json(),
        json!({"error_code": "000", "balance": {"FR": "222.22", "XXX": "285.71"}})
    );
    let credit = old_api(&app, "/api/credit", &login).await;
    assert_eq!(
        credit.text(),
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><octopush><error_code>000</error_code><credit>10.00</credit></octopush>"
    );
    let credit = old_api(&app, "/api/credit/json", &login).await;
    assert_eq!(
        credit.json(),
        json!({"error_code": "000", "credit": "10.00"})
    );
    // Bad credentials get a code here too.
    let wrong = old_api(
        &app,
        "/api/balance",
        &[("user_login", "acme"), ("api_key", "nope")],
    )
    .await;
    assert_old_error(&wrong, "101");
}

// --- old API: refusals -----------------------------------------------------------

#[tokio::test]
async fn logins_by_name_or_email_and_their_refusals() {
    let app = TestApp::new().await;
    let (globex, globex_key) = account(
        &app,
        "globex",
        Some("ops@globex.example"),
        "5",
        AccountSettings::default(),
    )
    .await;
    let credit = |login: &'static str, key: String| {
        let app = &app;
        async move {
            old_api(
                app,
                "/api/credit/json",
                &[("user_login", login), ("api_key", &key)],
            )
            .await
        }
    };
    let by_email = credit("ops@globex.example", globex_key.clone()).await;
    assert_eq!(
        by_email.json(),
        json!({"error_code": "000", "credit": "5.00"})
    );
    let by_name = credit("globex", globex_key.clone()).await;
    assert_eq!(by_name.json()["credit"], "5.00");
    // Another account's login with this key, and an unknown login.
    for login in ["acme", "nobody@example.com"] {
        let response = credit(login, globex_key.clone()).await;
        assert_eq!(response.json(), json!({"error_code": "101"}), "{login}");
    }
    assert_old_error(
        &old_api(&app, "/api/sms", &[("api_key", &app.key)]).await,
        "108",
    );
    assert_old_error(
        &old_api(&app, "/api/sms", &[("user_login", "acme")]).await,
        "109",
    );
    assert_old_error(&old_api(&app, "/api/sms", &[]).await, "100");

    app.set_disabled(globex, true).await;
    let disabled = credit("globex", globex_key).await;
    assert_eq!(disabled.json(), json!({"error_code": "113"}));
}

#[tokio::test]
async fn every_send_refusal_has_its_code_and_stores_nothing() {
    let app = TestApp::with_config(ApiConfig {
        max_recipients: 3,
        ..test_config()
    })
    .await;
    let long = "a".repeat(460);
    let cases: [(&[(&str, &str)], &str); 13] = [
        (&[("sms_text", PROMO), ("sms_type", "FR")], "110"),
        (
            &[
                ("sms_text", PROMO),
                ("sms_type", "FR"),
                ("sms_recipients", " , "),
            ],
            "110",
        ),
        (
            &[
                ("sms_text", PROMO),
                ("sms_type", "FR"),
                (
                    "sms_recipients",
                    "+33601010101,+33601010102,+33601010103,+33601010104",
                ),
            ],
            "305",
        ),
        (&[("sms_recipients", NUMBER), ("sms_type", "FR")], "107"),
        (
            &[
                ("sms_recipients", NUMBER),
                ("sms_type", "FR"),
                ("sms_text", &long),
            ],
            "102",
        ),
        (&[("sms_recipients", NUMBER), ("sms_text", PROMO)], "112"),
        (
            &[
                ("sms_recipients", NUMBER),
                ("sms_text", PROMO),
                ("sms_type", "PRO"),
            ],
            "208",
        ),
        (
            &[
                ("sms_recipients", NUMBER),
                ("sms_text", PROMO),
                ("sms_type", "FR"),
                ("sms_sender", "Oct@push!"),
            ],
            "106",
        ),
        (
            &[
                ("sms_recipients", "+3,12"),
                ("sms_text", PROMO),
                ("sms_type", "FR"),
            ],
            "117",
        ),
        (
            &[
                ("sms_recipients", NUMBER),
                ("sms_text", PROMO),
                ("sms_type", "FR"),
                ("sms_mode", "2"),
            ],
            "500",
        ),
        (
            &[
                ("sms_recipients", NUMBER),
                ("sms_text", PROMO),
                ("sms_type", "FR"),
                ("sms_mode", "9"),
            ],
            "500",
        ),
        (
            &[
                ("sms_recipients", NUMBER),
                ("sms_text", PROMO),
                ("sms_type", "FR"),
                ("request_mode", "test"),
            ],
            "500",
        ),
        (
            &[
                ("sms_recipients", NUMBER),
                ("sms_text", PROMO),
                ("sms_type", "FR"),
                ("transactional", "yes"),
            ],
            "500",
        ),
    ];
    for (pairs, code) in cases {
        let response = old_api(&app, "/api/sms", &with_login(&app, pairs)).await;
        assert_old_error(&response, code);
        let json = old_api(&app, "/api/sms/json", &with_login(&app, pairs)).await;
        assert_eq!(json.json(), json!({"error_code": code}), "{pairs:?}");
    }
    app.assert_untouched().await;

    // Invalid UTF-8 in the form.
    let body = format!("user_login=acme&api_key={}&sms_text=%FF", app.key);
    let response = app
        .raw(Method::POST, "/compat/octopush/api/sms", None, &[], body)
        .await;
    assert_old_error(&response, "500");
    app.assert_untouched().await;
}

#[tokio::test]
async fn not_enough_credit_104() {
    let app = TestApp::new().await;
    let numbers: Vec<String> = (0..300).map(mobile).collect();
    let numbers = numbers.join(",");
    let response = old_api(
        &app,
        "/api/sms",
        &with_login(
            &app,
            &[
                ("sms_recipients", &numbers),
                ("sms_text", PROMO),
                ("sms_type", "FR"),
            ],
        ),
    )
    .await;
    assert_old_error(&response, "104");
    app.assert_untouched().await;
}

#[tokio::test]
async fn oversized_bodies_and_rate_limits_keep_their_http_status() {
    let app = TestApp::with_config(ApiConfig {
        body_limit: 1024,
        rate_limit: Some(RateLimit {
            per_second: 1,
            burst: 1,
        }),
        ..test_config()
    })
    .await;
    let big = "x".repeat(2000);
    let response = old_api(&app, "/api/sms", &with_login(&app, &[("sms_text", &big)])).await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(xml_text(&response.text(), "error_code"), Some("500"));

    let login = with_login(&app, &[]);
    old_api(&app, "/api/credit", &login).await;
    let limited = old_api(&app, "/api/credit", &login).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(xml_text(&limited.text(), "error_code"), Some("500"));
    assert!(limited.headers.contains_key("retry-after"));
    app.assert_untouched().await;
}

// --- v1 API ------------------------------------------------------------------------

#[tokio::test]
async fn a_v1_campaign_answers_201_and_is_seen_by_the_native_api() {
    let app = TestApp::new().await;
    let response = v1(
        &app,
        Method::POST,
        "/sms-campaign/send",
        Some(json!({
            "recipients": [{"phone_number": "+33600000000", "first_name": "Salome", "param1": "John"},
                           {"phone_number": "+33600000001"}, {"phone_number": "+3"}],
            "text": "Hello {param1}. STOP au 36180",
            "type": "sms_premium",
            "purpose": "wholesale",
            "sender": "MyShop",
            "with_replies": false
        })),
    )
    .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let text = response.text();
    let body = response.json();
    let ticket = body["sms_ticket"].as_str().unwrap();
    assert_eq!(
        text,
        format!(r#"{{"sms_ticket":"{ticket}","number_of_contacts":2,"total_cost":0.09}}"#)
    );
    let id: i64 = ticket.strip_prefix("sms_").unwrap().parse().unwrap();
    let campaign = campaign(&app, id).await;
    assert_eq!(campaign["source"], "octopush");
    assert_eq!(campaign["kind"], "marketing");
    assert_eq!(campaign["sender"], "MyShop");
    assert_eq!(campaign["cost"], "0.09");
    assert_eq!(campaign["counters"]["total"], 3);
    assert_eq!(campaign["counters"]["sent"], 2);
    assert_eq!(campaign["counters"]["invalid"], 1);
    let messages = app
        .get(&format!("/v1/campaigns/{id}/messages"))
        .await
        .json();
    let texts: Vec<&str> = messages["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        ["Hello John. STOP au 36180", "Hello {param1}. STOP au 36180"]
    );

    let balance = v1(&app, Method::GET, "/wallet/check-balance", None).await;
    assert_eq!(balance.status, StatusCode::OK);
    assert_eq!(balance.text(), r#"{"amount":9.91,"unit":"euros"}"#);
}

#[tokio::test]
async fn v1_alerts_low_cost_simulation_and_request_ids() {
    let app = TestApp::new().await;
    let alert = |extra: Value| {
        let mut body = json!({"recipients": [{"phone_number": NUMBER}], "text": "Code 1234",
                              "type": "sms_low_cost", "purpose": "alert"});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    let simulated = v1(
        &app,
        Method::POST,
        "/sms-campaign/send",
        Some(alert(json!({"simulation_mode": true}))),
    )
    .await;
    assert_eq!(simulated.status, StatusCode::CREATED);
    assert_eq!(
        simulated.text(),
        r#"{"sms_ticket":null,"number_of_contacts":1,"total_cost":0.035}"#
    );
    app.assert_untouched().await;

    let body = alert(json!({"request_id": "abc-1", "send_at": "2090-01-01T10:00:00+01:00"}));
    let first = v1(&app, Method::POST, "/sms-campaign/send", Some(body.clone())).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text());
    let id: i64 = first.json()["sms_ticket"].as_str().unwrap()[4..]
        .parse()
        .unwrap();
    let campaign = campaign(&app, id).await;
    assert_eq!(campaign["kind"], "transactional");
    assert_eq!(campaign["route_class"], "low_cost");
    assert_eq!(campaign["send_at"], "2090-01-01T09:00:00Z");
    let again = v1(&app, Method::POST, "/sms-campaign/send", Some(body)).await;
    assert_v1_error(&again, StatusCode::CONFLICT, 120);
    assert_eq!(app.campaign_count().await, 1);
}

#[tokio::test]
async fn v1_refusals_have_their_code_and_status_and_store_nothing() {
    let app = TestApp::new().await;
    let base = json!({"recipients": [{"phone_number": NUMBER}], "text": PROMO,
                      "type": "sms_premium", "purpose": "wholesale"});
    let with = |key: &str, value: Value| {
        let mut body = base.clone();
        body[key] = value;
        body
    };
    let many: Vec<Value> = (0..501)
        .map(|n| json!({"phone_number": mobile(n)}))
        .collect();
    let cases = [
        (with("recipients", json!([])), StatusCode::BAD_REQUEST, 110),
        (
            with("recipients", many.into()),
            StatusCode::BAD_REQUEST,
            305,
        ),
        (
            with("recipients", json!([{"first_name": "x"}])),
            StatusCode::BAD_REQUEST,
            500,
        ),
        (
            with("recipients", json!([{"phone_number": "+3"}])),
            StatusCode::UNPROCESSABLE_ENTITY,
            117,
        ),
        (with("text", "".into()), StatusCode::BAD_REQUEST, 107),
        (
            with("text", "a".repeat(1225).into()),
            StatusCode::BAD_REQUEST,
            102,
        ),
        (
            with("text", "Soldes".into()),
            StatusCode::UNPROCESSABLE_ENTITY,
            121,
        ),
        (
            with("text", "Soldes\0 STOP au 36180".into()),
            StatusCode::UNPROCESSABLE_ENTITY,
            500,
        ),
        (with("type", Value::Null), StatusCode::BAD_REQUEST, 112),
        (
            with("type", "sms_gold".into()),
            StatusCode::BAD_REQUEST,
            208,
        ),
        (with("purpose", Value::Null), StatusCode::BAD_REQUEST, 500),
        (
            with("sender", "Oct@push!".into()),
            StatusCode::UNPROCESSABLE_ENTITY,
            106,
        ),
        (
            with("send_at", "2090-01-01 10:00".into()),
            StatusCode::BAD_REQUEST,
            500,
        ),
        (
            with("send_at", "2001-01-01T10:00:00Z".into()),
            StatusCode::UNPROCESSABLE_ENTITY,
            500,
        ),
        (with("text", json!(5)), StatusCode::BAD_REQUEST, 500),
    ];
    for (body, status, code) in cases {
        let response = v1(&app, Method::POST, "/sms-campaign/send", Some(body.clone())).await;
        assert_v1_error(&response, status, code);
    }
    let malformed = app
        .raw(
            Method::POST,
            "/compat/octopush/v1/public/sms-campaign/send",
            None,
            &[("api-login", "acme"), ("api-key", app.key.as_str())],
            "{\"recipients\": [",
        )
        .await;
    assert_v1_error(&malformed, StatusCode::BAD_REQUEST, 500);
    app.assert_untouched().await;

    let numbers: Vec<Value> = (0..300)
        .map(|n| json!({"phone_number": mobile(n)}))
        .collect();
    let poor = v1(
        &app,
        Method::POST,
        "/sms-campaign/send",
        Some(with("recipients", numbers.into())),
    )
    .await;
    assert_v1_error(&poor, StatusCode::PAYMENT_REQUIRED, 104);
    app.assert_untouched().await;
}

#[tokio::test]
async fn v1_credentials() {
    let app = TestApp::new().await;
    let key = app.key.clone();
    let check = |login: &'static str, key: String| {
        let app = &app;
        async move { v1_as(app, login, &key, Method::GET, "/wallet/check-balance", None).await }
    };
    assert_v1_error(&check("", key.clone()).await, StatusCode::UNAUTHORIZED, 108);
    assert_v1_error(
        &check("acme", String::new()).await,
        StatusCode::UNAUTHORIZED,
        109,
    );
    assert_v1_error(
        &check("acme", "wrong".into()).await,
        StatusCode::UNAUTHORIZED,
        101,
    );
    assert_v1_error(
        &check("someone", key.clone()).await,
        StatusCode::UNAUTHORIZED,
        101,
    );
    app.set_disabled(app.account.id, true).await;
    assert_v1_error(&check("acme", key).await, StatusCode::FORBIDDEN, 113);
}

#[tokio::test]
async fn v1_cancel_refunds_what_has_not_left() {
    let app = TestApp::new().await;
    let scheduled = |at: &str| {
        json!({"recipients": [{"phone_number": NUMBER}], "text": "Rappel : RDV demain",
               "type": "sms_premium", "purpose": "alert", "send_at": at})
    };
    let sent = v1(
        &app,
        Method::POST,
        "/sms-campaign/send",
        Some(scheduled("2090-01-01T10:00:00Z")),
    )
    .await;
    let ticket = sent.json()["sms_ticket"].as_str().unwrap().to_owned();
    assert_eq!(app.balance().await, Some(amount("9.955")));

    let cancel = |ticket: Value| {
        v1(
            &app,
            Method::DELETE,
            "/sms-campaign/cancel",
            Some(json!({"ticket_number": ticket})),
        )
    };
    let response = cancel(ticket.clone().into()).await;
    assert_eq!(
        response.status,
        StatusCode::NO_CONTENT,
        "{}",
        response.text()
    );
    assert!(response.bytes.is_empty());
    assert_eq!(app.balance().await, Some(amount("10")));
    let id: i64 = ticket[4..].parse().unwrap();
    assert_eq!(campaign(&app, id).await["status"], "cancelled");

    assert_v1_error(&cancel(ticket.into()).await, StatusCode::CONFLICT, 500);
    assert_v1_error(
        &cancel("sms_999999".into()).await,
        StatusCode::NOT_FOUND,
        131,
    );
    assert_v1_error(&cancel("sms_abc".into()).await, StatusCode::NOT_FOUND, 131);
    assert_v1_error(&cancel(Value::Null).await, StatusCode::BAD_REQUEST, 500);

    // Another account's campaign is unknown here.
    let (_, other_key) = app.create_account("globex", Some("10")).await;
    let theirs = v1_as(
        &app,
        "globex",
        &other_key,
        Method::POST,
        "/sms-campaign/send",
        Some(scheduled("2090-01-01T10:00:00Z")),
    )
    .await;
    let their_ticket = theirs.json()["sms_ticket"].clone();
    assert_v1_error(&cancel(their_ticket).await, StatusCode::NOT_FOUND, 131);

    // Once every message left, nothing is left to cancel.
    let now = v1(
        &app,
        Method::POST,
        "/sms-campaign/send",
        Some(scheduled("2030-01-01T10:00:00Z")),
    )
    .await;
    let now_ticket = now.json()["sms_ticket"].clone();
    let far = jiff::Timestamp::from_second(1_900_000_000)
        .unwrap()
        .as_millisecond();
    let claimed = app.store.claim_due(far, 100, far + 60_000).await.unwrap();
    assert!(!claimed.is_empty());
    assert_v1_error(&cancel(now_ticket).await, StatusCode::CONFLICT, 132);
}

#[tokio::test]
async fn v1_balance_is_exact_and_null_when_postpaid() {
    let app = TestApp::new().await;
    let response = v1(
        &app,
        Method::GET,
        "/wallet/check-balance?country_code=FR&product_name=sms_premium&with_details=1",
        None,
    )
    .await;
    assert_eq!(response.text(), r#"{"amount":10,"unit":"euros"}"#);
    let (_, key) = app.create_account("postpaid", None).await;
    let response = v1_as(
        &app,
        "postpaid",
        &key,
        Method::GET,
        "/wallet/check-balance",
        None,
    )
    .await;
    assert_eq!(response.json(), json!({"amount": null, "unit": "euros"}));
}

// --- callbacks -------------------------------------------------------------------

/// The callback for an event of `kind` (reporting `status`) with `facts`.
fn render(
    kind: EventKind,
    status: Option<MessageStatus>,
    facts: &relais_engine::webhooks::CallbackFacts,
) -> Option<String> {
    render_callback(&fixtures::webhook("octopush", kind, status), facts).map(|rendered| {
        assert_eq!(rendered.content_type, "application/json");
        String::from_utf8(rendered.body).unwrap()
    })
}

#[test]
fn delivery_reports_in_the_v1_shape() {
    // The message (delivered) may have moved on since: the event's status counts.
    let facts = fixtures::status_facts("octopush", None);
    let report = |status| render(EventKind::Status, Some(status), &facts);
    assert_eq!(
        report(MessageStatus::Delivered).unwrap(),
        r#"{"channel":"sms","message_id":"12","sms_ticket":"sms_15948909","number":"+33612345678","status":"DELIVERED","delivery_date":"2024-07-25T04:23:06Z"}"#
    );
    for (status, word) in [
        (MessageStatus::Submitted, "ACK"),
        (MessageStatus::Undelivered, "NOT_DELIVERED"),
        (MessageStatus::Expired, "NOT_DELIVERED"),
        (MessageStatus::Rejected, "NOT_ALLOWED"),
        (MessageStatus::Failed, "UNDEFINED"),
    ] {
        let body: Value = serde_json::from_str(&report(status).unwrap()).unwrap();
        assert_eq!(body["status"], word, "{status:?}");
    }
    for status in [
        MessageStatus::Scheduled,
        MessageStatus::Queued,
        MessageStatus::Submitting,
        MessageStatus::Cancelled,
    ] {
        assert_eq!(report(status), None, "{status:?}");
    }
}

#[test]
fn replies_and_stops_in_the_v1_shape() {
    let reply = fixtures::inbound_facts("Merci", false);
    assert_eq!(
        render(EventKind::Inbound, None, &reply).unwrap(),
        r#"{"message_id":"12","number":"+33612345678","text":"Merci","reception_date":"2024-07-25T04:23:06Z"}"#
    );
    let stop = fixtures::inbound_facts("STOP", true);
    for kind in [EventKind::Stop, EventKind::Inbound] {
        assert_eq!(
            render(kind, None, &stop).unwrap(),
            r#"{"message_id":"12","number":"+33612345678","text":"STOP","stop_date":"2024-07-25T04:23:06Z"}"#
        );
    }
    // Facts that do not match the event render nothing.
    assert_eq!(
        render(EventKind::Status, Some(MessageStatus::Delivered), &reply),
        None
    );
}

#[tokio::test]
async fn the_documented_figures_render_exactly() {
    let app = TestApp::new().await;
    // {"amount":12.54,"unit":"euros"}
    let (_, key) = account(&app, "wallet", None, "12.54", AccountSettings::default()).await;
    let response = v1_as(
        &app,
        "wallet",
        &key,
        Method::GET,
        "/wallet/check-balance",
        None,
    )
    .await;
    assert_eq!(response.text(), r#"{"amount":12.54,"unit":"euros"}"#);

    // <balance type="FR">1251.80</balance>: 56.331 EUR at 0.045 per premium SMS.
    let (_, key) = account(&app, "buyer", None, "56.331", AccountSettings::default()).await;
    let response = old_api(
        &app,
        "/api/balance",
        &[("user_login", "buyer"), ("api_key", &key)],
    )
    .await;
    let xml = response.text();
    assert!(
        xml.contains(r#"<balance type="FR">1251.80</balance>"#),
        "{xml}"
    );
    assert!(
        xml.contains(r#"<balance type="XXX">1609.45</balance>"#),
        "{xml}"
    );

    // {"sms_ticket":"sms_…","number_of_contacts":1,"total_cost":0.062} at 0.062 per SMS.
    let settings = AccountSettings {
        prices: Some(vec![PriceEntry {
            country: "FR".into(),
            class: RouteClass::Premium,
            price: amount("0.062"),
        }]),
        ..AccountSettings::default()
    };
    let (_, key) = account(&app, "priced", None, "1", settings).await;
    let body = json!({"recipients": [{"phone_number": "+33600000000"}], "text": "Code 1234",
                      "type": "sms_premium", "purpose": "alert"});
    let response = v1_as(
        &app,
        "priced",
        &key,
        Method::POST,
        "/sms-campaign/send",
        Some(body),
    )
    .await;
    assert_eq!(response.status, StatusCode::CREATED);
    let ticket = response.json()["sms_ticket"].as_str().unwrap().to_owned();
    assert_eq!(
        response.text(),
        format!(r#"{{"sms_ticket":"{ticket}","number_of_contacts":1,"total_cost":0.062}}"#)
    );
}

/// Defect 1 of issue 15: fields replaced one after another let a 1.2 KB
/// request nest placeholders into ~10 M characters per recipient. Rendering
/// is one pass: a value holding placeholders stays as written.
#[tokio::test]
async fn v1_personalisation_renders_in_one_pass() {
    let app = TestApp::new().await;
    let nest = |next: &str| format!("{{{next}}}").repeat(10);
    let response = v1(
        &app,
        Method::POST,
        "/sms-campaign/send",
        Some(json!({
            "recipients": [{"phone_number": "+33600000000", "a": nest("b"), "b": nest("c"),
                            "c": nest("d"), "d": nest("e"), "e": "x".repeat(100)}],
            "text": "{a}".repeat(10),
            "type": "sms_premium",
            "purpose": "alert",
        })),
    )
    .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let ticket = response.json()["sms_ticket"].as_str().unwrap().to_owned();
    let id: i64 = ticket.strip_prefix("sms_").unwrap().parse().unwrap();
    let messages = app
        .get(&format!("/v1/campaigns/{id}/messages"))
        .await
        .json();
    assert_eq!(messages["items"][0]["text"], "{b}".repeat(100));
}

/// A personalised text longer than any message can be is refused (102)
/// before it is built.
#[tokio::test]
async fn v1_personalisation_past_the_bound_is_refused_102() {
    let app = TestApp::new().await;
    let response = v1(
        &app,
        Method::POST,
        "/sms-campaign/send",
        Some(json!({
            "recipients": [{"phone_number": "+33600000000", "a": "x".repeat(100)}],
            "text": "{a}".repeat(400),
            "type": "sms_premium",
            "purpose": "alert",
        })),
    )
    .await;
    assert_v1_error(&response, StatusCode::BAD_REQUEST, 102);
    let campaigns = app.get("/v1/campaigns").await.json();
    assert_eq!(
        campaigns["items"].as_array().map(Vec::len),
        Some(0),
        "{campaigns}"
    );
}
