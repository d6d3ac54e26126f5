//! The native callback bodies rendered by `NativeCallbacks`.

use relais_api::NativeCallbacks;
use relais_core::encoding::Encoding;
use relais_core::money::Amount;
use relais_core::number::Country;
use relais_core::plan::{ChannelOrder, Counters, MessageKind};
use relais_core::pricing::RouteClass;
use relais_engine::webhooks::{CallbackFacts, CallbackRenderer};
use relais_store::{
    Account, AccountSettings, Campaign, CampaignStatus, EventKind, Inbound, Message, MessageStatus,
    Webhook,
};
use serde_json::{Value, json};

/// 2026-03-01T09:30:00Z
const AT: i64 = 1_772_357_400_000;

fn account() -> Account {
    Account {
        id: 1,
        name: "acme".into(),
        email: None,
        balance: None,
        sandbox: true,
        disabled: false,
        settings: AccountSettings::default(),
        created_at: 0,
    }
}

fn campaign() -> Campaign {
    Campaign {
        id: 3,
        account_id: 1,
        status: CampaignStatus::Sending,
        source: "api".into(),
        kind: MessageKind::Transactional,
        route_class: RouteClass::Premium,
        channels: ChannelOrder::Network,
        sender: None,
        text: "Hello".into(),
        encoding: Encoding::Gsm7,
        segments: 1,
        counters: Counters::default(),
        cost: Amount::ZERO,
        refunded: Amount::ZERO,
        send_at: AT,
        expires_at: None,
        callback_url: None,
        callback_events: None,
        tag: None,
        created_at: AT,
    }
}

fn message() -> Message {
    Message {
        id: 12,
        campaign_id: 3,
        account_id: 1,
        number: "+33612345678".parse().unwrap(),
        country: Country::FR,
        client_ref: Some("order-42".into()),
        text: "Hello".into(),
        encoding: Encoding::Gsm7,
        segments: 1,
        cost: Amount::ZERO,
        status: MessageStatus::Delivered,
        send_at: AT,
        expires_at: None,
        connector: Some("sim".into()),
        carrier_id: Some("c-1".into()),
        error: None,
        updated_at: AT,
    }
}

fn inbound(is_stop: bool) -> Inbound {
    Inbound {
        id: 5,
        account_id: 1,
        from: "+33612345678".parse().unwrap(),
        to: "36180".into(),
        text: if is_stop { "STOP" } else { "Merci" }.into(),
        is_stop,
        message_id: Some(12),
        campaign_id: Some(3),
        received_at: AT + 2_000,
    }
}

fn webhook(kind: EventKind, source: &str) -> Webhook {
    Webhook {
        id: 9,
        account_id: 1,
        url: "https://example.com/hook".into(),
        kind,
        source: source.into(),
        message_id: (kind == EventKind::Status).then_some(12),
        status: (kind == EventKind::Status).then_some(MessageStatus::Submitted),
        inbound_id: (kind != EventKind::Status).then_some(5),
        at: AT + 1_000,
        attempts: 0,
    }
}

fn render(webhook: &Webhook, facts: &CallbackFacts) -> Value {
    let rendered = NativeCallbacks.render(webhook, facts).expect("a body");
    assert_eq!(rendered.content_type, "application/json");
    serde_json::from_slice(&rendered.body).unwrap()
}

#[test]
fn status_callbacks_report_the_status_of_the_event() {
    let facts = CallbackFacts::Status {
        account: account(),
        campaign: campaign(),
        message: message(),
    };
    // Rendered for the native door and for a source no dialect claims alike.
    for source in ["api", "some-future-door"] {
        assert_eq!(
            render(&webhook(EventKind::Status, source), &facts),
            json!({
                "event": "message.status", "message_id": 12, "campaign_id": 3, "to": "+33612345678",
                "ref": "order-42", "status": "submitted", "error": null, "at": "2026-03-01T09:30:01Z"
            })
        );
    }
}

#[test]
fn inbound_and_stop_callbacks() {
    let facts = CallbackFacts::Inbound {
        account: account(),
        inbound: inbound(false),
    };
    assert_eq!(
        render(&webhook(EventKind::Inbound, "api"), &facts),
        json!({
            "event": "message.inbound", "id": 5, "from": "+33612345678", "to": "36180", "text": "Merci",
            "message_id": 12, "campaign_id": 3, "at": "2026-03-01T09:30:02Z"
        })
    );
    let stop = CallbackFacts::Inbound {
        account: account(),
        inbound: inbound(true),
    };
    let body = render(&webhook(EventKind::Stop, "api"), &stop);
    assert_eq!(body["event"], "message.stop");
    assert_eq!(body["text"], "STOP");
}

#[test]
fn facts_that_do_not_match_the_event_render_nothing() {
    let facts = CallbackFacts::Inbound {
        account: account(),
        inbound: inbound(false),
    };
    assert!(
        NativeCallbacks
            .render(&webhook(EventKind::Status, "api"), &facts)
            .is_none()
    );
}
