//! GraphQL over HTTP: queries by GET, mutations only by POST, the
//! `application/graphql-response+json` media type, GraphiQL only for browsers,
//! and keywarden's own schema description.

use serde_json::{Value, json};

use crate::support::{ACCOUNT_715, Api};

const RESPONSE_TYPE: &str = "application/graphql-response+json";

async fn get(api: &Api, params: &[(&str, &str)], headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = api.http.get(api.server.url("/graphql")).query(params);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn a_query_by_get_runs_with_its_variables_and_operation_name() {
    let api = Api::start().await;
    let answered = get(
        &api,
        &[("query", "{ me { ... on User { username } } }")],
        &[("accept", "application/json"), ("x-api-key", &api.admin)],
    )
    .await;
    assert_eq!(answered.status(), 200);
    assert!(
        answered.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body: Value = answered.json().await.unwrap();
    assert_eq!(body, json!({ "data": { "me": { "username": "admin" } } }));

    let document =
        "query One($id: ObjectID!) { getAccount(id: $id) { id } } query Two { __typename }";
    let variables = json!({ "id": ACCOUNT_715 }).to_string();
    let answered = get(
        &api,
        &[
            ("query", document),
            ("variables", &variables),
            ("operationName", "One"),
        ],
        &[("x-api-key", &api.admin)],
    )
    .await;
    assert_eq!(answered.status(), 200);
    let body: Value = answered.json().await.unwrap();
    assert_eq!(body["data"]["getAccount"]["id"], ACCOUNT_715, "{body:#}");
    let answered = get(&api, &[("query", document), ("operationName", "Two")], &[]).await;
    let body: Value = answered.json().await.unwrap();
    assert_eq!(body, json!({ "data": { "__typename": "Query" } }));

    // Variables that are not a JSON object are refused before anything runs.
    let answered = get(
        &api,
        &[
            ("query", document),
            ("variables", "[1"),
            ("operationName", "One"),
        ],
        &[],
    )
    .await;
    assert_eq!(answered.status(), 400);
    let body: Value = answered.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "GRAPHQL_VALIDATION_FAILED"
    );
}

#[tokio::test]
async fn a_mutation_by_get_is_refused_with_405_and_changes_nothing() {
    let api = Api::start().await;
    let mutation = format!(
        "mutation {{ createServiceAccount(input: {{ accountId: \"{ACCOUNT_715}\", name: \"by-get\", roleCode: \"Viewer\" }}) {{ serviceAccount {{ id }} }} }}"
    );
    let answered = get(&api, &[("query", &mutation)], &[("x-api-key", &api.admin)]).await;
    assert_eq!(answered.status(), 405);
    let allow = answered.headers()["allow"].to_str().unwrap().to_owned();
    assert!(allow.contains("POST"), "{allow}");
    let body: Value = answered.json().await.unwrap();
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("POST")
    );
    // The mutation chosen by operationName among queries is refused too; the
    // query beside it runs.
    let both = format!("query Q {{ __typename }} {mutation}");
    let both = both.replacen("mutation {", "mutation M {", 1);
    let refused = get(
        &api,
        &[("query", &both), ("operationName", "M")],
        &[("x-api-key", &api.admin)],
    )
    .await;
    assert_eq!(refused.status(), 405);
    let ran = get(
        &api,
        &[("query", &both), ("operationName", "Q")],
        &[("x-api-key", &api.admin)],
    )
    .await;
    assert_eq!(ran.status(), 200);
    // Nothing was written.
    let listed = api
        .admin(
            "query($id: ObjectID!) { getAccount(id: $id) { serviceAccounts { id } } }",
            json!({ "id": ACCOUNT_715 }),
        )
        .await;
    assert_eq!(listed["getAccount"]["serviceAccounts"], json!([]));
    // The same by POST works.
    let created = api.gql(Some(&api.admin), &mutation, json!({})).await;
    created.data();
}

#[tokio::test]
async fn the_graphql_response_media_type_is_honoured() {
    let api = Api::start().await;
    let by_get = get(
        &api,
        &[("query", "{ __typename }")],
        &[("accept", RESPONSE_TYPE)],
    )
    .await;
    assert_eq!(by_get.status(), 200);
    assert_eq!(by_get.headers()["content-type"], RESPONSE_TYPE);
    let by_post = api
        .post(
            &[(
                "accept",
                &format!("{RESPONSE_TYPE}, application/json;q=0.9"),
            )],
            json!({ "query": "{ __typename }" }),
        )
        .await;
    assert_eq!(by_post.status, 200);
    assert_eq!(by_post.headers["content-type"], RESPONSE_TYPE);
    assert_eq!(by_post.body, json!({ "data": { "__typename": "Query" } }));
    // A document that does not validate: 400, in the same media type.
    let invalid = api
        .post(&[("accept", RESPONSE_TYPE)], json!({ "query": "{ nope }" }))
        .await;
    assert_eq!(invalid.status, 400);
    assert_eq!(invalid.headers["content-type"], RESPONSE_TYPE);
    // Without it, JSON as before.
    let plain = api.post(&[], json!({ "query": "{ __typename }" })).await;
    assert!(
        plain.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
}

#[tokio::test]
async fn graphiql_is_only_for_a_browser_asking_for_a_page_without_a_query() {
    let api = Api::start().await;
    let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    let page = get(&api, &[], &[("accept", browser)]).await;
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        page.text()
            .await
            .unwrap()
            .to_lowercase()
            .contains("graphiql")
    );
    // A client asking for data, with no query: told what to send.
    for accept in ["application/json", RESPONSE_TYPE, "*/*"] {
        let answered = get(&api, &[], &[("accept", accept)]).await;
        assert_eq!(answered.status(), 400, "{accept}");
        let body: Value = answered.json().await.unwrap();
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("query"),
            "{body}"
        );
    }
    // A browser with a query gets data, not the page.
    let data = get(&api, &[("query", "{ __typename }")], &[("accept", browser)]).await;
    let body: Value = data.json().await.unwrap();
    assert_eq!(body, json!({ "data": { "__typename": "Query" } }));
}

#[tokio::test]
async fn the_schema_describes_keywarden() {
    let api = Api::start().await;
    let answered = api
        .gql(None, "{ __schema { description } }", json!({}))
        .await;
    let description = answered.data()["__schema"]["description"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(description.starts_with("keywarden"), "{description}");
    assert!(
        !description.contains("capabilities of a GraphQL server"),
        "{description}"
    );
    // A field of the same name elsewhere is untouched.
    let typed = api
        .gql(
            None,
            "{ __type(name: \"Account\") { description } }",
            json!({}),
        )
        .await;
    assert_ne!(
        typed.data()["__type"]["description"],
        Value::String(description)
    );
}
