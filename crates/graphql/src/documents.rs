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
//! The cache is bounded by the total length of the texts it holds, and a
//! document longer than [`MAX_CACHED_TEXT`] is parsed every time, so a stream of
//! distinct documents only churns it.

use std::sync::{Arc, OnceLock};

use async_graphql::ValidationResult;
use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextValidation,
};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{ServerError, ServerResult, Variables};
use quick_cache::{Weighter, sync::Cache};

use crate::limits::aliases;

/// The longest document text kept parsed.
pub const MAX_CACHED_TEXT: usize = 8 * 1024;
/// The total length of the texts kept parsed.
const CACHED_TEXT_BYTES: u64 = 2 * 1024 * 1024;

/// A document that parsed, and what validating it without variables gave.
#[derive(Debug)]
struct Known {
    document: ExecutableDocument,
    validated: OnceLock<ValidationResult>,
}

/// The parsed documents of one schema. One value serves every request: it
/// makes a [`ForRequest`] for each.
#[derive(Clone)]
pub(crate) struct Documents {
    known: Arc<Cache<String, Arc<Known>, TextLength>>,
    max_aliases: usize,
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
            .finish()
    }
}

impl Documents {
    pub(crate) fn new(max_aliases: usize) -> Self {
        // Sized for documents of about 1 KiB; the weight bound is what holds.
        let estimated = usize::try_from(CACHED_TEXT_BYTES / 1024).unwrap_or(usize::MAX);
        let known = Cache::with_weighter(estimated, CACHED_TEXT_BYTES, TextLength);
        Self {
            known: Arc::new(known),
            max_aliases,
        }
    }
}

impl ExtensionFactory for Documents {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ForRequest {
            documents: self.clone(),
            reusable: OnceLock::new(),
        })
    }
}

/// The extension as one request sees it.
struct ForRequest {
    documents: Documents,
    /// The kept document this request runs, when it carries no variables, so
    /// that validation may use (or record) the kept result.
    reusable: OnceLock<Arc<Known>>,
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
        if let Some(known) = self.documents.known.get(query) {
            self.remember(&known, variables);
            return Ok(known.document.clone());
        }
        let document = next.run(ctx, query, variables).await?;
        let max_aliases = self.documents.max_aliases;
        if aliases(&document, max_aliases) > max_aliases {
            return Err(ServerError::new(
                format!("The document uses more than {max_aliases} aliases"),
                None,
            ));
        }
        if query.len() <= MAX_CACHED_TEXT {
            let known = Arc::new(Known {
                document: document.clone(),
                validated: OnceLock::new(),
            });
            self.remember(&known, variables);
            self.documents.known.insert(query.to_owned(), known);
        }
        Ok(document)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let Some(known) = self.reusable.get() else {
            return next.run(ctx).await;
        };
        if let Some(result) = known.validated.get() {
            return Ok(*result);
        }
        let result = next.run(ctx).await?;
        let _ = known.validated.set(result);
        Ok(result)
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
        let documents = Documents::new(30);
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
    async fn refused_documents_are_not_kept() {
        let documents = Documents::new(1);
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
        let documents = Documents::new(30);
        let schema = schema(&documents);
        let text = format!("{{ __typename }}{}", " ".repeat(MAX_CACHED_TEXT));
        let response = schema.execute(text.as_str()).await;
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        assert!(documents.known.get(text.as_str()).is_none());
    }

    fn validated(documents: &Documents, text: &str) -> Option<ValidationResult> {
        documents.known.get(text)?.validated.get().copied()
    }

    #[tokio::test]
    async fn validation_without_variables_is_kept_and_reused() {
        let documents = Documents::new(30);
        let schema = schema(&documents);
        // `me` is executed (and refused: no caller) after validation passed.
        let text = "{ me { __typename } t: __typename }";
        for round in 0..3 {
            let response = schema.execute(text).await;
            assert_eq!(response.errors.len(), 1, "{:?}", response.errors);
            assert!(!response.errors[0].path.is_empty(), "a field error");
            let kept = validated(&documents, text).expect("kept after the first request");
            assert_eq!((kept.depth, kept.complexity), (1, 1), "round {round}");
        }
    }

    #[tokio::test]
    async fn a_kept_validation_is_served_instead_of_validating_again() {
        let documents = Documents::new(30);
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
        let documents = Documents::new(30);
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
        let documents = Documents::new(30);
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
        let first = Documents::new(30);
        let second = Documents::new(30);
        let text = "{ __typename }";
        let response = schema(&first).execute(text).await;
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        assert!(validated(&first, text).is_some());
        assert!(second.known.get(text).is_none());
    }
}
