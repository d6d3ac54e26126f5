//! The SMPP server on the relais store: binds log in with an account's
//! `settings.smpp` (system_id, hashed password, limits), and receipts and
//! replies are the outbox entries the store addressed to `smpp:` for
//! SMPP-submitted campaigns.
//!
//! Passwords are stored as Argon2id PHC strings (`$argon2id$…`, salted, slow:
//! SMPP 3.4 passwords are at most 8 characters, which an unsalted fast hash
//! of a leaked database gives away in minutes). Logins made before that hold
//! the password's unsalted SHA-256 in hex, which still verifies, and is
//! replaced by an Argon2id hash at the login's next successful bind.

use std::sync::{Arc, LazyLock};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use async_trait::async_trait;
use rand::RngCore;
use relais_engine::keys::hash_token;
use relais_store::{AccountId, Millis, SmppLogin, Store, StoreResult, Webhook, WebhookResult};
use tokio::sync::Semaphore;

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
        password_hash: hash_password(password),
        max_binds,
        throughput_per_second,
    })
}

/// The password's Argon2id hash (default parameters, random salt) as a PHC string.
pub fn hash_password(password: &str) -> String {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).expect("16 octets make a valid salt");
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("default Argon2 parameters hash any password")
        .to_string()
}

/// Whether `password` is the one `stored` hashes: an Argon2 PHC string, or
/// the unsalted SHA-256 hex of logins made before (compared in constant time).
pub fn verify_password(password: &str, stored: &str) -> bool {
    if !is_legacy(stored) {
        return PasswordHash::new(stored).is_ok_and(|hash| {
            Argon2::default()
                .verify_password(password.as_bytes(), &hash)
                .is_ok()
        });
    }
    constant_time_eq(hash_token(password).as_bytes(), stored.as_bytes())
}

/// A hash from before Argon2: not a PHC string.
fn is_legacy(stored: &str) -> bool {
    !stored.starts_with('$')
}

/// What an unknown system_id's password is checked against, so that it
/// takes as long to refuse as a wrong password (logins are not told apart
/// by timing either).
static DECOY_HASH: LazyLock<String> = LazyLock::new(|| hash_password("decoy"));

pub struct StoreAuth {
    store: Arc<dyn Store>,
    /// Password checks running at once: each takes tens of milliseconds of
    /// CPU and 19 MiB, so a bind flood queues here instead of taking every
    /// core and blocking thread.
    checks: Semaphore,
}

impl StoreAuth {
    pub fn new(store: Arc<dyn Store>) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        StoreAuth {
            store,
            checks: Semaphore::new(cores),
        }
    }

    /// Replaces a legacy hash by an Argon2id one, unless the login changed
    /// meanwhile; a failure only leaves the legacy hash (logged).
    async fn upgrade(&self, account_id: AccountId, legacy: &str, password: &str) {
        let Ok(_permit) = self.checks.acquire().await else {
            return;
        };
        let password = password.to_owned();
        let hashed = match tokio::task::spawn_blocking(move || hash_password(&password)).await {
            Ok(hashed) => hashed,
            Err(e) => {
                tracing::warn!(account = account_id, error = %e, "smpp: hashing the password failed");
                return;
            }
        };
        match self
            .store
            .replace_smpp_password_hash(account_id, legacy, &hashed)
            .await
        {
            Ok(true) => tracing::info!(
                account = account_id,
                "smpp: password hash upgraded to Argon2id"
            ),
            Ok(false) => {}
            Err(e) => tracing::warn!(
                account = account_id,
                error = %e,
                "smpp: upgrading the password hash failed"
            ),
        }
    }

    /// Checks the password on the blocking pool (never on the runtime's
    /// threads), at most one per core at once.
    async fn verify(&self, password: &str, stored: Option<String>) -> Result<bool, AuthError> {
        let _permit = self
            .checks
            .acquire()
            .await
            .map_err(|e| AuthError::Unavailable(e.to_string()))?;
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || match stored {
            Some(stored) => verify_password(&password, &stored),
            None => {
                verify_password(&password, &DECOY_HASH);
                false
            }
        })
        .await
        .map_err(|e| AuthError::Unavailable(e.to_string()))
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
            .map_err(|e| AuthError::Unavailable(e.to_string()))?;
        let login = account.as_ref().and_then(|a| a.settings.smpp.clone());
        let stored = login.as_ref().map(|l| l.password_hash.clone());
        let verified = self.verify(password, stored).await?;
        let (Some(account), Some(login)) = (account, login) else {
            return Err(AuthError::UnknownSystemId);
        };
        if !verified {
            return Err(AuthError::WrongPassword);
        }
        if account.disabled {
            return Err(AuthError::Disabled);
        }
        if is_legacy(&login.password_hash) {
            self.upgrade(account.id, &login.password_hash, password)
                .await;
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
        assert!(verify_password("secret", &ok.password_hash));
        assert!(login("a-system-id-too-long", "secret", 1, 0).is_err());
        assert!(login("acme", "password9", 1, 0).is_err());
        assert!(login("", "secret", 1, 0).is_err());
        assert!(login("acme", "sp ace", 1, 0).is_err());
    }

    #[test]
    fn passwords_are_salted_argon2id() {
        let hash = hash_password("secret");
        assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
        assert_ne!(hash, hash_password("secret"), "salted");
        assert!(verify_password("secret", &hash));
        assert!(!verify_password("Secret", &hash));
        assert!(!verify_password("secret", "$argon2id$not-a-hash"));
    }

    #[test]
    fn legacy_sha256_hashes_still_verify() {
        let legacy = hash_token("secret");
        assert_eq!(legacy.len(), 64);
        assert!(verify_password("secret", &legacy));
        assert!(!verify_password("secrets", &legacy));
        assert!(!verify_password("secret", ""));
    }

    #[tokio::test]
    async fn binds_check_argon2_and_legacy_hashes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relais.db");
        let store: Arc<dyn Store> = Arc::new(
            relais_store::sqlite::SqliteStore::open(path.to_str().unwrap(), Default::default())
                .await
                .unwrap(),
        );
        for (system_id, password_hash) in [
            (
                "fresh",
                login("fresh", "secret", 1, 0).unwrap().password_hash,
            ),
            ("legacy", hash_token("secret")),
        ] {
            let mut new = relais_store::NewAccount::new(system_id, None);
            new.settings.smpp = Some(SmppLogin {
                system_id: system_id.into(),
                password_hash,
                max_binds: 1,
                throughput_per_second: 0,
            });
            store.create_account(new, 0).await.unwrap();
        }
        let auth = StoreAuth::new(store.clone());
        for system_id in ["fresh", "legacy"] {
            let bound = auth.authenticate(system_id, "secret").await.unwrap();
            assert_eq!(bound.account.name, system_id);
            assert_eq!(
                auth.authenticate(system_id, "wrong").await.unwrap_err(),
                AuthError::WrongPassword
            );
        }
        // The legacy hash was upgraded by its successful bind.
        let legacy = store.account_by_smpp_system_id("legacy").await.unwrap();
        let hash = legacy.unwrap().settings.smpp.unwrap().password_hash;
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(auth.authenticate("legacy", "secret").await.is_ok());
        assert_eq!(
            auth.authenticate("legacy", "wrong").await.unwrap_err(),
            AuthError::WrongPassword
        );
        assert_eq!(
            auth.authenticate("nobody", "secret").await.unwrap_err(),
            AuthError::UnknownSystemId
        );
    }

    #[test]
    fn hashes_compare_exactly() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
