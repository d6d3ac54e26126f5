//! The conversions into a dialect's failure type that do not depend on the
//! dialect: a refused send goes through the dialect's own mapping of plan and
//! credential errors, and store errors through the native [`ApiError`]
//! (which the dialect maps from), so each dialect writes only its codes.
//!
//! [`ApiError`]: crate::error::ApiError

/// Implements `From<SendError>` and `From<StoreError>` for `$failure`, which
/// must already convert from `PlanError`, `AuthError` and `ApiError`.
macro_rules! failure_from_send_and_store {
    ($failure:ty) => {
        impl From<relais_engine::send::SendError> for $failure {
            fn from(e: relais_engine::send::SendError) -> Self {
                use relais_engine::send::SendError;
                match e {
                    SendError::Plan(e) => e.into(),
                    SendError::AccountDisabled => {
                        $crate::dialects::common::credentials::AuthError::AccountDisabled.into()
                    }
                    SendError::Store(e) => e.into(),
                    SendError::Settings(_) => $crate::error::ApiError::internal(e).into(),
                    e @ SendError::IdempotencyKeyReused(_) => {
                        $crate::error::ApiError::from(e).into()
                    }
                }
            }
        }

        impl From<relais_store::StoreError> for $failure {
            fn from(e: relais_store::StoreError) -> Self {
                $crate::error::ApiError::from(e).into()
            }
        }
    };
}

pub(crate) use failure_from_send_and_store;
