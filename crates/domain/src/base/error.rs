//! The domain's one error type.
//!
//! Each transport converts it in one place; `Db` and `Internal` carry details for
//! the log and must never be shown to a client as they are.

use sea_orm::{DbErr, SqlErr};

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// The object is missing or belongs to an account the caller cannot see; the
    /// two are never told apart. Holds the type name, as in `ServiceAccount`.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The caller is known and may see the object, but may not do this.
    #[error("Unauthorized: {0}")]
    Unauthorized(&'static str),
    /// The input breaks a rule; the message says which, in the user's terms.
    #[error("{0}")]
    Invalid(String),
    /// A count limit (keys, tokens) or a rate rule (rotation) would be broken.
    #[error("{0}")]
    LimitExceeded(&'static str),
    /// A credential that the account's policy does not allow: `rule` names
    /// the setting (`keyMaxLifetimeDays`), `limit` its value where it has one.
    #[error("{message}")]
    PolicyViolation {
        rule: &'static str,
        limit: Option<u32>,
        message: String,
    },
    /// The request conflicts with the current state (a duplicate, the last Admin).
    #[error("{0}")]
    Conflict(String),
    #[error("database error: {0}")]
    Db(#[from] DbErr),
    /// Stored data that breaks an invariant the domain relies on.
    #[error("internal error: {0}")]
    Internal(String),
}

pub type DomainResult<T> = Result<T, DomainError>;

impl DomainError {
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid(message.into())
    }
}

/// Turns a unique-index violation into a `Conflict` saying `message`; any other
/// error stays a database error.
pub(crate) fn duplicate_is_conflict(message: String) -> impl FnOnce(DbErr) -> DomainError {
    move |e| match e.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => DomainError::Conflict(message),
        _ => e.into(),
    }
}
