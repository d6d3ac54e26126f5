//! End-to-end harness: runs the real `relais serve` binary on a free port with a
//! temporary database and configuration, and a callback listener that records
//! what relais posts to it.

#![allow(dead_code)] // each test file uses its own part of the harness

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub const ADMIN_TOKEN: &str = "test-admin-token";

/// A running `relais serve`.
pub struct Server {
    child: Child,
    pub base: String,
    pub dir: Arc<tempfile::TempDir>,
    pub http: reqwest::Client,
    /// What the server printed on stdout after its first line.
    printed: Arc<Mutex<Vec<String>>>,
}

/// Configuration every test server gets, before the test's own TOML.
fn base_config(db: &Path) -> String {
    format!(
        r#"listen = "127.0.0.1:0"
database_url = "{}"
admin_token = "{ADMIN_TOKEN}"

[log]
level = "warn"

[api]
allow_private_callbacks = true

[engine.dispatcher]
poll_interval_ms = 50

[engine.webhooks]
poll_interval_ms = 50
backoff_base_ms = 200
backoff_max_ms = 1000

[simulator]
report_delay_ms = [10, 50]
"#,
        db.display()
    )
}

impl Server {
    /// Starts a server on a fresh database. `extra` is appended TOML (it may
    /// override sections of the base configuration by repeating their keys
    /// under new tables only, so keep it to tables the base does not set).
    pub fn start(extra: &str) -> Server {
        let dir = Arc::new(tempfile::tempdir().expect("tempdir"));
        Server::start_in(dir, extra)
    }

    /// Starts a server on the database of an earlier one (a restart).
    pub fn start_in(dir: Arc<tempfile::TempDir>, extra: &str) -> Server {
        let config = dir.path().join("relais.toml");
        let toml = merge_toml(&base_config(&dir.path().join("relais.db")), extra);
        std::fs::write(&config, toml).expect("write config");
        let mut child = Command::new(env!("CARGO_BIN_EXE_relais"))
            .arg("--config")
            .arg(&config)
            .arg("serve")
            .current_dir(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn relais");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let first = lines
            .next()
            .expect("relais printed nothing")
            .expect("read stdout");
        let base = first
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {first:?}"))
            .to_string();
        // Keep draining stdout so the child never blocks on a full pipe.
        let printed = Arc::new(Mutex::new(Vec::new()));
        let kept = printed.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                kept.lock().unwrap().push(line);
            }
        });
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        Server {
            child,
            base,
            dir,
            http,
            printed,
        }
    }

    /// Waits up to 5 s for a stdout line containing `needle`, and returns it.
    pub async fn printed_line(&self, needle: &str) -> String {
        for _ in 0..50 {
            let found = self
                .printed
                .lock()
                .unwrap()
                .iter()
                .find(|l| l.contains(needle))
                .cloned();
            if let Some(line) = found {
                return line;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "relais never printed {needle:?}: {:?}",
            self.printed.lock().unwrap()
        );
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("relais.db")
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                assert!(status.success(), "relais exited with {status}");
                return;
            }
            assert!(
                Instant::now() < deadline,
                "relais did not stop after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the process with SIGKILL, as a crash or a power cut would: no
    /// shutdown, nothing finished or released.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL relais");
        self.child.wait().expect("reap relais");
    }

    pub async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(ADMIN_TOKEN);
        if let Some(body) = body {
            req = req.json(&body);
        }
        into_json(req.send().await.expect("admin request")).await
    }

    /// Creates an account with `balance` credits (None: postpaid) and returns (id, key).
    pub async fn account(&self, name: &str, balance: Option<&str>) -> (i64, String) {
        let (status, account) = self
            .admin(
                reqwest::Method::POST,
                "/admin/accounts",
                Some(json!({ "name": name, "balance": balance })),
            )
            .await;
        assert_eq!(status, 201, "{account}");
        let id = account["id"].as_i64().expect("account id");
        let (status, key) = self
            .admin(
                reqwest::Method::POST,
                &format!("/admin/accounts/{id}/keys"),
                Some(json!({})),
            )
            .await;
        assert_eq!(status, 201, "{key}");
        (id, key["token"].as_str().expect("token").to_string())
    }

    pub async fn get(&self, key: &str, path: &str) -> (u16, Value) {
        into_json(
            self.http
                .get(format!("{}{path}", self.base))
                .bearer_auth(key)
                .send()
                .await
                .expect("GET"),
        )
        .await
    }

    pub async fn post(&self, key: &str, path: &str, body: Value) -> (u16, Value) {
        into_json(
            self.http
                .post(format!("{}{path}", self.base))
                .bearer_auth(key)
                .json(&body)
                .send()
                .await
                .expect("POST"),
        )
        .await
    }

    pub async fn delete(&self, key: &str, path: &str) -> (u16, Value) {
        into_json(
            self.http
                .delete(format!("{}{path}", self.base))
                .bearer_auth(key)
                .send()
                .await
                .expect("DELETE"),
        )
        .await
    }

    /// Polls `GET path` until `done` holds on the answer, or panics after `timeout`.
    pub async fn wait_for(
        &self,
        key: &str,
        path: &str,
        timeout: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let (status, body) = self.get(key, path).await;
            if status == 200 && done(&body) {
                return body;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting on {path}: last answer {status} {body}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn into_json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, body)
}

/// Appends `extra` tables, replacing base tables that `extra` redefines.
fn merge_toml(base: &str, extra: &str) -> String {
    let mut merged: toml::Table = toml::from_str(base).expect("base config");
    let extra: toml::Table = toml::from_str(extra).expect("test config");
    fn merge(into: &mut toml::Table, from: toml::Table) {
        for (key, value) in from {
            match (into.get_mut(&key), value) {
                (Some(toml::Value::Table(a)), toml::Value::Table(b)) => merge(a, b),
                (_, value) => {
                    into.insert(key, value);
                }
            }
        }
    }
    merge(&mut merged, extra);
    toml::to_string(&merged).expect("merged config")
}

/// One request a [`Listener`] received.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("callback body is JSON")
    }
}

/// An HTTP listener standing in for a client's callback endpoint. It records
/// every request as it arrives, and answers `status` after `delay` (both
/// changeable).
#[derive(Clone)]
pub struct Listener {
    pub url: String,
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    status: Arc<Mutex<u16>>,
    delay: Arc<Mutex<Duration>>,
}

impl Listener {
    pub async fn start() -> Listener {
        Listener::start_on("127.0.0.1:0").await
    }

    pub async fn start_on(addr: &str) -> Listener {
        let received = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(Mutex::new(200u16));
        let delay = Arc::new(Mutex::new(Duration::ZERO));
        let (r, s, d) = (received.clone(), status.clone(), delay.clone());
        let app = axum::Router::new().fallback(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let (r, s, d) = (r.clone(), s.clone(), d.clone());
                async move {
                    let mut converted = reqwest::header::HeaderMap::new();
                    for (name, value) in &headers {
                        converted.insert(
                            reqwest::header::HeaderName::from_bytes(name.as_str().as_bytes())
                                .unwrap(),
                            reqwest::header::HeaderValue::from_bytes(value.as_bytes()).unwrap(),
                        );
                    }
                    r.lock().unwrap().push(Received {
                        headers: converted,
                        body: body.to_vec(),
                    });
                    let delay = *d.lock().unwrap();
                    tokio::time::sleep(delay).await;
                    axum::http::StatusCode::from_u16(*s.lock().unwrap()).unwrap()
                }
            },
        );
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .expect("bind listener");
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Listener {
            url: format!("http://{addr}/hook"),
            addr,
            received,
            status,
            delay,
        }
    }

    pub fn set_status(&self, status: u16) {
        *self.status.lock().unwrap() = status;
    }

    /// How long each request waits for its answer (a slow client).
    pub fn set_delay(&self, delay: Duration) {
        *self.delay.lock().unwrap() = delay;
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until `count` requests matching `filter` arrived.
    pub async fn wait_for(
        &self,
        count: usize,
        timeout: Duration,
        filter: impl Fn(&Received) -> bool,
    ) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let matching: Vec<Received> =
                self.received().into_iter().filter(|r| filter(r)).collect();
            if matching.len() >= count {
                return matching;
            }
            assert!(
                Instant::now() < deadline,
                "timed out: {} of {count} callbacks: {:?}",
                matching.len(),
                self.received()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A port free on 127.0.0.1 now, for a server that must know its own
/// address before it starts (a `public_url`).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `relais smsc-simulator` process on a free port, accepting the login
/// `relais` / `secret`; killed when dropped.
pub struct SmscProcess {
    child: Child,
    pub port: u16,
}

impl SmscProcess {
    pub fn start() -> SmscProcess {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_relais"))
            .args(["smsc-simulator", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--system-id", "relais", "--password", "secret"])
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn the SMSC simulator");
        SmscProcess { child, port }
    }

    /// A `[[connectors]]` entry named `name` binding to it.
    pub fn connector(&self, name: &str) -> String {
        format!(
            r#"
[[connectors]]
name = "{name}"
kind = "smpp"
host = "127.0.0.1"
port = {port}
system_id = "relais"
password = "secret"
"#,
            port = self.port
        )
    }
}

impl Drop for SmscProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
