//! API keys: tokens are random, shown once, and stored only as their SHA-256
//! hash, so a leaked database does not leak working credentials.

use rand::RngCore;
use relais_store::{AccountId, ApiKey, Store, StoreResult};
use sha2::{Digest, Sha256};

use relais_store::clock;

/// Every token starts with this, so a leaked one is recognisable in logs and scanners.
pub const TOKEN_PREFIX: &str = "rl_";

/// How many characters of a token are kept to tell keys apart.
const SHOWN_PREFIX_LEN: usize = 10;

/// The hash under which a token is stored.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A random secret for signing an account's callbacks.
pub fn new_webhook_secret() -> String {
    let mut secret = [0u8; 24];
    rand::rng().fill_bytes(&mut secret);
    format!("whsec_{}", hex::encode(secret))
}

/// Creates a key for an account; answers the token (never stored) and the key.
pub async fn create_key(
    store: &dyn Store,
    account_id: AccountId,
    label: Option<&str>,
) -> StoreResult<(String, ApiKey)> {
    let mut secret = [0u8; 24];
    rand::rng().fill_bytes(&mut secret);
    let token = format!("{TOKEN_PREFIX}{}", hex::encode(secret));
    let key = store
        .create_api_key(
            account_id,
            &hash_token(&token),
            &token[..SHOWN_PREFIX_LEN],
            label,
            clock::now_ms(),
        )
        .await?;
    Ok((token, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_sha256_hex() {
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
