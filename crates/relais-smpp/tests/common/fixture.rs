//! A relais behind the SMPP server: SQLite store, pipeline, dispatcher and
//! the engine's simulator as the carrier, with test doubles for the SMPP
//! credentials and for claiming receipts (the store's outbox, filtered).

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use futures_util::{SinkExt, StreamExt};
use relais_connectors::contract::Connector;
use relais_connectors::simulator::{Simulator, SimulatorConfig};
use relais_connectors::sink::StoreSink;
use relais_core::money::Amount;
use relais_core::plan::Channel;
use relais_engine::dispatcher::{Dispatcher, DispatcherConfig};
use relais_engine::routing::{RouteConfig, Router};
use relais_engine::send::{Pipeline, SendSettings};
use relais_smpp::pdu::c_string;
use relais_smpp::server::store_backed::{StoreAuth, StoreReceipts, login};
use relais_smpp::server::{AuthError, ServerConfig, SmppAccount, SmppAuth, SmppServer};
use relais_store::sqlite::SqliteStore;
use relais_store::{Account, AccountId, NewAccount, Store};
use rusmpp::pdus::{BindReceiver, BindTransceiver, BindTransmitter};
use rusmpp::tokio_codec::CommandCodec;
use rusmpp::{Command, CommandId, CommandStatus, Pdu};
use tokio::net::TcpStream;
use tokio::sync::{Notify, watch};
use tokio_util::codec::Framed;

pub const SYSTEM_ID: &str = "client";
pub const PASSWORD: &str = "secret";

/// One login, checked against the store's current account.
pub struct StaticAuth {
    pub store: Arc<dyn Store>,
    pub account_id: AccountId,
    pub max_binds: u32,
    pub throughput_per_second: Option<u32>,
}

#[async_trait]
impl SmppAuth for StaticAuth {
    async fn authenticate(
        &self,
        system_id: &str,
        password: &str,
    ) -> Result<SmppAccount, AuthError> {
        if system_id != SYSTEM_ID {
            return Err(AuthError::UnknownSystemId);
        }
        if password != PASSWORD {
            return Err(AuthError::WrongPassword);
        }
        let account = self
            .store
            .account(self.account_id)
            .await
            .map_err(|e| AuthError::Unavailable(e.to_string()))?
            .ok_or(AuthError::UnknownSystemId)?;
        Ok(SmppAccount {
            account,
            max_binds: self.max_binds,
            throughput_per_second: self.throughput_per_second,
        })
    }
}

pub struct Options {
    pub balance: Option<Amount>,
    pub max_binds: u32,
    pub throughput_per_second: Option<u32>,
    pub server: ServerConfig,
    /// Binds checked by [`StoreAuth`] against the account's stored SMPP
    /// login (Argon2 hash), instead of [`StaticAuth`].
    pub store_auth: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            balance: None,
            max_binds: 0,
            throughput_per_second: None,
            store_auth: false,
            server: ServerConfig {
                listen: "127.0.0.1:0".parse().unwrap(),
                receipt_poll_ms: 20,
                ..ServerConfig::default()
            },
        }
    }
}

pub struct Fixture {
    pub store: Arc<dyn Store>,
    pub account: Account,
    pub server: SmppServer,
    stop: watch::Sender<bool>,
    _dir: tempfile::TempDir,
}

impl Fixture {
    pub async fn start(options: Options) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relais.db");
        let store: Arc<dyn Store> = Arc::new(
            SqliteStore::open(path.to_str().unwrap(), Default::default())
                .await
                .unwrap(),
        );
        let account = store
            .create_account(
                NewAccount::new("smpp-client", options.balance),
                jiff::Timestamp::now().as_millisecond(),
            )
            .await
            .unwrap();

        // The engine: the simulator as the only carrier, delivering quickly.
        let sink = Arc::new(StoreSink::new(store.clone(), vec!["STOP".into()]));
        let simulator: Arc<dyn Connector> = Simulator::start(
            SimulatorConfig {
                report_delay_ms: (5, 20),
                seed: Some(1),
                ..SimulatorConfig::default()
            },
            sink,
        );
        let connectors = HashMap::from([("simulator".to_owned(), simulator)]);
        let route = RouteConfig {
            name: "all".into(),
            channel: Channel::Network,
            countries: vec![],
            prefixes: vec![],
            kinds: vec![],
            classes: vec![],
            connectors: vec!["simulator".into()],
        };
        let router = Arc::new(Router::new(vec![route], &connectors, "simulator").unwrap());
        let dispatcher = Arc::new(Dispatcher::new(
            store.clone(),
            router,
            HashMap::new(),
            DispatcherConfig {
                poll_interval_ms: 20,
                ..DispatcherConfig::default()
            },
        ));
        let wake = Arc::new(Notify::new());
        let (stop, stop_rx) = watch::channel(false);
        tokio::spawn(dispatcher.run(wake.clone(), stop_rx));
        let pipeline =
            Arc::new(Pipeline::new(store.clone(), SendSettings::default()).with_wake(wake));

        let auth: Arc<dyn SmppAuth> = if options.store_auth {
            let mut settings = account.settings.clone();
            settings.smpp = Some(
                login(
                    SYSTEM_ID,
                    PASSWORD,
                    options.max_binds,
                    options.throughput_per_second.unwrap_or(0),
                )
                .unwrap(),
            );
            store
                .update_account_settings(account.id, &settings)
                .await
                .unwrap();
            Arc::new(StoreAuth::new(store.clone()))
        } else {
            Arc::new(StaticAuth {
                store: store.clone(),
                account_id: account.id,
                max_binds: options.max_binds,
                throughput_per_second: options.throughput_per_second,
            })
        };
        let receipts = Arc::new(StoreReceipts::new(store.clone()));
        let server = SmppServer::start(options.server, pipeline, auth, receipts)
            .await
            .unwrap();
        Fixture {
            store,
            account,
            server,
            stop,
            _dir: dir,
        }
    }

    pub async fn client(&self) -> Client {
        Client::connect(self.server.local_addr()).await
    }

    pub async fn stop(self) {
        let _ = self.stop.send(true);
        self.server.shutdown().await;
    }
}

#[derive(Debug, Clone, Copy)]
pub enum BindAs {
    Transmitter,
    Receiver,
    Transceiver,
}

/// A minimal SMPP client on rusmpp's codec.
pub struct Client {
    pub framed: Framed<TcpStream, CommandCodec>,
    next_seq: u32,
    /// PDUs received while waiting for a response (deliver_sm…).
    pub received: Vec<Command>,
}

impl Client {
    pub async fn connect(addr: std::net::SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        Client {
            framed: Framed::new(stream, CommandCodec::new()),
            next_seq: 1,
            received: Vec::new(),
        }
    }

    pub fn sequence(&mut self) -> u32 {
        self.next_seq += 1;
        self.next_seq
    }

    pub async fn send(&mut self, command: Command) {
        self.framed.send(command).await.unwrap();
    }

    /// The next PDU, or `None` when the server closed the connection.
    pub async fn next(&mut self) -> Option<Command> {
        match tokio::time::timeout(std::time::Duration::from_secs(10), self.framed.next()).await {
            Ok(Some(Ok(command))) => Some(command),
            Ok(_) => None,
            Err(_) => panic!("no PDU from the server within 10 s"),
        }
    }

    /// Sends `pdu` and waits for its response, keeping other PDUs aside.
    pub async fn request(&mut self, pdu: impl Into<Pdu>) -> Command {
        let seq = self.sequence();
        self.send(Command::new(CommandStatus::EsmeRok, seq, pdu))
            .await;
        self.response(seq).await
    }

    pub async fn response(&mut self, seq: u32) -> Command {
        loop {
            let command = self.next().await.expect("connection open");
            if command.sequence_number() == seq && command.id().is_response() {
                return command;
            }
            self.received.push(command);
        }
    }

    pub async fn bind(&mut self, as_: BindAs, system_id: &str, password: &str) -> CommandStatus {
        let (system_id, password) = (c_string(system_id).unwrap(), c_string(password).unwrap());
        let pdu: Pdu = match as_ {
            BindAs::Transmitter => BindTransmitter::builder()
                .system_id(system_id)
                .password(password)
                .build()
                .into(),
            BindAs::Receiver => BindReceiver::builder()
                .system_id(system_id)
                .password(password)
                .build()
                .into(),
            BindAs::Transceiver => BindTransceiver::builder()
                .system_id(system_id)
                .password(password)
                .build()
                .into(),
        };
        self.request(pdu).await.status()
    }

    /// Waits for a `deliver_sm`, acknowledging it.
    pub async fn deliver_sm(&mut self) -> Command {
        let command = match self
            .received
            .iter()
            .position(|c| c.id() == CommandId::DeliverSm)
        {
            Some(at) => self.received.remove(at),
            None => loop {
                let command = self.next().await.expect("connection open");
                if command.id() == CommandId::DeliverSm {
                    break command;
                }
                self.received.push(command);
            },
        };
        self.send(Command::new(
            CommandStatus::EsmeRok,
            command.sequence_number(),
            rusmpp::pdus::DeliverSmResp::new(Default::default(), Vec::new()),
        ))
        .await;
        command
    }
}
