//! Who is calling: API keys (`Authorization: Bearer <key>`, extractor
//! [`Caller`], rate-limited per key) and the administration token (extractor
//! [`Admin`]).
//!
//! [`caller_for_token`] is the lookup dialects reuse with credentials taken from
//! elsewhere (a form field, a query parameter).

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use governor::clock::Clock;
use relais_engine::keys;
use relais_store::{Account, ApiKey, StoreError};

use crate::error::ApiError;
use crate::state::{AppState, SharedState};

/// The account behind the request's API key: the key is live, the account
/// enabled, and the key within its rate limit.
#[derive(Debug, Clone)]
pub struct Caller {
    pub account: Account,
    pub key: ApiKey,
}

/// Looks a token up: 401 `unauthorized` when unknown or revoked, 403
/// `account_disabled` when its account is disabled, 429 `rate_limited` (with
/// `Retry-After`) when the key is over its rate limit.
///
/// The key and its account come from the node's
/// [`AccountCache`](relais_engine::account_cache::AccountCache) (at most a
/// second old; this node's own revocations and changes are seen at once). A
/// disabled account is told so, not answered like an unknown key.
pub async fn caller_for_token(state: &AppState, token: &str) -> Result<Caller, ApiError> {
    let token = token.trim();
    if token.is_empty() {
        return Err(ApiError::unauthorized("missing API key"));
    }
    let (account, key) = state
        .pipeline
        .accounts()
        .by_key_hash(&keys::hash_token(token))
        .await?
        .ok_or_else(|| ApiError::unauthorized("unknown or revoked API key"))?;
    if account.disabled {
        return Err(ApiError::forbidden(
            "account_disabled",
            "the account is disabled",
        ));
    }
    if let Some(limiter) = state.limiter()
        && let Err(not_until) = limiter.check_key(&key.id)
    {
        let wait = not_until.wait_time_from(limiter.clock().now());
        return Err(ApiError::too_many_requests(wait.as_secs_f64().ceil() as u64));
    }
    Ok(Caller { account, key })
}

impl Caller {
    /// The caller with its account as stored now. The account authenticated
    /// from the node's cache may be up to a second old; an answer that shows
    /// the balance (which refunds and other nodes change) reads it again.
    pub async fn reread(mut self, state: &AppState) -> Result<Caller, StoreError> {
        if let Some(account) = state.pipeline.accounts().reread(self.account.id).await? {
            self.account = account;
        }
        Ok(self)
    }
}

/// The token of an `Authorization: Bearer <token>` header (scheme in any case).
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

impl FromRequestParts<SharedState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, ApiError> {
        let token = bearer_token(&parts.headers).ok_or_else(|| {
            ApiError::unauthorized("missing API key: send Authorization: Bearer <key>")
        })?;
        caller_for_token(state, token).await
    }
}

/// A request carrying the administration token. With no token configured,
/// administration is switched off: every request gets 403 `admin_disabled`.
#[derive(Debug, Clone, Copy)]
pub struct Admin;

impl FromRequestParts<SharedState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, ApiError> {
        let Some(expected) = state
            .config
            .admin_token
            .as_deref()
            .filter(|t| !t.is_empty())
        else {
            return Err(ApiError::forbidden(
                "admin_disabled",
                "administration is disabled: no admin token is configured",
            ));
        };
        match bearer_token(&parts.headers) {
            Some(token) if constant_time_eq(token.as_bytes(), expected.as_bytes()) => Ok(Admin),
            Some(_) => Err(ApiError::unauthorized("wrong admin token")),
            None => Err(ApiError::unauthorized(
                "missing admin token: send Authorization: Bearer <token>",
            )),
        }
    }
}

/// Compares without stopping at the first difference, so the time taken does
/// not tell an attacker how much of a guess was right.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer_token(&headers), None);
        headers.insert(AUTHORIZATION, "Bearer rl_abc".parse().unwrap());
        assert_eq!(bearer_token(&headers), Some("rl_abc"));
        headers.insert(AUTHORIZATION, "bearer  rl_abc ".parse().unwrap());
        assert_eq!(bearer_token(&headers), Some("rl_abc"));
        headers.insert(AUTHORIZATION, "Basic dXNlcjpwdw==".parse().unwrap());
        assert_eq!(bearer_token(&headers), None);
    }

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
    }
}
