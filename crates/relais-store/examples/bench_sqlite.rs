//! Benchmark: commit a 100,000-message campaign to SQLite, then dispatch it
//! (claim, record the submissions, apply delivery reports: three status
//! changes per message) in batches, as the dispatcher does.
//!
//! `cargo run --release -p relais-store --example bench_sqlite [-- MESSAGES BATCH [--webhooks]]`
//!
//! `--webhooks` gives the account a delivery-report URL, so each message also
//! enqueues two callbacks (submitted, delivered). The database is a file in a
//! temporary directory, opened with the default options (WAL, synchronous=NORMAL).
//!
//! Besides wall time it prints the CPU time of the process (all threads), which
//! says more than wall time on a machine busy with other work.

use std::time::{Duration, Instant};

use relais_core::calendar::Calendars;
use relais_core::plan::{self, PlanContext, Recipient, SendRequest};
use relais_core::pricing::PriceTable;
use relais_store::sqlite::{SqliteOptions, SqliteStore};
use relais_store::*;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let positional: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let messages = positional.first().copied().unwrap_or(100_000);
    let batch = positional.get(1).copied().unwrap_or(1_000);
    let webhooks = args.iter().any(|a| a == "--webhooks");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.db");
    let store = SqliteStore::open(path.to_str().unwrap(), SqliteOptions::default())
        .await
        .unwrap();
    let mut settings = AccountSettings::default();
    if webhooks {
        settings.webhooks.dlr = Some("https://client.example/dlr".into());
    }
    let new = NewAccount {
        name: "bench".into(),
        email: None,
        balance: None,
        sandbox: true,
        settings,
    };
    let account = store.create_account(new, 0).await.unwrap();

    let now: jiff::Timestamp = "2026-03-10T09:00:00Z".parse().unwrap();
    let request = SendRequest {
        text: Some("Benchmark message for relais".into()),
        recipients: (0..messages)
            .map(|i| Recipient::new(format!("+336{:08}", 10_000_000 + i)))
            .collect(),
        ..SendRequest::default()
    };
    let prices = PriceTable::default_table();
    let calendars = Calendars::france_default();
    let plan = plan::plan(&request, &PlanContext::new(now, &prices, &calendars)).unwrap();
    assert_eq!(plan.messages.len(), messages);

    let (t, cpu) = (Instant::now(), cpu_seconds());
    let meta = CampaignMeta {
        source: "api".into(),
        ..CampaignMeta::default()
    };
    let new = NewCampaign {
        account_id: account.id,
        request: &request,
        plan: &plan,
        meta,
        now: now.as_millisecond(),
    };
    store.commit_campaign(new).await.unwrap();
    println!(
        "commit of {messages} messages: {:.3} s (cpu {:.2} s)",
        t.elapsed().as_secs_f64(),
        cpu_seconds() - cpu
    );

    let (mut claim, mut record, mut apply) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let mut clock = now.as_millisecond();
    let mut done = 0;
    let (started, cpu) = (Instant::now(), cpu_seconds());
    loop {
        clock += 1;
        let t = Instant::now();
        let leased = store
            .claim_due(clock, batch as u32, clock + 60_000)
            .await
            .unwrap();
        claim += t.elapsed();
        if leased.is_empty() {
            break;
        }
        let outcomes: Vec<(MessageId, SubmitOutcome)> = leased
            .iter()
            .map(|m| {
                let outcome = SubmitOutcome::Submitted {
                    connector: "sim".into(),
                    carrier_ids: vec![format!("s{}", m.id)],
                };
                (m.id, outcome)
            })
            .collect();
        let t = Instant::now();
        store.record_submissions(&outcomes, clock).await.unwrap();
        record += t.elapsed();
        let reports: Vec<CarrierReport> = leased
            .iter()
            .map(|m| CarrierReport {
                connector: "sim".into(),
                carrier_id: format!("s{}", m.id),
                status: MessageStatus::Delivered,
                error: None,
                at: clock,
            })
            .collect();
        let t = Instant::now();
        done += store.apply_reports(&reports).await.unwrap();
        apply += t.elapsed();
    }
    let total = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu;
    assert_eq!(done, messages as u64);
    println!(
        "dispatch of {messages} messages in batches of {batch}{}: {total:.3} s (cpu {cpu:.2} s), {:.0} messages/s",
        if webhooks { " with webhooks" } else { "" },
        messages as f64 / total
    );
    println!(
        "  claim {:.3} s, record_submissions {:.3} s, apply_reports {:.3} s",
        claim.as_secs_f64(),
        record.as_secs_f64(),
        apply.as_secs_f64()
    );
    println!(
        "  pending webhooks: {}",
        store.pending_webhooks().await.unwrap()
    );
}

/// User and system CPU time of this process so far, from `/proc/self/stat`
/// (fields 14 and 15, in clock ticks of 1/100 s, Linux's USER_HZ).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The command name (field 2) may hold spaces: count fields after its ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}
