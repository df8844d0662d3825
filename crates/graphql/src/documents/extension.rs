//! Parsing and validating each distinct document once.
//!
//! Clients send the same few documents over and over, and parsing and
//! validation are the largest part of a small request's cost. This extension
//! keeps the parsed form of every document that parsed and passed the
//! parse-time limits (nesting, directives, and the alias cap counted here),
//! keyed by its exact text, and hands a copy to the next request with the same
//! text.
//!
//! It also keeps the outcome of validating that document when it passed and
//! the request carried no variables. Validation reads only the schema, the
//! document and the variables' values, so a second request with the same text
//! and no variables would get the same answer; it gets the kept one. A request
//! with variables is validated every time, and execution always runs. Each
//! schema has its own [`Documents`], so a result is only reused by the schema
//! that produced it.
//!
//! Validation also gives the document's cost (see [`crate::documents::limits`]); the
//! extension charges it to the request's [`CostBudget`], which the operations
//! of one batch share, and refuses the operation, before anything runs, when
//! the cost is more than what is left.
//!
//! The cache is bounded by the total length of the texts it holds, and a
//! document longer than [`MAX_CACHED_TEXT`] is parsed every time, so a stream of
//! distinct documents only churns it.
//!
//! Being the one extension every request runs, it also gives keywarden's own
//! answer to `__schema { description }` (the library's is a generic text),
//! rather than adding a second hook to every field.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use async_graphql::ValidationResult;
use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextResolve,
    NextValidation, ResolveInfo,
};
use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType};
use async_graphql::{
    ErrorExtensionValues, Name, Response, ServerError, ServerResult, Value, Variables,
};
use quick_cache::{Weighter, sync::Cache};

use crate::base::error::Code;
use crate::documents::limits::aliases;
use crate::documents::measure::Unmeasured;

/// What `__schema { description }` says.
pub const DESCRIPTION: &str = "keywarden: service accounts of an organisation's automation, their API keys and roles, \
the members of each account and their personal access tokens, and the audit log of every change. \
Send a credential as `x-api-key: <token>` (or `Authorization: Bearer <token>`); ids are global ObjectIDs.";

/// What one HTTP request may still spend, shared by the operations of a batch.
/// Without one in the request's data, each operation may spend the limit.
#[derive(Clone, Debug)]
pub struct CostBudget {
    limit: usize,
    left: Arc<AtomicUsize>,
}

impl CostBudget {
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            left: Arc::new(AtomicUsize::new(limit)),
        }
    }

    /// Takes `cost` from what is left, or says what is left.
    fn spend(&self, cost: usize) -> Result<(), usize> {
        self.left
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |left| {
                left.checked_sub(cost)
            })
            .map(|_| ())
    }
}

/// A request-level refusal with its code.
fn refusal(code: Code, message: String) -> ServerError {
    let mut error = ServerError::new(message, None);
    let mut extensions = ErrorExtensionValues::default();
    extensions.set("code", code.as_str());
    error.extensions = Some(extensions);
    error
}

/// The refusal of a document that costs more than the request may spend;
/// `partly` when the count stopped once it passed the limit.
fn too_costly(cost: usize, left: usize, limit: usize, partly: bool) -> ServerError {
    let costs = if partly { "costs at least" } else { "costs" };
    let message = if left == limit {
        format!(
            "The document {costs} {cost}, over the limit of {limit}. Every field counts; lists \
             count once per item they can return (ask for smaller pages with `first`, or fewer \
             `nodes` ids), nested lists multiply, and a fragment counts once per spread."
        )
    } else {
        format!(
            "The document costs {cost}, over the {left} left of this request's limit of \
             {limit}, which the operations of a batch share."
        )
    };
    let mut error = ServerError::new(message, None);
    let mut extensions = ErrorExtensionValues::default();
    extensions.set("code", Code::CostLimitExceeded.as_str());
    extensions.set("cost", cost);
    extensions.set("limit", limit);
    error.extensions = Some(extensions);
    error
}

/// Request data that lets only a query run: a request sent by `GET` carries
/// it, so that a mutation is refused whichever way its operation was chosen.
#[derive(Copy, Clone, Debug)]
pub struct QueriesOnly;

/// The longest document accepted at all.
pub const MAX_DOCUMENT_BYTES: usize = 100_000;
/// The most fragments one document may define.
pub const MAX_FRAGMENTS: usize = 100;
/// The longest document text kept parsed.
pub const MAX_CACHED_TEXT: usize = 8 * 1024;
/// The total length of the texts kept parsed.
const CACHED_TEXT_BYTES: u64 = 2 * 1024 * 1024;

/// A document that parsed, and what validating it without variables gave.
#[derive(Debug)]
struct Known {
    document: ExecutableDocument,
    validated: OnceLock<ValidationResult>,
    /// What measuring it without variables gave.
    cost: OnceLock<Result<usize, Unmeasured>>,
}

/// The parsed documents of one schema. One value serves every request: it
/// makes a [`ForRequest`] for each.
#[derive(Clone)]
pub(crate) struct Documents {
    known: Arc<Cache<String, Arc<Known>, TextLength>>,
    max_aliases: usize,
    max_cost: usize,
}

/// Weighs a kept document by the length of its text.
#[derive(Clone, Copy, Debug)]
struct TextLength;

impl Weighter<String, Arc<Known>> for TextLength {
    fn weight(&self, text: &String, _: &Arc<Known>) -> u64 {
        u64::try_from(text.len()).unwrap_or(u64::MAX)
    }
}

impl std::fmt::Debug for Documents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Documents")
            .field("entries", &self.known.len())
            .field("max_aliases", &self.max_aliases)
            .field("max_cost", &self.max_cost)
            .finish()
    }
}

impl Documents {
    pub(crate) fn new(max_aliases: usize, max_cost: usize) -> Self {
        // Sized for documents of about 1 KiB; the weight bound is what holds.
        let estimated = usize::try_from(CACHED_TEXT_BYTES / 1024).unwrap_or(usize::MAX);
        let known = Cache::with_weighter(estimated, CACHED_TEXT_BYTES, TextLength);
        Self {
            known: Arc::new(known),
            max_aliases,
            max_cost,
        }
    }
}

impl ExtensionFactory for Documents {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ForRequest {
            documents: self.clone(),
            reusable: OnceLock::new(),
            kinds: OnceLock::new(),
        })
    }
}

/// The extension as one request sees it.
struct ForRequest {
    documents: Documents,
    /// The kept document this request runs, when it carries no variables, so
    /// that validation may use (or record) the kept result.
    reusable: OnceLock<Arc<Known>>,
    /// The kind of each operation in the document, by name.
    kinds: OnceLock<Vec<(Option<Name>, OperationType)>>,
}

impl ForRequest {
    fn remember(&self, known: &Arc<Known>, variables: &Variables) {
        if variables.is_empty() {
            // Parsing happens once per request, so this is never already set.
            let _ = self.reusable.set(Arc::clone(known));
        }
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for ForRequest {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let limit = self.documents.max_cost;
        let registry = &ctx.schema_env.registry;
        let (document, known, measured) = match self.documents.known.get(query) {
            Some(known) => {
                let measure =
                    || crate::documents::measure::cost(registry, &known.document, variables, limit);
                let measured = if variables.is_empty() {
                    known.cost.get_or_init(measure).clone()
                } else {
                    measure()
                };
                (known.document.clone(), Some(known), measured)
            }
            None => {
                if query.len() > MAX_DOCUMENT_BYTES {
                    return Err(refusal(
                        Code::ValidationFailed,
                        format!(
                            "The document is {} bytes long, over the limit of {MAX_DOCUMENT_BYTES}.",
                            query.len()
                        ),
                    ));
                }
                // Parsed and measured here first: the library's own checks
                // that follow (nesting, directives) walk every spread of a
                // fragment, so they run only on a document whose size with
                // its fragments inlined is known to be within the limit.
                let parsed = async_graphql::parser::parse_query(query)?;
                let max_aliases = self.documents.max_aliases;
                if aliases(&parsed, max_aliases) > max_aliases {
                    return Err(ServerError::new(
                        format!("The document uses more than {max_aliases} aliases"),
                        None,
                    ));
                }
                if parsed.fragments.len() > MAX_FRAGMENTS {
                    return Err(refusal(
                        Code::ValidationFailed,
                        format!(
                            "The document defines {} fragments, over the limit of {MAX_FRAGMENTS}.",
                            parsed.fragments.len()
                        ),
                    ));
                }
                let measured = crate::documents::measure::cost(registry, &parsed, variables, limit);
                if measured.is_err() {
                    (parsed, None, measured)
                } else {
                    let document = next.run(ctx, query, variables).await?;
                    let known = (query.len() <= MAX_CACHED_TEXT).then(|| {
                        let known = Arc::new(Known {
                            document: document.clone(),
                            validated: OnceLock::new(),
                            cost: OnceLock::new(),
                        });
                        if variables.is_empty() {
                            let _ = known.cost.set(measured.clone());
                        }
                        self.documents
                            .known
                            .insert(query.to_owned(), Arc::clone(&known));
                        known
                    });
                    (document, known, measured)
                }
            }
        };
        if let Some(known) = known {
            self.remember(&known, variables);
        }
        let kinds = match &document.operations {
            DocumentOperations::Single(op) => vec![(None, op.node.ty)],
            DocumentOperations::Multiple(ops) => ops
                .iter()
                .map(|(name, op)| (Some(name.clone()), op.node.ty))
                .collect(),
        };
        let _ = self.kinds.set(kinds);
        let cost = match measured {
            Ok(cost) => cost,
            Err(Unmeasured::OverLimit { at_least }) => {
                return Err(too_costly(at_least, limit, limit, true));
            }
            Err(Unmeasured::TooDeep) => {
                return Err(refusal(
                    Code::ValidationFailed,
                    format!(
                        "The document is nested too deep: more than {} levels, fragments followed.",
                        crate::documents::measure::MAX_NESTING
                    ),
                ));
            }
            Err(Unmeasured::Cycle(name)) => {
                return Err(refusal(
                    Code::ValidationFailed,
                    format!("The fragment \"{name}\" spreads itself."),
                ));
            }
        };
        if let Err(message) = crate::documents::bounds::check(registry, &document, variables) {
            return Err(refusal(Code::BadUserInput, message));
        }
        if let Some(budget) = ctx.data_opt::<CostBudget>()
            && let Err(left) = budget.spend(cost)
        {
            return Err(too_costly(cost, left, budget.limit, false));
        }
        Ok(document)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        match self.reusable.get() {
            None => next.run(ctx).await,
            Some(known) => match known.validated.get() {
                Some(result) => Ok(*result),
                None => {
                    let result = next.run(ctx).await?;
                    let _ = known.validated.set(result);
                    Ok(result)
                }
            },
        }
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        if ctx.data_opt::<QueriesOnly>().is_some() {
            // The operation the executor chose: the one named, or the only one.
            let kinds = self.kinds.get().map(Vec::as_slice).unwrap_or_default();
            let chosen = match operation_name {
                Some(name) => kinds.iter().find(|(n, _)| n.as_deref() == Some(name)),
                None => kinds.first(),
            };
            if chosen.is_none_or(|(_, kind)| *kind != OperationType::Query) {
                return Response::from_errors(vec![refusal(
                    Code::ValidationFailed,
                    "A mutation is sent by POST: GET runs queries only.".to_owned(),
                )]);
            }
        }
        next.run(ctx, operation_name).await
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        if info.is_for_introspection && info.parent_type == "__Schema" && info.name == "description"
        {
            return Ok(Some(Value::from(crate::documents::extension::DESCRIPTION)));
        }
        next.run(ctx, info).await
    }
}

#[cfg(test)]
mod tests;
