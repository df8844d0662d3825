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
//! Validation also gives the document's cost (see [`crate::limits`]); the
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

use crate::error::Code;
use crate::limits::aliases;
use crate::measure::Unmeasured;

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
                let measure = || crate::measure::cost(registry, &known.document, variables, limit);
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
                let measured = crate::measure::cost(registry, &parsed, variables, limit);
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
                        crate::measure::MAX_NESTING
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
        if let Err(message) = crate::bounds::check(registry, &document, variables) {
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
            return Ok(Some(Value::from(crate::DESCRIPTION)));
        }
        next.run(ctx, info).await
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::Request;

    use super::*;

    fn schema(documents: &Documents) -> crate::KeywardenSchema {
        crate::schema_builder()
            .extension(documents.clone())
            .finish()
    }

    #[tokio::test]
    async fn a_document_that_parsed_is_kept_and_serves_every_operation_in_it() {
        let documents = Documents::new(30, crate::limits::DEFAULT_MAX_COST);
        let schema = schema(&documents);
        let text = "query A { a: __typename } query B { b: __typename }";
        assert!(documents.known.get(text).is_none());
        for (operation, field) in [("A", "a"), ("B", "b"), ("A", "a")] {
            let response = schema
                .execute(Request::new(text).operation_name(operation))
                .await;
            assert!(response.errors.is_empty(), "{:?}", response.errors);
            let data = response.data.into_json().unwrap();
            assert_eq!(data[field], "Query");
            assert!(
                documents.known.get(text).is_some(),
                "kept after {operation}"
            );
        }
    }

    #[tokio::test]
    async fn a_request_for_queries_only_runs_no_mutation_however_it_is_chosen() {
        let documents = Documents::new(30, crate::limits::DEFAULT_MAX_COST);
        let schema = schema(&documents);
        let mutation =
            "mutation M { createGroup(input: { accountId: \"x\", name: \"g\" }) { group { id } } }";
        let both = format!("query Q {{ __typename }} {mutation}");
        for (text, name) in [
            (mutation.to_owned(), None),
            (mutation.replacen("mutation M", "mutation", 1), None),
            (format!("# a comment\n  \u{feff}{mutation}"), None),
            (both.clone(), Some("M")),
        ] {
            let mut request = Request::new(text.as_str()).data(QueriesOnly);
            if let Some(name) = name {
                request = request.operation_name(name);
            }
            let response = schema.execute(request).await;
            assert_eq!(response.errors.len(), 1, "{text}: {:?}", response.errors);
            assert!(
                response.errors[0].message.contains("GET runs queries only"),
                "{text}: {:?}",
                response.errors
            );
        }
        // The query beside it runs, and without the marker so does anything.
        let response = schema
            .execute(
                Request::new(both.as_str())
                    .operation_name("Q")
                    .data(QueriesOnly),
            )
            .await;
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        let response = schema.execute(Request::new(mutation)).await;
        assert!(
            !response.errors[0].message.contains("GET runs queries only"),
            "{:?}",
            response.errors
        );
    }

    #[tokio::test]
    async fn refused_documents_are_not_kept() {
        let documents = Documents::new(1, crate::limits::DEFAULT_MAX_COST);
        let schema = schema(&documents);
        let too_many = "{ a: __typename b: __typename }";
        let broken = "{ __typename";
        for _ in 0..2 {
            for text in [too_many, broken] {
                let response = schema.execute(text).await;
                assert_eq!(response.errors.len(), 1, "{text}");
                assert!(documents.known.get(text).is_none(), "{text}");
            }
        }
    }

    #[tokio::test]
    async fn long_documents_are_parsed_every_time() {
        let documents = Documents::new(30, crate::limits::DEFAULT_MAX_COST);
        let schema = schema(&documents);
        let text = format!("{{ __typename }}{}", " ".repeat(MAX_CACHED_TEXT));
        let response = schema.execute(text.as_str()).await;
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        assert!(documents.known.get(text.as_str()).is_none());
    }

    fn validated(documents: &Documents, text: &str) -> Option<ValidationResult> {
        documents.known.get(text)?.validated.get().copied()
    }

    /// The kept cost of a document measured without variables.
    fn cost(documents: &Documents, text: &str) -> Option<usize> {
        documents.known.get(text)?.cost.get()?.clone().ok()
    }

    #[tokio::test]
    async fn validation_without_variables_is_kept_and_reused() {
        let documents = Documents::new(30, crate::limits::DEFAULT_MAX_COST);
        let schema = schema(&documents);
        // `me` is executed (and refused: no caller) after validation passed.
        let text = "{ me { __typename } t: __typename }";
        for round in 0..3 {
            let response = schema.execute(text).await;
            assert_eq!(response.errors.len(), 1, "{:?}", response.errors);
            assert!(!response.errors[0].path.is_empty(), "a field error");
            let kept = validated(&documents, text).expect("kept after the first request");
            assert_eq!(kept.depth, 1, "round {round}");
            assert_eq!(cost(&documents, text), Some(12), "round {round}");
        }
    }

    #[tokio::test]
    async fn a_kept_validation_is_served_instead_of_validating_again() {
        let documents = Documents::new(30, crate::limits::DEFAULT_MAX_COST);
        let schema = schema(&documents);
        let text = "{ __typename }";
        // A kept result no validation of this document would give: a response
        // that carries it was answered from the cache.
        let marked = ValidationResult {
            cache_control: async_graphql::CacheControl {
                public: false,
                max_age: 42,
            },
            complexity: 0,
            depth: 0,
        };
        let known = Known {
            document: async_graphql::parser::parse_query(text).unwrap(),
            validated: OnceLock::from(marked),
            cost: OnceLock::new(),
        };
        documents.known.insert(text.to_owned(), Arc::new(known));
        let response = schema.execute(text).await;
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        assert_eq!(response.cache_control.max_age, 42);
        assert!(!response.cache_control.public);
        // With variables the document is validated afresh.
        let response = schema
            .execute(Request::new(text).variables(Variables::from_value(
                async_graphql::value!({ "unused": 1 }),
            )))
            .await;
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        assert_eq!(response.cache_control.max_age, 0);
    }

    #[tokio::test]
    async fn requests_with_variables_are_validated_every_time() {
        let documents = Documents::new(30, crate::limits::DEFAULT_MAX_COST);
        let schema = schema(&documents);
        let text = r#"query Q($name: String! = "Query") { __type(name: $name) { name } }"#;
        let with = |value: async_graphql::Value| {
            Request::new(text).variables(Variables::from_value(
                async_graphql::value!({ "name": value }),
            ))
        };
        let response = schema.execute(with(async_graphql::value!("Query"))).await;
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        assert!(documents.known.get(text).is_some());
        assert!(
            validated(&documents, text).is_none(),
            "not kept: it had variables"
        );

        // Kept once a request without variables passed; a later request with
        // variables that do not fit is still refused by validation.
        let response = schema.execute(text).await;
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        assert!(validated(&documents, text).is_some());
        let response = schema.execute(with(async_graphql::value!(5))).await;
        assert_eq!(response.errors.len(), 1, "{:?}", response.errors);
        assert!(
            response.errors[0]
                .message
                .starts_with("Invalid value for argument"),
            "{:?}",
            response.errors
        );
    }

    #[tokio::test]
    async fn a_document_that_fails_validation_fails_every_time() {
        let documents = Documents::new(30, crate::limits::DEFAULT_MAX_COST);
        let schema = schema(&documents);
        let text = "{ noSuchField }";
        for _ in 0..3 {
            let response = schema.execute(text).await;
            assert_eq!(response.errors.len(), 1, "{:?}", response.errors);
            assert!(validated(&documents, text).is_none());
        }
    }

    #[tokio::test]
    async fn each_schema_validates_for_itself() {
        let first = Documents::new(30, crate::limits::DEFAULT_MAX_COST);
        let second = Documents::new(30, crate::limits::DEFAULT_MAX_COST);
        let text = "{ __typename }";
        let response = schema(&first).execute(text).await;
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        assert!(validated(&first, text).is_some());
        assert!(second.known.get(text).is_none());
    }

    /// `nodes` with `n` ids, each asking for its `id`: 10 for the field, and
    /// for each id 10 for its read and 1 for `id`.
    fn nodes(n: usize) -> String {
        let ids: Vec<String> = (0..n)
            .map(|i| format!("\"{}\"", domain::object_id::encode("Account", i as i64 + 1)))
            .collect();
        format!("{{ nodes(ids: [{}]) {{ id }} }}", ids.join(", "))
    }

    /// Whether the response is a refusal for cost (it may carry other errors:
    /// these schemas have no caller).
    fn costly(response: &async_graphql::Response) -> bool {
        response.errors.iter().any(|e| {
            e.extensions
                .as_ref()
                .and_then(|x| x.get("code"))
                .is_some_and(|c| c.to_string().contains("COST_LIMIT_EXCEEDED"))
        })
    }

    fn refusal(response: &async_graphql::Response) -> (String, i64, i64, String) {
        assert_eq!(response.errors.len(), 1, "{:?}", response.errors);
        let error = &response.errors[0];
        let x = error.extensions.as_ref().expect("coded");
        let get = |k: &str| x.get(k).cloned().unwrap_or(async_graphql::Value::Null);
        let number = |k: &str| match get(k) {
            async_graphql::Value::Number(n) => n.as_i64().unwrap_or(-1),
            other => panic!("{k}: {other:?}"),
        };
        (
            get("code").to_string(),
            number("cost"),
            number("limit"),
            error.message.clone(),
        )
    }

    #[tokio::test]
    async fn a_document_over_the_cost_limit_is_refused_with_its_cost_and_the_limit() {
        let documents = Documents::new(30, 100);
        let schema = schema(&documents);
        // 10 + 8 × 11 = 98: under the limit (it runs, and fails for want of data).
        let response = schema.execute(nodes(8)).await;
        assert!(!costly(&response), "{:?}", response.errors);
        // 10 + 9 × 11 = 109: refused before it runs, every time (also once kept).
        for _ in 0..2 {
            let response = schema.execute(nodes(9)).await;
            let (code, cost, limit, message) = refusal(&response);
            assert_eq!(code, "\"COST_LIMIT_EXCEEDED\"");
            assert_eq!((cost, limit), (109, 100));
            assert!(
                message.contains("109") && message.contains("100"),
                "{message}"
            );
        }
    }

    #[tokio::test]
    async fn nested_lists_multiply() {
        let documents = Documents::new(30, usize::MAX);
        let schema = schema(&documents);
        let text = "{ nodes(ids: []) { id } serviceAccount(id: \"x\") { keys(first: 3) { serviceAccount { keys(first: 2) { id } } } } }";
        let response = schema.execute(text).await;
        assert!(!costly(&response), "{:?}", response.errors);
        // The cost, read from the kept validation.
        let kept = cost(&documents, text);
        // nodes: 10; serviceAccount: 10 + keys(10 + 3 × (sa 10 + keys(10 + 2 × 1))) = 10 + 10 + 3 × 32.
        assert_eq!(kept, Some(10 + 10 + 10 + 3 * (10 + 10 + 2)));
    }

    #[tokio::test]
    async fn the_operations_of_one_request_share_its_budget() {
        let documents = Documents::new(30, 150);
        let schema = schema(&documents);
        let budget = CostBudget::new(150);
        let first = schema
            .execute(Request::new(nodes(8)).data(budget.clone()))
            .await;
        assert!(!costly(&first), "98 of 150: {:?}", first.errors);
        let second = schema
            .execute(Request::new(nodes(8)).data(budget.clone()))
            .await;
        let (code, cost, limit, message) = refusal(&second);
        assert_eq!(code, "\"COST_LIMIT_EXCEEDED\"");
        assert_eq!((cost, limit), (98, 150));
        assert!(message.contains("52 left"), "{message}");
        // A request of its own has the whole budget again.
        let alone = schema
            .execute(Request::new(nodes(8)).data(CostBudget::new(150)))
            .await;
        assert!(!costly(&alone), "{:?}", alone.errors);
    }

    /// The figures `docs/limits.md` gives.
    #[tokio::test]
    async fn the_documented_costs_are_the_counted_ones() {
        let documents = Documents::new(30, usize::MAX);
        let schema = schema(&documents);
        let seed = include_str!("../../../tests/lumar/GetServiceAccounts.graphql");
        let two = "{ serviceAccount(id: \"x\") { keys { serviceAccount { keys { id } } } } }";
        let three = "{ serviceAccount(id: \"x\") { keys { serviceAccount { keys { serviceAccount \
                     { keys { serviceAccount { id } } } } } } } }";
        let aliases: String = (0..10)
            .map(|i| format!("n{i}: nodes(ids: $ids) {{ id }} "))
            .collect();
        let nodes = format!(
            "query($ids: [ObjectID!]! = [{}]) {{ {aliases} }}",
            vec![format!("\"{}\"", domain::object_id::encode("Account", 1)); 100].join(",")
        );
        let cost = |text: &str| cost(&documents, text);
        for (text, expected) in [
            ("{ me { id name } }".to_owned(), 12),
            (seed.to_owned(), 31_722),
            (two.to_owned(), 3_520),
            (three.to_owned(), 1_426_020),
            (nodes, 11_100),
        ] {
            let response = schema.execute(text.as_str()).await;
            assert!(!costly(&response), "{:?}", response.errors);
            assert_eq!(cost(&text), Some(expected), "{text}");
        }
    }
}
