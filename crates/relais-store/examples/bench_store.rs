//! Benchmark of a store alone: commit a 100,000-message campaign, then
//! dispatch it (claim, record the submissions, apply delivery reports: three
//! status changes per message) in batches, as the dispatcher does.
//!
//! `cargo run --release -p relais-store --example bench_store [-- MESSAGES BATCH [--webhooks] [--postgres [URL]] [--nodes N]]`
//!
//! SQLite by default: a file in a temporary directory, default options (WAL,
//! synchronous=NORMAL). `--postgres` uses PostgreSQL at URL (else
//! `RELAIS_BENCH_DATABASE_URL`, else `postgres://root@127.0.0.1:5432/test`),
//! in a schema created for the run and dropped after it; `--nodes N` then
//! dispatches with N stores at once (N pools, as N relais nodes would).
//! `--webhooks` gives the account a delivery-report URL, so each message also
//! enqueues two callbacks (submitted, delivered).
//!
//! Besides wall time it prints the CPU time of this process (all threads) and,
//! on PostgreSQL, of the server processes serving it: on a machine busy with
//! other work they say more than wall time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use relais_core::calendar::Calendars;
use relais_core::plan::{self, PlanContext, Recipient, SendRequest};
use relais_core::pricing::PriceTable;
use relais_store::postgres::{PostgresOptions, PostgresStore};
use relais_store::sqlite::{SqliteOptions, SqliteStore};
use relais_store::*;
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};

/// The command line.
struct Args {
    messages: usize,
    batch: usize,
    webhooks: bool,
    /// `Some(url)` for PostgreSQL.
    postgres: Option<String>,
    nodes: usize,
}

impl Args {
    fn parse() -> Args {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let after = |flag: &str| {
            let i = args.iter().position(|a| a == flag)?;
            args.get(i + 1).filter(|v| !v.starts_with("--")).cloned()
        };
        let flag_values = [after("--nodes"), after("--postgres")];
        let positional: Vec<usize> = args
            .iter()
            .filter(|a| !flag_values.contains(&Some((*a).clone())))
            .filter_map(|a| a.parse().ok())
            .collect();
        let postgres = args.iter().any(|a| a == "--postgres").then(|| {
            after("--postgres")
                .or_else(|| std::env::var("RELAIS_BENCH_DATABASE_URL").ok())
                .unwrap_or_else(|| "postgres://root@127.0.0.1:5432/test".into())
        });
        Args {
            messages: positional.first().copied().unwrap_or(100_000),
            batch: positional.get(1).copied().unwrap_or(1_000),
            webhooks: args.iter().any(|a| a == "--webhooks"),
            nodes: after("--nodes")
                .and_then(|n| n.parse().ok())
                .unwrap_or(1usize)
                .max(1),
            postgres,
        }
    }
}

/// The stores under test (one per node) and what to clean up after.
struct Backend {
    stores: Vec<Arc<dyn Store>>,
    postgres: Option<Postgres>,
    _dir: Option<tempfile::TempDir>,
}

/// The PostgreSQL side: the schema of the run and the server's CPU.
struct Postgres {
    admin: PgConnection,
    schema: String,
    cpu: ServerCpu,
    stores: Vec<PostgresStore>,
}

impl Backend {
    async fn open(args: &Args) -> Backend {
        let Some(url) = &args.postgres else {
            assert_eq!(args.nodes, 1, "--nodes goes with --postgres");
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("bench.db");
            let store = SqliteStore::open(path.to_str().unwrap(), SqliteOptions::default())
                .await
                .unwrap();
            return Backend {
                stores: vec![Arc::new(store)],
                postgres: None,
                _dir: Some(dir),
            };
        };
        let schema = format!("relais_bench_{}", std::process::id());
        let mut admin = PgConnection::connect(url).await.unwrap();
        admin
            .execute(AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .await
            .unwrap();
        let options = PostgresOptions {
            schema: Some(schema.clone()),
            ..PostgresOptions::default()
        };
        let mut stores = Vec::new();
        for _ in 0..args.nodes {
            stores.push(PostgresStore::connect(url, options.clone()).await.unwrap());
        }
        Backend {
            stores: stores
                .iter()
                .map(|s| Arc::new(s.clone()) as Arc<dyn Store>)
                .collect(),
            postgres: Some(Postgres {
                admin,
                schema,
                cpu: ServerCpu::new(url).await,
                stores,
            }),
            _dir: None,
        }
    }

    async fn server_cpu(&self) -> f64 {
        match &self.postgres {
            Some(pg) => pg.cpu.seconds().await,
            None => 0.0,
        }
    }

    /// PostgreSQL: how many message updates were in place, then the schema
    /// dropped.
    async fn finish(self) {
        let Some(mut pg) = self.postgres else {
            return;
        };
        // Closed connections have reported their statistics.
        for store in &pg.stores {
            store.close().await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (updates, in_place): (i64, i64) = sqlx::query_as(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables
             WHERE schemaname = $1 AND relname = 'messages'",
        )
        .bind(&pg.schema)
        .fetch_one(&mut pg.admin)
        .await
        .unwrap();
        println!("  message updates: {updates}, in place (HOT): {in_place}");
        pg.admin
            .execute(AssertSqlSafe(format!("DROP SCHEMA {} CASCADE", pg.schema)))
            .await
            .unwrap();
    }
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let (messages, batch) = (args.messages, args.batch);
    let backend = Backend::open(&args).await;
    let store = backend.stores[0].clone();

    let mut settings = AccountSettings::default();
    if args.webhooks {
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

    let (t, cpu, server_cpu) = (Instant::now(), cpu_seconds(), backend.server_cpu().await);
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
        "{} commit of {messages} messages: {:.3} s (cpu {:.2} s, server cpu {:.2} s)",
        if args.postgres.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        t.elapsed().as_secs_f64(),
        cpu_seconds() - cpu,
        backend.server_cpu().await - server_cpu
    );

    let clock = now.as_millisecond() + 1;
    let (started, cpu, server_cpu) = (Instant::now(), cpu_seconds(), backend.server_cpu().await);
    let runs: Vec<_> = backend
        .stores
        .iter()
        .map(|store| tokio::spawn(dispatch(store.clone(), clock, batch)))
        .collect();
    let mut total = Timings::default();
    for run in runs {
        total.add(run.await.unwrap());
    }
    let wall = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu;
    let server_cpu = backend.server_cpu().await - server_cpu;
    assert_eq!(total.done, messages as u64);
    let nodes = args.nodes;
    println!(
        "dispatch of {messages} messages in batches of {batch}{}{}: {wall:.3} s (cpu {cpu:.2} s, \
         server cpu {server_cpu:.2} s), {:.0} messages/s",
        if args.webhooks { " with webhooks" } else { "" },
        if nodes > 1 {
            format!(" on {nodes} nodes")
        } else {
            String::new()
        },
        messages as f64 / wall
    );
    println!(
        "  claim {:.3} s, record_submissions {:.3} s, apply_reports {:.3} s{}",
        total.claim.as_secs_f64(),
        total.record.as_secs_f64(),
        total.apply.as_secs_f64(),
        if nodes > 1 {
            " (summed over nodes)"
        } else {
            ""
        }
    );
    println!(
        "  pending webhooks: {}",
        store.pending_webhooks().await.unwrap()
    );
    backend.finish().await;
}

/// Time spent in each step by one node, and the messages it finished.
#[derive(Default)]
struct Timings {
    claim: Duration,
    record: Duration,
    apply: Duration,
    done: u64,
}

impl Timings {
    fn add(&mut self, other: Timings) {
        self.claim += other.claim;
        self.record += other.record;
        self.apply += other.apply;
        self.done += other.done;
    }
}

/// One node's dispatcher: claims, submits and reports until nothing is due.
async fn dispatch(store: Arc<dyn Store>, mut clock: Millis, batch: usize) -> Timings {
    let mut timings = Timings::default();
    loop {
        clock += 1;
        let t = Instant::now();
        let leased = store
            .claim_due(clock, batch as u32, clock + 60_000)
            .await
            .unwrap();
        timings.claim += t.elapsed();
        if leased.is_empty() {
            return timings;
        }
        let outcomes: Vec<(MessageId, SubmitOutcome)> = leased
            .iter()
            .map(|m| {
                let outcome = SubmitOutcome::Submitted {
                    connector: "sim".into(),
                    carrier_ids: vec![format!("s{}", m.id)],
                    report_by: i64::MAX,
                };
                (m.id, outcome)
            })
            .collect();
        let t = Instant::now();
        store.record_submissions(&outcomes, clock).await.unwrap();
        timings.record += t.elapsed();
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
        timings.done += store.apply_reports(&reports).await.unwrap();
        timings.apply += t.elapsed();
    }
}

/// User and system CPU time of this process so far.
fn cpu_seconds() -> f64 {
    proc_cpu_seconds("self")
}

/// From `/proc/PID/stat` (fields 14 and 15, in clock ticks of 1/100 s,
/// Linux's USER_HZ).
fn proc_cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
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

/// The CPU time of the server's backends serving this benchmark (those with
/// application name "relais", found through `pg_stat_activity`), read from
/// `/proc` when the server runs on this machine; 0 otherwise.
struct ServerCpu {
    conn: tokio::sync::Mutex<PgConnection>,
}

impl ServerCpu {
    async fn new(url: &str) -> ServerCpu {
        let conn = PgConnection::connect(url).await.unwrap();
        ServerCpu {
            conn: tokio::sync::Mutex::new(conn),
        }
    }

    async fn seconds(&self) -> f64 {
        let pids: Vec<i32> = sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'relais'",
        )
        .fetch_all(&mut *self.conn.lock().await)
        .await
        .unwrap_or_default();
        pids.iter()
            .map(|pid| proc_cpu_seconds(&pid.to_string()))
            .sum()
    }
}
