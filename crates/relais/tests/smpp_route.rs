//! End-to-end over SMPP: `relais serve` routes through an ESME connector to the
//! `relais smsc-simulator` process, and delivery receipts come back.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::Server;
use serde_json::json;

/// Kills the simulator process when the test ends.
struct Smsc(std::process::Child);

impl Drop for Smsc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn messages_routed_to_an_smsc_are_delivered() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _smsc = Smsc(
        Command::new(env!("CARGO_BIN_EXE_relais"))
            .args([
                "smsc-simulator",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--system-id",
                "relais",
                "--password",
                "secret",
            ])
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn the SMSC simulator"),
    );
    let server = Server::start(&format!(
        r#"
[[smpp_connectors]]
name = "carrier"
host = "127.0.0.1"
port = {port}
system_id = "relais"
password = "secret"

[[routes]]
name = "all"
connectors = ["carrier"]
"#
    ));
    let (_, key) = server.account("acme", Some("10")).await;
    let long = "Bonjour ! ".repeat(20); // 200 GSM-7 characters: two parts
    for text in ["Hello over SMPP", "Emoji 😀 in UCS-2", long.as_str()] {
        let (status, sent) = server
            .post(
                &key,
                "/v1/messages",
                json!({ "to": ["0612345678"], "text": text }),
            )
            .await;
        assert_eq!(status, 201, "{sent}");
        let campaign = sent["campaign_id"].as_i64().unwrap();
        let detail = server
            .wait_for(
                &key,
                &format!("/v1/campaigns/{campaign}"),
                Duration::from_secs(30),
                |c| c["status"] == "done",
            )
            .await;
        assert_eq!(detail["messages"]["delivered"], 1, "{text}: {detail}");
        let (_, messages) = server
            .get(&key, &format!("/v1/campaigns/{campaign}/messages"))
            .await;
        assert_eq!(messages["items"][0]["status"], "delivered");
    }
    server.stop();
}
