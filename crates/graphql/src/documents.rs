//! Parsing each distinct document once.
//!
//! Clients send the same few documents over and over, and parsing is the
//! largest part of a small request's cost. This extension keeps the parsed form
//! of every document that parsed and passed the parse-time limits (nesting,
//! directives, and the alias cap counted here), keyed by its exact text, and
//! hands a copy to the next request with the same text. Validation and
//! execution still run on every request: they depend on the caller and the
//! variables; the parsed form does not.
//!
//! The cache is bounded by the total length of the texts it holds, and a
//! document longer than [`MAX_CACHED_TEXT`] is parsed every time, so a stream of
//! distinct documents only churns it.

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{ServerError, ServerResult, Variables};
use moka::sync::Cache;

use crate::limits::aliases;

/// The longest document text kept parsed.
pub const MAX_CACHED_TEXT: usize = 8 * 1024;
/// The total length of the texts kept parsed.
const CACHED_TEXT_BYTES: u64 = 2 * 1024 * 1024;

/// Parsed documents, shared by every schema of a process.
#[derive(Clone)]
pub(crate) struct Documents {
    parsed: Cache<String, Arc<ExecutableDocument>>,
    max_aliases: usize,
}

impl std::fmt::Debug for Documents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Documents")
            .field("entries", &self.parsed.entry_count())
            .field("max_aliases", &self.max_aliases)
            .finish()
    }
}

impl Documents {
    pub(crate) fn new(max_aliases: usize) -> Self {
        let parsed = Cache::builder()
            .max_capacity(CACHED_TEXT_BYTES)
            .weigher(|text: &String, _: &Arc<ExecutableDocument>| {
                u32::try_from(text.len()).unwrap_or(u32::MAX)
            })
            .build();
        Self {
            parsed,
            max_aliases,
        }
    }
}

impl ExtensionFactory for Documents {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(self.clone())
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for Documents {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        if let Some(document) = self.parsed.get(query) {
            return Ok(document.as_ref().clone());
        }
        let document = next.run(ctx, query, variables).await?;
        if aliases(&document, self.max_aliases) > self.max_aliases {
            return Err(ServerError::new(
                format!("The document uses more than {} aliases", self.max_aliases),
                None,
            ));
        }
        if query.len() <= MAX_CACHED_TEXT {
            self.parsed
                .insert(query.to_owned(), Arc::new(document.clone()));
        }
        Ok(document)
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
        assert!(documents.parsed.get(text).is_none());
        for (operation, field) in [("A", "a"), ("B", "b"), ("A", "a")] {
            let response = schema
                .execute(Request::new(text).operation_name(operation))
                .await;
            assert!(response.errors.is_empty(), "{:?}", response.errors);
            let data = response.data.into_json().unwrap();
            assert_eq!(data[field], "Query");
            assert!(
                documents.parsed.get(text).is_some(),
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
                assert!(documents.parsed.get(text).is_none(), "{text}");
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
        assert!(documents.parsed.get(text.as_str()).is_none());
    }
}
