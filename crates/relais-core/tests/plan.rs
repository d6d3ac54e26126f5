//! Planning: counters, filters, texts, costs, times and request-level errors.

use std::collections::{HashMap, HashSet};

use jiff::Timestamp;
use relais_core::calendar::Calendars;
use relais_core::encoding::{Encoding, EncodingMode};
use relais_core::money::Amount;
use relais_core::number::{Country, E164};
use relais_core::optout::OptOutPolicy;
use relais_core::plan::{
    self, Channel, ChannelOrder, Counters, CountryQuota, FilterReason, FloodRule, MessageKind,
    PlanContext, PlanError, Recipient, SendRequest,
};
use relais_core::pricing::{PriceEntry, PriceTable, RouteClass};

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn e164(s: &str) -> E164 {
    s.parse().unwrap()
}

fn country(s: &str) -> Country {
    s.parse().unwrap()
}

fn amount(s: &str) -> Amount {
    s.parse().unwrap()
}

/// A weekday at 10:00 Paris: marketing is allowed.
const WEEKDAY_MORNING: &str = "2026-06-10T08:00:00Z";

fn request(text: &str, numbers: &[&str]) -> SendRequest {
    SendRequest {
        text: Some(text.into()),
        recipients: numbers.iter().map(|n| Recipient::new(*n)).collect(),
        ..SendRequest::default()
    }
}

fn prices() -> PriceTable {
    PriceTable::from_entries(&[
        PriceEntry {
            country: "FR".into(),
            class: RouteClass::Premium,
            price: amount("0.045"),
        },
        PriceEntry {
            country: "FR".into(),
            class: RouteClass::LowCost,
            price: amount("0.030"),
        },
        PriceEntry {
            country: "DE".into(),
            class: RouteClass::Premium,
            price: amount("0.080"),
        },
        PriceEntry {
            country: "BE".into(),
            class: RouteClass::Premium,
            price: amount("0.075"),
        },
        PriceEntry {
            country: "GB".into(),
            class: RouteClass::Premium,
            price: amount("0.050"),
        },
    ])
    .unwrap()
}

#[test]
fn counters_on_a_request_mixing_every_filter_reason() {
    let prices = prices();
    let calendars = Calendars::france_default();
    let blacklist: HashSet<E164> = [e164("+33611111111")].into();
    let npai: HashSet<E164> = [e164("+33622222222")].into();
    let allowed: HashSet<Country> =
        [country("FR"), country("DE"), country("BE"), country("GB")].into();
    let recent: HashMap<E164, u32> = [(e164("+33633333333"), 3)].into();
    let recent_count = |n: E164| recent.get(&n).copied().unwrap_or(0);
    let quotas: HashMap<Country, CountryQuota> =
        [(country("DE"), CountryQuota { used: 9, limit: 10 })].into();

    let mut ctx = PlanContext::new(ts(WEEKDAY_MORNING), &prices, &calendars);
    ctx.blacklist = &blacklist;
    ctx.npai = &npai;
    ctx.allowed_countries = Some(&allowed);
    ctx.flood = Some(FloodRule {
        recent: &recent_count,
        max_per_period: 3,
    });
    ctx.country_quotas = Some(&quotas);
    ctx.balance = Some(amount("100"));

    let numbers = [
        "0612345678",         // 0 sent
        "+33612345678",       // 1 duplicate of 0
        "0033 6 12 34 56 78", // 2 duplicate of 0
        "06 1x 34",           // 3 invalid
        "+999123",            // 4 invalid
        "+34612345678",       // 5 not allowed (ES)
        "0611111111",         // 6 blacklisted
        "0622222222",         // 7 npai
        "0633333333",         // 8 flood
        "+4915112345678",     // 9 sent (DE, last of the quota)
        "+4915112345679",     // 10 country limit (DE)
        "+32470123456",       // 11 sent (BE)
        "+447400123456",      // 12 sent (GB)
        "+1 212 555 0100",    // 13 not allowed (US)
    ];
    let plan = plan::plan(&request("Bonjour", &numbers), &ctx).unwrap();
    assert_eq!(
        plan.counters,
        Counters {
            total: 14,
            sent: 4,
            blacklisted: 1,
            duplicated: 2,
            npai: 1,
            invalid: 2,
            not_allowed: 2,
            flood: 1,
            country_limit: 1,
        }
    );
    let sent: Vec<(u32, String)> = plan
        .messages
        .iter()
        .map(|m| (m.recipient, m.number.to_string()))
        .collect();
    assert_eq!(
        sent,
        [
            (0, "+33612345678".to_string()),
            (9, "+4915112345678".to_string()),
            (11, "+32470123456".to_string()),
            (12, "+447400123456".to_string()),
        ]
    );
    let reasons: Vec<(u32, &str)> = plan
        .rejections
        .iter()
        .map(|r| (r.recipient, r.reason.code()))
        .collect();
    assert_eq!(
        reasons,
        [
            (1, "duplicated"),
            (2, "duplicated"),
            (3, "invalid"),
            (4, "invalid"),
            (5, "not_allowed"),
            (6, "blacklisted"),
            (7, "npai"),
            (8, "flood"),
            (10, "country_limit"),
            (13, "not_allowed"),
        ]
    );
    assert!(matches!(
        plan.rejections[2].reason,
        FilterReason::Invalid(_)
    ));
    // 0.045 + 0.080 + 0.075 + 0.050, one segment each.
    assert_eq!(plan.cost, amount("0.25"));
    assert_eq!(plan.balance_after, Some(amount("99.75")));
    let total: Amount = plan.messages.iter().map(|m| m.cost).sum();
    assert_eq!(total, plan.cost);
}

#[test]
fn cost_is_segments_times_price_and_route_class_matters() {
    let prices = prices();
    let calendars = Calendars::france_default();
    let ctx = PlanContext::new(ts(WEEKDAY_MORNING), &prices, &calendars);
    let long = "a".repeat(161); // two GSM-7 segments
    let mut req = request(&long, &["0612345678", "0751234567"]);
    let plan = plan::plan(&req, &ctx).unwrap();
    assert_eq!(plan.texts[0].segments, 2);
    assert_eq!(plan.cost, amount("0.18"));
    req.route_class = RouteClass::LowCost;
    assert_eq!(plan::plan(&req, &ctx).unwrap().cost, amount("0.12"));
}

#[test]
fn the_channel_order_is_carried_to_the_plan_and_named_exactly() {
    let prices = prices();
    let calendars = Calendars::france_default();
    let ctx = PlanContext::new(ts(WEEKDAY_MORNING), &prices, &calendars);
    let mut req = request("Bonjour", &["0612345678"]);
    assert_eq!(
        plan::plan(&req, &ctx).unwrap().channels,
        ChannelOrder::Network
    );
    req.channels = ChannelOrder::DevicesThenNetwork;
    assert_eq!(
        plan::plan(&req, &ctx).unwrap().channels,
        ChannelOrder::DevicesThenNetwork
    );

    for order in ChannelOrder::ALL {
        assert_eq!(ChannelOrder::from_channels(order.channels()), Some(order));
        let json = serde_json::to_value(order).unwrap();
        assert_eq!(json, order.as_str());
        assert_eq!(serde_json::from_value::<ChannelOrder>(json).unwrap(), order);
    }
    assert_eq!(
        ChannelOrder::DevicesThenNetwork.channels(),
        [Channel::Devices, Channel::Network]
    );
    for refused in [
        &[][..],
        &[Channel::Network, Channel::Devices],
        &[Channel::Devices, Channel::Devices],
    ] {
        assert_eq!(ChannelOrder::from_channels(refused), None, "{refused:?}");
    }
}

#[test]
fn per_recipient_texts_and_client_refs() {
    let prices = prices();
    let calendars = Calendars::france_default();
    let ctx = PlanContext::new(ts(WEEKDAY_MORNING), &prices, &calendars);
    let req = SendRequest {
        text: Some("Shared".into()),
        recipients: vec![
            Recipient {
                number: "0612345678".into(),
                client_ref: Some("100".into()),
                text: Some("Bonjour Zoë 😀".into()),
            },
            Recipient {
                number: "0612345679".into(),
                client_ref: Some("101".into()),
                text: None,
            },
        ],
        ..SendRequest::default()
    };
    let plan = plan::plan(&req, &ctx).unwrap();
    assert_eq!(plan.texts.len(), 2);
    assert_eq!(
        plan.texts[plan.messages[0].text as usize].encoding,
        Encoding::Ucs2
    );
    assert_eq!(plan.texts[plan.messages[1].text as usize].text, "Shared");
    assert_eq!(
        req.recipients[plan.messages[0].recipient as usize]
            .client_ref
            .as_deref(),
        Some("100")
    );

    let no_text = SendRequest {
        text: None,
        recipients: vec![Recipient::new("0612345678")],
        ..SendRequest::default()
    };
    assert_eq!(
        plan::plan(&no_text, &ctx).unwrap_err(),
        PlanError::MissingText
    );
}

#[test]
fn marketing_gets_the_stop_mention_counted_in_segments_and_cost() {
    let prices = prices();
    let calendars = Calendars::france_default();
    let ctx = PlanContext::new(ts(WEEKDAY_MORNING), &prices, &calendars);
    let text = "a".repeat(150); // 150 + "\nSTOP au 36180" (14) = 164: two segments
    let mut req = request(&text, &["0612345678"]);
    req.kind = MessageKind::Marketing;
    let plan = plan::plan(&req, &ctx).unwrap();
    assert!(plan.texts[0].text.ends_with("\nSTOP au 36180"));
    assert_eq!(plan.texts[0].segments, 2);
    assert_eq!(plan.cost, amount("0.09"));

    let mut refusing = PlanContext::new(ts(WEEKDAY_MORNING), &prices, &calendars);
    refusing.opt_out = OptOutPolicy::Refuse;
    let err = plan::plan(&req, &refusing).unwrap_err();
    assert_eq!(err.code(), "missing_stop_mention");
    req.text = Some("Soldes ! STOP au 36180".into());
    assert!(plan::plan(&req, &refusing).is_ok());
    // Transactional texts are left alone.
    req.kind = MessageKind::Transactional;
    req.text = Some("Code 1234".into());
    assert_eq!(
        plan::plan(&req, &refusing).unwrap().texts[0].text,
        "Code 1234"
    );
}

#[test]
fn marketing_at_21h_paris_is_deferred_to_the_next_working_morning() {
    let prices = prices();
    let calendars = Calendars::france_default();
    // Friday 2026-05-08 is a holiday; Thursday 2026-05-07 21:00 Paris (19:00 UTC).
    let ctx = PlanContext::new(ts("2026-05-07T19:00:00Z"), &prices, &calendars);
    let mut req = request("Promo STOP au 36180", &["0612345678", "+4915112345678"]);
    req.kind = MessageKind::Marketing;
    let plan = plan::plan(&req, &ctx).unwrap();
    // France: Saturday 2026-05-09 08:00 Paris (06:00 UTC); Germany has no quiet hours by default.
    assert_eq!(plan.messages[0].send_at, ts("2026-05-09T06:00:00Z"));
    assert_eq!(plan.messages[1].send_at, ts("2026-05-07T19:00:00Z"));
    assert_eq!(plan.send_at, ts("2026-05-07T19:00:00Z"));
    assert_eq!(plan.requested_at, ts("2026-05-07T19:00:00Z"));
    assert!(plan.is_deferred());
    // Transactional: never deferred.
    req.kind = MessageKind::Transactional;
    let plan = plan::plan(&req, &ctx).unwrap();
    assert!(!plan.is_deferred());
    assert!(
        plan.messages
            .iter()
            .all(|m| m.send_at == ts("2026-05-07T19:00:00Z"))
    );
}

#[test]
fn send_times_and_windows() {
    let prices = prices();
    let calendars = Calendars::france_default();
    let now = ts(WEEKDAY_MORNING);
    let ctx = PlanContext::new(now, &prices, &calendars);
    let mut req = request("Hi", &["0612345678"]);

    req.send_at = Some(ts("2026-06-10T07:58:00Z")); // 2 min ago: within tolerance, means now
    assert_eq!(plan::plan(&req, &ctx).unwrap().send_at, now);
    req.send_at = Some(ts("2026-06-10T07:00:00Z"));
    assert_eq!(
        plan::plan(&req, &ctx).unwrap_err(),
        PlanError::SendTimeInPast
    );
    req.send_at = Some(ts("2026-06-11T08:00:00Z"));
    assert_eq!(
        plan::plan(&req, &ctx).unwrap().messages[0].send_at,
        ts("2026-06-11T08:00:00Z")
    );
    req.expires_at = Some(ts("2026-06-11T07:00:00Z"));
    assert_eq!(
        plan::plan(&req, &ctx).unwrap_err(),
        PlanError::WindowEndBeforeStart
    );

    // A marketing send deferred past its window end cannot go at all.
    let evening = PlanContext::new(ts("2026-06-10T19:30:00Z"), &prices, &calendars);
    let mut marketing = request("Promo STOP au 36180", &["0612345678"]);
    marketing.kind = MessageKind::Marketing;
    marketing.expires_at = Some(ts("2026-06-10T22:00:00Z"));
    assert_eq!(
        plan::plan(&marketing, &evening).unwrap_err(),
        PlanError::WindowClosedByQuietHours
    );
}

#[test]
fn request_level_errors_have_stable_codes() {
    let prices = prices();
    let calendars = Calendars::france_default();
    let mut ctx = PlanContext::new(ts(WEEKDAY_MORNING), &prices, &calendars);
    ctx.limits.max_recipients = 3;
    ctx.limits.max_segments = 2;
    ctx.balance = Some(amount("0.05"));

    let cases: Vec<(SendRequest, &str, Option<&str>)> = vec![
        (request("Hi", &[]), "no_recipients", Some("recipients")),
        (
            request("Hi", &["0612345678"; 4]),
            "too_many_recipients",
            Some("recipients"),
        ),
        (request("   ", &["0612345678"]), "empty_text", Some("text")),
        (
            request(&"a".repeat(307), &["0612345678"]),
            "text_too_long",
            Some("text"),
        ),
        (
            SendRequest {
                encoding: EncodingMode::Gsm7,
                ..request("Hello 😀", &["0612345678"])
            },
            "not_gsm7",
            Some("text"),
        ),
        (
            SendRequest {
                sender: Some("A!".into()),
                ..request("Hi", &["0612345678"])
            },
            "invalid_sender",
            Some("sender"),
        ),
        (
            request("Hi", &["0612345678", "0612345679"]),
            "insufficient_credits",
            None,
        ),
    ];
    for (req, code, field) in cases {
        let err = plan::plan(&req, &ctx).unwrap_err();
        assert_eq!(err.code(), code, "{err}");
        assert_eq!(err.field(), field, "{err}");
        assert!(!err.to_string().is_empty());
    }
    // Exactly the balance is enough.
    ctx.balance = Some(amount("0.045"));
    assert_eq!(
        plan::plan(&request("Hi", &["0612345678"]), &ctx)
            .unwrap()
            .balance_after,
        Some(Amount::ZERO)
    );
}

#[test]
fn control_characters_are_refused_except_line_breaks_and_form_feed() {
    let prices = prices();
    let calendars = Calendars::france_default();
    let ctx = PlanContext::new(ts(WEEKDAY_MORNING), &prices, &calendars);
    for (text, position, code) in [
        ("Bonjour\0", 7, 0x00),
        ("\u{1}Hi", 0, 0x01),
        ("Hé\tho", 2, 0x09),
        ("café \u{1b}[31m", 5, 0x1B),
        ("a\u{1f}", 1, 0x1F),
    ] {
        let err = plan::plan(&request(text, &["0612345678"]), &ctx).unwrap_err();
        assert_eq!(
            err,
            PlanError::ControlCharacter { position, code },
            "{text:?}"
        );
        assert_eq!(err.code(), "control_character");
        assert_eq!(err.field(), Some("text"));
        assert!(err.to_string().contains(&format!("U+{code:04X}")), "{err}");
    }
    // Per-recipient texts obey the same rule.
    let mut req = request("Hi", &["0612345678"]);
    req.recipients[0].text = Some("Salut\0".into());
    assert_eq!(
        plan::plan(&req, &ctx).unwrap_err().code(),
        "control_character"
    );
    // Line feed, carriage return and form feed (GSM-7's page break) are text.
    for text in [
        "Ligne 1\nLigne 2",
        "Ligne 1\r\nLigne 2",
        "Page 1\u{c}Page 2",
    ] {
        let plan = plan::plan(&request(text, &["0612345678"]), &ctx).unwrap();
        assert_eq!(plan.texts[0].encoding, Encoding::Gsm7, "{text:?}");
    }
}

#[test]
fn a_low_cost_marketing_text_may_carry_no_pub_stop_instead_of_a_stop_number() {
    let prices = prices();
    let calendars = Calendars::france_default();
    let mut ctx = PlanContext::new(ts(WEEKDAY_MORNING), &prices, &calendars);
    ctx.opt_out = OptOutPolicy::Refuse;
    let marketing = |text: &str, route_class: RouteClass| SendRequest {
        kind: MessageKind::Marketing,
        route_class,
        ..request(text, &["0612345678"])
    };
    assert!(plan::plan(&marketing("Soldes no PUB=STOP", RouteClass::LowCost), &ctx).is_ok());
    let premium = plan::plan(&marketing("Soldes no PUB=STOP", RouteClass::Premium), &ctx);
    assert!(
        matches!(premium, Err(PlanError::MissingStopMention(m)) if m.class == RouteClass::Premium)
    );
    let low = plan::plan(&marketing("Soldes", RouteClass::LowCost), &ctx);
    assert!(matches!(low, Err(PlanError::MissingStopMention(m)) if m.class == RouteClass::LowCost));
}

#[test]
fn a_plan_every_recipient_was_filtered_out_of_is_not_sendable() {
    let prices = prices();
    let calendars = Calendars::france_default();
    let blacklist: HashSet<E164> = [e164("+33611111111")].into();
    let mut ctx = PlanContext::new(ts(WEEKDAY_MORNING), &prices, &calendars);
    ctx.blacklist = &blacklist;

    let numbers: Vec<String> = (0..2_000).map(|i| format!("+999{i}")).collect();
    let mut all: Vec<&str> = numbers.iter().map(String::as_str).collect();
    all.push("0611111111");
    let planned = plan::plan(&request("Hi", &all), &ctx).unwrap();
    assert!(planned.messages.is_empty());
    let err = planned.into_sendable().unwrap_err();
    assert_eq!(err.code(), "no_valid_recipient");
    assert_eq!(err.field(), Some("recipients"));
    assert_eq!(
        err.to_string(),
        "no recipient can be sent to (2000 invalid, 1 blacklisted)"
    );
    let PlanError::NoValidRecipient {
        counters,
        rejections,
    } = err
    else {
        panic!("{err:?}")
    };
    assert_eq!((counters.total, counters.sent), (2_001, 0));
    assert_eq!(rejections.len(), 2_001);
    // Answers list the first 1,000; the counters count them all.
    let listed = plan::listed_rejections(&rejections);
    assert_eq!(listed.len(), plan::MAX_LISTED_REJECTIONS);
    assert_eq!(listed[0].recipient, 0);

    // One recipient left is enough.
    all.push("0612345678");
    let planned = plan::plan(&request("Hi", &all), &ctx).unwrap();
    assert_eq!(planned.into_sendable().unwrap().messages.len(), 1);
}

#[test]
fn smart_encoding_follows_the_request_then_the_account_default() {
    let prices = prices();
    let calendars = Calendars::france_default();
    let mut ctx = PlanContext::new(ts(WEEKDAY_MORNING), &prices, &calendars);
    let req = request("C’est l’été", &["0612345678"]);
    assert_eq!(
        plan::plan(&req, &ctx).unwrap().texts[0].encoding,
        Encoding::Ucs2
    );
    ctx.smart_default = true;
    let smart = plan::plan(&req, &ctx).unwrap();
    assert_eq!(smart.texts[0].encoding, Encoding::Gsm7);
    assert_eq!(smart.texts[0].text, "C'est l'été");
    let explicit_off = SendRequest {
        smart_encoding: Some(false),
        ..req
    };
    assert_eq!(
        plan::plan(&explicit_off, &ctx).unwrap().texts[0].encoding,
        Encoding::Ucs2
    );
}

#[test]
fn mobile_only_policy_and_default_region() {
    let prices = prices();
    let calendars = Calendars::france_default();
    let mut ctx = PlanContext::new(ts(WEEKDAY_MORNING), &prices, &calendars);
    ctx.number_policy.mobile_only = true;
    let plan = plan::plan(&request("Hi", &["0140000000", "0612345678"]), &ctx).unwrap();
    assert_eq!((plan.counters.invalid, plan.counters.sent), (1, 1));
    ctx.default_region = country("BE");
    let plan = plan::plan(&request("Hi", &["0470123456"]), &ctx).unwrap();
    assert_eq!(plan.messages[0].number, e164("+32470123456"));
}
