//! Benchmark: the everyday paths of issue 9 through the real HTTP API, with
//! relais as a `relais serve` process of its own whose CPU time and peak
//! memory are read from `/proc`.
//!
//! `cargo build --release -p relais --bin relais --examples &&
//!  target/release/examples/bench_http [--backend sqlite|postgres|both] [--messages N] [--campaign N] [--postgres URL] [--relais PATH]`
//!
//! One `relais smsc-simulator` process answers every `submit_sm` at once and
//! sends a delivery receipt for each, at once. Each phase starts a fresh
//! `relais serve` (the binary beside this one's directory, or `--relais`) on
//! a fresh database (a SQLite file in a temporary directory, or a fresh
//! schema of PostgreSQL: `--postgres`, else `RELAIS_BENCH_DATABASE_URL`,
//! else `postgres://root@127.0.0.1:5432/test`) with one `[[smpp_connectors]]`
//! bound to that simulator as the only route, a prepaid account with credits
//! to spare and a rate limit it never reaches. This process is the clients:
//! keep-alive HTTP/1.1 connections (reqwest), and a callback receiver (axum)
//! that answers 200 at once and counts what it gets.
//!
//! Phases (N is `--messages`, 10,000 by default):
//! - `single ×8`, `single ×64`: N single-recipient `POST /v1/messages` from 8
//!   and 64 concurrent clients: accepted/s (the last answer) and submitted/s
//!   (every message at `submitted` or later, read from the store's status
//!   totals), then until every receipt is stored;
//! - `batch 100`: 5N recipients as requests of 100 from 8 clients;
//! - `callbacks all`, `callbacks final`: N recipients as requests of 100 with
//!   a `callback_url` to the receiver, every status or final statuses only
//!   (`"callback_events": "final"`; skipped when this relais refuses the
//!   field): callbacks/s between the first and the last one, and the time from
//!   the first request to the last callback;
//! - `campaign`: one request of `--campaign` recipients (2N by default; the
//!   issue's figure is for 100,000) with a `callback_url`, final statuses only
//!   when supported: the time from the request to the last callback.
//!
//! Every phase prints relais' CPU time per message (user + system, all its
//! threads) over the phase, its peak resident memory (`VmHWM`), on
//! PostgreSQL the CPU time of the server's processes on this machine, and its
//! figure beside the floor (SQLite; PostgreSQL at least half of it).
//! The floors are printed, never asserted. This process, the simulator and
//! PostgreSQL share the machine's cores with relais.

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::FreshSchema;
use relais::config::{ApiSection, Config, LogConfig, PostgresSection, RateSection};
use relais_engine::progress::{Progress, watch_delivery};
use relais_engine::routing::RouteConfig;
use relais_smpp::esme::EsmeConfig;
use relais_store::Store;
use serde_json::{Value, json};

const ADMIN_TOKEN: &str = "bench-admin-token";
const TEXT: &str = "Votre code de confirmation est 123456.";
/// The statuses a message never leaves: one callback each with `final`.
const FINAL_STATUSES: [&str; 6] = [
    "delivered",
    "undelivered",
    "expired",
    "failed",
    "rejected",
    "cancelled",
];
/// How long a phase may take before the benchmark gives up on it.
const PHASE_LIMIT: Duration = Duration::from_secs(900);

#[derive(Debug, Clone, Copy, PartialEq)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn label(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

struct Options {
    backends: Vec<Backend>,
    messages: usize,
    campaign: Option<usize>,
    postgres: String,
    relais: PathBuf,
}

fn usage(problem: &str) -> ExitCode {
    eprintln!(
        "bench_http: {problem}\nusage: bench_http [--backend sqlite|postgres|both] [--messages N] \
         [--campaign N] [--postgres URL] [--relais PATH]"
    );
    ExitCode::from(2)
}

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        backends: vec![Backend::Sqlite, Backend::Postgres],
        messages: 10_000,
        campaign: None,
        postgres: common::postgres_url(None),
        relais: default_relais_binary(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        let count = |v: String| {
            v.parse::<usize>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or(format!("{flag}: not a positive count: {v:?}"))
        };
        match flag.as_str() {
            "--backend" => {
                options.backends = match value()?.as_str() {
                    "sqlite" => vec![Backend::Sqlite],
                    "postgres" => vec![Backend::Postgres],
                    "both" => vec![Backend::Sqlite, Backend::Postgres],
                    other => return Err(format!("unknown backend {other:?}")),
                }
            }
            "--messages" => options.messages = count(value()?)?,
            "--campaign" => options.campaign = Some(count(value()?)?),
            "--postgres" => options.postgres = value()?,
            "--relais" => options.relais = value()?.into(),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(options)
}

/// `target/<profile>/relais`, beside this example's `examples/` directory.
fn default_relais_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("current executable");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the example sits in target/<profile>/examples");
    profile_dir.join("relais")
}

fn main() -> ExitCode {
    let options = match parse_options() {
        Ok(options) => options,
        Err(problem) => return usage(&problem),
    };
    if !options.relais.is_file() {
        return usage(&format!(
            "no relais binary at {} (build it: cargo build --release -p relais --bin relais, or give --relais)",
            options.relais.display()
        ));
    }
    // Two threads are plenty for the clients and the receiver; relais runs
    // in its own process.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(run(options));
    ExitCode::SUCCESS
}

async fn run(options: Options) {
    let smsc = SmscProcess::start(&options.relais).await;
    let receiver = Receiver::start().await;
    let n = options.messages;
    let campaign = options.campaign.unwrap_or(2 * n);
    println!(
        "bench_http: relais {}, {} message(s) per phase, campaign of {campaign}; floors are SQLite's, \
         PostgreSQL's are half (printed, not asserted)",
        options.relais.display(),
        n
    );
    let phases = [
        Phase::requests("single ×8", n, 1, 8, Floor::Rate(10_000.0)),
        Phase::requests("single ×64", n, 1, 64, Floor::None),
        Phase::requests("batch 100", 5 * n, 100, 8, Floor::Rate(50_000.0)),
        Phase::callbacks("callbacks all", n, 100, 8, Events::All),
        Phase::callbacks("callbacks final", n, 100, 8, Events::Final),
        Phase::campaign("campaign", campaign),
    ];
    for &backend in &options.backends {
        for phase in &phases {
            let database = Database::fresh(backend, &options.postgres).await;
            let relais = Relais::start(&options.relais, &database, smsc.port).await;
            phase.run(backend, &relais, &receiver).await;
            relais.stop().await;
            database.drop().await;
        }
    }
}

/// What the issue asks of a phase's figure on SQLite.
#[derive(Debug, Clone, Copy)]
enum Floor {
    None,
    /// At least this many per second.
    Rate(f64),
    /// The last callback of 100,000 messages within this many seconds.
    CampaignSecs(f64),
}

impl Floor {
    /// `figure` beside the floor, halved (or doubled, for a time) on PostgreSQL.
    fn beside(self, backend: Backend, figure: f64, campaign: usize) -> String {
        let pg = backend == Backend::Postgres;
        match self {
            Floor::None => String::new(),
            Floor::Rate(floor) => {
                let floor = if pg { floor / 2.0 } else { floor };
                format!(
                    " [floor ≥ {floor:.0}/s: {}]",
                    if figure >= floor { "met" } else { "below" }
                )
            }
            Floor::CampaignSecs(secs) => {
                let secs = if pg { secs * 2.0 } else { secs };
                let pro_rata = secs * campaign as f64 / 100_000.0;
                format!(
                    " [floor ≤ {secs:.0} s for 100,000, {pro_rata:.1} s pro rata: {}]",
                    if figure <= pro_rata { "met" } else { "missed" }
                )
            }
        }
    }
}

/// Which status callbacks a phase asks for.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Events {
    None,
    All,
    /// `"callback_events": "final"`; the phase is skipped without it.
    Final,
    /// Final statuses when relais knows `callback_events`, else all.
    FinalIfSupported,
}

struct Phase {
    name: &'static str,
    messages: usize,
    per_request: usize,
    clients: usize,
    events: Events,
    floor: Floor,
}

impl Phase {
    /// Requests without callbacks: the figure is messages submitted per second.
    fn requests(
        name: &'static str,
        messages: usize,
        per_request: usize,
        clients: usize,
        floor: Floor,
    ) -> Phase {
        Phase {
            name,
            messages,
            per_request,
            clients,
            events: Events::None,
            floor,
        }
    }

    /// Requests with a `callback_url`: the figure is callbacks per second.
    fn callbacks(
        name: &'static str,
        messages: usize,
        per_request: usize,
        clients: usize,
        events: Events,
    ) -> Phase {
        Phase {
            name,
            messages,
            per_request,
            clients,
            events,
            floor: Floor::Rate(20_000.0),
        }
    }

    /// One request of `messages` recipients with a `callback_url`: the
    /// figure is the time to the last callback.
    fn campaign(name: &'static str, messages: usize) -> Phase {
        Phase {
            name,
            messages,
            per_request: messages,
            clients: 1,
            events: Events::FinalIfSupported,
            floor: Floor::CampaignSecs(10.0),
        }
    }

    async fn run(&self, backend: Backend, relais: &Relais, receiver: &Receiver) {
        let (phase, floor) = (self, self.floor);
        let label = format!("{} {}", backend.label(), phase.name);
        let finals_only = match phase.events {
            Events::None | Events::All => false,
            Events::Final | Events::FinalIfSupported => relais.knows_callback_events().await,
        };
        if phase.events == Events::Final && !finals_only {
            println!(
                "{label}: skipped: this relais refuses \"callback_events\" in POST /v1/messages"
            );
            return;
        }
        let callbacks = phase.events != Events::None;
        let requests = phase.messages.div_ceil(phase.per_request);
        let messages = requests * phase.per_request;
        let body = |request: usize| {
            let to: Vec<String> = (0..phase.per_request)
                .map(|i| number(request * phase.per_request + i))
                .collect();
            let mut body = json!({ "to": to, "text": TEXT });
            if callbacks {
                body["callback_url"] = receiver.url.clone().into();
            }
            if finals_only {
                body["callback_events"] = "final".into();
            }
            body.to_string()
        };

        receiver.reset();
        let cpu_before = (relais.cpu(), postgres_server_cpu());
        let start = Instant::now();
        let sent = send_all(relais, requests, phase.clients, body).await;
        let accepted = start.elapsed();
        if let Some(error) = &sent.first_error {
            println!(
                "{label}: {} of {requests} requests refused, the first: {error}",
                sent.refused
            );
        }
        let expected = (sent.accepted * phase.per_request) as u64;
        // Counted after the warm-up message, which is delivered already.
        let progress = watch_delivery(
            relais.store.as_ref(),
            expected + 1,
            start,
            Duration::from_millis(20),
            PHASE_LIMIT,
        )
        .await;
        let Ok(Progress {
            dispatched: submitted,
            delivered,
        }) = progress
        else {
            println!("{label}: gave up: {}", progress.unwrap_err());
            return;
        };
        let per_sec = |d: Duration| expected as f64 / d.as_secs_f64();
        let shape = if phase.per_request == 1 {
            format!("{requests} single-recipient requests")
        } else {
            format!("{requests} request(s) of {}", phase.per_request)
        };
        println!(
            "{label}: {shape} from {} client(s): accepted in {:.2} s ({:.0} msg/s), \
             submitted in {:.2} s ({:.0} msg/s){}, receipts stored after {:.2} s",
            phase.clients,
            accepted.as_secs_f64(),
            per_sec(accepted),
            submitted.as_secs_f64(),
            per_sec(submitted),
            if callbacks {
                String::new()
            } else {
                floor.beside(backend, per_sec(submitted), messages)
            },
            delivered.as_secs_f64(),
        );
        if callbacks {
            match receiver.wait_for_finals(expected as usize, start).await {
                Ok(tally) => {
                    let window = tally.last - tally.first;
                    let rate = tally.all as f64 / window.as_secs_f64();
                    let pending = relais.store.pending_webhooks().await.expect("outbox");
                    let figure = match floor {
                        Floor::CampaignSecs(_) => (tally.last - start).as_secs_f64(),
                        _ => rate,
                    };
                    println!(
                        "{label}: {} callback(s) ({}, {} final), {rate:.0}/s from the first to the last{}; \
                         last callback {:.2} s after the first request; {pending} left in the outbox",
                        tally.all,
                        if finals_only {
                            "final statuses only"
                        } else {
                            "every status"
                        },
                        tally.finals,
                        floor.beside(backend, figure, messages),
                        (tally.last - start).as_secs_f64(),
                    );
                }
                Err(problem) => println!("{label}: {problem}"),
            }
        }
        let cpu = relais.cpu() - cpu_before.0;
        let per_message = |cpu: Duration| cpu.as_secs_f64() * 1e3 / expected.max(1) as f64;
        let server = match backend {
            Backend::Sqlite => String::new(),
            Backend::Postgres => {
                let server = postgres_server_cpu().saturating_sub(cpu_before.1);
                format!(
                    "; PostgreSQL server CPU {:.3} ms per message ({:.2} s)",
                    per_message(server),
                    server.as_secs_f64()
                )
            }
        };
        println!(
            "{label}: relais CPU {:.3} ms per message ({:.2} s in all), peak RSS {} MB{server}",
            per_message(cpu),
            cpu.as_secs_f64(),
            relais.peak_rss_kb() / 1024
        );
    }
}

/// The `i`th distinct French mobile number.
fn number(i: usize) -> String {
    format!("+336{:08}", 10_000_000 + i)
}

struct Sent {
    accepted: usize,
    refused: usize,
    first_error: Option<String>,
}

/// Sends `requests` bodies (`body(i)` for the `i`th) to `POST /v1/messages`
/// from `clients` concurrent keep-alive clients, each sending its next
/// request when the previous one is answered.
async fn send_all(
    relais: &Relais,
    requests: usize,
    clients: usize,
    body: impl Fn(usize) -> String + Sync,
) -> Sent {
    let next = AtomicUsize::new(0);
    let url = format!("{}/v1/messages", relais.base);
    let client = || async {
        let (mut accepted, mut refused, mut first_error) = (0, 0, None);
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= requests {
                break;
            }
            let response = relais
                .http
                .post(&url)
                .bearer_auth(&relais.key)
                .header("content-type", "application/json")
                .body(body(i))
                .send()
                .await;
            match response {
                Ok(response) if response.status() == 201 => {
                    // Read the answer, so that the connection is reused.
                    let _ = response.bytes().await;
                    accepted += 1;
                }
                Ok(response) => {
                    refused += 1;
                    let status = response.status();
                    let text = response.text().await.unwrap_or_default();
                    first_error.get_or_insert(format!("{status} {text}"));
                }
                Err(e) => {
                    refused += 1;
                    first_error.get_or_insert(e.to_string());
                }
            }
        }
        (accepted, refused, first_error)
    };
    let results = futures_util::future::join_all((0..clients).map(|_| client())).await;
    let mut sent = Sent {
        accepted: 0,
        refused: 0,
        first_error: None,
    };
    for (accepted, refused, first_error) in results {
        sent.accepted += accepted;
        sent.refused += refused;
        if sent.first_error.is_none() {
            sent.first_error = first_error;
        }
    }
    sent
}

/// Where one phase's relais keeps its data.
struct Database {
    /// Holds the SQLite file, and relais' configuration in both cases.
    dir: tempfile::TempDir,
    url: String,
    schema: Option<FreshSchema>,
}

impl Database {
    async fn fresh(backend: Backend, postgres: &str) -> Database {
        let dir = tempfile::tempdir().expect("temporary directory");
        match backend {
            Backend::Sqlite => Database {
                url: dir.path().join("relais.db").display().to_string(),
                dir,
                schema: None,
            },
            Backend::Postgres => Database {
                dir,
                url: postgres.to_owned(),
                schema: Some(FreshSchema::create(postgres).await),
            },
        }
    }

    async fn drop(self) {
        if let Some(schema) = self.schema {
            schema.drop().await;
        }
    }
}

/// The configuration of the benchmarked relais: defaults but for the
/// database, one SMPP connector to the simulator as the only route, a rate
/// limit it never reaches and callbacks allowed to this machine.
fn relais_config(database: &Database, smsc_port: u16) -> Config {
    Config {
        listen: "127.0.0.1:0".into(),
        database_url: database.url.clone(),
        admin_token: Some(ADMIN_TOKEN.into()),
        log: LogConfig {
            level: "warn".into(),
            ..LogConfig::default()
        },
        api: ApiSection {
            rate_limit: Some(RateSection {
                per_second: 1_000_000,
                burst: 1_000_000,
            }),
            allow_private_callbacks: true,
            ..ApiSection::default()
        },
        postgres: PostgresSection {
            schema: database.schema.as_ref().map(|s| s.name.clone()),
        },
        smpp_connectors: vec![EsmeConfig {
            name: "carrier".into(),
            host: "127.0.0.1".into(),
            port: smsc_port,
            system_id: SmscProcess::SYSTEM_ID.into(),
            password: SmscProcess::PASSWORD.into(),
            ..EsmeConfig::default()
        }],
        routes: vec![RouteConfig {
            name: "all".into(),
            channel: Default::default(),
            countries: Vec::new(),
            prefixes: Vec::new(),
            kinds: Vec::new(),
            classes: Vec::new(),
            connectors: vec!["carrier".into()],
        }],
        ..Config::default()
    }
}

/// A running `relais serve` with the benchmark's account, and the store
/// opened from this process to watch its messages.
struct Relais {
    child: Child,
    base: String,
    http: reqwest::Client,
    key: String,
    store: Arc<dyn Store>,
}

impl Relais {
    /// Starts relais on `database`, creates the account and its key, and
    /// sends one message through the connector, so that the bind is up and
    /// the connections warm when the phase starts.
    async fn start(binary: &Path, database: &Database, smsc_port: u16) -> Relais {
        let config = relais_config(database, smsc_port);
        let path = database.dir.path().join("relais.toml");
        std::fs::write(
            &path,
            toml::to_string(&config).expect("configuration as TOML"),
        )
        .expect("write the configuration");
        let mut child = Command::new(binary)
            .arg("--config")
            .arg(&path)
            .arg("serve")
            .current_dir(database.dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn relais serve");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let first = lines
            .next()
            .expect("relais serve printed nothing")
            .expect("read its output");
        let base = first
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {first:?}"))
            .to_owned();
        // Keep draining stdout so that relais never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .timeout(Duration::from_secs(300))
            .build()
            .expect("HTTP client");
        let key = bench_key(&http, &base).await;
        let store = relais::wiring::open_store(&config)
            .await
            .expect("the store, from the benchmark");
        let relais = Relais {
            child,
            base,
            http,
            key,
            store,
        };
        relais.warm_up().await;
        relais
    }

    async fn warm_up(&self) {
        let response = self
            .http
            .post(format!("{}/v1/messages", self.base))
            .bearer_auth(&self.key)
            .json(&json!({ "to": ["+33699999999"], "text": TEXT }))
            .send()
            .await
            .expect("warm-up request");
        assert_eq!(response.status(), 201, "{:?}", response.text().await);
        watch_delivery(
            self.store.as_ref(),
            1,
            Instant::now(),
            Duration::from_millis(10),
            Duration::from_secs(60),
        )
        .await
        .expect("the warm-up message delivered through the connector");
    }

    /// Whether `POST /v1/messages` takes `callback_events` (asked with a
    /// simulated send: nothing stored).
    async fn knows_callback_events(&self) -> bool {
        let response = self
            .http
            .post(format!("{}/v1/messages", self.base))
            .bearer_auth(&self.key)
            .json(&json!({
                "to": ["+33699999998"], "text": TEXT, "simulate": true,
                "callback_url": "http://127.0.0.1:9/", "callback_events": "final",
            }))
            .send()
            .await
            .expect("probe request");
        response.status().is_success()
    }

    /// User and system CPU time of all relais' threads so far.
    fn cpu(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))
            .expect("/proc/PID/stat");
        process_cpu(&stat).expect("utime and stime in /proc/PID/stat")
    }

    /// Peak resident memory (`VmHWM`), in kB.
    fn peak_rss_kb(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("/proc/PID/status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM")
    }

    /// Kills relais: the phase is measured, nothing of it is needed any more.
    async fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        drop(self.store);
    }
}

/// User and system CPU time of a process, from its `/proc/PID/stat`.
fn process_cpu(stat: &str) -> Option<Duration> {
    // Fields after the command name (in parentheses, maybe with spaces):
    // the state is field 3, utime and stime are fields 14 and 15.
    let fields: Vec<&str> = stat[stat.rfind(')')? + 2..].split(' ').collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_secs_f64(ticks as f64 / *CLOCK_TICKS as f64))
}

/// CPU time of the PostgreSQL server's processes on this machine so far
/// (those alive now: relais' connections stay open for a whole phase).
fn postgres_server_cpu() -> Duration {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Duration::ZERO;
    };
    entries
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter(|stat| stat.contains("(postgres)"))
        .filter_map(|stat| process_cpu(&stat))
        .sum()
}

/// Clock ticks per second of `/proc/PID/stat` (`getconf CLK_TCK`, 100 on Linux).
static CLOCK_TICKS: std::sync::LazyLock<u64> = std::sync::LazyLock::new(|| {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
});

/// A prepaid account with credits for far more than a run sends, and its key,
/// through the admin API.
async fn bench_key(http: &reqwest::Client, base: &str) -> String {
    let admin = |path: &str, body: Value| {
        http.post(format!("{base}{path}"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
    };
    let answer = |response: reqwest::Response| async move {
        let status = response.status();
        let body: Value = response.json().await.expect("JSON answer");
        assert_eq!(status, 201, "{body}");
        body
    };
    let account = answer(
        admin(
            "/admin/accounts",
            json!({ "name": "bench", "balance": "100000000" }),
        )
        .await
        .expect("create the account"),
    )
    .await;
    let id = account["id"].as_i64().expect("account id");
    let key = answer(
        admin(&format!("/admin/accounts/{id}/keys"), json!({}))
            .await
            .expect("create the key"),
    )
    .await;
    key["token"].as_str().expect("token").to_owned()
}

/// A `relais smsc-simulator` process on a free port: submits answered at
/// once, a receipt for each at once; killed when dropped.
struct SmscProcess {
    child: Child,
    port: u16,
}

impl SmscProcess {
    const SYSTEM_ID: &str = "relais";
    const PASSWORD: &str = "secret";

    async fn start(binary: &Path) -> SmscProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let listen = format!("127.0.0.1:{port}");
        let child = Command::new(binary)
            .args(["smsc-simulator", "--listen", &listen])
            .args(["--system-id", Self::SYSTEM_ID, "--password", Self::PASSWORD])
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn relais smsc-simulator");
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(&listen).await.is_err() {
            assert!(Instant::now() < deadline, "the simulator does not listen");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        SmscProcess { child, port }
    }
}

impl Drop for SmscProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the receiver counted since its last reset.
#[derive(Default)]
struct Tally {
    all: u64,
    /// Messages with a final-status callback (duplicates counted once).
    finals: HashSet<i64>,
    first: Option<Instant>,
    last: Option<Instant>,
}

/// The figures of a phase's callbacks.
struct Counted {
    all: u64,
    finals: usize,
    first: Instant,
    last: Instant,
}

/// The callback receiver: answers 200 at once and counts every body.
struct Receiver {
    url: String,
    tally: Arc<Mutex<Tally>>,
}

impl Receiver {
    async fn start() -> Receiver {
        let tally = Arc::new(Mutex::new(Tally::default()));
        let counting = tally.clone();
        let app = axum::Router::new().fallback(move |body: axum::body::Bytes| {
            let tally = counting.clone();
            async move {
                let event: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let now = Instant::now();
                let mut tally = tally.lock().unwrap();
                tally.all += 1;
                tally.first.get_or_insert(now);
                tally.last = Some(now);
                let status = event["status"].as_str().unwrap_or_default();
                if FINAL_STATUSES.contains(&status)
                    && let Some(id) = event["message_id"].as_i64()
                {
                    tally.finals.insert(id);
                }
                axum::http::StatusCode::OK
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the receiver");
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.expect("receiver") });
        Receiver { url, tally }
    }

    fn reset(&self) {
        *self.tally.lock().unwrap() = Tally::default();
    }

    /// Waits until `expected` messages had their final callback, then a
    /// moment for any other status still on its way.
    async fn wait_for_finals(&self, expected: usize, start: Instant) -> Result<Counted, String> {
        loop {
            let finals = self.tally.lock().unwrap().finals.len();
            if finals >= expected {
                break;
            }
            if start.elapsed() > PHASE_LIMIT {
                return Err(format!(
                    "gave up: {finals} of {expected} final callbacks after {PHASE_LIMIT:?}"
                ));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let tally = self.tally.lock().unwrap();
        Ok(Counted {
            all: tally.all,
            finals: tally.finals.len(),
            first: tally.first.expect("a callback arrived"),
            last: tally.last.expect("a callback arrived"),
        })
    }
}
