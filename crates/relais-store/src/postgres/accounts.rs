//! Accounts, their API keys and their credits: the balance and the ledger
//! recording every movement of it.

use relais_core::money::Amount;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Row};

use super::codec::{constraint_error, corrupt, limit_offset};
use crate::logins::{TAKEN_LOGINS, refuse_taken};
use crate::model::{
    Account, AccountId, AccountSettings, ApiKey, LedgerEntry, Millis, NewAccount, Page,
};
use crate::store::{SettingsPatch, StoreError, StoreResult};

/// The columns [`account_from_row`] reads, from `accounts AS a`. The settings
/// are JSONB, read back as their text.
macro_rules! account_columns {
    () => {
        "a.id, a.name, a.email, a.balance, a.sandbox, a.disabled, a.settings::text AS settings,
         a.created_at"
    };
}

pub(super) fn account_from_row(row: &PgRow) -> StoreResult<Account> {
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
fn key_from_row(row: &PgRow) -> StoreResult<ApiKey> {
    Ok(ApiKey {
        id: row.try_get("key_id")?,
        account_id: row.try_get("key_account_id")?,
        prefix: row.try_get("prefix")?,
        label: row.try_get("label")?,
        created_at: row.try_get("key_created_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

fn settings_json(settings: &AccountSettings) -> StoreResult<String> {
    serde_json::to_string(settings).map_err(|e| corrupt("settings", e))
}

/// Account creations take turns (a transaction-level advisory lock, held
/// until commit), so that the check that names and e-mails stay one
/// namespace (see `crate::logins`) cannot race another node's.
pub(super) async fn create(pool: &PgPool, new: NewAccount, now: Millis) -> StoreResult<Account> {
    let settings = settings_json(&new.settings)?;
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(CREATE_ACCOUNT_LOCK)
        .execute(&mut *tx)
        .await?;
    let taken: bool = sqlx::query_scalar(TAKEN_LOGINS)
        .bind(&new.name)
        .bind(&new.email)
        .fetch_one(&mut *tx)
        .await?;
    refuse_taken(taken, &new)?;
    // One statement: the account and its opening balance in the ledger.
    let id: i64 = sqlx::query_scalar(
        "WITH account AS (
             INSERT INTO accounts (name, email, balance, sandbox, settings, created_at)
             VALUES ($1, $2, $3, $4, $5::jsonb, $6) RETURNING id, balance),
         opening AS (
             INSERT INTO ledger (account_id, amount, reason, at)
             SELECT id, balance, 'opening balance', $6 FROM account
             WHERE balance IS NOT NULL AND balance <> 0)
         SELECT id FROM account",
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

/// The advisory lock account creations take (any constant unique to it).
const CREATE_ACCOUNT_LOCK: i64 = 0x7265_6c61_6973_0001;

/// The accounts of `ids`, in one statement.
pub(super) async fn by_ids(
    conn: &mut PgConnection,
    ids: &[AccountId],
) -> StoreResult<Vec<Account>> {
    sqlx::query(concat!(
        "SELECT ",
        account_columns!(),
        " FROM accounts AS a WHERE a.id = ANY($1)"
    ))
    .bind(ids)
    .fetch_all(conn)
    .await?
    .iter()
    .map(account_from_row)
    .collect()
}

pub(super) async fn by_id(pool: &PgPool, id: AccountId) -> StoreResult<Option<Account>> {
    sqlx::query(concat!(
        "SELECT ",
        account_columns!(),
        " FROM accounts AS a WHERE a.id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?
    .map(|row| account_from_row(&row))
    .transpose()
}

/// By name first: a name that is also another account's e-mail logs into the
/// account of that name.
pub(super) async fn by_login(pool: &PgPool, login: &str) -> StoreResult<Option<Account>> {
    sqlx::query(concat!(
        "SELECT ",
        account_columns!(),
        " FROM accounts AS a WHERE a.name = $1 OR a.email = $1
         ORDER BY a.name = $1 DESC LIMIT 1"
    ))
    .bind(login)
    .fetch_optional(pool)
    .await?
    .map(|row| account_from_row(&row))
    .transpose()
}

/// By the `system_id` of its SMPP login (`accounts.smpp_system_id`, derived
/// from the settings).
pub(super) async fn by_smpp_system_id(
    pool: &PgPool,
    system_id: &str,
) -> StoreResult<Option<Account>> {
    sqlx::query(concat!(
        "SELECT ",
        account_columns!(),
        " FROM accounts AS a WHERE a.smpp_system_id = $1"
    ))
    .bind(system_id)
    .fetch_optional(pool)
    .await?
    .map(|row| account_from_row(&row))
    .transpose()
}

pub(super) async fn all(pool: &PgPool) -> StoreResult<Vec<Account>> {
    sqlx::query(concat!(
        "SELECT ",
        account_columns!(),
        " FROM accounts AS a ORDER BY a.id"
    ))
    .fetch_all(pool)
    .await?
    .iter()
    .map(account_from_row)
    .collect()
}

/// The account's row is locked (`FOR UPDATE`) from the read to the write.
pub(super) async fn patch_settings(
    pool: &PgPool,
    id: AccountId,
    patch: &mut SettingsPatch<'_>,
) -> StoreResult<AccountSettings> {
    let mut tx = pool.begin().await?;
    let current: String =
        sqlx::query_scalar("SELECT settings::text FROM accounts WHERE id = $1 FOR UPDATE")
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
    sqlx::query("UPDATE accounts SET settings = $1::jsonb WHERE id = $2")
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

pub(super) async fn set_disabled(pool: &PgPool, id: AccountId, disabled: bool) -> StoreResult<()> {
    let done = sqlx::query("UPDATE accounts SET disabled = $1 WHERE id = $2")
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

/// The balance is read `FOR UPDATE`: a concurrent credit or debit of the same
/// account (on any node) waits for this one, so the check and the write see
/// the same balance.
pub(super) async fn credit(
    pool: &PgPool,
    id: AccountId,
    amount: Amount,
    reason: &str,
    now: Millis,
) -> StoreResult<Amount> {
    let mut tx = pool.begin().await?;
    let balance: Option<i64> =
        sqlx::query_scalar("SELECT balance FROM accounts WHERE id = $1 FOR UPDATE")
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
    sqlx::query(
        "WITH credited AS (UPDATE accounts SET balance = $1 WHERE id = $2)
         INSERT INTO ledger (account_id, amount, reason, at) VALUES ($2, $3, $4, $5)",
    )
    .bind(after.micros())
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
    pool: &PgPool,
    account_id: AccountId,
    page: Page,
) -> StoreResult<Vec<LedgerEntry>> {
    let (limit, offset) = limit_offset(&page);
    let rows = sqlx::query(
        "SELECT id, account_id, amount, reason, campaign_id, at FROM ledger
         WHERE account_id = $1 ORDER BY id LIMIT $2 OFFSET $3",
    )
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
    pool: &PgPool,
    account_id: AccountId,
    token_hash: &str,
    prefix: &str,
    label: Option<&str>,
    now: Millis,
) -> StoreResult<ApiKey> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO api_keys (account_id, token_hash, prefix, label, created_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
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

pub(super) async fn keys(pool: &PgPool, account_id: AccountId) -> StoreResult<Vec<ApiKey>> {
    sqlx::query(
        "SELECT id AS key_id, account_id AS key_account_id, prefix, label,
                created_at AS key_created_at, revoked_at
         FROM api_keys WHERE account_id = $1 ORDER BY id",
    )
    .bind(account_id)
    .fetch_all(pool)
    .await?
    .iter()
    .map(key_from_row)
    .collect()
}

/// Revoking a revoked key keeps its first revocation time.
pub(super) async fn revoke_key(pool: &PgPool, key_id: i64, now: Millis) -> StoreResult<()> {
    let done =
        sqlx::query("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2")
            .bind(now)
            .bind(key_id)
            .execute(pool)
            .await?;
    found(done.rows_affected())
}

pub(super) async fn by_key_hash(
    pool: &PgPool,
    token_hash: &str,
) -> StoreResult<Option<(Account, ApiKey)>> {
    let row = sqlx::query(concat!(
        "SELECT ",
        account_columns!(),
        ", k.id AS key_id, k.account_id AS key_account_id, k.prefix, k.label,
           k.created_at AS key_created_at, k.revoked_at
         FROM api_keys AS k JOIN accounts AS a ON a.id = k.account_id
         WHERE k.token_hash = $1 AND k.revoked_at IS NULL"
    ))
    .bind(token_hash)
    .fetch_optional(pool)
    .await?;
    row.map(|row| Ok((account_from_row(&row)?, key_from_row(&row)?)))
        .transpose()
}
