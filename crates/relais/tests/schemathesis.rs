//! schemathesis (pinned, from PyPI) against the real `relais serve` binary:
//! it reads `/openapi.json` and sends generated requests (valid and invalid)
//! to every documented operation, with an API key and the administration
//! token, and fails on any 5xx, any undocumented status code, content type
//! or header, and any answer that does not match its documented schema.
//!
//! Bounded for CI: at most [`MAX_EXAMPLES`] generated cases per operation and
//! phase. Like the other real-client tests it installs its tool into a
//! virtual environment under target/ and fails loudly when it cannot.

mod common;
#[path = "common/python.rs"]
mod python;

use common::{ADMIN_TOKEN, Server};
use python::Venv;
use serde_json::json;

/// The tool's version on PyPI.
const SCHEMATHESIS_VERSION: &str = "4.32.5";
/// Generated cases per operation and phase: about 40 s for the whole run in a
/// debug build on a 2-core machine.
const MAX_EXAMPLES: &str = "50";
/// The checks run on every answer.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
                      response_headers_conformance,response_schema_conformance";
/// A number put on both lists before the run, so that their `DELETE`s find
/// one.
const LISTED: &str = "+33612345678";

/// The two runs, in order, as (what, filter arguments). The administration
/// operations go last because they may disable the account or revoke the
/// key the `/v1` run authenticates with; run first, they would turn it into
/// a run of 401s.
const RUNS: [(&str, [&str; 2]); 2] = [
    (
        "/v1 and the operations endpoints",
        ["--exclude-path-regex", "^/admin/"],
    ),
    ("/admin", ["--include-path-regex", "^/admin/"]),
];

/// schemathesis's configuration: each security scheme of the document with
/// its token (read from the environment, so it stays out of the file), the
/// ids of a real campaign and message for the operations that read one, and
/// a failure when authentication did not work (a run of 401s proves nothing).
fn config(campaign: i64, message: i64) -> String {
    format!(
        r#"
[auth.openapi.api_key]
bearer = "${{RELAIS_API_KEY}}"

[auth.openapi.admin_token]
bearer = "${{RELAIS_ADMIN_TOKEN}}"

[warnings]
fail-on = ["missing_auth", "unused_openapi_auth", "unmatched_filter"]

[[operations]]
include-path-regex = "^/v1/campaigns/"
parameters = {{ id = {campaign} }}

[[operations]]
include-path = "/v1/messages/{{id}}"
parameters = {{ id = {message} }}

[[operations]]
include-path-regex = "^/v1/(blacklist|npai)/"
parameters = {{ number = "{LISTED}" }}
"#
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_finds_no_server_error_and_nothing_undocumented() {
    let venv = tokio::task::spawn_blocking(|| Venv::with("schemathesis", SCHEMATHESIS_VERSION))
        .await
        .unwrap();
    let server = Server::start("");
    let (_, key) = server.account("schemathesis", None).await;
    let (status, sent) = server
        .post(
            &key,
            "/v1/messages",
            json!({"text": "Bonjour", "to": ["+33698765432"]}),
        )
        .await;
    assert_eq!(status, 201, "{sent}");
    let campaign = sent["campaign_id"].as_i64().expect("a campaign id");
    let (status, page) = server
        .get(&key, &format!("/v1/campaigns/{campaign}/messages"))
        .await;
    assert_eq!(status, 200, "{page}");
    let message = page["items"][0]["id"].as_i64().expect("a message id");
    for list in ["blacklist", "npai"] {
        let (status, added) = server
            .post(&key, &format!("/v1/{list}"), json!({"numbers": [LISTED]}))
            .await;
        assert_eq!(status, 200, "{added}");
    }
    let dir = server.dir.path().to_owned();
    std::fs::write(dir.join("schemathesis.toml"), config(campaign, message)).unwrap();

    let schema = format!("{}/openapi.json", server.base);
    for (what, filter) in RUNS {
        let (venv, schema, key, dir) = (&venv, &schema, &key, &dir);
        let output = tokio::task::block_in_place(|| {
            let mut args = vec!["--config-file", "schemathesis.toml", "run", schema];
            args.extend(filter);
            args.extend(["--checks", CHECKS, "--max-examples", MAX_EXAMPLES]);
            args.extend(["--generation-database", "none", "--no-color"]);
            venv.run_tool(
                "schemathesis",
                &args,
                &[("RELAIS_API_KEY", key), ("RELAIS_ADMIN_TOKEN", ADMIN_TOKEN)],
                dir,
            )
        });
        let printed = String::from_utf8_lossy(&output.stdout);
        assert!(
            printed.contains("passed"),
            "schemathesis on {what} tested nothing:\n{printed}"
        );
    }
    server.stop();
}
