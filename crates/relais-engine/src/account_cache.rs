//! A node's memory of API keys and their accounts (and of which account a
//! login names), so that authenticating a request on the native API and every
//! dialect door costs no store round trip.
//!
//! Freshness: an entry is used for at most [`MAX_AGE`] after it was read, then
//! read again; so a key revoked or an account disabled (or changed) on another
//! node is refused here within that time. What this node changes itself goes
//! through the write methods below, which forget the entries it touches at
//! once: here, a revocation takes effect with the next request.
//!
//! A cached balance may lag behind (another node's debits, a credit made
//! elsewhere). It is only planning's first estimate: the pipeline reads the
//! stored balance again before refusing a send for credits, and the store's
//! guarded debit is the final word on what is taken.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use relais_core::money::Amount;
use relais_store::{
    Account, AccountId, AccountSettings, ApiKey, Millis, Store, StoreError, StoreResult,
};

/// How long a cached key and its account are used before being read again.
pub const MAX_AGE: Duration = Duration::from_secs(1);

/// Keys remembered at most; beyond, stale entries are dropped first, then
/// any.
pub const CAPACITY: usize = 10_000;

/// API keys (by the hash of their token) and their accounts, as read at most
/// [`MAX_AGE`] ago. Shared by every door through the
/// [`Pipeline`](crate::send::Pipeline).
pub struct AccountCache {
    store: Arc<dyn Store>,
    max_age: Duration,
    capacity: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    by_key: HashMap<String, Entry>,
    /// The account a login names (Octopush's `user_login`), if any.
    by_login: HashMap<String, Dated<Option<AccountId>>>,
    /// Bumped whenever entries are forgotten: a read that began before is
    /// not kept (it may predate the change that made them forgotten).
    generation: u64,
}

struct Entry {
    account: Account,
    key: ApiKey,
    read_at: Instant,
}

struct Dated<T> {
    value: T,
    read_at: Instant,
}

/// What the capacity bound needs of an entry.
trait ReadAt {
    fn read_at(&self) -> Instant;
}

impl ReadAt for Entry {
    fn read_at(&self) -> Instant {
        self.read_at
    }
}

impl<T> ReadAt for Dated<T> {
    fn read_at(&self) -> Instant {
        self.read_at
    }
}

impl AccountCache {
    pub fn new(store: Arc<dyn Store>) -> Self {
        AccountCache::with_limits(store, MAX_AGE, CAPACITY)
    }

    /// A cache whose entries live `max_age` (at most [`MAX_AGE`]), holding at
    /// most `capacity` keys.
    pub fn with_limits(store: Arc<dyn Store>, max_age: Duration, capacity: usize) -> Self {
        AccountCache {
            store,
            max_age: max_age.min(MAX_AGE),
            capacity: capacity.max(1),
            state: Mutex::new(State::default()),
        }
    }

    /// The account of a live key with the key, as
    /// [`Store::account_by_key_hash`] answers it, from memory while fresh.
    /// Unknown keys are never remembered: a key just created elsewhere works
    /// at once.
    pub async fn by_key_hash(&self, token_hash: &str) -> StoreResult<Option<(Account, ApiKey)>> {
        self.by_key_hash_at(token_hash, Instant::now()).await
    }

    async fn by_key_hash_at(
        &self,
        token_hash: &str,
        now: Instant,
    ) -> StoreResult<Option<(Account, ApiKey)>> {
        let generation = {
            let state = self.lock();
            if let Some(entry) = state.by_key.get(token_hash)
                && now.saturating_duration_since(entry.read_at) < self.max_age
            {
                return Ok(Some((entry.account.clone(), entry.key.clone())));
            }
            state.generation
        };
        let found = self.store.account_by_key_hash(token_hash).await?;
        let mut state = self.lock();
        match &found {
            Some((account, key)) if state.generation == generation => {
                self.make_room(&mut state.by_key, now);
                state.by_key.insert(
                    token_hash.to_owned(),
                    Entry {
                        account: account.clone(),
                        key: key.clone(),
                        read_at: now,
                    },
                );
            }
            Some(_) => {}
            None => {
                state.by_key.remove(token_hash);
            }
        }
        Ok(found)
    }

    /// The id of the account [`Store::account_by_login`] finds for `login`,
    /// from memory while fresh.
    pub async fn login_owner(&self, login: &str) -> StoreResult<Option<AccountId>> {
        self.login_owner_at(login, Instant::now()).await
    }

    async fn login_owner_at(&self, login: &str, now: Instant) -> StoreResult<Option<AccountId>> {
        let generation = {
            let state = self.lock();
            if let Some(known) = state.by_login.get(login)
                && now.saturating_duration_since(known.read_at) < self.max_age
            {
                return Ok(known.value);
            }
            state.generation
        };
        let owner = self.store.account_by_login(login).await?.map(|a| a.id);
        let mut state = self.lock();
        if state.generation == generation {
            self.make_room(&mut state.by_login, now);
            state.by_login.insert(
                login.to_owned(),
                Dated {
                    value: owner,
                    read_at: now,
                },
            );
        }
        Ok(owner)
    }

    /// The account as stored now; its cached copies take its state (they
    /// keep their age: their keys were not read again).
    pub async fn reread(&self, id: AccountId) -> StoreResult<Option<Account>> {
        let generation = self.lock().generation;
        let account = self.store.account(id).await?;
        let mut state = self.lock();
        if state.generation == generation {
            match &account {
                Some(account) => {
                    for entry in state.by_key.values_mut() {
                        if entry.account.id == id {
                            entry.account = account.clone();
                        }
                    }
                }
                None => state.by_key.retain(|_, e| e.account.id != id),
            }
        }
        Ok(account)
    }

    /// This node took `cost` from the account (a committed send): its cached
    /// balance follows, so that the next answers show it.
    pub fn debited(&self, id: AccountId, cost: Amount) {
        if cost == Amount::ZERO {
            return;
        }
        let mut state = self.lock();
        state.by_key.retain(|_, entry| {
            if entry.account.id != id {
                return true;
            }
            match entry.account.balance.map(|b| b.checked_sub(cost)) {
                None => true,
                Some(Some(balance)) => {
                    entry.account.balance = Some(balance);
                    true
                }
                // Cannot happen with a real balance; read it again then.
                Some(None) => false,
            }
        });
    }

    /// Forgets the account's keys: the next request reads them again.
    pub fn forget_account(&self, id: AccountId) {
        let mut state = self.lock();
        state.generation += 1;
        state.by_key.retain(|_, entry| entry.account.id != id);
        state.by_login.retain(|_, known| known.value != Some(id));
    }

    fn forget_key(&self, key_id: i64) {
        let mut state = self.lock();
        state.generation += 1;
        state.by_key.retain(|_, entry| entry.key.id != key_id);
    }

    // --- writes that this node's requests see at once --------------------------

    /// [`Store::update_account_settings`], then forgets the account.
    pub async fn update_settings(
        &self,
        id: AccountId,
        settings: &AccountSettings,
    ) -> StoreResult<()> {
        let done = self.store.update_account_settings(id, settings).await;
        self.forget_account(id);
        done
    }

    /// Applies `patch` to the account's settings as stored now, not as
    /// cached, inside the store's transaction ([`relais_store::patch_settings`]:
    /// a concurrent change to other fields, on any node, is kept), then
    /// forgets the account. Answers the settings stored; when `patch`
    /// refuses, nothing is written.
    pub async fn patch_settings<E: From<StoreError> + Send>(
        &self,
        id: AccountId,
        patch: impl FnMut(&mut AccountSettings) -> Result<(), E> + Send,
    ) -> Result<AccountSettings, E> {
        let done = relais_store::patch_settings(self.store.as_ref(), id, patch).await;
        self.forget_account(id);
        done
    }

    /// [`Store::set_account_disabled`], then forgets the account.
    pub async fn set_disabled(&self, id: AccountId, disabled: bool) -> StoreResult<()> {
        let done = self.store.set_account_disabled(id, disabled).await;
        self.forget_account(id);
        done
    }

    /// [`Store::credit_account`], then forgets the account.
    pub async fn credit(
        &self,
        id: AccountId,
        amount: Amount,
        reason: &str,
        now: Millis,
    ) -> StoreResult<Amount> {
        let done = self.store.credit_account(id, amount, reason, now).await;
        self.forget_account(id);
        done
    }

    /// [`Store::revoke_api_key`], then forgets the key.
    pub async fn revoke_key(&self, key_id: i64, now: Millis) -> StoreResult<()> {
        let done = self.store.revoke_api_key(key_id, now).await;
        self.forget_key(key_id);
        done
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Entries are replaced whole: a panic elsewhere leaves none half made.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Keeps a map within the capacity before an insertion: stale entries
    /// go first, then any.
    fn make_room<T: ReadAt>(&self, map: &mut HashMap<String, T>, now: Instant) {
        if map.len() < self.capacity {
            return;
        }
        let max_age = self.max_age;
        map.retain(|_, e| now.saturating_duration_since(e.read_at()) < max_age);
        while map.len() >= self.capacity {
            let Some(any) = map.keys().next().cloned() else {
                break;
            };
            map.remove(&any);
        }
    }
}

#[cfg(test)]
mod tests {
    use relais_store::NewAccount;
    use relais_store::sqlite::{SqliteOptions, SqliteStore};

    use super::*;
    use crate::keys;

    struct Fixture {
        store: Arc<SqliteStore>,
        cache: AccountCache,
        account: Account,
        hash: String,
        key_id: i64,
        _dir: tempfile::TempDir,
    }

    async fn fixture(capacity: usize) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relais.db");
        let store = Arc::new(
            SqliteStore::open(path.to_str().unwrap(), SqliteOptions::default())
                .await
                .unwrap(),
        );
        let account = store
            .create_account(NewAccount::new("acme", Some(Amount::from_units(10))), 0)
            .await
            .unwrap();
        let (token, key) = keys::create_key(store.as_ref(), account.id, None)
            .await
            .unwrap();
        let cache = AccountCache::with_limits(store.clone(), MAX_AGE, capacity);
        Fixture {
            store,
            cache,
            account,
            hash: keys::hash_token(&token),
            key_id: key.id,
            _dir: dir,
        }
    }

    impl Fixture {
        async fn disabled_at(&self, now: Instant) -> Option<bool> {
            self.cache
                .by_key_hash_at(&self.hash, now)
                .await
                .unwrap()
                .map(|(account, _)| account.disabled)
        }
    }

    #[tokio::test]
    async fn an_entry_is_used_until_it_is_a_second_old_then_read_again() {
        let f = fixture(CAPACITY).await;
        let start = Instant::now();
        assert_eq!(f.disabled_at(start).await, Some(false));
        // Another node disables the account and revokes the key.
        f.store
            .set_account_disabled(f.account.id, true)
            .await
            .unwrap();
        let almost = start + MAX_AGE - Duration::from_millis(1);
        assert_eq!(f.disabled_at(almost).await, Some(false), "still fresh");
        assert_eq!(f.disabled_at(start + MAX_AGE).await, Some(true));
        f.store.revoke_api_key(f.key_id, 1).await.unwrap();
        let later = start + MAX_AGE + MAX_AGE / 2;
        assert_eq!(f.disabled_at(later).await, Some(true), "read at 1 s");
        assert_eq!(f.disabled_at(later + MAX_AGE).await, None);
    }

    #[tokio::test]
    async fn this_nodes_writes_are_seen_at_once() {
        let f = fixture(CAPACITY).await;
        let now = Instant::now();
        assert_eq!(f.disabled_at(now).await, Some(false));
        f.cache.set_disabled(f.account.id, true).await.unwrap();
        assert_eq!(f.disabled_at(now).await, Some(true));

        let mut settings = f.account.settings.clone();
        settings.default_sender = Some("Acme".into());
        f.cache
            .update_settings(f.account.id, &settings)
            .await
            .unwrap();
        let (account, _) = f.cache.by_key_hash_at(&f.hash, now).await.unwrap().unwrap();
        assert_eq!(account.settings.default_sender.as_deref(), Some("Acme"));

        f.cache
            .credit(f.account.id, Amount::from_units(5), "test", 1)
            .await
            .unwrap();
        let (account, _) = f.cache.by_key_hash_at(&f.hash, now).await.unwrap().unwrap();
        assert_eq!(account.balance, Some(Amount::from_units(15)));

        f.cache.revoke_key(f.key_id, 1).await.unwrap();
        assert_eq!(f.disabled_at(now).await, None);
    }

    #[tokio::test]
    async fn debits_and_rereads_update_the_cached_balance() {
        let f = fixture(CAPACITY).await;
        let now = Instant::now();
        assert!(
            f.cache
                .by_key_hash_at(&f.hash, now)
                .await
                .unwrap()
                .is_some()
        );
        f.cache.debited(f.account.id, Amount::from_units(3));
        let (account, _) = f.cache.by_key_hash_at(&f.hash, now).await.unwrap().unwrap();
        assert_eq!(account.balance, Some(Amount::from_units(7)));

        // A credit made elsewhere is seen by a reread, at once.
        f.store
            .credit_account(f.account.id, Amount::from_units(1), "elsewhere", 1)
            .await
            .unwrap();
        let stored = f.cache.reread(f.account.id).await.unwrap().unwrap();
        assert_eq!(stored.balance, Some(Amount::from_units(11)));
        let (account, _) = f.cache.by_key_hash_at(&f.hash, now).await.unwrap().unwrap();
        assert_eq!(account.balance, Some(Amount::from_units(11)));
    }

    #[tokio::test]
    async fn logins_are_remembered_for_a_second() {
        let f = fixture(CAPACITY).await;
        let start = Instant::now();
        assert_eq!(
            f.cache.login_owner_at("ops@globex", start).await.unwrap(),
            None
        );
        let globex = NewAccount {
            email: Some("ops@globex".into()),
            ..NewAccount::new("globex", None)
        };
        let globex = f.store.create_account(globex, 0).await.unwrap();
        let fresh = start + MAX_AGE / 2;
        assert_eq!(
            f.cache.login_owner_at("ops@globex", fresh).await.unwrap(),
            None
        );
        let stale = start + MAX_AGE;
        let owner = f.cache.login_owner_at("ops@globex", stale).await.unwrap();
        assert_eq!(owner, Some(globex.id));
        assert_eq!(
            f.cache.login_owner_at("acme", stale).await.unwrap(),
            Some(f.account.id)
        );
    }

    #[tokio::test]
    async fn the_cache_holds_at_most_its_capacity() {
        let f = fixture(2).await;
        let now = Instant::now();
        let mut hashes = vec![f.hash.clone()];
        for _ in 0..4 {
            let (token, _) = keys::create_key(f.store.as_ref(), f.account.id, None)
                .await
                .unwrap();
            hashes.push(keys::hash_token(&token));
        }
        for hash in &hashes {
            assert!(f.cache.by_key_hash_at(hash, now).await.unwrap().is_some());
            assert!(f.cache.lock().by_key.len() <= 2);
        }
    }
}
