//! `serve --demo`: on an empty database, a demo account with credits and a key,
//! and a ready-to-paste `curl` for a first SMS.

use relais_core::money::Amount;
use relais_engine::keys;
use relais_store::{AccountSettings, NewAccount, Store};

/// Credits the demo account starts with.
const DEMO_CREDITS: i64 = 100;

pub async fn prepare(store: &dyn Store, base: &str) -> Result<(), String> {
    let accounts = store.accounts().await.map_err(|e| e.to_string())?;
    if !accounts.is_empty() {
        println!(
            "The database already has accounts; --demo only sets up an empty one.\n\
             Create a key with: relais key create {}",
            accounts[0].name
        );
        return Ok(());
    }
    let settings = AccountSettings {
        webhook_secret: keys::new_webhook_secret(),
        ..AccountSettings::default()
    };
    let account = store
        .create_account(
            NewAccount {
                name: "demo".into(),
                email: None,
                balance: Some(Amount::from_units(DEMO_CREDITS)),
                sandbox: false,
                settings,
            },
            relais_store::clock::now_ms(),
        )
        .await
        .map_err(|e| e.to_string())?;
    let (token, _) = keys::create_key(store, account.id, Some("demo"))
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "\nDemo account \"demo\" created with {DEMO_CREDITS} credits. Its API key (shown once): {token}\n\n\
         Send a first SMS (it goes to the built-in simulator, which reports it delivered):\n\n  \
         curl -s {base}/v1/messages -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' \\\n    \
         -d '{{\"to\": [\"+33612345678\"], \"text\": \"Hello from relais!\"}}'\n\n\
         Then follow it:\n\n  \
         curl -s {base}/v1/campaigns/1 -H 'Authorization: Bearer {token}'\n\n\
         API documentation: {base}/docs\n"
    );
    Ok(())
}
