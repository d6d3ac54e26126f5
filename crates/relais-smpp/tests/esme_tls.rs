//! The ESME connector over TLS to the simulator's TLS listener, with
//! certificates generated here by rcgen: a bind, a submit and its receipt;
//! handshakes that must fail (unknown CA, wrong name, plaintext peer) and
//! never fall back to plaintext; options that cannot work refused at start.

mod common;

use std::path::Path;
use std::sync::Arc;

use common::pki::{Pki, SERVER_NAME};
use common::{Recorder, eventually, one_message_and_its_receipt};
use relais_connectors::contract::Connector;
use relais_smpp::esme::{Esme, EsmeConfig, EsmeTls};
use relais_smpp::smsc::{Smsc, SmscAccount, SmscConfig, SmscTls};

async fn simulator(tls: Option<SmscTls>) -> Smsc {
    Smsc::start(SmscConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        tls,
        accounts: vec![SmscAccount {
            system_id: "relais".into(),
            password: "secret".into(),
        }],
        ..SmscConfig::default()
    })
    .await
    .unwrap()
}

fn esme_config(smsc: &Smsc, tls: EsmeTls) -> EsmeConfig {
    EsmeConfig {
        name: "carrier".into(),
        host: "127.0.0.1".into(),
        port: smsc.local_addr().port(),
        tls,
        system_id: "relais".into(),
        password: "secret".into(),
        reconnect_min_ms: 20,
        reconnect_max_ms: 100,
        ..EsmeConfig::default()
    }
}

fn trusting(ca_file: &Path) -> EsmeTls {
    EsmeTls {
        enabled: true,
        ca_file: Some(ca_file.to_owned()),
        server_name: Some(SERVER_NAME.into()),
        insecure_skip_verify: false,
    }
}

/// Binds, submits one message and waits for its receipt.
async fn submit_and_get_the_receipt(smsc: &Smsc, tls: EsmeTls) {
    let sink = Arc::new(Recorder::default());
    let esme = Esme::start(esme_config(smsc, tls), sink.clone()).unwrap();
    one_message_and_its_receipt(&esme, &sink).await;
    eventually(5, "the receipt acknowledged", || {
        smsc.stats().receipts_acked == 1
    })
    .await;
    assert_eq!(smsc.stats().tls_failures, 0);
    esme.shutdown().await;
}

#[tokio::test]
async fn bind_submit_and_receipt_over_tls() {
    let pki = Pki::generate();
    let smsc = simulator(Some(pki.listener("server"))).await;
    submit_and_get_the_receipt(&smsc, trusting(&pki.path("ca.pem"))).await;
}

#[tokio::test]
async fn a_self_signed_certificate_trusted_as_the_ca_file_or_skipped() {
    let pki = Pki::generate();
    let smsc = simulator(Some(pki.listener("self-signed"))).await;
    submit_and_get_the_receipt(&smsc, trusting(&pki.path("self-signed.pem"))).await;

    let smsc = simulator(Some(pki.listener("self-signed"))).await;
    let insecure = EsmeTls {
        enabled: true,
        insecure_skip_verify: true,
        ..EsmeTls::default()
    };
    submit_and_get_the_receipt(&smsc, insecure).await;
}

/// The handshake fails, the connector stays down and says why, and retries
/// in TLS: the simulator never sees a bind.
#[tokio::test]
async fn an_untrusted_certificate_fails_the_bind_with_a_clear_error() {
    let pki = Pki::generate();
    // No server_name: the certificate is checked against host, 127.0.0.1.
    let by_host = |ca_file: &str| EsmeTls {
        server_name: None,
        ..trusting(&pki.path(ca_file))
    };
    let cases = [
        (
            "server",
            trusting(&pki.path("other-ca.pem")),
            "UnknownIssuer",
        ),
        ("server", by_host("ca.pem"), "not valid for name"),
        // A pinned certificate is checked for its name too.
        (
            "self-signed",
            by_host("self-signed.pem"),
            "not valid for name",
        ),
    ];
    for (listener, tls, why) in cases {
        let smsc = simulator(Some(pki.listener(listener))).await;
        let esme = Esme::start(esme_config(&smsc, tls), Arc::new(Recorder::default())).unwrap();
        eventually(5, "two failed handshakes", || {
            smsc.stats().tls_failures >= 2
        })
        .await;
        let error = esme.last_error().expect("a reason");
        assert!(
            error.contains("TLS handshake with 127.0.0.1")
                && error.contains("invalid peer certificate")
                && error.contains(why),
            "{error}"
        );
        assert!(!esme.is_up());
        assert_eq!(smsc.stats().binds, 0);
        assert_eq!(smsc.stats().submits, 0);
        esme.shutdown().await;
    }
}

/// A TLS connector meeting a plaintext SMSC sends it a TLS ClientHello
/// (which the SMSC reads as garbage), never a bind in clear.
#[tokio::test]
async fn a_tls_connector_never_falls_back_to_plaintext() {
    let pki = Pki::generate();
    let smsc = simulator(None).await;
    let esme = Esme::start(
        esme_config(&smsc, trusting(&pki.path("ca.pem"))),
        Arc::new(Recorder::default()),
    )
    .unwrap();
    eventually(5, "two attempts", || smsc.stats().generic_nacks_sent >= 2).await;
    let error = esme.last_error().expect("a reason");
    assert!(error.contains("TLS handshake"), "{error}");
    assert!(!esme.is_up());
    assert_eq!(smsc.stats().binds, 0);
    esme.shutdown().await;
}

/// And the TLS listener serves no plaintext client.
#[tokio::test]
async fn the_tls_listener_refuses_plaintext() {
    let pki = Pki::generate();
    let smsc = simulator(Some(pki.listener("server"))).await;
    let esme = Esme::start(
        esme_config(&smsc, EsmeTls::default()),
        Arc::new(Recorder::default()),
    )
    .unwrap();
    eventually(5, "a refused handshake", || smsc.stats().tls_failures >= 1).await;
    assert!(!esme.is_up());
    assert_eq!(smsc.stats().binds, 0);
    esme.shutdown().await;
}

#[tokio::test]
async fn tls_options_that_cannot_work_are_refused_at_start() {
    let pki = Pki::generate();
    let smsc = simulator(None).await;
    let start = |tls: EsmeTls| {
        Esme::start(esme_config(&smsc, tls), Arc::new(Recorder::default()))
            .err()
            .expect("refused")
    };
    let missing = pki.path("missing.pem");
    let error = start(trusting(&missing));
    assert!(error.contains("missing.pem"), "{error}");
    let error = start(trusting(&pki.path("server.key")));
    assert!(error.contains("no PEM certificate"), "{error}");
    let error = start(EsmeTls {
        insecure_skip_verify: true,
        ..trusting(&pki.path("ca.pem"))
    });
    assert!(error.contains("exclude each other"), "{error}");
    // A CA file without `enabled` would otherwise mean plaintext.
    let error = start(EsmeTls {
        enabled: false,
        ..trusting(&pki.path("ca.pem"))
    });
    assert!(error.contains("tls.enabled is false"), "{error}");

    let no_key = Smsc::start(SmscConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        tls: Some(SmscTls {
            cert_file: pki.path("server.pem"),
            key_file: missing,
        }),
        ..SmscConfig::default()
    })
    .await
    .err()
    .expect("refused");
    assert!(no_key.to_string().contains("missing.pem"), "{no_key}");
}
