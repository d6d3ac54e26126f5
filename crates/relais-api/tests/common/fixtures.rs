//! Records to render callbacks from, as the webhook worker loads them.

use relais_core::encoding::Encoding;
use relais_core::money::Amount;
use relais_core::number::Country;
use relais_core::plan::{ChannelOrder, Counters, MessageKind};
use relais_core::pricing::RouteClass;
use relais_engine::webhooks::CallbackFacts;
use relais_store::{
    Account, AccountSettings, Campaign, CampaignStatus, EventKind, Inbound, Message, MessageStatus,
    Webhook,
};

/// 2024-07-25T04:23:06Z, 06:23:06 in Paris.
pub const AT: i64 = 1_721_881_386_000;

pub fn account() -> Account {
    Account {
        id: 7,
        name: "acme".into(),
        email: None,
        balance: None,
        sandbox: true,
        disabled: false,
        settings: AccountSettings::default(),
        created_at: 0,
    }
}

pub fn campaign(source: &str) -> Campaign {
    Campaign {
        id: 15_948_909,
        account_id: 7,
        status: CampaignStatus::Sending,
        source: source.into(),
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
        tag: Some("promo-juillet".into()),
        created_at: AT,
    }
}

pub fn message(client_ref: Option<&str>) -> Message {
    Message {
        id: 12,
        campaign_id: 15_948_909,
        account_id: 7,
        number: "+33612345678".parse().unwrap(),
        country: Country::FR,
        client_ref: client_ref.map(Into::into),
        text: "Hello".into(),
        encoding: Encoding::Gsm7,
        segments: 1,
        cost: "0.045".parse().unwrap(),
        status: MessageStatus::Delivered,
        send_at: AT,
        expires_at: None,
        connector: Some("sim".into()),
        carrier_id: Some("c-1".into()),
        error: None,
        updated_at: AT,
    }
}

pub fn status_facts(source: &str, client_ref: Option<&str>) -> CallbackFacts {
    CallbackFacts::Status {
        account: account(),
        campaign: campaign(source),
        message: message(client_ref),
    }
}

pub fn inbound_facts(text: &str, is_stop: bool) -> CallbackFacts {
    CallbackFacts::Inbound {
        account: account(),
        inbound: Inbound {
            id: 5,
            account_id: 7,
            from: "+33612345678".parse().unwrap(),
            to: "36180".into(),
            text: text.into(),
            is_stop,
            message_id: Some(12),
            campaign_id: Some(15_948_909),
            received_at: AT,
        },
    }
}

/// A status callback reporting `status`, or an inbound one (`status` None).
pub fn webhook(source: &str, kind: EventKind, status: Option<MessageStatus>) -> Webhook {
    Webhook {
        id: 9,
        account_id: 7,
        url: "https://example.com/hook".into(),
        kind,
        source: source.into(),
        message_id: (kind == EventKind::Status).then_some(12),
        status,
        inbound_id: (kind != EventKind::Status).then_some(5),
        at: AT,
        attempts: 0,
    }
}
