//! keywarden's GraphQL schema: the Lumar service-account surface over the domain.
//!
//! One [`schema_builder`] serves the server and the exported `schema.graphql`.
//! Requests carry the caller as request data (a [`domain::Principal`]); resolvers
//! ask the domain, which decides what the caller may do.

mod access;
mod audit;
mod base;
mod credentials;
mod directory;
mod documents;
mod objects;
mod query;

pub use base::{error, scalars};

use async_graphql::{EmptySubscription, Response, Schema, SchemaBuilder, Value};
use domain::Keywarden;

pub use documents::extension::{CostBudget, DESCRIPTION, QueriesOnly};
pub use documents::limits::Limits;
/// Every query: the core surface and the access questions.
#[derive(async_graphql::MergedObject, Debug, Default)]
pub struct Query(
    query::CoreQuery,
    credentials::unused::UnusedQuery,
    access::checks::CheckQuery,
);

/// Every mutation: the core surface and the management of access.
// (Its parts are merged concept by concept, in the order the schema lists
// the fields; the line above is the schema's description of the type.)
#[derive(async_graphql::MergedObject, Debug, Default)]
pub struct Mutation(
    directory::service_accounts::ServiceAccountMutation,
    credentials::keys::KeyMutation,
    credentials::tokens::TokenMutation,
    credentials::leaks::LeakMutation,
    credentials::rules::PolicyMutation,
    directory::members::MemberMutation,
    access::projects::ProjectMutation,
    access::permissions::PermissionMutation,
    access::groups::GroupMutation,
);

pub type KeywardenSchema = Schema<Query, Mutation, EmptySubscription>;

/// The schema, without its data. Add a [`Keywarden`] with `.data(..)`, or call
/// [`schema`].
pub fn schema_builder() -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    Schema::build(Query::default(), Mutation::default(), EmptySubscription)
}

/// The schemas a server runs: one for authenticated callers, and one for
/// callers with no credential, which gives no field suggestions (they would
/// describe the API to whoever asks).
#[derive(Clone)]
pub struct Schemas {
    pub authenticated: KeywardenSchema,
    pub anonymous: KeywardenSchema,
    /// What one request may spend (see [`CostBudget`]).
    pub cost_limit: usize,
}

impl std::fmt::Debug for Schemas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Schemas")
    }
}

pub fn schemas(kw: Keywarden, limits: &Limits) -> Schemas {
    // Each schema keeps its own documents: what validation found belongs to
    // the schema that validated.
    let build = || {
        schema_builder()
            .data(kw.clone())
            .limit_depth(limits.max_depth)
            .limit_directives(limits.max_directives)
            .extension(documents::extension::Documents::new(
                limits.max_aliases,
                limits.max_cost,
            ))
    };
    Schemas {
        authenticated: build().finish(),
        anonymous: build().disable_suggestions().finish(),
        cost_limit: limits.max_cost,
    }
}

/// The schema's SDL, as checked in at `schema.graphql`.
pub fn sdl() -> String {
    schema_builder().finish().sdl()
}

/// What kind of failure a response reports, for the transport's status code.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Executed; any errors are field errors.
    Executed,
    /// The document did not parse or validate, or its variables did not fit.
    Rejected,
}

pub const VALIDATION_CODE: &str = error::Code::ValidationFailed.as_str();

/// The last look at every error before it leaves: request-level errors (parse,
/// validation, variables) get `GRAPHQL_VALIDATION_FAILED`; an argument that did
/// not parse as its scalar (a malformed `ObjectID` or `DateTime`) is
/// `BAD_USER_INPUT`; any other field error that came out without a code is an
/// error nobody mapped, so its text is logged and replaced by `Internal server
/// error`.
pub fn finish(response: &mut Response) -> Outcome {
    let mut outcome = Outcome::Executed;
    for error in &mut response.errors {
        if error.path.is_empty() {
            // Nothing ran: the request itself was refused.
            outcome = Outcome::Rejected;
        }
        let coded = error
            .extensions
            .as_ref()
            .is_some_and(|x| x.get("code").is_some());
        if coded {
            continue;
        }
        let code = if error.path.is_empty() {
            VALIDATION_CODE
        } else if is_argument_error(&error.message) {
            error::Code::BadUserInput.as_str()
        } else {
            tracing::error!(message = %error.message, path = ?error.path, "unmapped error");
            error.message = error::INTERNAL_MESSAGE.to_owned();
            error::Code::Internal.as_str()
        };
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("code", Value::from(code));
    }
    outcome
}

/// The messages async-graphql gives an argument whose value does not fit its type.
fn is_argument_error(message: &str) -> bool {
    message.starts_with("Failed to parse \"") || message.starts_with("Invalid value for argument")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_checked_in_schema_is_the_running_schema() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../schema.graphql");
        let checked_in = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            checked_in == super::sdl(),
            "schema.graphql is stale: regenerate it with \
             `cargo run -- print-schema > schema.graphql` (or `just schema`)"
        );
    }

    #[test]
    fn the_readme_lists_every_error_code_in_its_table() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md");
        let readme = std::fs::read_to_string(path).unwrap_or_default();
        let rows: Vec<&str> = readme.lines().filter(|l| l.starts_with("| `")).collect();
        for code in super::error::Code::ALL {
            let row = format!("| `{}` |", code.as_str());
            assert!(
                rows.iter().any(|r| r.starts_with(&row)),
                "README.md's error table has no row for {}",
                code.as_str()
            );
        }
    }
}
