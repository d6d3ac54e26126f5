//! Test doubles and helpers shared by the integration tests.
#![allow(dead_code)] // each test binary uses its own subset

pub mod fixture;
pub mod pki;

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use relais_connectors::contract::{Connector, SubmitResult};
use relais_connectors::sink::EventSink;
use relais_core::encoding::Encoding;
use relais_core::number::Country;
use relais_core::plan::{ChannelOrder, MessageKind};
use relais_core::pricing::RouteClass;
use relais_core::segments;
use relais_smpp::esme::Esme;
use relais_store::{
    AccountId, CarrierReport, Inbound, MessageStatus, Millis, NewInbound, OutboundMessage,
    StoreResult,
};

/// Records what a connector reports; can hold reports back (a slow store).
#[derive(Default)]
pub struct Recorder {
    pub reports: Mutex<Vec<CarrierReport>>,
    pub inbound: Mutex<Vec<NewInbound>>,
    /// While set, report calls wait (the store has not taken them yet).
    pub hold_reports: AtomicBool,
    pub report_calls: AtomicUsize,
}

#[async_trait]
impl EventSink for Recorder {
    async fn reports(&self, reports: &[CarrierReport]) -> u64 {
        self.report_calls.fetch_add(1, Ordering::SeqCst);
        while self.hold_reports.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.reports.lock().unwrap().extend_from_slice(reports);
        reports.len() as u64
    }

    async fn inbound(&self, inbound: NewInbound, _: Option<AccountId>) -> Option<Inbound> {
        self.inbound.lock().unwrap().push(inbound);
        None
    }

    async fn awaiting_reports(&self, _: &str, _: Millis, _: u32) -> StoreResult<Vec<String>> {
        Ok(Vec::new())
    }
}

impl Recorder {
    pub fn reports(&self) -> Vec<CarrierReport> {
        self.reports.lock().unwrap().clone()
    }

    pub fn inbound(&self) -> Vec<NewInbound> {
        self.inbound.lock().unwrap().clone()
    }
}

/// Polls `condition` until it holds, failing the test after `secs` seconds.
pub async fn eventually(secs: u64, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A leased message as the dispatcher hands it to a connector.
pub fn message(id: i64, number: &str, text: &str, encoding: Encoding) -> OutboundMessage {
    OutboundMessage {
        id,
        account_id: 1,
        campaign_id: 1,
        sandbox: false,
        number: number.parse().unwrap(),
        country: Country::FR,
        sender: Some("Relais".into()),
        text: text.into(),
        encoding,
        segments: segments::count(text, encoding).segments,
        kind: MessageKind::Transactional,
        route_class: RouteClass::Premium,
        channels: ChannelOrder::Network,
        expires_at: None,
        attempts: 0,
    }
}

/// Decodes UTF-16BE.
pub fn utf16(bytes: &[u8]) -> String {
    let units: Vec<u16> = bytes
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16(&units).unwrap()
}

/// Waits for `esme` to bind without error, submits one message and waits for
/// its delivered receipt, matched by carrier id, in `sink`.
pub async fn one_message_and_its_receipt(esme: &Esme, sink: &Recorder) {
    eventually(5, "the bind", || esme.is_up()).await;
    assert_eq!(esme.last_error(), None);
    let results = esme
        .submit(&[message(1, "+33612345678", "one message", Encoding::Gsm7)])
        .await;
    let SubmitResult::Accepted { carrier_ids } = &results[0] else {
        panic!("not accepted: {results:?}");
    };
    eventually(5, "the receipt", || sink.reports().len() == 1).await;
    let report = &sink.reports()[0];
    assert_eq!(&report.carrier_id, &carrier_ids[0]);
    assert_eq!(report.status, MessageStatus::Delivered);
}
