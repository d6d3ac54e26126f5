//! The shared test stub answers what its script says and records requests.
mod common;

use common::{Stub, json};

#[tokio::test]
async fn the_stub_records_and_answers() {
    let stub = Stub::start(|r| json(200, serde_json::json!({"path": r.uri.path()}))).await;
    let answer: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/send?x=1", stub.url()))
        .form(&[("a", "b")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["path"], "/send");
    let requests = stub.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].form()["a"], "b");
    assert_eq!(requests[0].query()["x"], "1");
}
