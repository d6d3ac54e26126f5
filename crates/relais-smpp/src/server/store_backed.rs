//! The SMPP server on the relais store: binds log in with an account's
//! `settings.smpp` (system_id, hashed password, limits), and receipts and
//! replies are the outbox entries the store addressed to `smpp:` for
//! SMPP-submitted campaigns.

use std::sync::Arc;

use async_trait::async_trait;
use relais_engine::keys::hash_token;
use relais_store::{AccountId, Millis, SmppLogin, Store, StoreResult, Webhook, WebhookResult};

use super::{AuthError, ReceiptQueue, SmppAccount, SmppAuth};

/// SMPP 3.4 carries at most 15 characters of system_id and 8 of password.
pub const MAX_SYSTEM_ID: usize = 15;
pub const MAX_PASSWORD: usize = 8;

/// Builds an account's SMPP login, refusing what a bind could not carry.
pub fn login(
    system_id: &str,
    password: &str,
    max_binds: u32,
    throughput_per_second: u32,
) -> Result<SmppLogin, String> {
    let visible = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic());
    if !visible(system_id) || system_id.len() > MAX_SYSTEM_ID {
        return Err(format!(
            "system_id must be 1 to {MAX_SYSTEM_ID} visible ASCII characters"
        ));
    }
    if !visible(password) || password.len() > MAX_PASSWORD {
        return Err(format!(
            "password must be 1 to {MAX_PASSWORD} visible ASCII characters"
        ));
    }
    Ok(SmppLogin {
        system_id: system_id.to_string(),
        password_hash: hash_token(password),
        max_binds,
        throughput_per_second,
    })
}

pub struct StoreAuth {
    store: Arc<dyn Store>,
}

impl StoreAuth {
    pub fn new(store: Arc<dyn Store>) -> Self {
        StoreAuth { store }
    }
}

#[async_trait]
impl SmppAuth for StoreAuth {
    async fn authenticate(
        &self,
        system_id: &str,
        password: &str,
    ) -> Result<SmppAccount, AuthError> {
        let account = self
            .store
            .account_by_smpp_system_id(system_id)
            .await
            .map_err(|e| AuthError::Unavailable(e.to_string()))?
            .ok_or(AuthError::UnknownSystemId)?;
        let login = account
            .settings
            .smpp
            .clone()
            .ok_or(AuthError::UnknownSystemId)?;
        if !constant_time_eq(
            hash_token(password).as_bytes(),
            login.password_hash.as_bytes(),
        ) {
            return Err(AuthError::WrongPassword);
        }
        if account.disabled {
            return Err(AuthError::Disabled);
        }
        Ok(SmppAccount {
            account,
            max_binds: login.max_binds,
            throughput_per_second: (login.throughput_per_second > 0)
                .then_some(login.throughput_per_second),
        })
    }
}

/// Compares hashes without leaking where they differ through timing.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub struct StoreReceipts {
    store: Arc<dyn Store>,
}

impl StoreReceipts {
    pub fn new(store: Arc<dyn Store>) -> Self {
        StoreReceipts { store }
    }
}

#[async_trait]
impl ReceiptQueue for StoreReceipts {
    async fn claim(
        &self,
        accounts: &[AccountId],
        now: Millis,
        limit: u32,
        lease_until: Millis,
    ) -> StoreResult<Vec<Webhook>> {
        self.store
            .claim_smpp_receipts(accounts, now, limit, lease_until)
            .await
    }

    async fn finish(&self, results: &[(i64, WebhookResult)], now: Millis) -> StoreResult<()> {
        self.store.finish_webhooks(results, now).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins_fit_in_a_bind() {
        let ok = login("acme", "secret", 2, 100).unwrap();
        assert_eq!(ok.password_hash, hash_token("secret"));
        assert!(login("a-system-id-too-long", "secret", 1, 0).is_err());
        assert!(login("acme", "password9", 1, 0).is_err());
        assert!(login("", "secret", 1, 0).is_err());
        assert!(login("acme", "sp ace", 1, 0).is_err());
    }

    #[test]
    fn hashes_compare_exactly() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
