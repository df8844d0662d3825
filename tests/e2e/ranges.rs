//! Address ranges over HTTP, behind a trusted proxy: set on the account, a
//! service account and a key in GraphQL, checked against the client the
//! proxy forwarded for on `/v1/verify` and `/graphql` alike, refused with
//! 403 and `x-keywarden-reason: address-not-allowed`, counted by outcome,
//! and never throttled (the key is good: its owner misconfigured it).

use serde_json::json;

use crate::support::{ACCOUNT_715, Api, client, sample};

const POLICY: &str = "mutation($input: UpdateAccountCredentialPolicyInput!) { \
  updateAccountCredentialPolicy(input: $input) { credentialPolicy { allowedRanges } } }";

const KEY_RANGES: &str = "mutation($input: UpdateServiceAccountKeyInput!) { \
  updateServiceAccountKey(input: $input) { serviceAccountKey { id allowedRanges } } }";

const SA_RANGES: &str = "mutation($input: UpdateServiceAccountInput!) { \
  updateServiceAccount(input: $input) { serviceAccount { id allowedRanges } } }";

/// `/v1/verify`'s status and reason header for `token` from `client`, as the
/// trusted proxy on loopback forwards for it.
async fn verify_from(api: &Api, token: &str, forwarded: &str) -> (u16, Option<String>) {
    let answer = client()
        .get(api.server.url("/v1/verify"))
        .header("x-api-key", token)
        .header("x-forwarded-for", forwarded)
        .send()
        .await
        .unwrap();
    let reason = answer
        .headers()
        .get("x-keywarden-reason")
        .map(|v| v.to_str().unwrap().to_owned());
    (answer.status().as_u16(), reason)
}

fn refused() -> (u16, Option<String>) {
    (403, Some("address-not-allowed".to_owned()))
}

#[tokio::test]
async fn a_key_works_only_from_its_ranges_as_the_trusted_proxy_sees_the_client() {
    let api = Api::start_with(&["--trusted-proxies", "127.0.0.1"]).await;
    let sa = api.service_account("deployer", "Editor").await;
    let (key_id, key) = api.key(&sa).await;
    assert_eq!(verify_from(&api, &key, "198.51.100.1").await, (200, None));

    let set = api
        .admin(
            POLICY,
            json!({ "input": { "accountId": ACCOUNT_715, "allowedRanges": ["203.0.113.0/24", "2001:db8::/32"] } }),
        )
        .await;
    assert_eq!(
        set["updateAccountCredentialPolicy"]["credentialPolicy"]["allowedRanges"],
        json!(["203.0.113.0/24", "2001:db8::/32"])
    );
    assert_eq!(verify_from(&api, &key, "203.0.113.9").await, (200, None));
    assert_eq!(verify_from(&api, &key, "2001:db8::9").await, (200, None));
    assert_eq!(
        verify_from(&api, &key, "::ffff:203.0.113.9").await,
        (200, None)
    );
    assert_eq!(verify_from(&api, &key, "198.51.100.1").await, refused());
    // What a client writes into the header itself is not believed: the
    // proxy's hop to its right is the client.
    assert_eq!(
        verify_from(&api, &key, "203.0.113.9, 198.51.100.1").await,
        refused()
    );
    // Without the proxy's header the client is the proxy itself, outside.
    assert_eq!(api.server.verify_status(&key).await, 403);

    // /graphql refuses the same way, with a code.
    let from_outside = api
        .post(
            &[("x-api-key", &key), ("x-forwarded-for", "198.51.100.1")],
            json!({ "query": "{ me { id } }" }),
        )
        .await;
    assert_eq!(from_outside.status, 403);
    assert_eq!(from_outside.code(), "ADDRESS_NOT_ALLOWED");
    assert_eq!(
        from_outside.headers["x-keywarden-reason"],
        "address-not-allowed"
    );
    let from_inside = api
        .post(
            &[("x-api-key", &key), ("x-forwarded-for", "203.0.113.9")],
            json!({ "query": "{ me { id } }" }),
        )
        .await;
    assert_eq!(from_inside.status, 200, "{:#}", from_inside.body);

    // A key refused for its address is no guess: 40 refusals, over the
    // throttle's 30 a minute, stay 403 and do not cool the address down.
    for _ in 0..40 {
        assert_eq!(verify_from(&api, &key, "198.51.100.1").await, refused());
    }
    let (_, good) = api.key(&sa).await;
    assert_eq!(verify_from(&api, &good, "203.0.113.9").await, (200, None));
    let text = api.server.metrics().await;
    assert!(
        sample(&text, "keywarden_verifications_total{outcome=\"address\"}").unwrap() >= 43.0,
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "keywarden_verifications_total{outcome=\"throttled\"}"
        ),
        Some(0.0)
    );

    // The service account's ranges and the key's narrow it further.
    let narrowed = api
        .admin(
            SA_RANGES,
            json!({ "input": { "serviceAccountId": sa, "allowedRanges": ["203.0.113.0/25"] } }),
        )
        .await;
    assert_eq!(
        narrowed["updateServiceAccount"]["serviceAccount"]["allowedRanges"],
        json!(["203.0.113.0/25"])
    );
    assert_eq!(verify_from(&api, &key, "203.0.113.200").await, refused());
    let only = api
        .admin(
            KEY_RANGES,
            json!({ "input": { "serviceAccountKeyId": key_id, "allowedRanges": ["203.0.113.7"] } }),
        )
        .await;
    assert_eq!(
        only["updateServiceAccountKey"]["serviceAccountKey"]["allowedRanges"],
        json!(["203.0.113.7/32"])
    );
    assert_eq!(verify_from(&api, &key, "203.0.113.9").await, refused());
    assert_eq!(verify_from(&api, &key, "203.0.113.7").await, (200, None));
    // Unset everywhere: anywhere again, on the next request.
    api.admin(
        KEY_RANGES,
        json!({ "input": { "serviceAccountKeyId": key_id, "allowedRanges": null } }),
    )
    .await;
    api.admin(
        SA_RANGES,
        json!({ "input": { "serviceAccountId": sa, "allowedRanges": null } }),
    )
    .await;
    api.admin(
        POLICY,
        json!({ "input": { "accountId": ACCOUNT_715, "allowedRanges": null } }),
    )
    .await;
    assert_eq!(verify_from(&api, &key, "198.51.100.1").await, (200, None));
}

#[tokio::test]
async fn every_bad_list_of_ranges_is_refused_with_a_code_and_keeps_what_was_set() {
    let api = Api::start().await;
    let sa = api.service_account("deployer", "Editor").await;
    api.admin(
        POLICY,
        json!({ "input": { "accountId": ACCOUNT_715, "allowedRanges": ["10.0.0.0/8"] } }),
    )
    .await;
    let too_many: Vec<String> = (0..21).map(|i| format!("10.0.{i}.0/24")).collect();
    for (given, says) in [
        (json!(["0.0.0.0/0"]), "wider than /8"),
        (json!(["::/0"]), "wider than /16"),
        (json!(["10.0.0.0/33"]), "not a network in CIDR notation"),
        (json!(["office"]), "not a network in CIDR notation"),
        (json!(["10.0.0.1/8"]), "write 10.0.0.0/8"),
        (json!([]), "at least one range"),
        // Refused by the document's bounds, before anything runs.
        (json!(too_many), "lists 21 items, over its limit of 20"),
    ] {
        let answer = api
            .gql(
                Some(&api.admin),
                POLICY,
                json!({ "input": { "accountId": ACCOUNT_715, "allowedRanges": given } }),
            )
            .await;
        assert_eq!(
            answer.code(),
            "BAD_USER_INPUT",
            "{given}: {:#}",
            answer.body
        );
        assert!(
            answer.error().1.contains(says),
            "{given}: {:#}",
            answer.body
        );
    }
    let outside = api
        .gql(
            Some(&api.admin),
            SA_RANGES,
            json!({ "input": { "serviceAccountId": sa, "allowedRanges": ["192.0.2.0/24"] } }),
        )
        .await;
    assert_eq!(outside.code(), "BAD_USER_INPUT");
    assert!(
        outside
            .error()
            .1
            .contains("not within the account's ranges")
    );
    let created = api
        .gql(
            Some(&api.admin),
            "mutation($input: CreateServiceAccountKeyInput!) { createServiceAccountKey(input: $input) { id secret } }",
            json!({ "input": { "serviceAccountId": sa, "allowedRanges": ["192.0.2.0/24"] } }),
        )
        .await;
    assert_eq!(created.code(), "BAD_USER_INPUT");
    // A service account made with its own ranges: outside the account's,
    // refused; within, kept.
    let make = "mutation($input: CreateServiceAccountInput!) { createServiceAccount(input: $input) { \
      serviceAccount { name allowedRanges } } }";
    let wide = api
        .gql(
            Some(&api.admin),
            make,
            json!({ "input": { "accountId": ACCOUNT_715, "name": "wide", "roleCode": "Viewer", "allowedRanges": ["192.0.2.0/24"] } }),
        )
        .await;
    assert_eq!(wide.code(), "BAD_USER_INPUT");
    assert!(wide.error().1.contains("not within the account's ranges"));
    let narrow = api
        .admin(
            make,
            json!({ "input": { "accountId": ACCOUNT_715, "name": "narrow", "roleCode": "Viewer", "allowedRanges": ["10.9.0.0/16"] } }),
        )
        .await;
    assert_eq!(
        narrow["createServiceAccount"]["serviceAccount"]["allowedRanges"],
        json!(["10.9.0.0/16"])
    );
    let kept = api
        .admin(
            "query($id: ObjectID!) { node(id: $id) { ... on Account { credentialPolicy { allowedRanges } } } }",
            json!({ "id": ACCOUNT_715 }),
        )
        .await;
    assert_eq!(
        kept["node"]["credentialPolicy"]["allowedRanges"],
        json!(["10.0.0.0/8"])
    );
}
