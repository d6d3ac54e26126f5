//! One ESME bind to the SMSC simulator over loopback: how many `submit_sm`
//! per second, with a window of 256.
//!
//! `cargo run --release -p relais-smpp --example bench_smsc [messages]`
//!
//! Runs twice: without receipts, then with a receipt per message (matched and
//! handed to a sink that counts them, then acknowledged).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use relais_connectors::contract::{Connector, SubmitResult};
use relais_connectors::sink::EventSink;
use relais_core::encoding::Encoding;
use relais_core::number::Country;
use relais_core::plan::{ChannelOrder, MessageKind};
use relais_core::pricing::RouteClass;
use relais_smpp::esme::{Esme, EsmeConfig};
use relais_smpp::smsc::{Smsc, SmscConfig};
use relais_store::{
    AccountId, CarrierReport, Inbound, Millis, NewInbound, OutboundMessage, StoreResult,
};

#[derive(Default)]
struct Counting {
    reports: AtomicU64,
}

#[async_trait]
impl EventSink for Counting {
    async fn reports(&self, reports: &[CarrierReport]) -> u64 {
        self.reports
            .fetch_add(reports.len() as u64, Ordering::Relaxed);
        reports.len() as u64
    }

    async fn inbound(&self, _: NewInbound, _: Option<AccountId>) -> Option<Inbound> {
        None
    }

    async fn awaiting_reports(&self, _: &str, _: Millis, _: u32) -> StoreResult<Vec<String>> {
        Ok(Vec::new())
    }
}

fn batch(start: i64, size: usize) -> Vec<OutboundMessage> {
    (0..size as i64)
        .map(|i| OutboundMessage {
            id: start + i,
            account_id: 1,
            campaign_id: 1,
            sandbox: false,
            number: format!("+336{:08}", (start + i) % 100_000_000)
                .parse()
                .unwrap(),
            country: Country::FR,
            sender: Some("Relais".into()),
            text: "Your code is 123456. It expires in 10 minutes.".into(),
            encoding: Encoding::Gsm7,
            segments: 1,
            kind: MessageKind::Transactional,
            route_class: RouteClass::Premium,
            channels: ChannelOrder::Network,
            expires_at: None,
            attempts: 0,
        })
        .collect()
}

async fn run(total: usize, receipts: bool) {
    let smsc = Smsc::start(SmscConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..SmscConfig::default()
    })
    .await
    .expect("simulator");
    let sink = Arc::new(Counting::default());
    let esme = Esme::start(
        EsmeConfig {
            port: smsc.local_addr().port(),
            system_id: "bench".into(),
            password: "bench".into(),
            window: 256,
            binds: 1,
            registered_delivery: u8::from(receipts),
            ..EsmeConfig::default()
        },
        sink.clone(),
    )
    .expect("connector");
    while !esme.is_up() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Warm-up.
    let warm = 2_000;
    esme.submit(&batch(0, warm)).await;

    let batch_size = 2_000;
    let callers = 4;
    let per_caller = total / callers / batch_size;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..callers {
        let esme = esme.clone();
        tasks.push(tokio::spawn(async move {
            let mut accepted = 0usize;
            for b in 0..per_caller {
                let start = ((c * per_caller + b) * batch_size) as i64;
                let results = esme.submit(&batch(start, batch_size)).await;
                accepted += results
                    .iter()
                    .filter(|r| matches!(r, SubmitResult::Accepted { .. }))
                    .count();
            }
            accepted
        }));
    }
    let mut accepted = 0;
    for t in tasks {
        accepted += t.await.expect("caller");
    }
    let submit_elapsed = started.elapsed();
    let sent = callers * per_caller * batch_size;
    let mut receipt_elapsed = None;
    if receipts {
        let expected = (warm + sent) as u64;
        let deadline = Instant::now() + Duration::from_secs(60);
        while sink.reports.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        receipt_elapsed = Some(started.elapsed());
    }
    println!(
        "{}: {accepted}/{sent} submit_sm accepted in {:.2} s = {:.0} submit_sm/s (one bind, window 256)",
        if receipts {
            "with receipts"
        } else {
            "without receipts"
        },
        submit_elapsed.as_secs_f64(),
        accepted as f64 / submit_elapsed.as_secs_f64()
    );
    if let Some(elapsed) = receipt_elapsed {
        let reports = sink.reports.load(Ordering::Relaxed) - warm as u64;
        println!(
            "  receipts: {reports} matched, stored and acknowledged; all in by {:.2} s = {:.0} messages/s end to end",
            elapsed.as_secs_f64(),
            reports as f64 / elapsed.as_secs_f64()
        );
    }
    esme.shutdown().await;
    smsc.shutdown().await;
}

#[tokio::main]
async fn main() {
    let total: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(400_000);
    run(total, false).await;
    run(total, true).await;
}
