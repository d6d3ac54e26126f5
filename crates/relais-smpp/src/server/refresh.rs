//! The bound accounts, read again every `account_refresh_ms` in one store
//! query for all of them: each bind's snapshot (settings, balance) is
//! replaced, and the binds of an account disabled or deleted meanwhile (on
//! any node: the store is shared) are told to unbind.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use relais_store::AccountId;
use tokio::time::MissedTickBehavior;

use super::Inner;

pub(super) async fn run(inner: Arc<Inner>) {
    let every = Duration::from_millis(inner.config.account_refresh_ms.max(1));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut shutdown = inner.shutdown.clone();
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.wait_for(|&stop| stop) => return,
        }
        let ids = inner.registry.bound_accounts();
        if ids.is_empty() {
            continue;
        }
        let accounts = match inner.pipeline.store().accounts_by_ids(&ids).await {
            Ok(accounts) => accounts,
            Err(e) => {
                tracing::warn!(error = %e, "smpp: reading the bound accounts failed");
                continue;
            }
        };
        let mut gone: HashSet<AccountId> = ids.into_iter().collect();
        for account in accounts {
            gone.remove(&account.id);
            let (id, disabled) = (account.id, account.disabled);
            // Submits still under way see the account disabled, and are refused.
            inner.registry.refresh(account);
            if disabled {
                tracing::warn!(
                    account = id,
                    "smpp: account disabled, unbinding its sessions"
                );
                inner.registry.unbind(id);
            }
        }
        for id in gone {
            tracing::warn!(
                account = id,
                "smpp: account deleted, unbinding its sessions"
            );
            inner.registry.unbind(id);
        }
    }
}
