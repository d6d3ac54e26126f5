//! Account names and e-mails are one namespace: a client logs in with
//! either (Octopush's `user_login`), so a name equal to another account's
//! e-mail would take over that account's login. Equal names, and equal
//! e-mails, are refused by the tables' unique indexes; this is the check
//! across the two columns, run by each backend in its creating transaction.

use crate::model::NewAccount;
use crate::store::StoreError;

/// True when `$1` (a new name) is another account's e-mail or `$2` (a new
/// e-mail) another account's name. `$1` comes first in the text: SQLite
/// numbers named parameters in order of appearance.
pub(crate) const TAKEN_LOGINS: &str =
    "SELECT EXISTS (SELECT 1 FROM accounts WHERE email = $1 OR name = $2)";

/// `Conflict` when [`TAKEN_LOGINS`] answered `taken` for `new`.
pub(crate) fn refuse_taken(taken: bool, new: &NewAccount) -> Result<(), StoreError> {
    if !taken {
        return Ok(());
    }
    Err(StoreError::Conflict(format!(
        "a login {:?}: the name or e-mail of another account",
        match &new.email {
            Some(email) => format!("{} / {email}", new.name),
            None => new.name.clone(),
        }
    )))
}
