//! End-to-end over SMPP: `relais serve` routes through an ESME connector to the
//! `relais smsc-simulator` process, and delivery receipts come back.

mod common;

use std::time::Duration;

use common::{Server, SmscProcess};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn messages_routed_to_an_smsc_are_delivered() {
    let smsc = SmscProcess::start();
    let server = Server::start(&format!(
        r#"{connector}
[[routes]]
name = "all"
connectors = ["carrier"]
"#,
        connector = smsc.connector("carrier")
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
