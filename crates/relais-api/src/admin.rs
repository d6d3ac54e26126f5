//! `/admin`: accounts, their settings, credits and API keys, behind the
//! administration token (see [`Admin`]).
//!
//! Settings are validated before they are stored, so that a send never meets
//! settings it cannot use: unknown top-level fields, prices, sending windows,
//! the time zone, the default sender, the STOP mention, flood limits and
//! webhook URLs. Country codes are checked for shape (two letters).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use relais_core::calendar::SendingWindow;
use relais_core::money::Amount;
use relais_core::optout::{self, OptOutPolicy};
use relais_core::pricing::PriceTable;
use relais_core::sender::SenderId;
use relais_engine::callback_url::check_callback_url;
use relais_engine::keys;
use relais_store::clock;
use relais_store::{Account, AccountId, AccountSettings, ApiKey, NewAccount};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Admin;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Id, JsonBody, from_value};
use crate::openapi::schemas;
use crate::state::{AppState, SharedState};
use crate::time::rfc3339;

pub fn router() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(create_account, list_accounts))
        .routes(routes!(get_account))
        .routes(routes!(put_settings))
        .routes(routes!(credit_account))
        .routes(routes!(create_key, list_keys))
        .routes(routes!(revoke_key))
        .routes(routes!(disable_account))
        .routes(routes!(enable_account))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccountBody {
    pub id: i64,
    pub name: String,
    pub email: Option<String>,
    /// A decimal string; null for postpaid accounts.
    #[schema(value_type = Option<String>, example = "100")]
    pub balance: Option<Amount>,
    pub sandbox: bool,
    pub disabled: bool,
    /// The full settings document (as `PUT /admin/accounts/{id}/settings` takes it).
    #[schema(value_type = schemas::AccountSettings)]
    pub settings: AccountSettings,
    pub created_at: String,
}

impl From<Account> for AccountBody {
    fn from(a: Account) -> Self {
        AccountBody {
            id: a.id,
            name: a.name,
            email: a.email,
            balance: a.balance,
            sandbox: a.sandbox,
            disabled: a.disabled,
            settings: a.settings,
            created_at: rfc3339(a.created_at),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAccount {
    /// Unique login name: 1-64 printable characters, no `@`.
    #[schema(min_length = 1, max_length = 64)]
    pub name: String,
    /// Contact and login e-mail, unique across names and e-mails.
    #[schema(max_length = 254, format = Email)]
    pub email: Option<String>,
    /// Starting credits, a decimal string; `null` for a postpaid account
    /// (no credit limit); absent for a prepaid account with 0.
    #[serde(default = "empty_balance", deserialize_with = "present")]
    #[schema(value_type = Option<schemas::Credits>, example = "100")]
    pub balance: Option<Amount>,
    /// Send only through the simulator.
    #[serde(default)]
    pub sandbox: bool,
    /// Settings (see `PUT /admin/accounts/{id}/settings`); defaults when absent.
    #[schema(value_type = Option<schemas::AccountSettings>)]
    pub settings: Option<serde_json::Value>,
}

/// An account created without a `balance` is prepaid and empty: forgetting the
/// field must not give unlimited credit.
fn empty_balance() -> Option<Amount> {
    Some(Amount::ZERO)
}

/// Reads a field that is present, `null` included (`null` is `None`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    Option::deserialize(d)
}

/// Creates an account.
#[utoipa::path(
    post,
    path = "/admin/accounts",
    tag = "admin",
    request_body = CreateAccount,
    responses(
        (status = 201, body = AccountBody),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody),
        (status = 422, body = ErrorBody)
    ),
    security(("admin_token" = []))
)]
pub async fn create_account(
    State(state): State<SharedState>,
    _: Admin,
    JsonBody(body): JsonBody<CreateAccount>,
) -> Result<(StatusCode, Json<AccountBody>), ApiError> {
    let name = body.name.trim();
    if let Err(e) = relais_core::account::validate_name(name) {
        return Err(ApiError::unprocessable("invalid_name", e.to_string()).with_field("name"));
    }
    let email = body.email.map(|e| e.trim().to_owned());
    if let Some(Err(e)) = email.as_deref().map(relais_core::account::validate_email) {
        return Err(ApiError::unprocessable("invalid_email", e.to_string()).with_field("email"));
    }
    if body.balance.is_some_and(Amount::is_negative) {
        return Err(
            ApiError::unprocessable("invalid_amount", "the balance cannot be negative")
                .with_field("balance"),
        );
    }
    let settings = match body.settings {
        Some(value) => read_settings(value, &state).map_err(|e| prefixed(e, "settings"))?,
        None => AccountSettings::default(),
    };
    let new = NewAccount {
        name: name.to_owned(),
        email,
        balance: body.balance,
        sandbox: body.sandbox,
        settings,
    };
    let account = state.store.create_account(new, clock::now_ms()).await?;
    Ok((StatusCode::CREATED, Json(account.into())))
}

/// Every account.
#[utoipa::path(
    get,
    path = "/admin/accounts",
    tag = "admin",
    responses((status = 200, body = Vec<AccountBody>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("admin_token" = []))
)]
pub async fn list_accounts(
    State(state): State<SharedState>,
    _: Admin,
) -> Result<Json<Vec<AccountBody>>, ApiError> {
    Ok(Json(
        state
            .store
            .accounts()
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

/// One account.
#[utoipa::path(
    get,
    path = "/admin/accounts/{id}",
    tag = "admin",
    params(("id" = i64, Path, description = "Account id")),
    responses((status = 200, body = AccountBody), (status = 404, body = ErrorBody)),
    security(("admin_token" = []))
)]
pub async fn get_account(
    State(state): State<SharedState>,
    _: Admin,
    Id(id): Id,
) -> Result<Json<AccountBody>, ApiError> {
    Ok(Json(load_account(&state, id).await?.into()))
}

/// Changes an account's settings: the body is a JSON merge patch (RFC 7386)
/// of the settings document. Fields it names are set (objects merged field
/// by field, `null` takes a field back to its default); fields it does not
/// name keep their current values, the webhook secret and SMPP login
/// included.
#[utoipa::path(
    put,
    path = "/admin/accounts/{id}/settings",
    tag = "admin",
    params(("id" = i64, Path, description = "Account id")),
    request_body(content = schemas::AccountSettings, description = "A JSON merge patch (RFC 7386) of the settings: fields not named keep their values, null resets one to its default"),
    responses(
        (status = 200, body = AccountBody),
        (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)
    ),
    security(("admin_token" = []))
)]
pub async fn put_settings(
    State(state): State<SharedState>,
    _: Admin,
    Id(id): Id,
    JsonBody(value): JsonBody<serde_json::Value>,
) -> Result<Json<AccountBody>, ApiError> {
    let mut account = load_account(&state, id).await?;
    check_fields(&value)?;
    // Merged into the settings as they are when the store holds the
    // account, so that a concurrent change to other fields is kept.
    account.settings = state
        .pipeline
        .accounts()
        .patch_settings(id, |settings| {
            let mut merged = serde_json::to_value(&*settings).map_err(ApiError::internal)?;
            merge_patch(&mut merged, &value);
            *settings = read_settings(merged, &state)?;
            Ok::<_, ApiError>(())
        })
        .await?;
    Ok(Json(account.into()))
}

/// Applies a JSON merge patch (RFC 7386) to `target`.
fn merge_patch(target: &mut serde_json::Value, patch: &serde_json::Value) {
    let (serde_json::Value::Object(target), serde_json::Value::Object(patch)) =
        (&mut *target, patch)
    else {
        *target = patch.clone();
        return;
    };
    for (key, value) in patch {
        if value.is_null() {
            target.remove(key);
        } else {
            merge_patch(
                target.entry(key.clone()).or_insert(serde_json::Value::Null),
                value,
            );
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreditBody {
    /// A decimal string, not zero; negative to take credits back.
    #[schema(value_type = schemas::SignedAmount, example = "50")]
    pub amount: Amount,
    /// Recorded in the ledger.
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BalanceBody {
    #[schema(value_type = String, example = "150")]
    pub balance: Amount,
}

/// Adds (or takes back) credits; answers the new balance.
#[utoipa::path(
    post,
    path = "/admin/accounts/{id}/credit",
    tag = "admin",
    params(("id" = i64, Path, description = "Account id")),
    request_body = CreditBody,
    responses(
        (status = 200, body = BalanceBody),
        (status = 402, description = "The balance would go below zero", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "A postpaid account has no balance", body = ErrorBody),
        (status = 422, description = "A zero amount, or one too large for the balance (`amount_too_large`)", body = ErrorBody)
    ),
    security(("admin_token" = []))
)]
pub async fn credit_account(
    State(state): State<SharedState>,
    _: Admin,
    Id(id): Id,
    JsonBody(body): JsonBody<CreditBody>,
) -> Result<Json<BalanceBody>, ApiError> {
    if body.amount == Amount::ZERO {
        return Err(
            ApiError::unprocessable("invalid_amount", "the amount is zero").with_field("amount"),
        );
    }
    let account = load_account(&state, id).await?;
    let Some(balance) = account.balance else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "postpaid_account",
            "a postpaid account has no balance to credit",
        ));
    };
    if balance.checked_add(body.amount).is_none() {
        tracing::warn!(account = id, amount = %body.amount, "credit refused: the balance would overflow");
        return Err(ApiError::unprocessable(
            "amount_too_large",
            "the amount is too large: the balance would exceed what an account can hold",
        )
        .with_field("amount"));
    }
    let reason = body.reason.as_deref().unwrap_or("admin");
    let balance = state
        .pipeline
        .accounts()
        .credit(id, body.amount, reason, clock::now_ms())
        .await?;
    Ok(Json(BalanceBody { balance }))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    /// To tell keys apart.
    pub label: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyBody {
    pub id: i64,
    pub account_id: i64,
    /// The token's first characters.
    #[schema(example = "rl_3f9a0c2")]
    pub prefix: String,
    pub label: Option<String>,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

impl From<ApiKey> for KeyBody {
    fn from(k: ApiKey) -> Self {
        KeyBody {
            id: k.id,
            account_id: k.account_id,
            prefix: k.prefix,
            label: k.label,
            created_at: rfc3339(k.created_at),
            revoked_at: k.revoked_at.map(rfc3339),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NewKeyBody {
    #[serde(flatten)]
    pub key: KeyBody,
    /// The API key. Shown once: only its hash is stored.
    pub token: String,
}

/// Creates an API key (body `{}` or `{"label": …}`).
#[utoipa::path(
    post,
    path = "/admin/accounts/{id}/keys",
    tag = "admin",
    params(("id" = i64, Path, description = "Account id")),
    request_body = CreateKey,
    responses((status = 201, body = NewKeyBody), (status = 404, body = ErrorBody)),
    security(("admin_token" = []))
)]
pub async fn create_key(
    State(state): State<SharedState>,
    _: Admin,
    Id(id): Id,
    JsonBody(body): JsonBody<CreateKey>,
) -> Result<(StatusCode, Json<NewKeyBody>), ApiError> {
    load_account(&state, id).await?;
    let (token, key) = keys::create_key(state.store.as_ref(), id, body.label.as_deref()).await?;
    Ok((
        StatusCode::CREATED,
        Json(NewKeyBody {
            key: key.into(),
            token,
        }),
    ))
}

/// An account's keys, revoked ones included.
#[utoipa::path(
    get,
    path = "/admin/accounts/{id}/keys",
    tag = "admin",
    params(("id" = i64, Path, description = "Account id")),
    responses((status = 200, body = Vec<KeyBody>), (status = 404, body = ErrorBody)),
    security(("admin_token" = []))
)]
pub async fn list_keys(
    State(state): State<SharedState>,
    _: Admin,
    Id(id): Id,
) -> Result<Json<Vec<KeyBody>>, ApiError> {
    load_account(&state, id).await?;
    Ok(Json(
        state
            .store
            .api_keys(id)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

/// Revokes a key: it stops working at once on this node, within a second on
/// the others (they cache keys for that long).
#[utoipa::path(
    delete,
    path = "/admin/keys/{id}",
    tag = "admin",
    params(("id" = i64, Path, description = "Key id")),
    responses((status = 204, description = "Revoked"), (status = 404, body = ErrorBody)),
    security(("admin_token" = []))
)]
pub async fn revoke_key(
    State(state): State<SharedState>,
    _: Admin,
    Id(id): Id,
) -> Result<StatusCode, ApiError> {
    state
        .pipeline
        .accounts()
        .revoke_key(id, clock::now_ms())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Disables an account: its keys are refused (403) and it sends nothing.
#[utoipa::path(
    post,
    path = "/admin/accounts/{id}/disable",
    tag = "admin",
    params(("id" = i64, Path, description = "Account id")),
    responses((status = 200, body = AccountBody), (status = 404, body = ErrorBody)),
    security(("admin_token" = []))
)]
pub async fn disable_account(
    State(state): State<SharedState>,
    _: Admin,
    Id(id): Id,
) -> Result<Json<AccountBody>, ApiError> {
    set_disabled(&state, id, true).await
}

/// Enables a disabled account again.
#[utoipa::path(
    post,
    path = "/admin/accounts/{id}/enable",
    tag = "admin",
    params(("id" = i64, Path, description = "Account id")),
    responses((status = 200, body = AccountBody), (status = 404, body = ErrorBody)),
    security(("admin_token" = []))
)]
pub async fn enable_account(
    State(state): State<SharedState>,
    _: Admin,
    Id(id): Id,
) -> Result<Json<AccountBody>, ApiError> {
    set_disabled(&state, id, false).await
}

async fn set_disabled(
    state: &AppState,
    id: AccountId,
    disabled: bool,
) -> Result<Json<AccountBody>, ApiError> {
    let mut account = load_account(state, id).await?;
    state.pipeline.accounts().set_disabled(id, disabled).await?;
    account.disabled = disabled;
    Ok(Json(account.into()))
}

async fn load_account(state: &AppState, id: AccountId) -> Result<Account, ApiError> {
    state
        .store
        .account(id)
        .await?
        .ok_or_else(ApiError::not_found)
}

/// Puts `prefix.` before the field of an error about a nested document.
fn prefixed(mut error: ApiError, prefix: &str) -> ApiError {
    error.field = Some(match error.field {
        Some(field) => format!("{prefix}.{field}"),
        None => prefix.to_owned(),
    });
    error
}

/// Reads and validates a settings document (see the module documentation).
fn read_settings(value: serde_json::Value, state: &AppState) -> Result<AccountSettings, ApiError> {
    check_fields(&value)?;
    let settings: AccountSettings = from_value(value)?;
    validate_settings(&settings, state.config.allow_private_callbacks)?;
    Ok(settings)
}

/// Refuses a settings document that is not an object or has unknown
/// top-level fields.
///
/// `AccountSettings` takes defaults for absent fields and so cannot deny
/// unknown ones itself: they are found by comparing with the fields a default
/// document has, so that a typo is refused rather than silently ignored.
fn check_fields(value: &serde_json::Value) -> Result<(), ApiError> {
    let serde_json::Value::Object(fields) = value else {
        return Err(ApiError::bad_request(
            "invalid_field",
            "the settings must be a JSON object",
        ));
    };
    let known = serde_json::to_value(AccountSettings::default()).map_err(ApiError::internal)?;
    if let Some(unknown) = fields.keys().find(|k| known.get(k.as_str()).is_none()) {
        return Err(ApiError::bad_request(
            "unknown_field",
            format!("unknown settings field `{unknown}`"),
        )
        .with_field(unknown.clone()));
    }
    Ok(())
}

fn validate_settings(
    settings: &AccountSettings,
    allow_private_callbacks: bool,
) -> Result<(), ApiError> {
    let invalid = |field: String, message: String| {
        ApiError::unprocessable("invalid_settings", message).with_field(field)
    };
    if let Some(prices) = &settings.prices {
        PriceTable::from_entries(prices).map_err(|e| invalid("prices".into(), e.to_string()))?;
    }
    for (country, window) in &settings.sending_windows {
        SendingWindow::try_from(window.clone())
            .map_err(|e| invalid(format!("sending_windows.{country}"), e.to_string()))?;
    }
    jiff::tz::TimeZone::get(&settings.time_zone).map_err(|_| {
        invalid(
            "time_zone".into(),
            format!("unknown time zone {:?}", settings.time_zone),
        )
    })?;
    if let Some(sender) = &settings.default_sender {
        SenderId::parse(sender).map_err(|e| invalid("default_sender".into(), e.to_string()))?;
    }
    if let OptOutPolicy::Append { mention } = &settings.opt_out
        && !optout::has_mention(mention)
    {
        return Err(invalid(
            "opt_out.mention".into(),
            format!("{mention:?} is not a STOP mention (e.g. \"STOP au 36180\")"),
        ));
    }
    if let Some(flood) = settings.flood
        && (flood.max == 0 || flood.period_secs == 0)
    {
        return Err(invalid(
            "flood".into(),
            "flood.max and flood.period_secs must be positive".into(),
        ));
    }
    for (field, url) in [
        ("webhooks.dlr", &settings.webhooks.dlr),
        ("webhooks.inbound", &settings.webhooks.inbound),
    ] {
        if let Some(url) = url {
            check_callback_url(url, allow_private_callbacks)
                .map_err(|e| ApiError::callback_url(field, e))?;
        }
    }
    Ok(())
}
