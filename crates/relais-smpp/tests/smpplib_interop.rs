//! Interop with a real SMPP client: PyPI's `smpplib` drives the relais SMPP
//! server (bind transceiver; GSM-7, UCS-2 with emoji and a long message;
//! their receipts; a reply, as an MO `deliver_sm`; a `query_sm`). The test
//! creates a Python virtualenv under the cargo target directory and installs
//! `smpplib` into it the first time; it fails, never skips, when that cannot
//! be done.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::fixture::{Fixture, Options, PASSWORD, SYSTEM_ID};
use relais_connectors::sink::{EventSink, StoreSink};
use relais_store::{NewInbound, Page};
use serde_json::Value;

/// The virtualenv's python, with smpplib importable.
fn python_with_smpplib() -> PathBuf {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("smpplib-venv");
    let python = venv.join("bin").join("python");
    let importable = |python: &Path| {
        Command::new(python)
            .args(["-c", "import smpplib.client"])
            .status()
            .is_ok_and(|s| s.success())
    };
    if python.exists() && importable(&python) {
        return python;
    }
    let created = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .output()
        .expect("python3 must be installed to run the smpplib interop test");
    assert!(
        created.status.success(),
        "creating the virtualenv failed: {}",
        String::from_utf8_lossy(&created.stderr)
    );
    let installed = Command::new(venv.join("bin").join("pip"))
        .args(["install", "--quiet", "smpplib"])
        .output()
        .expect("running pip");
    assert!(
        installed.status.success(),
        "pip install smpplib failed: {}{}",
        String::from_utf8_lossy(&installed.stdout),
        String::from_utf8_lossy(&installed.stderr)
    );
    assert!(importable(&python), "smpplib installed but not importable");
    python
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smpplib_submits_and_receives_receipts() {
    let python = python_with_smpplib();
    let fixture = Fixture::start(Options::default()).await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/smpplib_peer.py");
    let port = fixture.server.local_addr().port().to_string();
    let run = tokio::process::Command::new(&python)
        .arg(&script)
        .args(["127.0.0.1", &port, SYSTEM_ID, PASSWORD])
        .output();
    // A reply from the destination, once a message to it is committed (the
    // store finds no account for it before).
    let sink = StoreSink::new(fixture.store.clone(), vec!["STOP".into()]);
    let reply = NewInbound {
        from: "+33612345678".parse().unwrap(),
        to: "Smpplib".into(),
        text: "Merci \u{1F600} à bientôt".into(),
        connector: "simulator".into(),
        at: jiff::Timestamp::now().as_millisecond(),
    };
    let inject = async {
        while sink.inbound(reply.clone(), None).await.is_none() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let (output, ()) = tokio::time::timeout(Duration::from_secs(120), async {
        tokio::join!(run, inject)
    })
    .await
    .expect("the smpplib peer finishes within 2 minutes");
    let output = output.expect("running the smpplib peer");
    assert!(
        output.status.success(),
        "smpplib peer failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "unreadable peer output ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    });

    let sent = report["sent"].as_array().unwrap();
    let responses = report["responses"].as_array().unwrap();
    let receipts = report["receipts"].as_array().unwrap();
    // GSM-7 and UCS-2 in one PDU each, the long one in 3 parts.
    assert_eq!(sent.len(), 5, "{report}");
    assert_eq!(responses.len(), 5, "{report}");
    assert!(responses.iter().all(|r| r["status"] == 0), "{report}");

    // Each message's id, by label (a long message's parts share it).
    let id_of = |label: &str| -> Vec<String> {
        sent.iter()
            .filter(|s| s["label"] == label)
            .map(|s| {
                let seq = &s["sequence"];
                let response = responses
                    .iter()
                    .find(|r| &r["sequence"] == seq)
                    .unwrap_or_else(|| panic!("no response to {s}"));
                response["message_id"].as_str().unwrap().to_owned()
            })
            .collect()
    };
    let (gsm7, ucs2, long) = (id_of("gsm7"), id_of("ucs2"), id_of("long"));
    assert_eq!(long.len(), 3);
    assert!(long.iter().all(|id| id == &long[0]), "{long:?}");
    assert_ne!(gsm7[0], ucs2[0]);
    assert_ne!(gsm7[0], long[0]);
    let ucs2_coding = sent.iter().find(|s| s["label"] == "ucs2").unwrap()["data_coding"].clone();
    assert_eq!(ucs2_coding, 8);

    // What was committed is what smpplib meant.
    let expected = [
        (&gsm7[0], "Hello from smpplib: 10 {ok}".to_owned()),
        (&ucs2[0], "Bonjour \u{1F600} ça va ?".to_owned()),
        (
            &long[0],
            "A long message that smpplib cuts into parts. ".repeat(8),
        ),
    ];
    for (id, text) in &expected {
        // A concatenated submit's id is its campaign's tag.
        let campaign = match id.parse() {
            Ok(campaign) => campaign,
            Err(_) => fixture
                .store
                .campaign_id_by_tag(fixture.account.id, id)
                .await
                .unwrap()
                .expect("the long message's campaign"),
        };
        let messages = fixture
            .store
            .campaign_messages(fixture.account.id, campaign, None, Page::default())
            .await
            .unwrap();
        assert_eq!(messages.len(), 1);
        assert_eq!(&messages[0].text, text);
        assert_eq!(messages[0].number.to_string(), "+33612345678");
    }

    // One receipt per message, matched by its id.
    assert_eq!(receipts.len(), 3, "{report}");
    let mut receipted: Vec<String> = receipts
        .iter()
        .map(|r| {
            assert_eq!(r["esm_class"], 4);
            assert_eq!(r["source_addr"], "33612345678");
            assert_eq!(r["message_state"], 2);
            let text = r["short_message"].as_str().unwrap();
            let id = r["receipted_message_id"].as_str().unwrap().to_owned();
            assert!(text.starts_with(&format!("id:{id} ")), "{text}");
            assert!(text.contains("stat:DELIVRD"), "{text}");
            id
        })
        .collect();
    receipted.sort();
    let mut ids = vec![gsm7[0].clone(), ucs2[0].clone(), long[0].clone()];
    ids.sort();
    assert_eq!(receipted, ids);

    // The reply: an MO in UCS-2, from the replying number to the sender.
    let replies = report["replies"].as_array().unwrap();
    assert_eq!(replies.len(), 1, "{report}");
    let mo = &replies[0];
    assert_eq!(mo["esm_class"], 0);
    assert_eq!(mo["data_coding"], 8);
    assert_eq!(mo["source_addr"], serde_json::json!([1, 1, "33612345678"]));
    assert_eq!(mo["destination_addr"], serde_json::json!([5, 0, "Smpplib"]));
    assert_eq!(mo["text"], reply.text);

    // query_sm of the delivered GSM-7 message: DELIVERED, with its final date.
    let queries = report["queries"].as_array().unwrap();
    assert_eq!(queries.len(), 1, "{report}");
    let query = &queries[0];
    assert_eq!(query["message_id"], gsm7[0].as_str());
    assert_eq!(query["message_state"], 2);
    assert_eq!(query["error_code"], 0);
    let final_date = query["final_date"].as_str().unwrap();
    assert!(
        final_date.len() == 16 && final_date.ends_with("00+"),
        "{final_date:?}"
    );
    fixture.stop().await;
}
