//! A dialect's credentials (a bearer token, an `apiKey` field, a `token`
//! parameter) are relais API keys: this checks one and tells the dialect why
//! it failed, so each renders the failure as its provider does.

use crate::auth::{Caller, caller_for_token};
use crate::error::ApiError;
use crate::state::AppState;

/// Why a request is not let in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// No credentials given (or only blanks).
    Missing,
    /// Unknown or revoked key.
    Invalid,
    AccountDisabled,
    /// Over the key's rate limit; retry after this many seconds.
    RateLimited(u64),
    /// The store failed (already logged).
    Internal,
}

/// The caller behind `token`.
pub async fn authenticate(state: &AppState, token: Option<&str>) -> Result<Caller, AuthError> {
    let token = token.map(str::trim).filter(|t| !t.is_empty());
    let Some(token) = token else {
        return Err(AuthError::Missing);
    };
    caller_for_token(state, token).await.map_err(classify)
}

fn classify(error: ApiError) -> AuthError {
    match error.code.as_ref() {
        "unauthorized" => AuthError::Invalid,
        "account_disabled" => AuthError::AccountDisabled,
        "rate_limited" => AuthError::RateLimited(error.retry_after.unwrap_or(1)),
        _ => AuthError::Internal,
    }
}
