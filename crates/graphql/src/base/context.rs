//! What every resolver reads from the request: keywarden and the caller.

use async_graphql::{Context, Guard, Result};
use domain::{Keywarden, Principal};

use crate::base::error::bad_input;
use crate::base::error::{Code, coded, unauthenticated};

pub fn kw<'a>(ctx: &Context<'a>) -> &'a Keywarden {
    // The schema is always built with a Keywarden (see `schema_builder`).
    #[allow(clippy::expect_used)]
    ctx.data::<Keywarden>()
        .expect("the schema carries a Keywarden")
}

/// The authenticated caller, or `UNAUTHENTICATED`.
pub fn caller<'a>(ctx: &Context<'a>) -> Result<&'a Principal> {
    ctx.data_opt::<Principal>().ok_or_else(unauthenticated)
}

/// The coarse rule of every management operation: a human, never a service
/// account. The domain then checks the Admin role in the account concerned.
#[derive(Debug, Default)]
pub struct HumanOnly;

impl Guard for HumanOnly {
    async fn check(&self, ctx: &Context<'_>) -> Result<()> {
        match caller(ctx)? {
            Principal::User(_) => Ok(()),
            Principal::ServiceAccount(_) => Err(coded(
                Code::Unauthorized,
                "Unauthorized: service accounts cannot manage service accounts, keys, members or tokens",
            )),
        }
    }
}

/// Whether the client asked for `field` in the selection of the current field.
pub fn selects(ctx: &Context<'_>, field: &str) -> bool {
    ctx.look_ahead().field(field).exists()
}

/// For a field that may be refused while its object is readable: records the
/// error against the field's path and answers `null`, so the rest of the object
/// still arrives (partial data, as GraphQL intends).
pub fn or_null<T>(ctx: &Context<'_>, result: Result<Option<T>>) -> Option<T> {
    match result {
        Ok(value) => value,
        Err(e) => {
            ctx.add_error(ctx.set_error_path(e.into_server_error(ctx.item.pos)));
            None
        }
    }
}

pub(crate) fn now() -> chrono::DateTime<chrono::Utc> {
    domain::time::now()
}

/// The rule for every mutation that returns a new secret: refused, before
/// anything is written, unless the secret is in the selection.
pub(crate) fn require_selected(ctx: &Context<'_>, field: &str, message: &str) -> Result<()> {
    if selects(ctx, field) {
        Ok(())
    } else {
        Err(bad_input(message))
    }
}
