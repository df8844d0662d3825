use async_graphql::Request;

use super::*;

fn schema(documents: &Documents) -> crate::KeywardenSchema {
    crate::schema_builder()
        .extension(documents.clone())
        .finish()
}

#[tokio::test]
async fn a_document_that_parsed_is_kept_and_serves_every_operation_in_it() {
    let documents = Documents::new(30, crate::documents::limits::DEFAULT_MAX_COST);
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
    let documents = Documents::new(30, crate::documents::limits::DEFAULT_MAX_COST);
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
    let documents = Documents::new(1, crate::documents::limits::DEFAULT_MAX_COST);
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
    let documents = Documents::new(30, crate::documents::limits::DEFAULT_MAX_COST);
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
    let documents = Documents::new(30, crate::documents::limits::DEFAULT_MAX_COST);
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
    let documents = Documents::new(30, crate::documents::limits::DEFAULT_MAX_COST);
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
    let documents = Documents::new(30, crate::documents::limits::DEFAULT_MAX_COST);
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
    let documents = Documents::new(30, crate::documents::limits::DEFAULT_MAX_COST);
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
    let first = Documents::new(30, crate::documents::limits::DEFAULT_MAX_COST);
    let second = Documents::new(30, crate::documents::limits::DEFAULT_MAX_COST);
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
    let seed = include_str!("../../../../../tests/lumar/GetServiceAccounts.graphql");
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
