//! The SMPP server front door: how many `submit_sm` per second one client
//! bind gets accepted — each one planned and committed by the real pipeline
//! into a SQLite store (a file in a temporary directory) before its answer,
//! the submits of the window committed together (group commit).
//!
//! `cargo run --release -p relais-smpp --example bench_server [submits] [window]`

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use futures_util::{SinkExt, StreamExt};
use relais_engine::send::{Pipeline, SendSettings};
use relais_smpp::pdu::{Address, ShortMessage, c_string};
use relais_smpp::server::{
    AuthError, ReceiptQueue, ServerConfig, SmppAccount, SmppAuth, SmppServer,
};
use relais_store::sqlite::SqliteStore;
use relais_store::{
    Account, AccountId, Millis, NewAccount, Store, StoreResult, Webhook, WebhookResult,
};
use rusmpp::pdus::BindTransceiver;
use rusmpp::tokio_codec::CommandCodec;
use rusmpp::{Command, CommandId, CommandStatus};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio_util::codec::Framed;

struct OneLogin(Account);

#[async_trait]
impl SmppAuth for OneLogin {
    async fn authenticate(&self, _: &str, _: &str) -> Result<SmppAccount, AuthError> {
        Ok(SmppAccount {
            account: self.0.clone(),
            max_binds: 0,
            throughput_per_second: None,
        })
    }
}

struct NoReceipts;

#[async_trait]
impl ReceiptQueue for NoReceipts {
    async fn claim(
        &self,
        _: &[AccountId],
        _: Millis,
        _: u32,
        _: Millis,
    ) -> StoreResult<Vec<Webhook>> {
        Ok(Vec::new())
    }

    async fn finish(&self, _: &[(i64, WebhookResult)], _: Millis) -> StoreResult<()> {
        Ok(())
    }
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let total: u32 = args.next().and_then(|n| n.parse().ok()).unwrap_or(100_000);
    let window: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(256);

    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("bench.db");
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(path.to_str().expect("utf-8 path"), Default::default())
            .await
            .expect("store"),
    );
    let account = store
        .create_account(
            NewAccount::new("bench", None),
            jiff::Timestamp::now().as_millisecond(),
        )
        .await
        .expect("account");
    let pipeline = Arc::new(Pipeline::new(store.clone(), SendSettings::default()));
    let server = SmppServer::start(
        ServerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            max_submits_in_flight: window,
            ..ServerConfig::default()
        },
        pipeline,
        Arc::new(OneLogin(account)),
        Arc::new(NoReceipts),
    )
    .await
    .expect("server");

    let stream = TcpStream::connect(server.local_addr())
        .await
        .expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let mut framed = Framed::new(stream, CommandCodec::new());
    let bind = BindTransceiver::builder()
        .system_id(c_string("bench").unwrap())
        .password(c_string("bench").unwrap())
        .build();
    framed
        .send(Command::new(CommandStatus::EsmeRok, 1, bind))
        .await
        .expect("bind");
    let resp = framed.next().await.expect("bind_resp").expect("decodable");
    assert_eq!(resp.status(), CommandStatus::EsmeRok);
    let (mut sink, mut stream) = framed.split();

    let credits = Arc::new(Semaphore::new(window));
    let started = Instant::now();
    let writer = {
        let credits = credits.clone();
        tokio::spawn(async move {
            for i in 0..total {
                credits.acquire().await.expect("open").forget();
                let fields = ShortMessage {
                    source: Address::new(5, 0, "Bench"),
                    destination: Address::new(1, 1, format!("336{:08}", i % 100_000_000)),
                    short_message: b"Your code is 123456. It expires in 10 minutes.".to_vec(),
                    ..ShortMessage::default()
                };
                let pdu = fields.submit_sm(Vec::new()).expect("a valid submit_sm");
                // Feed without flushing while the window has room: one write per batch.
                sink.feed(Command::new(CommandStatus::EsmeRok, i + 2, pdu))
                    .await
                    .expect("send");
                if credits.available_permits() == 0 || i + 1 == total {
                    sink.flush().await.expect("flush");
                }
            }
            sink
        })
    };
    let mut accepted = 0u32;
    let mut refused = 0u32;
    while accepted + refused < total {
        let command = stream.next().await.expect("open").expect("decodable");
        if command.id() != CommandId::SubmitSmResp {
            continue;
        }
        credits.add_permits(1);
        if command.status() == CommandStatus::EsmeRok {
            accepted += 1;
        } else {
            refused += 1;
        }
    }
    let elapsed = started.elapsed();
    let _sink = writer.await.expect("writer");
    println!(
        "{accepted} submit_sm accepted ({refused} refused) in {:.2} s = {:.0} submit_sm/s \
         (one bind, window {window}, each committed to SQLite before its submit_sm_resp)",
        elapsed.as_secs_f64(),
        f64::from(accepted) / elapsed.as_secs_f64()
    );
    server.shutdown().await;
}
