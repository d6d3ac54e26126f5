//! The conformance suite on [`PostgresStore`], and what only a shared
//! database has to get right: several nodes (several pools) claiming and
//! debiting at once.
//!
//! The tests need a PostgreSQL server, named by `RELAIS_TEST_DATABASE_URL`
//! (e.g. `postgres://root@127.0.0.1:5432/test`). Each test works in a schema
//! of its own, created for it and dropped after it, so tests run in parallel
//! on one database. Without the variable the tests are skipped with a note —
//! except under CI (`CI=true`), where that is a failure: CI must never skip
//! PostgreSQL silently.

#[macro_use]
mod conformance;

use std::collections::HashSet;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use relais_core::money::Amount;
use relais_store::postgres::{PostgresOptions, PostgresStore};
use relais_store::*;
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};

const URL_VARIABLE: &str = "RELAIS_TEST_DATABASE_URL";

/// The test database's URL; `None` when the tests are to be skipped.
fn database_url() -> Option<String> {
    match std::env::var(URL_VARIABLE) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|ci| ci == "true") => panic!(
            "{URL_VARIABLE} is not set: CI must run the PostgreSQL tests, \
             e.g. {URL_VARIABLE}=postgres://root@127.0.0.1:5432/test"
        ),
        _ => None,
    }
}

/// A schema of its own for one test, dropped with everything in it when the
/// test ends (passed or failed).
struct Schema {
    url: String,
    name: String,
}

impl Schema {
    async fn create(url: String) -> Schema {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "relais_test_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut conn = PgConnection::connect(&url).await.unwrap();
        conn.execute(AssertSqlSafe(format!("CREATE SCHEMA {name}")))
            .await
            .unwrap();
        conn.close().await.unwrap();
        Schema { url, name }
    }

    /// A store on the schema: one node, with a pool of its own.
    async fn store(&self) -> PostgresStore {
        let options = PostgresOptions {
            max_connections: 4,
            schema: Some(self.name.clone()),
            ..PostgresOptions::default()
        };
        PostgresStore::connect(&self.url, options).await.unwrap()
    }
}

impl Drop for Schema {
    /// Drops the schema from a thread of its own, with a runtime of its own:
    /// `drop` cannot await, and the test's runtime may be unwinding.
    fn drop(&mut self) {
        let (url, name) = (self.url.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let mut conn = PgConnection::connect(&url).await?;
                conn.execute("SET lock_timeout = '10s'").await?;
                conn.execute(AssertSqlSafe(format!("DROP SCHEMA {name} CASCADE")))
                    .await?;
                conn.close().await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop the test schema {}: {dropped:?}", self.name);
        }
    }
}

/// Says why a test is skipped, on the process' stderr: `eprintln!` would go to
/// the test's captured output, which is only shown for failures.
fn skip_note(what: &str) {
    let _ = writeln!(
        std::io::stderr(),
        "note: {URL_VARIABLE} is not set: skipping {what} \
         (e.g. {URL_VARIABLE}=postgres://root@127.0.0.1:5432/test)"
    );
}

/// A fresh store for a conformance test, `None` (after a note) to skip it.
async fn open() -> Option<(Arc<dyn Store>, Schema)> {
    let schema = schema().await?;
    let store: Arc<dyn Store> = Arc::new(schema.store().await);
    Some((store, schema))
}

conformance_tests!(open);

/// A schema for a PostgreSQL-specific test, `None` (after a note) to skip it.
async fn schema() -> Option<Schema> {
    let Some(url) = database_url() else {
        skip_note("a PostgreSQL test");
        return None;
    };
    Some(Schema::create(url).await)
}

/// Dispatches until nothing is due: claims, records each message submitted,
/// reports it delivered; answers the ids it claimed.
async fn dispatch(store: PostgresStore, now: Millis, batch: u32) -> Vec<MessageId> {
    let mut claimed = Vec::new();
    loop {
        let leased = store.claim_due(now, batch, now + 60_000).await.unwrap();
        if leased.is_empty() {
            return claimed;
        }
        let outcomes: Vec<(MessageId, SubmitOutcome)> = leased
            .iter()
            .map(|m| {
                let outcome = SubmitOutcome::Submitted {
                    connector: "sim".into(),
                    carrier_ids: vec![format!("c{}", m.id)],
                    report_by: i64::MAX,
                };
                (m.id, outcome)
            })
            .collect();
        store.record_submissions(&outcomes, now).await.unwrap();
        let reports: Vec<CarrierReport> = leased
            .iter()
            .map(|m| CarrierReport {
                connector: "sim".into(),
                carrier_id: format!("c{}", m.id),
                status: MessageStatus::Delivered,
                error: None,
                at: now,
            })
            .collect();
        let applied = store.apply_reports(&reports).await.unwrap();
        assert_eq!(applied, leased.len() as u64);
        claimed.extend(leased.iter().map(|m| m.id));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_claim_disjoint_batches_and_together_all() {
    let Some(schema) = schema().await else { return };
    let (one, two) = (schema.store().await, schema.store().await);
    let acme = conformance::new_account(&one, "acme", None).await;
    let t0 = conformance::t0();
    let numbers: Vec<String> = (0..3_000).map(conformance::number).collect();
    let now = conformance::send(
        &one,
        acme.id,
        &conformance::request(&numbers[..1_500], "Now"),
        t0,
    )
    .await;
    // Due an hour later: both nodes queue it at once, and each message must
    // be queued exactly once.
    let mut later = conformance::request(&numbers[1_500..], "Later");
    later.send_at = Some(t0 + jiff::SignedDuration::from_secs(3_600));
    let scheduled = conformance::send(&two, acme.id, &later, t0).await;

    let at = conformance::ms(t0) + 3_600_000;
    let (a, b) = tokio::join!(
        tokio::spawn(dispatch(one.clone(), at, 100)),
        tokio::spawn(dispatch(two.clone(), at, 100))
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(
        !a.is_empty() && !b.is_empty(),
        "both nodes got work: {} and {}",
        a.len(),
        b.len()
    );
    let mut all: HashSet<MessageId> = a.iter().copied().collect();
    assert_eq!(all.len(), a.len(), "node one claimed a message twice");
    for id in &b {
        assert!(all.insert(*id), "message {id} was claimed by both nodes");
    }
    assert_eq!(all.len(), 3_000);

    for campaign in [now, scheduled] {
        let counts = one.campaign_status_counts(acme.id, campaign).await.unwrap();
        assert_eq!(
            counts.into_iter().collect::<Vec<_>>(),
            vec![(MessageStatus::Delivered, 1_500)]
        );
    }
    let first = one
        .campaign_messages(acme.id, scheduled, None, Page::default())
        .await
        .unwrap();
    for message in first.iter().step_by(97) {
        let (_, history) = one.message(acme.id, message.id).await.unwrap().unwrap();
        let statuses: Vec<MessageStatus> = history.iter().map(|c| c.status).collect();
        assert_eq!(
            statuses,
            vec![
                MessageStatus::Scheduled,
                MessageStatus::Queued,
                MessageStatus::Submitting,
                MessageStatus::Submitted,
                MessageStatus::Delivered
            ]
        );
    }
    let totals = one.status_totals().await.unwrap();
    assert_eq!(totals.get(&MessageStatus::Delivered), Some(&3_000));
    one.close().await;
    two.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_commits_from_two_nodes_accept_what_the_balance_covers() {
    let Some(schema) = schema().await else { return };
    let nodes = [schema.store().await, schema.store().await];
    let request = Arc::new(conformance::request(
        &[conformance::number(1), conformance::number(2)],
        "Flash sale",
    ));
    let plan = Arc::new(conformance::plan_at(&request, conformance::t0()));
    let covered = 7;
    let acme = conformance::new_account(&nodes[0], "acme", Some(plan.cost * covered as i64)).await;
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let store = nodes[i % 2].clone();
            let (request, plan) = (request.clone(), plan.clone());
            tokio::spawn(async move {
                let new = NewCampaign {
                    account_id: acme.id,
                    request: &request,
                    plan: &plan,
                    meta: CampaignMeta {
                        source: "api".into(),
                        ..CampaignMeta::default()
                    },
                    now: conformance::ms(conformance::t0()),
                };
                store.commit_campaign(new).await
            })
        })
        .collect();
    let (mut committed, mut refused) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => committed += 1,
            Err(StoreError::InsufficientCredits { .. }) => refused += 1,
            Err(other) => panic!("unexpected error: {other}"),
        }
    }
    assert_eq!((committed, refused), (covered, 40 - covered));
    for node in &nodes {
        let account = node.account(acme.id).await.unwrap().unwrap();
        assert_eq!(account.balance, Some(Amount::ZERO));
    }
    let campaigns = nodes[1]
        .campaigns(acme.id, &CampaignFilter::default(), Page::default())
        .await
        .unwrap();
    assert_eq!(campaigns.len(), covered);
    let ledger = nodes[1].ledger(acme.id, Page::default()).await.unwrap();
    assert_eq!(
        ledger.len(),
        covered + 1,
        "the opening balance and each debit"
    );
    let total: Amount = ledger.iter().map(|e| e.amount).sum();
    assert_eq!(total, Amount::ZERO);
    let totals = nodes[0].status_totals().await.unwrap();
    assert_eq!(
        totals.get(&MessageStatus::Queued),
        Some(&(2 * covered as u64))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_again_finds_the_schema_migrated() {
    let Some(schema) = schema().await else { return };
    let first = schema.store().await;
    let acme = conformance::new_account(&first, "acme", None).await;
    first.close().await;
    let again = schema.store().await;
    again.migrate().await.unwrap();
    assert_eq!(again.account(acme.id).await.unwrap().unwrap().name, "acme");
}

/// Leases every message of a fresh `count`-message campaign on `store`.
async fn leased_campaign(store: &PostgresStore, count: u32) -> (AccountId, Vec<MessageId>) {
    let acme = conformance::new_account(store, "acme", None).await;
    let numbers: Vec<String> = (0..count).map(conformance::number).collect();
    let t0 = conformance::t0();
    conformance::send(store, acme.id, &conformance::request(&numbers, "Hi"), t0).await;
    let now = conformance::ms(t0);
    let leased = store.claim_due(now, count, now + 60_000).await.unwrap();
    assert_eq!(leased.len(), count as usize);
    (acme.id, leased.iter().map(|m| m.id).collect())
}

fn delivered(carrier_id: String) -> CarrierReport {
    CarrierReport {
        connector: "sim".into(),
        carrier_id,
        status: MessageStatus::Delivered,
        error: None,
        at: conformance::ms(conformance::t0()) + 10_000,
    }
}

/// Applies `reports` in batches of 25; answers how many messages changed.
async fn report_all(store: PostgresStore, reports: Vec<CarrierReport>) -> u64 {
    let mut changed = 0;
    for batch in reports.chunks(25) {
        changed += store.apply_reports(batch).await.unwrap();
    }
    changed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parts_reported_on_two_nodes_at_once_deliver_their_message_once() {
    let Some(schema) = schema().await else { return };
    let (one, two) = (schema.store().await, schema.store().await);
    let (account, ids) = leased_campaign(&one, 400).await;
    let outcomes: Vec<(MessageId, SubmitOutcome)> = ids
        .iter()
        .map(|id| {
            let outcome = SubmitOutcome::Submitted {
                connector: "sim".into(),
                carrier_ids: vec![format!("a{id}"), format!("b{id}")],
                report_by: i64::MAX,
            };
            (*id, outcome)
        })
        .collect();
    let now = conformance::ms(conformance::t0());
    one.record_submissions(&outcomes, now + 1).await.unwrap();

    // Each node reports one part of every message, at the same time.
    let first: Vec<_> = ids.iter().map(|id| delivered(format!("a{id}"))).collect();
    let second: Vec<_> = ids.iter().map(|id| delivered(format!("b{id}"))).collect();
    let (a, b) = tokio::join!(
        tokio::spawn(report_all(one.clone(), first)),
        tokio::spawn(report_all(two.clone(), second))
    );
    assert_eq!(a.unwrap() + b.unwrap(), 400, "each message changed once");

    let campaign = one
        .campaigns(account, &CampaignFilter::default(), Page::default())
        .await
        .unwrap()[0]
        .id;
    let counts = two.campaign_status_counts(account, campaign).await.unwrap();
    assert_eq!(
        counts.into_iter().collect::<Vec<_>>(),
        vec![(MessageStatus::Delivered, 400)]
    );
    let (_, history) = two.message(account, ids[0]).await.unwrap().unwrap();
    assert_eq!(
        history.last().map(|c| c.status),
        Some(MessageStatus::Delivered)
    );
    assert_eq!(history.len(), 4, "queued, submitting, submitted, delivered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_crossing_their_submissions_on_another_node_are_not_lost() {
    let Some(schema) = schema().await else { return };
    let (one, two) = (schema.store().await, schema.store().await);
    let (account, ids) = leased_campaign(&one, 400).await;
    let now = conformance::ms(conformance::t0());

    // A quarter of the reports come before any submission is recorded: they
    // wait. Then node one records the submissions while node two receives
    // the other reports: some before their submission, some after.
    let early: Vec<_> = ids[..100]
        .iter()
        .map(|id| delivered(format!("c{id}")))
        .collect();
    assert_eq!(report_all(two.clone(), early).await, 0);
    let submit = {
        let (store, ids) = (one.clone(), ids.clone());
        tokio::spawn(async move {
            for batch in ids.chunks(25) {
                let outcomes: Vec<(MessageId, SubmitOutcome)> = batch
                    .iter()
                    .map(|id| {
                        let outcome = SubmitOutcome::Submitted {
                            connector: "sim".into(),
                            carrier_ids: vec![format!("c{id}")],
                            report_by: i64::MAX,
                        };
                        (*id, outcome)
                    })
                    .collect();
                store.record_submissions(&outcomes, now + 1).await.unwrap();
            }
        })
    };
    let reports: Vec<_> = ids[100..]
        .iter()
        .map(|id| delivered(format!("c{id}")))
        .collect();
    let report = tokio::spawn(report_all(two.clone(), reports));
    submit.await.unwrap();
    report.await.unwrap();

    let campaign = one
        .campaigns(account, &CampaignFilter::default(), Page::default())
        .await
        .unwrap()[0]
        .id;
    let counts = two.campaign_status_counts(account, campaign).await.unwrap();
    assert_eq!(
        counts.into_iter().collect::<Vec<_>>(),
        vec![(MessageStatus::Delivered, 400)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_idempotency_key_commits_once_across_nodes() {
    let Some(schema) = schema().await else { return };
    let nodes = [schema.store().await, schema.store().await];
    let acme = conformance::new_account(&nodes[0], "acme", None).await;
    let request = Arc::new(conformance::request(&[conformance::number(1)], "Once"));
    let plan = Arc::new(conformance::plan_at(&request, conformance::t0()));
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let store = nodes[i % 2].clone();
            let (request, plan) = (request.clone(), plan.clone());
            tokio::spawn(async move {
                let meta = CampaignMeta {
                    source: "api".into(),
                    idempotency: Some(IdempotencyRecord {
                        key: "order-42".into(),
                        answer_template: r#"{"id":{campaign_id}}"#.into(),
                        since: 0,
                        request_hash: String::new(),
                    }),
                    ..CampaignMeta::default()
                };
                let new = NewCampaign {
                    account_id: acme.id,
                    request: &request,
                    plan: &plan,
                    meta,
                    now: conformance::ms(conformance::t0()),
                };
                store.commit_campaign(new).await
            })
        })
        .collect();
    let mut committed = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(id) => committed.push(id),
            Err(StoreError::Conflict(_)) => {}
            Err(other) => panic!("unexpected error: {other}"),
        }
    }
    assert_eq!(committed.len(), 1);
    let answer = nodes[1]
        .idempotent_answer(acme.id, "order-42", 0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(answer.campaign_id, committed[0]);
    assert_eq!(answer.body, format!(r#"{{"id":{}}}"#, committed[0]));
    let campaigns = nodes[0]
        .campaigns(acme.id, &CampaignFilter::default(), Page::default())
        .await
        .unwrap();
    assert_eq!(campaigns.len(), 1);
}
