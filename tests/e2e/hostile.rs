//! One request, signed in or not, however it is written, costs a bounded
//! amount of the server's time and memory, and cannot keep it from stopping.

use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{ACCOUNT_715, Api, Backend, Server};

/// `types { interfaces { possibleTypes { ... } } }`, `levels` pairs deep.
fn nested_introspection(levels: usize) -> String {
    let mut inner = "name".to_owned();
    for _ in 0..levels {
        inner = format!("name interfaces {{ possibleTypes {{ {inner} }} }}");
    }
    format!("{{ __schema {{ types {{ {inner} }} }} }}")
}

/// `levels` fragments that each spread the next twice, ending in `__typename`.
fn doubling_fragments(levels: usize) -> String {
    let mut text = "{ ...F0 }".to_owned();
    for i in 0..levels {
        text.push_str(&format!(
            " fragment F{i} on Query {{ ...F{n} ...F{n} }}",
            n = i + 1
        ));
    }
    text.push_str(&format!(" fragment F{levels} on Query {{ __typename }}"));
    text
}

/// What GraphiQL asks every server for (graphql-js's introspection query).
const INTROSPECTION: &str = include_str!("../introspection.graphql");

#[tokio::test]
async fn fan_out_through_introspection_or_fragments_is_refused_at_once_without_a_credential() {
    let api = Api::start().await;
    // What GraphiQL sends is within the limit, for anyone.
    let standard = api.gql(None, INTROSPECTION, json!({})).await;
    assert_eq!(standard.status, 200, "{:#}", standard.body);
    assert!(
        standard.data()["__schema"]["types"]
            .as_array()
            .unwrap()
            .len()
            > 20
    );

    // Another account's Admin goes on asking for one field meanwhile.
    let bystander = {
        let (http, url, token) = (
            api.http.clone(),
            api.server.url("/graphql"),
            api.admin.clone(),
        );
        tokio::spawn(async move {
            let mut slowest = Duration::ZERO;
            for _ in 0..40 {
                let started = Instant::now();
                let response = http
                    .post(&url)
                    .header("x-api-key", &token)
                    .json(&json!({ "query": "{ me { id } }" }))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200);
                slowest = slowest.max(started.elapsed());
            }
            slowest
        })
    };

    let before = api.server.resident_kib();
    for (what, text) in [
        ("introspection 4 levels deep", nested_introspection(4)),
        ("introspection 6 levels deep", nested_introspection(6)),
        ("introspection 12 levels deep", nested_introspection(12)),
        ("fragments 23 levels deep", doubling_fragments(23)),
        ("fragments 30 levels deep", doubling_fragments(30)),
    ] {
        for _ in 0..5 {
            let started = Instant::now();
            let answer = api.gql(None, &text, json!({})).await;
            let took = started.elapsed();
            assert_eq!(answer.status, 400, "{what}: {:#}", answer.body);
            assert_eq!(answer.code(), "COST_LIMIT_EXCEEDED", "{what}");
            assert!(
                answer.body.get("data").is_none(),
                "{what}: {:#}",
                answer.body
            );
            assert!(took < Duration::from_millis(100), "{what} took {took:?}");
        }
    }
    let after = api.server.resident_kib();
    assert!(
        after < before + 20 * 1024,
        "memory grew from {before} KiB to {after} KiB"
    );
    let slowest = bystander.await.unwrap();
    assert!(slowest < Duration::from_secs(1), "{slowest:?}");
}

#[tokio::test]
async fn a_mutation_by_get_is_refused_however_its_operation_is_written() {
    let api = Api::start().await;
    let create = format!(
        "createServiceAccount(input: {{ accountId: \"{ACCOUNT_715}\", name: \"by-get\", roleCode: \"Viewer\" }}) {{ serviceAccount {{ id }} }}"
    );
    let forms = [
        format!("mutation M {{ {create} }}"),
        format!("# first a comment\nmutation {{ {create} }}"),
        format!("\n\t  mutation {{ {create} }}"),
        format!("\u{feff}mutation {{ {create} }}"),
        format!("\u{feff}# both\n mutation Named {{ {create} }}"),
    ];
    for form in &forms {
        let answered = api
            .http
            .get(api.server.url("/graphql"))
            .query(&[("query", form.as_str())])
            .header("x-api-key", &api.admin)
            .send()
            .await
            .unwrap();
        assert_eq!(answered.status(), 405, "{form:?}");
        let body: Value = answered.json().await.unwrap();
        assert!(
            body.get("data").is_none_or(Value::is_null),
            "{form:?}: {body:#}"
        );
    }
    let listed = api
        .admin(
            "query($id: ObjectID!) { getAccount(id: $id) { serviceAccounts { id } } }",
            json!({ "id": ACCOUNT_715 }),
        )
        .await;
    assert_eq!(listed["getAccount"]["serviceAccounts"], json!([]));
}

/// GraphQL over HTTP: a POST that does not say its body is JSON gets a 4xx,
/// and nothing in it runs: no Content-Type (reqwest sends a string body with
/// none), text/plain (what a browser's fetch says of a string, and may send
/// another site without asking), a form, or JSON and something else.
#[tokio::test]
async fn a_post_that_is_not_said_to_be_json_is_refused_and_runs_nothing() {
    let api = Api::start().await;
    let create = format!(
        "mutation {{ createServiceAccount(input: {{ accountId: \"{ACCOUNT_715}\", name: \"untyped\", roleCode: \"Viewer\" }}) {{ serviceAccount {{ id }} }} }}"
    );
    let answered = api
        .http
        .post(api.server.url("/graphql"))
        .header("x-api-key", &api.admin)
        .body(json!({ "query": create }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(answered.status(), 415);
    let body: Value = answered.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "GRAPHQL_VALIDATION_FAILED"
    );
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("send Content-Type: application/json")),
        "{body:#}"
    );
    for types in [
        &["text/plain;charset=UTF-8"][..],
        &["application/x-www-form-urlencoded"],
        &["application/json", "text/plain"],
        &["application/jsonp"],
    ] {
        let mut request = api
            .http
            .post(api.server.url("/graphql"))
            .header("x-api-key", &api.admin);
        for media in types {
            request = request.header("content-type", *media);
        }
        let answered = request
            .body(json!({ "query": create }).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(answered.status(), 415, "{types:?}");
    }
    // With parameters, in any case, or said twice, JSON is JSON.
    for media in [
        &["application/json; charset=utf-8"][..],
        &["Application/JSON"],
        &["application/json", "application/json"],
    ] {
        let mut request = api
            .http
            .post(api.server.url("/graphql"))
            .header("x-api-key", &api.admin);
        for media in media {
            request = request.header("content-type", *media);
        }
        let answered = request
            .body(json!({ "query": "{ __typename }" }).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(answered.status(), 200, "{media:?}");
    }
    // The same body, said to be JSON, runs.
    let typed = api
        .http
        .post(api.server.url("/graphql"))
        .header("x-api-key", &api.admin)
        .header("content-type", "application/json")
        .body(json!({ "query": create.replace("untyped", "typed") }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(typed.status(), 200);
    let listed = api
        .admin(
            "query($id: ObjectID!) { getAccount(id: $id) { serviceAccounts { name } } }",
            json!({ "id": ACCOUNT_715 }),
        )
        .await;
    assert_eq!(
        listed["getAccount"]["serviceAccounts"],
        json!([{ "name": "typed" }])
    );
}

#[tokio::test]
async fn sigterm_stops_a_busy_server_within_its_grace() {
    let dir = tempfile::tempdir().unwrap();
    let backend = Backend::new(dir.path()).await;
    let server = Server::start(dir.path(), &backend.with(&["--shutdown-grace-ms", "1500"]));
    let url = server.url("/graphql");
    // A client that sends half a body and waits holds its connection until
    // the body timeout (ten seconds), longer than the grace.
    let address = server.base.trim_start_matches("http://").to_owned();
    let mut trickle = std::net::TcpStream::connect(&address).unwrap();
    trickle
        .write_all(
            b"POST /graphql HTTP/1.1\r\nHost: k\r\nContent-Type: application/json\r\n\
              Content-Length: 1000\r\n\r\n{\"query\":",
        )
        .unwrap();
    // And heavy requests, the costliest introspection accepted, keep coming.
    let load: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move {
                let http = crate::support::client();
                for _ in 0..200 {
                    let sent = http
                        .post(&url)
                        .json(&json!({ "query": INTROSPECTION }))
                        .send()
                        .await;
                    if sent.is_err() {
                        break;
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = Instant::now();
    let (status, log) = tokio::task::spawn_blocking(move || server.terminate())
        .await
        .unwrap();
    let took = started.elapsed();
    assert!(status.success(), "{status}\n{log}");
    assert!(log.contains("stopped"), "{log}");
    assert!(log.contains("after the shutdown grace"), "{log}");
    assert!(took < Duration::from_millis(4000), "stopping took {took:?}");
    for task in load {
        task.abort();
    }
    drop(trickle);
}

#[tokio::test]
async fn huge_list_and_string_inputs_are_refused_before_anything_is_read() {
    let api = Api::start().await;
    let (other, mallory) = api.other_account("Other", "mallory").await;
    let group = api
        .gql(
            Some(&mallory),
            "mutation($a: ObjectID!) { createGroup(input: { accountId: $a, name: \"crowd\" }) { group { id } } }",
            json!({ "a": other }),
        )
        .await;
    let group = group.data()["createGroup"]["group"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let robot = api
        .gql(
            Some(&mallory),
            "mutation($a: ObjectID!) { createServiceAccount(input: { accountId: $a, name: \"r\", roleCode: \"Viewer\" }) { serviceAccount { id } } }",
            json!({ "a": other }),
        )
        .await;
    let robot = robot.data()["createServiceAccount"]["serviceAccount"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // mallory's one id 30,000 times (about 960 KB).
    let add = "mutation($g: ObjectID!, $m: [ObjectID!]!) { addGroupMembers(input: { groupId: $g, memberIds: $m }) { group { id } } }";
    let flood = {
        let (http, url, token) = (
            api.http.clone(),
            api.server.url("/graphql"),
            mallory.clone(),
        );
        let body =
            json!({ "query": add, "variables": { "g": group, "m": vec![robot.clone(); 30_000] } });
        tokio::spawn(async move {
            let mut answers = Vec::new();
            for _ in 0..5 {
                let started = Instant::now();
                let response = http
                    .post(&url)
                    .header("x-api-key", &token)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                let status = response.status().as_u16();
                let body: Value = response.json().await.unwrap();
                answers.push((status, body, started.elapsed()));
            }
            answers
        })
    };
    // alice's own write meanwhile.
    for i in 0..5 {
        let started = Instant::now();
        let created = api
            .gql(
                Some(&api.admin),
                "mutation($a: ObjectID!, $n: String!) { createServiceAccount(input: { accountId: $a, name: $n, roleCode: \"Viewer\" }) { serviceAccount { id } } }",
                json!({ "a": ACCOUNT_715, "n": format!("alice-{i}") }),
            )
            .await;
        created.data();
        let took = started.elapsed();
        assert!(
            took < Duration::from_millis(500),
            "alice's write took {took:?}"
        );
    }
    for (status, body, took) in flood.await.unwrap() {
        assert_eq!(status, 400, "{body:#}");
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{body:#}"
        );
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(
            message.contains("GroupMembersInput.memberIds") && message.contains("100"),
            "{message}"
        );
        assert!(took < Duration::from_millis(200), "refused in {took:?}");
    }
    // The same id a hundred times is one member.
    let hundred = api
        .gql(
            Some(&mallory),
            add,
            json!({ "g": group, "m": vec![robot.clone(); 100] }),
        )
        .await;
    hundred.data();
    let members = api
        .gql(
            Some(&mallory),
            "query($g: ObjectID!) { node(id: $g) { ... on Group { members { id } } } }",
            json!({ "g": group }),
        )
        .await;
    assert_eq!(
        members.data()["node"]["members"].as_array().unwrap().len(),
        1
    );

    // A search of 50,001 characters is the caller's mistake, not the server's.
    let search = "query($a: ObjectID!, $s: String) { getAccount(id: $a) { serviceAccounts(search: $s) { id } } }";
    for s in ["x".repeat(50_001), "%".repeat(256)] {
        let answer = api
            .gql(
                Some(&api.admin),
                search,
                json!({ "a": ACCOUNT_715, "s": s }),
            )
            .await;
        assert_eq!(answer.status, 400, "{:#}", answer.body);
        assert_eq!(answer.code(), "BAD_USER_INPUT");
        assert!(
            answer.error().1.contains("serviceAccounts(search)"),
            "{:#}",
            answer.body
        );
    }
    let fits = api
        .gql(
            Some(&api.admin),
            search,
            json!({ "a": ACCOUNT_715, "s": "%".repeat(255) }),
        )
        .await;
    assert_eq!(fits.status, 200, "{:#}", fits.body);
    assert_eq!(fits.data()["getAccount"]["serviceAccounts"], json!([]));
}

#[tokio::test]
async fn a_gateways_bad_question_gets_a_fixed_answer_that_is_never_sniffed() {
    let api = Api::start().await;
    let sent = "<script>alert(1)</script>";
    let answered = api
        .http
        .get(api.server.url("/v1/verify"))
        .query(&[("permission", sent)])
        .header("x-api-key", &api.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(answered.status(), 400);
    assert_eq!(answered.headers()["x-content-type-options"], "nosniff");
    assert_eq!(answered.headers()["x-keywarden-reason"], "bad-question");
    let body = answered.text().await.unwrap();
    assert!(
        !body.contains("script") && body.contains("resource:action"),
        "{body}"
    );
    // Every other answer is marked too.
    for token in [Some(api.admin.as_str()), None] {
        let mut request = api.http.get(api.server.url("/v1/verify"));
        if let Some(token) = token {
            request = request.header("x-api-key", token);
        }
        let answered = request.send().await.unwrap();
        assert_eq!(answered.headers()["x-content-type-options"], "nosniff");
    }
}

/// Names that read the same are one name: the second "Café" (written with a
/// combining accent) and "CAFÉ" are refused, a name with a zero-width space
/// or a right-to-left override is refused, and the first is stored composed.
#[tokio::test]
async fn look_alike_names_are_refused_through_the_api() {
    let api = Api::start().await;
    let create = "mutation($a: ObjectID!, $n: String!) { createGroup(input: { accountId: $a, name: $n }) { group { name } } }";
    let made = api
        .admin(create, json!({ "a": ACCOUNT_715, "n": "Cafe\u{301}" }))
        .await;
    assert_eq!(made["createGroup"]["group"]["name"], "Café");
    for same in ["Café", "CAFÉ", "ｃａｆé"] {
        let refused = api
            .gql(
                Some(&api.admin),
                create,
                json!({ "a": ACCOUNT_715, "n": same }),
            )
            .await;
        let (code, message) = refused.error();
        assert_eq!(code, "BAD_USER_INPUT", "{same:?}: {message}");
        assert!(message.contains("differ only in case"), "{message}");
    }
    for hidden in ["ops\u{200B}", "\u{202E}exe.txt"] {
        let refused = api
            .gql(
                Some(&api.admin),
                create,
                json!({ "a": ACCOUNT_715, "n": hidden }),
            )
            .await;
        let (code, message) = refused.error();
        assert_eq!(code, "BAD_USER_INPUT", "{hidden:?}: {message}");
        assert!(message.contains("invisible"), "{message}");
    }
    let listed = api
        .admin(
            "query($id: ObjectID!) { getAccount(id: $id) { groups { name } } }",
            json!({ "id": ACCOUNT_715 }),
        )
        .await;
    assert_eq!(listed["getAccount"]["groups"], json!([{ "name": "Café" }]));
}
