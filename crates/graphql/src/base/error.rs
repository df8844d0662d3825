//! The one place where domain errors become GraphQL errors.
//!
//! Each error carries `extensions.code`. Database and internal errors are logged
//! with their cause and shown only as `Internal server error`.

use async_graphql::{Error, ErrorExtensions};
use domain::DomainError;

pub const UNAUTHENTICATED_MESSAGE: &str =
    "Unauthorized. Please provide a valid authentication token.";
pub const INTERNAL_MESSAGE: &str = "Internal server error";
pub const SECRET_MESSAGE: &str =
    "The 'secret' field must be requested when creating a key: it is shown only once.";
pub const ROTATION_SECRET_MESSAGE: &str =
    "The 'secret' field must be requested when rotating a key: the new key is shown only once.";

/// Every code a client can see, from GraphQL or from the HTTP layer in front
/// of it; the README's table lists each (a test checks).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Code {
    Unauthenticated,
    Unauthorized,
    EntityNotFound,
    BadUserInput,
    LimitExceeded,
    /// A credential the account's policy does not allow.
    PolicyViolation,
    /// A document whose cost is over what the request may spend.
    CostLimitExceeded,
    /// A document that does not parse or validate, or a body that is not a
    /// GraphQL request.
    ValidationFailed,
    /// Two different credentials in one request.
    AmbiguousCredentials,
    /// Too many refused credentials from the client.
    RateLimited,
    PayloadTooLarge,
    /// The body did not arrive in time.
    RequestTimeout,
    /// The request ran out of time.
    Timeout,
    /// A browser's request from a web origin the server does not allow.
    OriginNotAllowed,
    /// A good credential presented from an address its ranges do not allow.
    AddressNotAllowed,
    Internal,
}

impl Code {
    pub const ALL: [Code; 16] = [
        Code::Unauthenticated,
        Code::Unauthorized,
        Code::EntityNotFound,
        Code::BadUserInput,
        Code::LimitExceeded,
        Code::PolicyViolation,
        Code::CostLimitExceeded,
        Code::ValidationFailed,
        Code::AmbiguousCredentials,
        Code::RateLimited,
        Code::PayloadTooLarge,
        Code::RequestTimeout,
        Code::Timeout,
        Code::OriginNotAllowed,
        Code::AddressNotAllowed,
        Code::Internal,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Code::Unauthenticated => "UNAUTHENTICATED",
            Code::Unauthorized => "UNAUTHORIZED",
            Code::EntityNotFound => "ENTITY_NOT_FOUND",
            Code::BadUserInput => "BAD_USER_INPUT",
            Code::LimitExceeded => "LIMIT_EXCEEDED",
            Code::PolicyViolation => "POLICY_VIOLATION",
            Code::CostLimitExceeded => "COST_LIMIT_EXCEEDED",
            Code::ValidationFailed => "GRAPHQL_VALIDATION_FAILED",
            Code::AmbiguousCredentials => "AMBIGUOUS_CREDENTIALS",
            Code::RateLimited => "RATE_LIMITED",
            Code::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Code::RequestTimeout => "REQUEST_TIMEOUT",
            Code::Timeout => "TIMEOUT",
            Code::OriginNotAllowed => "ORIGIN_NOT_ALLOWED",
            Code::AddressNotAllowed => "ADDRESS_NOT_ALLOWED",
            Code::Internal => "INTERNAL_SERVER_ERROR",
        }
    }
}

pub fn coded(code: Code, message: impl Into<String>) -> Error {
    Error::new(message).extend_with(|_, e| e.set("code", code.as_str()))
}

pub fn unauthenticated() -> Error {
    coded(Code::Unauthenticated, UNAUTHENTICATED_MESSAGE)
}

pub fn bad_input(message: impl Into<String>) -> Error {
    coded(Code::BadUserInput, message)
}

pub fn not_found(kind: &str) -> Error {
    coded(Code::EntityNotFound, format!("{kind} not found"))
}

/// Converts a domain error. Resolvers call this and never `?` a domain error
/// straight into an `async_graphql::Error`.
pub fn api(e: DomainError) -> Error {
    match e {
        DomainError::NotFound(kind) => not_found(kind),
        DomainError::Unauthorized(why) => coded(Code::Unauthorized, format!("Unauthorized: {why}")),
        DomainError::Invalid(message) | DomainError::Conflict(message) => bad_input(message),
        DomainError::LimitExceeded(message) => coded(Code::LimitExceeded, message),
        DomainError::PolicyViolation {
            rule,
            limit,
            message,
        } => Error::new(message).extend_with(|_, e| {
            e.set("code", Code::PolicyViolation.as_str());
            e.set("rule", rule);
            if let Some(limit) = limit {
                e.set("limit", limit);
            }
        }),
        DomainError::Db(cause) => {
            tracing::error!(error = %cause, "database error");
            coded(Code::Internal, INTERNAL_MESSAGE)
        }
        DomainError::Internal(cause) => {
            tracing::error!(error = %cause, "internal error");
            coded(Code::Internal, INTERNAL_MESSAGE)
        }
    }
}

/// Shorthand: `kw.op(..).await.map_err(api)?` reads as `domain(kw.op(..).await)?`.
pub trait ApiResult<T> {
    fn api(self) -> async_graphql::Result<T>;
}

impl<T> ApiResult<T> for Result<T, DomainError> {
    fn api(self) -> async_graphql::Result<T> {
        self.map_err(api)
    }
}
