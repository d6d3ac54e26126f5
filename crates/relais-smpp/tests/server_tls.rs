//! The SMPP server with `tls`, with certificates generated here by rcgen:
//! the crate's own ESME, trusting the generated CA, binds over TLS, submits
//! and gets its receipt; a plaintext client gets no bind; an unreadable
//! certificate stops the server at start.

mod common;

use std::io::ErrorKind;
use std::sync::Arc;

use common::fixture::{Fixture, Options, PASSWORD, SYSTEM_ID, StaticAuth};
use common::pki::{Pki, SERVER_NAME};
use common::{Recorder, one_message_and_its_receipt};
use relais_engine::send::{Pipeline, SendSettings};
use relais_smpp::esme::{Esme, EsmeConfig, EsmeTls};
use relais_smpp::pdu::c_string;
use relais_smpp::server::store_backed::StoreReceipts;
use relais_smpp::server::{ListenerTls, ServerConfig, SmppServer};
use relais_store::Store;
use relais_store::sqlite::SqliteStore;
use rusmpp::pdus::BindTransceiver;
use rusmpp::{Command, CommandStatus};

async fn tls_server(pki: &Pki) -> Fixture {
    let options = Options::default();
    Fixture::start(Options {
        server: ServerConfig {
            tls: Some(pki.listener("server")),
            ..options.server
        },
        ..options
    })
    .await
}

#[tokio::test]
async fn an_esme_binds_over_tls_submits_and_gets_its_receipt() {
    let pki = Pki::generate();
    let fixture = tls_server(&pki).await;
    let sink = Arc::new(Recorder::default());
    let esme = Esme::start(
        EsmeConfig {
            name: "relais".into(),
            host: "127.0.0.1".into(),
            port: fixture.server.local_addr().port(),
            tls: EsmeTls {
                enabled: true,
                ca_file: Some(pki.path("ca.pem")),
                server_name: Some(SERVER_NAME.into()),
                insecure_skip_verify: false,
            },
            system_id: SYSTEM_ID.into(),
            password: PASSWORD.into(),
            ..EsmeConfig::default()
        },
        sink.clone(),
    )
    .unwrap();
    one_message_and_its_receipt(&esme, &sink).await;

    esme.shutdown().await;
    fixture.stop().await;
}

/// The bind of a plaintext client is read as a broken TLS ClientHello: the
/// connection is dropped without an answer.
#[tokio::test]
async fn a_plaintext_client_gets_no_bind() {
    let pki = Pki::generate();
    let fixture = tls_server(&pki).await;
    let mut client = fixture.client().await;
    let bind = BindTransceiver::builder()
        .system_id(c_string(SYSTEM_ID).unwrap())
        .password(c_string(PASSWORD).unwrap())
        .build();
    client
        .send(Command::new(CommandStatus::EsmeRok, 1, bind))
        .await;
    // At most a TLS alert, which is no SMPP PDU: never a bind_resp.
    assert!(client.next().await.is_none());
    fixture.stop().await;
}

#[tokio::test]
async fn an_unreadable_certificate_stops_the_server_at_start() {
    let pki = Pki::generate();
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(
            dir.path().join("relais.db").to_str().unwrap(),
            Default::default(),
        )
        .await
        .unwrap(),
    );
    let pipeline = Arc::new(Pipeline::new(store.clone(), SendSettings::default()));
    let auth = Arc::new(StaticAuth {
        store: store.clone(),
        account_id: 1,
        max_binds: 0,
        throughput_per_second: None,
    });
    let receipts = Arc::new(StoreReceipts::new(store));
    let cases = [
        (
            pki.path("missing.pem"),
            pki.path("server.key"),
            "missing.pem",
        ),
        (
            pki.path("server.pem"),
            pki.path("missing.key"),
            "missing.key",
        ),
        // A key where the certificate should be.
        (
            pki.path("server.key"),
            pki.path("server.key"),
            "no PEM certificate",
        ),
    ];
    for (cert_file, key_file, why) in cases {
        let config = ServerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            tls: Some(ListenerTls {
                cert_file,
                key_file,
            }),
            ..ServerConfig::default()
        };
        let error = SmppServer::start(config, pipeline.clone(), auth.clone(), receipts.clone())
            .await
            .err()
            .expect("refused");
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
        assert!(error.to_string().contains(why), "{error}");
    }
}
