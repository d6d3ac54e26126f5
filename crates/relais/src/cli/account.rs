//! `relais account` and `relais key`: accounts, credits and API keys, written
//! straight to the configured database (the server may be running).

use std::process::ExitCode;

use clap::Subcommand;
use relais_core::money::Amount;
use relais_engine::keys;
use relais_store::clock;
use relais_store::{Account, AccountSettings, NewAccount, Store};

use relais::config::{self, Overrides};
use relais::wiring;

#[derive(Subcommand)]
pub enum AccountCommand {
    /// Create an account.
    Create {
        name: String,
        #[arg(long)]
        email: Option<String>,
        /// Starting credits (a decimal).
        #[arg(long, default_value = "0", conflicts_with = "postpaid")]
        balance: Amount,
        /// No credit limit.
        #[arg(long)]
        postpaid: bool,
        /// Sends only through the simulator.
        #[arg(long)]
        sandbox: bool,
    },
    /// List accounts.
    List,
    /// Set the account's SMPP login (system_id ≤ 15, password ≤ 8 characters).
    Smpp {
        /// Account id or name.
        account: String,
        #[arg(long)]
        system_id: String,
        #[arg(long)]
        password: String,
        /// Binds at once (0: no limit).
        #[arg(long, default_value = "4")]
        max_binds: u32,
        /// submit_sm per second over all binds (0: no limit).
        #[arg(long, default_value = "0")]
        throughput: u32,
    },
    /// Add credits (a negative amount removes them).
    Credit {
        /// Account id or name.
        account: String,
        #[arg(allow_hyphen_values = true)]
        amount: Amount,
        #[arg(long, default_value = "credit")]
        reason: String,
    },
}

#[derive(Subcommand)]
pub enum KeyCommand {
    /// Create an API key; its token is printed once.
    Create {
        /// Account id or name.
        account: String,
        #[arg(long)]
        label: Option<String>,
    },
    /// Revoke a key by its id.
    Revoke { key_id: i64 },
    /// List an account's keys.
    List { account: String },
}

pub fn run_account(command: AccountCommand, overrides: &Overrides) -> ExitCode {
    with_store(overrides, |store| async move {
        match command {
            AccountCommand::Create {
                name,
                email,
                balance,
                postpaid,
                sandbox,
            } => {
                let name = name.trim().to_owned();
                relais_core::account::validate_name(&name).map_err(|e| e.to_string())?;
                if let Some(email) = &email {
                    relais_core::account::validate_email(email).map_err(|e| e.to_string())?;
                }
                let settings = AccountSettings {
                    webhook_secret: keys::new_webhook_secret(),
                    ..AccountSettings::default()
                };
                let new = NewAccount {
                    name,
                    email,
                    balance: (!postpaid).then_some(balance),
                    sandbox,
                    settings,
                };
                let account = store
                    .create_account(new, clock::now_ms())
                    .await
                    .map_err(|e| e.to_string())?;
                println!("created account {} ({})", account.id, account.name);
            }
            AccountCommand::List => {
                println!(
                    "{:>4}  {:<20} {:<28} {:>14}  flags",
                    "id", "name", "email", "balance"
                );
                for a in store.accounts().await.map_err(|e| e.to_string())? {
                    let balance = a
                        .balance
                        .map_or("postpaid".into(), |b| b.to_decimal_string(2));
                    let flags = [(a.sandbox, "sandbox"), (a.disabled, "disabled")]
                        .iter()
                        .filter(|(on, _)| *on)
                        .map(|(_, f)| *f)
                        .collect::<Vec<_>>()
                        .join(",");
                    println!(
                        "{:>4}  {:<20} {:<28} {:>14}  {flags}",
                        a.id,
                        a.name,
                        a.email.as_deref().unwrap_or("-"),
                        balance
                    );
                }
            }
            AccountCommand::Smpp {
                account,
                system_id,
                password,
                max_binds,
                throughput,
            } => {
                let account = find(store.as_ref(), &account).await?;
                let login = relais_smpp::server::store_backed::login(
                    &system_id, &password, max_binds, throughput,
                )?;
                // Only the SMPP login changes, whatever changed meanwhile.
                store
                    .patch_account_settings(account.id, &mut |settings| {
                        settings.smpp = Some(login.clone());
                        true
                    })
                    .await
                    .map_err(|e| e.to_string())?;
                println!("account {} binds over SMPP as {system_id:?}", account.name);
            }
            AccountCommand::Credit {
                account,
                amount,
                reason,
            } => {
                let account = find(store.as_ref(), &account).await?;
                let balance = store
                    .credit_account(account.id, amount, &reason, clock::now_ms())
                    .await
                    .map_err(|e| e.to_string())?;
                println!(
                    "account {} balance: {}",
                    account.name,
                    balance.to_decimal_string(2)
                );
            }
        }
        Ok(())
    })
}

pub fn run_key(command: KeyCommand, overrides: &Overrides) -> ExitCode {
    with_store(overrides, |store| async move {
        match command {
            KeyCommand::Create { account, label } => {
                let account = find(store.as_ref(), &account).await?;
                let (token, key) = keys::create_key(store.as_ref(), account.id, label.as_deref())
                    .await
                    .map_err(|e| e.to_string())?;
                println!(
                    "key {} for account {} (the token is shown once):\n{token}",
                    key.id, account.name
                );
            }
            KeyCommand::Revoke { key_id } => {
                store
                    .revoke_api_key(key_id, clock::now_ms())
                    .await
                    .map_err(|e| format!("key {key_id}: {e}"))?;
                println!("key {key_id} revoked");
            }
            KeyCommand::List { account } => {
                let account = find(store.as_ref(), &account).await?;
                for key in store
                    .api_keys(account.id)
                    .await
                    .map_err(|e| e.to_string())?
                {
                    let state = if key.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "live"
                    };
                    println!(
                        "{:>4}  {}…  {:<8} {}",
                        key.id,
                        key.prefix,
                        state,
                        key.label.as_deref().unwrap_or("")
                    );
                }
            }
        }
        Ok(())
    })
}

/// `relais migrate`: opening the store applies pending migrations.
pub fn run_migrate(overrides: &Overrides) -> ExitCode {
    with_store(overrides, |_| async {
        println!("database is up to date");
        Ok(())
    })
}

/// An account by id or name.
async fn find(store: &dyn Store, which: &str) -> Result<Account, String> {
    let found = match which.parse::<i64>() {
        Ok(id) => store.account(id).await,
        Err(_) => store.account_by_login(which).await,
    };
    found
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no account {which:?}"))
}

fn with_store<F, Fut>(overrides: &Overrides, f: F) -> ExitCode
where
    F: FnOnce(std::sync::Arc<dyn Store>) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let result = config::load(overrides, &[]).and_then(|config| {
        let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
        runtime.block_on(async {
            let store = wiring::open_store(&config).await?;
            f(store).await
        })
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("relais: {e}");
            ExitCode::FAILURE
        }
    }
}
