//! Accounts, their API keys and their credits: the balance and the ledger
//! recording every movement of it.

use relais_core::money::Amount;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection, SqlitePool};

use super::codec::{constraint_error, corrupt, limit_offset};
use crate::logins::{TAKEN_LOGINS, refuse_taken};
use crate::model::{
    Account, AccountId, AccountSettings, ApiKey, LedgerEntry, Millis, NewAccount, Page,
};
use crate::store::{SettingsPatch, StoreError, StoreResult};

pub(super) fn account_from_row(row: &SqliteRow) -> StoreResult<Account> {
    let settings: &str = row.try_get("settings")?;
    Ok(Account {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        email: row.try_get("email")?,
        balance: row
            .try_get::<Option<i64>, _>("balance")?
            .map(Amount::from_micros),
        sandbox: row.try_get("sandbox")?,
        disabled: row.try_get("disabled")?,
        settings: serde_json::from_str(settings).map_err(|e| corrupt("settings", e))?,
        created_at: row.try_get("created_at")?,
    })
}

/// Key columns are read under the aliases `key_id` and `key_created_at`, so a
/// row can carry the key and its account.
fn key_from_row(row: &SqliteRow) -> StoreResult<ApiKey> {
    Ok(ApiKey {
        id: row.try_get("key_id")?,
        account_id: row.try_get("account_id")?,
        prefix: row.try_get("prefix")?,
        label: row.try_get("label")?,
        created_at: row.try_get("key_created_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

fn settings_json(settings: &AccountSettings) -> StoreResult<String> {
    serde_json::to_string(settings).map_err(|e| corrupt("settings", e))
}

pub(super) async fn create(
    pool: &SqlitePool,
    new: NewAccount,
    now: Millis,
) -> StoreResult<Account> {
    let settings = settings_json(&new.settings)?;
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let taken: bool = sqlx::query_scalar(TAKEN_LOGINS)
        .bind(&new.name)
        .bind(&new.email)
        .fetch_one(&mut *tx)
        .await?;
    refuse_taken(taken, &new)?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO accounts (name, email, balance, sandbox, settings, created_at)
         VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(&new.name)
    .bind(&new.email)
    .bind(new.balance.map(Amount::micros))
    .bind(new.sandbox)
    .bind(&settings)
    .bind(now)
    .fetch_one(&mut *tx)
    .await
    .map_err(constraint_error(|| {
        format!(
            "an account named {:?}, or with this e-mail or SMPP system_id",
            new.name
        )
    }))?;
    if let Some(balance) = new.balance.filter(|b| *b != Amount::ZERO) {
        sqlx::query("INSERT INTO ledger (account_id, amount, reason, at) VALUES (?, ?, 'opening balance', ?)")
            .bind(id)
            .bind(balance.micros())
            .bind(now)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(Account {
        id,
        name: new.name,
        email: new.email,
        balance: new.balance,
        sandbox: new.sandbox,
        disabled: false,
        settings: new.settings,
        created_at: now,
    })
}

pub(super) async fn by_id(pool: &SqlitePool, id: AccountId) -> StoreResult<Option<Account>> {
    sqlx::query("SELECT * FROM accounts WHERE id = ?")
        .bind(id)
        .fetch_optional(pool)
        .await?
        .map(|row| account_from_row(&row))
        .transpose()
}

/// The accounts of `ids` (a JSON array), in one statement.
pub(super) async fn by_ids(conn: &mut SqliteConnection, ids: &str) -> StoreResult<Vec<Account>> {
    sqlx::query("SELECT * FROM accounts WHERE id IN (SELECT value FROM json_each(?))")
        .bind(ids)
        .fetch_all(conn)
        .await?
        .iter()
        .map(account_from_row)
        .collect()
}

/// By name first: a name that is also another account's e-mail logs into the
/// account of that name.
pub(super) async fn by_login(pool: &SqlitePool, login: &str) -> StoreResult<Option<Account>> {
    sqlx::query(
        "SELECT * FROM accounts WHERE name = ?1 OR email = ?1 ORDER BY name = ?1 DESC LIMIT 1",
    )
    .bind(login)
    .fetch_optional(pool)
    .await?
    .map(|row| account_from_row(&row))
    .transpose()
}

/// By the `system_id` of its SMPP login (`accounts.smpp_system_id`, derived
/// from the settings).
pub(super) async fn by_smpp_system_id(
    pool: &SqlitePool,
    system_id: &str,
) -> StoreResult<Option<Account>> {
    sqlx::query("SELECT * FROM accounts WHERE smpp_system_id = ?")
        .bind(system_id)
        .fetch_optional(pool)
        .await?
        .map(|row| account_from_row(&row))
        .transpose()
}

pub(super) async fn all(pool: &SqlitePool) -> StoreResult<Vec<Account>> {
    sqlx::query("SELECT * FROM accounts ORDER BY id")
        .fetch_all(pool)
        .await?
        .iter()
        .map(account_from_row)
        .collect()
}

/// Holds the write lock from the read (`BEGIN IMMEDIATE`), which the single
/// writer connection would give anyway, and which also keeps out another
/// process writing the same file.
pub(super) async fn patch_settings(
    pool: &SqlitePool,
    id: AccountId,
    patch: &mut SettingsPatch<'_>,
) -> StoreResult<AccountSettings> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let current: String = sqlx::query_scalar("SELECT settings FROM accounts WHERE id = ?")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
    let current: AccountSettings =
        serde_json::from_str(&current).map_err(|e| corrupt("settings", e))?;
    let mut settings = current.clone();
    if !patch(&mut settings) {
        return Ok(current);
    }
    sqlx::query("UPDATE accounts SET settings = ? WHERE id = ?")
        .bind(settings_json(&settings)?)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(constraint_error(|| {
            "another account with this SMPP system_id".to_string()
        }))?;
    tx.commit().await?;
    Ok(settings)
}

pub(super) async fn set_disabled(
    pool: &SqlitePool,
    id: AccountId,
    disabled: bool,
) -> StoreResult<()> {
    let done = sqlx::query("UPDATE accounts SET disabled = ? WHERE id = ?")
        .bind(disabled)
        .bind(id)
        .execute(pool)
        .await?;
    found(done.rows_affected())
}

fn found(rows: u64) -> StoreResult<()> {
    if rows == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

pub(super) async fn credit(
    pool: &SqlitePool,
    id: AccountId,
    amount: Amount,
    reason: &str,
    now: Millis,
) -> StoreResult<Amount> {
    let mut tx = pool.begin().await?;
    let balance: Option<i64> = sqlx::query_scalar("SELECT balance FROM accounts WHERE id = ?")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
    let balance = balance.map(Amount::from_micros).ok_or_else(|| {
        StoreError::Conflict(format!(
            "account {id} is postpaid: it has no balance to credit"
        ))
    })?;
    // An amount beyond what a balance can hold is refused as such, not
    // reported as a (negative) shortfall.
    let after = balance.checked_add(amount).ok_or_else(|| {
        StoreError::Conflict(format!(
            "crediting {amount} would overflow account {id}'s balance"
        ))
    })?;
    if after.is_negative() {
        return Err(StoreError::InsufficientCredits {
            needed: Amount::ZERO - amount,
            available: balance,
        });
    }
    sqlx::query("UPDATE accounts SET balance = ? WHERE id = ?")
        .bind(after.micros())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO ledger (account_id, amount, reason, at) VALUES (?, ?, ?, ?)")
        .bind(id)
        .bind(amount.micros())
        .bind(reason)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(after)
}

pub(super) async fn ledger(
    pool: &SqlitePool,
    account_id: AccountId,
    page: Page,
) -> StoreResult<Vec<LedgerEntry>> {
    let (limit, offset) = limit_offset(&page);
    let rows =
        sqlx::query("SELECT * FROM ledger WHERE account_id = ? ORDER BY id LIMIT ? OFFSET ?")
            .bind(account_id)
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await?;
    rows.iter()
        .map(|row| {
            Ok(LedgerEntry {
                id: row.try_get("id")?,
                account_id: row.try_get("account_id")?,
                amount: Amount::from_micros(row.try_get("amount")?),
                reason: row.try_get("reason")?,
                campaign_id: row.try_get("campaign_id")?,
                at: row.try_get("at")?,
            })
        })
        .collect()
}

pub(super) async fn create_key(
    pool: &SqlitePool,
    account_id: AccountId,
    token_hash: &str,
    prefix: &str,
    label: Option<&str>,
    now: Millis,
) -> StoreResult<ApiKey> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO api_keys (account_id, token_hash, prefix, label, created_at)
         VALUES (?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(account_id)
    .bind(token_hash)
    .bind(prefix)
    .bind(label)
    .bind(now)
    .fetch_one(pool)
    .await
    .map_err(constraint_error(|| "an API key with this token".into()))?;
    Ok(ApiKey {
        id,
        account_id,
        prefix: prefix.into(),
        label: label.map(Into::into),
        created_at: now,
        revoked_at: None,
    })
}

pub(super) async fn keys(pool: &SqlitePool, account_id: AccountId) -> StoreResult<Vec<ApiKey>> {
    sqlx::query(
        "SELECT id AS key_id, account_id, prefix, label, created_at AS key_created_at, revoked_at
         FROM api_keys WHERE account_id = ? ORDER BY id",
    )
    .bind(account_id)
    .fetch_all(pool)
    .await?
    .iter()
    .map(key_from_row)
    .collect()
}

/// Revoking a revoked key keeps its first revocation time.
pub(super) async fn revoke_key(pool: &SqlitePool, key_id: i64, now: Millis) -> StoreResult<()> {
    let done = sqlx::query("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?")
        .bind(now)
        .bind(key_id)
        .execute(pool)
        .await?;
    found(done.rows_affected())
}

pub(super) async fn by_key_hash(
    pool: &SqlitePool,
    token_hash: &str,
) -> StoreResult<Option<(Account, ApiKey)>> {
    let row = sqlx::query(
        "SELECT a.*, k.id AS key_id, k.account_id, k.prefix, k.label, k.created_at AS key_created_at, k.revoked_at
         FROM api_keys AS k JOIN accounts AS a ON a.id = k.account_id
         WHERE k.token_hash = ? AND k.revoked_at IS NULL",
    )
    .bind(token_hash)
    .fetch_optional(pool)
    .await?;
    row.map(|row| Ok((account_from_row(&row)?, key_from_row(&row)?)))
        .transpose()
}
