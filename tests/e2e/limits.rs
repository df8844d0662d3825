//! Every limit on what one request may ask, each shown to hold, including the
//! shapes that get past naive checks.

use std::net::{IpAddr, Ipv4Addr};

use serde_json::{Value, json};

use crate::support::{ACCOUNT_715, Api};

/// A document nested `levels` deep, alternating account and service accounts
/// (pages of one, so that its cost stays low and depth is what refuses it).
fn deep(levels: usize) -> String {
    let mut inner = "id".to_owned();
    for level in 0..levels {
        // Built from the inside out: the outermost field must be `account`.
        let field = if (levels - 1 - level).is_multiple_of(2) {
            "account"
        } else {
            "serviceAccounts(first: 1)"
        };
        inner = format!("{field} {{ {inner} }}");
    }
    format!("{{ me {{ ... on ServiceAccount {{ {inner} }} }} }}")
}

/// The same depth through a chain of fragments, one level each.
fn deep_through_fragments(levels: usize, first_fragment: &str) -> String {
    let mut fragments = String::new();
    for level in 0..levels {
        let name = if level == 0 {
            first_fragment.to_owned()
        } else {
            format!("F{level}")
        };
        let next = format!("F{}", level + 1);
        let (on, field) = if level.is_multiple_of(2) {
            ("ServiceAccount", "account")
        } else {
            ("Account", "serviceAccounts(first: 1)")
        };
        let body = if level + 1 == levels {
            "id".to_owned()
        } else {
            format!("...{next}")
        };
        fragments.push_str(&format!(
            "fragment {name} on {on} {{ {field} {{ {body} }} }}\n"
        ));
    }
    format!("{{ me {{ ...{first_fragment} }} }}\n{fragments}")
}

async fn rejected(api: &Api, query: &str) -> String {
    let answer = api.gql(Some(&api.admin), query, json!({})).await;
    assert_eq!(answer.status, 400, "{query}\n{:#}", answer.body);
    assert_eq!(answer.code(), "GRAPHQL_VALIDATION_FAILED");
    answer.error().1
}

#[tokio::test]
async fn depth_is_limited_however_the_nesting_is_written() {
    let api = Api::start().await;
    // (Deeper nestings of lists are refused for their cost, below.)
    let shallow = api.gql(Some(&api.admin), &deep(4), json!({})).await;
    assert_eq!(shallow.status, 200, "{:#}", shallow.body);
    for query in [
        deep(25),
        deep_through_fragments(25, "F0"),
        // Names that a naive check might take for introspection change nothing.
        format!("query __schema {}", deep(25)),
        deep_through_fragments(25, "__schema"),
    ] {
        // Refused by the depth limit, or, where fragments nest, by the parser's
        // recursion limit first: either way, before anything runs.
        let message = rejected(&api, &query).await;
        assert!(
            message.contains("too deep") || message.contains("recursion depth"),
            "{message}\n{query}"
        );
    }
}

#[tokio::test]
async fn aliases_and_directives_are_limited() {
    let api = Api::start().await;

    let thousand: String = (0..1000).map(|i| format!("a{i}: __typename ")).collect();
    assert!(
        rejected(&api, &format!("{{ {thousand} }}"))
            .await
            .contains("aliases")
    );

    // Ten aliases in a fragment are fine once, too many when spread four times.
    let fragment: String = (0..10).map(|i| format!("n{i}: name ")).collect();
    let once = format!("{{ me {{ ...P }} }} fragment P on Principal {{ {fragment} }}");
    assert_eq!(
        api.gql(Some(&api.admin), &once, json!({})).await.status,
        200
    );
    let spread = format!(
        "query($id: ObjectID!) {{ me {{ ...P }} a: getAccount(id: $id) {{ serviceAccounts {{ ...P }} }} \
         b: node(id: $id) {{ ... on Account {{ serviceAccounts {{ ...P }} }} }} c: serviceAccount(id: $id) {{ ...P }} }} \
         fragment P on Principal {{ {fragment} }}"
    );
    let answer = api
        .gql(Some(&api.admin), &spread, json!({ "id": ACCOUNT_715 }))
        .await;
    assert_eq!(answer.status, 400);
    assert!(answer.error().1.contains("aliases"), "{:?}", answer.error());

    let directives = format!("{{ me {{ id {} }} }}", "@include(if: true) ".repeat(6));
    let answer = api.gql(Some(&api.admin), &directives, json!({})).await;
    assert_eq!(answer.status, 400, "{:#}", answer.body);
}

#[tokio::test]
async fn a_huge_body_is_refused_with_413_declared_or_streamed_alike() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let api = Api::start().await;
    // Raw HTTP, so the answer can be read although the server stops reading the
    // body as soon as its declared length is over the limit.
    let address = api.server.base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let length = 10 * 1024 * 1024;
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Content-Length: {length}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // Send the body until the server closes its side; it may not read it at all.
    let chunk = vec![b' '; 64 * 1024];
    for _ in 0..(length / chunk.len()) {
        if stream.write_all(&chunk).await.is_err() {
            break;
        }
    }
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    let declared: Value = serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    // The same body without a declared length (chunked) gets the same answer.
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    for _ in 0..(length / chunk.len()) {
        let framed = [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat();
        if stream.write_all(&framed).await.is_err() {
            break;
        }
    }
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    let mut streamed: Value =
        serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    // The same but for the request's id, which each request has its own of.
    let mut declared = declared;
    for answer in [&mut declared, &mut streamed] {
        let id = answer["errors"][0]["extensions"]
            .as_object_mut()
            .unwrap()
            .remove("requestId");
        assert_eq!(id.unwrap().as_str().unwrap().len(), 32);
    }
    assert_eq!(declared, streamed);
    assert_eq!(
        declared["errors"][0]["extensions"]["code"],
        "PAYLOAD_TOO_LARGE"
    );
    // The server is still there.
    assert_eq!(api.gql(None, "{ __typename }", json!({})).await.status, 200);
}

#[tokio::test]
async fn batches_are_capped() {
    let api = Api::start().await;
    let op = json!({ "query": "{ me { name } }" });
    let two = api
        .post(&[("x-api-key", &api.admin)], json!([op, op]))
        .await;
    assert_eq!(two.status, 200);
    assert_eq!(
        two.body,
        json!([{ "data": { "me": { "name": "admin" } } }, { "data": { "me": { "name": "admin" } } }])
    );
    let hundred = api
        .post(
            &[("x-api-key", &api.admin)],
            Value::Array(vec![op.clone(); 100]),
        )
        .await;
    assert_eq!(hundred.status, 400);
    assert!(hundred.error().1.contains("batch"), "{:?}", hundred.error());
    let empty = api.post(&[("x-api-key", &api.admin)], json!([])).await;
    assert_eq!(empty.status, 400);
}

#[tokio::test]
async fn only_authenticated_callers_get_field_suggestions() {
    let api = Api::start().await;
    let anonymous = api.gql(None, "{ nod { id } }", json!({})).await;
    assert_eq!(anonymous.status, 400);
    assert!(
        !anonymous.error().1.contains("Did you mean"),
        "{:?}",
        anonymous.error()
    );
    let known = api.gql(Some(&api.admin), "{ nod { id } }", json!({})).await;
    assert!(
        known.error().1.contains("Did you mean"),
        "{:?}",
        known.error()
    );
}

#[tokio::test]
async fn a_body_that_is_not_graphql_gets_a_plain_message() {
    let api = Api::start().await;
    let response = api
        .http
        .post(api.server.url("/graphql"))
        .header("content-type", "application/json")
        .body("{ \"query\": 12, trailing")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("The body is not a GraphQL request"),
        "{message}"
    );
    assert!(
        !message.contains("line") && !message.contains("column"),
        "{message}"
    );
}

#[tokio::test]
async fn a_request_that_runs_too_long_is_stopped() {
    let api = Api::start().await;
    let sa = api.service_account("ci", "Viewer").await;
    // A second server on the same database, allowed one millisecond per request.
    let hasty = crate::support::Server::start(
        api.dir.path(),
        &api.backend.with(&["--request-timeout-ms", "1"]),
    );
    // About four hundred lookups: far more than a millisecond's work.
    let ids = vec![sa; 100];
    let (status, body) = hasty
        .gql(
            &api.admin,
            "query($ids: [ObjectID!]!) { nodes(ids: $ids) { ... on ServiceAccount { keys { id } account { name } } } }",
            json!({ "ids": ids }),
        )
        .await;
    assert_eq!(status, 503, "{body:#}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "TIMEOUT");
}

fn client_from(address: Ipv4Addr) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(address))
        .build()
        .unwrap()
}

#[tokio::test]
async fn refused_credentials_are_rate_limited_per_address_and_good_keys_elsewhere_go_on() {
    let api = Api::start_with(&["--auth-failures-per-minute", "3"]).await;
    let sa = api.service_account("ci", "Viewer").await;
    let (_, key) = api.key(&sa).await;
    let attacker = client_from(Ipv4Addr::new(127, 0, 0, 2));
    let bystander = client_from(Ipv4Addr::new(127, 0, 0, 3));
    let send = |client: &reqwest::Client, token: Option<&str>| {
        let mut request = client
            .post(api.server.url("/graphql"))
            .json(&json!({ "query": "{ __typename }" }));
        if let Some(token) = token {
            request = request.header("x-api-key", token);
        }
        async move { request.send().await.unwrap() }
    };
    let guess = format!("lmr_pat_{}", "A".repeat(38));
    for _ in 0..3 {
        assert_eq!(send(&attacker, Some(&guess)).await.status(), 401);
    }
    let limited = send(&attacker, Some(&guess)).await;
    assert_eq!(limited.status(), 429);
    let retry: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    // While it cools down, what fails from that address keeps getting 429...
    assert_eq!(send(&attacker, Some(&guess)).await.status(), 429);
    // ...but a good key from the same address (an office behind one NAT) is
    // never refused for its neighbours' failures, on either entry point.
    for _ in 0..5 {
        assert_eq!(send(&attacker, Some(&key)).await.status(), 200);
        let verify = attacker
            .get(api.server.url("/v1/verify"))
            .header("x-api-key", &key)
            .send()
            .await
            .unwrap();
        assert_eq!(verify.status(), 200);
        assert_eq!(send(&attacker, Some(&guess)).await.status(), 429);
    }
    // Nor a request with no credential, nor any other address.
    assert_eq!(send(&attacker, None).await.status(), 200);
    assert_eq!(send(&bystander, Some(&key)).await.status(), 200);
    assert_eq!(send(&bystander, Some(&guess)).await.status(), 401);
    let verify = attacker
        .get(api.server.url("/v1/verify"))
        .header("x-api-key", &guess)
        .send()
        .await
        .unwrap();
    assert_eq!(verify.status(), 429);
}

#[tokio::test]
async fn a_good_key_passes_while_its_address_floods_bad_ones() {
    let api = Api::start_with(&["--auth-failures-per-minute", "30"]).await;
    let sa = api.service_account("ci", "Viewer").await;
    let (_, key) = api.key(&sa).await;
    let office = client_from(Ipv4Addr::new(127, 0, 0, 4));
    let url = api.server.url("/v1/verify");
    let flood = {
        let office = office.clone();
        let url = url.clone();
        tokio::spawn(async move {
            let mut limited = 0;
            for i in 0..200 {
                let guess = format!("lmr_pat_{:0>38}", i);
                let answer = office
                    .get(&url)
                    .header("x-api-key", guess)
                    .send()
                    .await
                    .unwrap();
                limited += usize::from(answer.status() == 429);
            }
            limited
        })
    };
    let mut good = 0;
    for _ in 0..100 {
        let answer = office
            .get(&url)
            .header("x-api-key", &key)
            .send()
            .await
            .unwrap();
        assert_eq!(
            answer.status(),
            200,
            "a good key refused while its address floods"
        );
        good += 1;
    }
    let limited = flood.await.unwrap();
    assert_eq!(good, 100);
    assert!(limited > 0, "the flood itself was throttled");
}

/// `serviceAccount { keys { serviceAccount { keys { ... } } } }`, `levels` lists deep.
fn fan_out(levels: usize) -> String {
    let mut inner = "id".to_owned();
    for _ in 0..levels {
        inner = format!("keys {{ serviceAccount {{ {inner} }} }}");
    }
    format!("query($id: ObjectID!) {{ serviceAccount(id: $id) {{ {inner} }} }}")
}

fn cost_refusal(answer: &crate::support::Answer) -> (i64, i64) {
    assert_eq!(answer.status, 400, "{:#}", answer.body);
    let error = &answer.body["errors"][0];
    assert_eq!(
        error["extensions"]["code"], "COST_LIMIT_EXCEEDED",
        "{:#}",
        answer.body
    );
    let message = error["message"].as_str().unwrap();
    let cost = error["extensions"]["cost"].as_i64().unwrap();
    let limit = error["extensions"]["limit"].as_i64().unwrap();
    assert!(
        message.contains(&cost.to_string()) && message.contains(&limit.to_string()),
        "{message}"
    );
    (cost, limit)
}

#[tokio::test]
async fn fan_out_documents_are_refused_before_they_run_and_memory_stays_flat() {
    let api = Api::start().await;
    let sa = api.service_account("wide", "Viewer").await;
    for _ in 0..50 {
        api.key(&sa).await;
    }
    // Two lists deep (50 × 50 objects) is within the limit and runs.
    let two = api
        .gql(Some(&api.admin), &fan_out(2), json!({ "id": sa }))
        .await;
    let keys = two.data()["serviceAccount"]["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 50);
    assert_eq!(
        keys[0]["serviceAccount"]["keys"].as_array().unwrap().len(),
        50
    );

    // Three deep is the document that once asked for 125,000 objects.
    let before = api.server.resident_kib();
    let started = std::time::Instant::now();
    let attempts: Vec<_> = (0..10)
        .map(|_| {
            let query = fan_out(3);
            let request = api
                .http
                .post(api.server.url("/graphql"))
                .header("x-api-key", &api.admin)
                .json(&json!({ "query": query, "variables": { "id": sa } }));
            tokio::spawn(async move {
                let response = request.send().await.unwrap();
                let status = response.status().as_u16();
                let body: Value = response.json().await.unwrap();
                crate::support::Answer {
                    status,
                    headers: Default::default(),
                    body,
                }
            })
        })
        .collect();
    for attempt in attempts {
        let (cost, limit) = cost_refusal(&attempt.await.unwrap());
        assert!(cost > 1_000_000, "{cost}");
        assert_eq!(limit, 50_000);
    }
    let took = started.elapsed();
    let after = api.server.resident_kib();
    assert!(
        took < std::time::Duration::from_secs(2),
        "ten refusals took {took:?}"
    );
    assert!(
        after < before + 20 * 1024,
        "memory grew from {before} KiB to {after} KiB"
    );
}

#[tokio::test]
async fn a_batch_shares_one_cost_budget() {
    let api = Api::start().await;
    // Ten aliases of `nodes` with 100 ids: 10 × (10 + 100 × 11) = 11,100 each.
    let ids: Vec<String> = (1..=100)
        .map(|i| domain::object_id::encode("ServiceAccount", i))
        .collect();
    let aliases: String = (0..10)
        .map(|i| format!("n{i}: nodes(ids: $ids) {{ id }} "))
        .collect();
    let query = format!("query($ids: [ObjectID!]!) {{ {aliases} }}");
    let one = json!({ "query": query, "variables": { "ids": ids } });
    let batch: Vec<Value> = (0..10).map(|_| one.clone()).collect();
    let response = api
        .http
        .post(api.server.url("/graphql"))
        .header("x-api-key", &api.admin)
        .json(&batch)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let answers: Vec<Value> = response.json().await.unwrap();
    let refused: Vec<bool> = answers
        .iter()
        .map(|a| a["errors"][0]["extensions"]["code"] == "COST_LIMIT_EXCEEDED")
        .collect();
    // 50,000 / 11,100: four operations run, the other six are refused.
    assert_eq!(refused.iter().filter(|r| !**r).count(), 4, "{answers:#?}");
    assert!(refused[4..].iter().all(|r| *r));
    // The same document alone runs.
    let alone = api.post(&[("x-api-key", &api.admin)], one).await;
    assert_eq!(alone.data()["n0"].as_array().unwrap().len(), 100);
}

#[tokio::test]
async fn lists_come_in_pages() {
    let api = Api::start().await;
    let sas: Vec<String> = service_accounts(&api, 5).await;
    let page = |first: i64, after: Option<&str>| json!({ "id": ACCOUNT_715, "first": first, "after": after });
    let query = "query($id: ObjectID!, $first: Int, $after: ObjectID) { getAccount(id: $id) { serviceAccounts(first: $first, after: $after) { id } } }";
    let one = api.admin(query, page(2, None)).await;
    let got: Vec<&str> = one["getAccount"]["serviceAccounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(got, [sas[0].as_str(), sas[1].as_str()]);
    let two = api.admin(query, page(2, Some(&sas[1]))).await;
    assert_eq!(two["getAccount"]["serviceAccounts"][0]["id"], json!(sas[2]));
    for (first, after) in [(101, None), (-1, None), (2, Some(ACCOUNT_715))] {
        let answer = api.gql(Some(&api.admin), query, page(first, after)).await;
        assert_eq!(answer.code(), "BAD_USER_INPUT", "{first} {after:?}");
    }
    // Keys: newest first, 50 by default.
    let (older, _) = api.key(&sas[0]).await;
    let (newer, _) = api.key(&sas[0]).await;
    let keys = api
        .admin(
            "query($id: ObjectID!, $after: ObjectID) { serviceAccount(id: $id) { keys(first: 1, after: $after) { id } } }",
            json!({ "id": sas[0], "after": newer }),
        )
        .await;
    assert_eq!(keys["serviceAccount"]["keys"], json!([{ "id": older }]));
}

async fn service_accounts(api: &Api, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..n {
        out.push(api.service_account(&format!("sa{i}"), "Viewer").await);
    }
    out
}
