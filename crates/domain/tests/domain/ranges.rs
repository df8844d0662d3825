//! Where keys work: an account's, a service account's and a key's address
//! ranges, each checked when it is given and lying within the ones above
//! it; a key works only from an address every list allows, in every process
//! on its next request after a change; one account's ranges are nothing to
//! another's.

use std::net::IpAddr;

use domain::{AddressRanges, AuthError, DomainError, PolicyChange, Role, UpdateServiceAccount};

use crate::support::{Tenant, World, create_key, pepper, t0};

fn ranges(given: &[&str]) -> Option<AddressRanges> {
    AddressRanges::parse("allowedRanges", Some(given)).unwrap()
}

fn ip(s: &str) -> Option<IpAddr> {
    Some(s.parse().unwrap())
}

fn account_ranges(given: Option<&[&str]>) -> PolicyChange {
    PolicyChange {
        allowed_ranges: Some(given.and_then(ranges)),
        ..Default::default()
    }
}

/// Sets the account's ranges to `given`, as its Admin.
async fn limit_account(w: &World, tenant: &Tenant, given: &[&str]) {
    w.kw.set_credential_policy(&tenant.admin, tenant.id, account_ranges(Some(given)), t0())
        .await
        .unwrap();
}

fn sa_ranges(given: Option<&[&str]>) -> UpdateServiceAccount {
    UpdateServiceAccount {
        allowed_ranges: Some(given.and_then(ranges)),
        ..Default::default()
    }
}

fn invalid(e: DomainError) -> String {
    match e {
        DomainError::Invalid(message) => message,
        other => panic!("not refused as invalid input: {other:?}"),
    }
}

#[tokio::test]
async fn a_key_works_only_from_where_its_account_its_service_account_and_it_allow_in_every_process()
{
    let w = World::new().await;
    let elsewhere = World::open(&w.url, domain::Keyring::new(pepper(1), vec![])).await;
    let acme = w.tenant("Acme", "alice").await;
    let sa = w.service_account(&acme, "deployer", Role::Editor).await;
    let (key, token) = w.key(&acme, sa.id).await;
    let from = |address: &'static str| {
        let kw = &w.kw;
        let token = token.clone();
        async move { kw.authenticate_from(&token, ip(address), t0()).await }
    };
    // No ranges: anywhere, and an unknown address too.
    from("192.0.2.1").await.unwrap();
    w.auth(&token).await.unwrap();

    // The account's ranges, set in another process, hold on the next request.
    elsewhere
        .set_credential_policy(
            &acme.admin,
            acme.id,
            account_ranges(Some(&["10.0.0.0/8", "2001:db8::/32"])),
            t0(),
        )
        .await
        .unwrap();
    assert!(matches!(from("192.0.2.1").await, Err(AuthError::Address)));
    from("10.200.0.1").await.unwrap();
    from("2001:db8::7").await.unwrap();
    // An IPv4 client seen through an IPv6 socket is the IPv4 client.
    from("::ffff:10.200.0.1").await.unwrap();
    // Where the address is not known, a restricted key does not work.
    assert!(matches!(w.auth(&token).await, Err(AuthError::Address)));

    // The service account's ranges narrow the account's.
    elsewhere
        .update_service_account(&acme.admin, sa.id, sa_ranges(Some(&["10.1.0.0/16"])), t0())
        .await
        .unwrap();
    assert!(matches!(from("10.200.0.1").await, Err(AuthError::Address)));
    from("10.1.9.9").await.unwrap();

    // And the key's its service account's.
    elsewhere
        .set_key_ranges(&acme.admin, key.key.id, ranges(&["10.1.2.0/24"]), t0())
        .await
        .unwrap();
    assert!(matches!(from("10.1.9.9").await, Err(AuthError::Address)));
    from("10.1.2.3").await.unwrap();
    let shown = w.kw.key(&acme.admin, key.key.id).await.unwrap();
    assert_eq!(shown.allowed_ranges.unwrap().texts(), ["10.1.2.0/24"]);

    // The account narrowed past the key: the key works nowhere, and it is
    // still there; widened again, it works where it did.
    elsewhere
        .set_credential_policy(
            &acme.admin,
            acme.id,
            account_ranges(Some(&["10.9.0.0/16"])),
            t0(),
        )
        .await
        .unwrap();
    assert!(matches!(from("10.1.2.3").await, Err(AuthError::Address)));
    assert!(matches!(from("10.9.0.1").await, Err(AuthError::Address)));
    assert!(
        w.kw.key(&acme.admin, key.key.id)
            .await
            .unwrap()
            .is_active(t0())
    );
    elsewhere
        .set_credential_policy(&acme.admin, acme.id, account_ranges(None), t0())
        .await
        .unwrap();
    from("10.1.2.3").await.unwrap();
    assert!(matches!(from("10.1.3.4").await, Err(AuthError::Address)));
    // Every list unset: anywhere again.
    elsewhere
        .update_service_account(&acme.admin, sa.id, sa_ranges(None), t0())
        .await
        .unwrap();
    elsewhere
        .set_key_ranges(&acme.admin, key.key.id, None, t0())
        .await
        .unwrap();
    from("192.0.2.1").await.unwrap();
    w.auth(&token).await.unwrap();
}

#[tokio::test]
async fn ranges_wider_than_the_ones_above_them_are_refused_and_change_nothing() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let sa = w.service_account(&acme, "deployer", Role::Editor).await;
    let (key, token) = w.key(&acme, sa.id).await;
    limit_account(&w, &acme, &["10.0.0.0/8"]).await;
    let e =
        w.kw.update_service_account(
            &acme.admin,
            sa.id,
            sa_ranges(Some(&["10.1.0.0/16", "192.0.2.0/24"])),
            t0(),
        )
        .await
        .unwrap_err();
    assert!(invalid(e).contains("192.0.2.0/24 is not within the account's ranges (10.0.0.0/8)"));
    w.kw.update_service_account(&acme.admin, sa.id, sa_ranges(Some(&["10.1.0.0/16"])), t0())
        .await
        .unwrap();
    let e =
        w.kw.set_key_ranges(&acme.admin, key.key.id, ranges(&["10.2.0.0/24"]), t0())
            .await
            .unwrap_err();
    assert!(
        invalid(e).contains("10.2.0.0/24 is not within the service account's ranges (10.1.0.0/16)")
    );
    let e =
        w.kw.create_key(
            &acme.admin,
            domain::CreateKey {
                allowed_ranges: ranges(&["10.0.0.0/15"]),
                ..create_key(sa.id)
            },
            t0(),
        )
        .await
        .unwrap_err();
    assert!(invalid(e).contains("not within the service account's ranges"));
    // Nothing refused was kept: the key has no ranges of its own.
    assert_eq!(
        w.kw.key(&acme.admin, key.key.id)
            .await
            .unwrap()
            .allowed_ranges,
        None
    );
    w.kw.authenticate_from(&token, ip("10.1.0.1"), t0())
        .await
        .unwrap();
    // A key made with ranges keeps them, and so does its successor.
    let (made, made_token) = w
        .key_with(
            &acme,
            domain::CreateKey {
                allowed_ranges: ranges(&["10.1.7.0/24"]),
                ..create_key(sa.id)
            },
        )
        .await;
    assert!(matches!(
        w.kw.authenticate_from(&made_token, ip("10.1.0.1"), t0())
            .await,
        Err(AuthError::Address)
    ));
    let rotated =
        w.kw.rotate_key(
            &acme.admin,
            domain::RotateKey {
                key_id: made.key.id,
                expires_at: None,
                overlap: std::time::Duration::ZERO,
            },
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(rotated.key.allowed_ranges, ranges(&["10.1.7.0/24"]));
}

#[tokio::test]
async fn every_change_of_ranges_is_audited_with_before_and_after() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let sa = w.service_account(&acme, "deployer", Role::Editor).await;
    let (key, _) = w.key(&acme, sa.id).await;
    limit_account(&w, &acme, &["10.0.0.0/8"]).await;
    w.kw.update_service_account(&acme.admin, sa.id, sa_ranges(Some(&["10.1.0.0/16"])), t0())
        .await
        .unwrap();
    w.kw.set_key_ranges(&acme.admin, key.key.id, ranges(&["10.1.2.0/24"]), t0())
        .await
        .unwrap();
    let log = w.audit_log(&acme).await;
    let ranges_of = |v: &Option<serde_json::Value>| v.as_ref().map(|v| v["allowedRanges"].clone());
    let last = |action: &str| {
        log.iter()
            .rev()
            .find(|e| e.action == action)
            .unwrap_or_else(|| panic!("no {action} in {log:?}"))
    };
    let account = last("account.update");
    assert_eq!(ranges_of(&account.before), Some(serde_json::Value::Null));
    assert_eq!(
        ranges_of(&account.after),
        Some(serde_json::json!(["10.0.0.0/8"]))
    );
    let service_account = last("service_account.update");
    assert_eq!(
        ranges_of(&service_account.before),
        Some(serde_json::Value::Null)
    );
    assert_eq!(
        ranges_of(&service_account.after),
        Some(serde_json::json!(["10.1.0.0/16"]))
    );
    let key_event = last("service_account_key.update");
    assert_eq!(key_event.target_id, key.key.id.0);
    assert_eq!(ranges_of(&key_event.before), Some(serde_json::Value::Null));
    assert_eq!(
        ranges_of(&key_event.after),
        Some(serde_json::json!(["10.1.2.0/24"]))
    );
}

#[tokio::test]
async fn one_accounts_ranges_are_nothing_to_another_account() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let globex = w.tenant("Globex", "bob").await;
    let acme_sa = w.service_account(&acme, "deployer", Role::Editor).await;
    let (acme_key, acme_token) = w.key(&acme, acme_sa.id).await;
    let globex_sa = w.service_account(&globex, "deployer", Role::Editor).await;
    let (_, globex_token) = w.key(&globex, globex_sa.id).await;
    limit_account(&w, &globex, &["10.0.0.0/8"]).await;
    w.kw.authenticate_from(&acme_token, ip("192.0.2.1"), t0())
        .await
        .unwrap();
    assert!(matches!(
        w.kw.authenticate_from(&globex_token, ip("192.0.2.1"), t0())
            .await,
        Err(AuthError::Address)
    ));
    // Globex's Admin can set no ranges on Acme's service account or key.
    assert!(
        w.kw.update_service_account(
            &globex.admin,
            acme_sa.id,
            sa_ranges(Some(&["10.0.0.0/8"])),
            t0()
        )
        .await
        .is_err()
    );
    assert!(
        w.kw.set_key_ranges(
            &globex.admin,
            acme_key.key.id,
            ranges(&["10.0.0.0/8"]),
            t0()
        )
        .await
        .is_err()
    );
    w.kw.authenticate_from(&acme_token, ip("192.0.2.1"), t0())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_service_account_made_with_ranges_keeps_them_within_its_accounts_and_the_log_says_so() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    limit_account(&w, &acme, &["10.0.0.0/8"]).await;
    let create = |name: &str, given: Option<&[&str]>| domain::CreateServiceAccount {
        account_id: acme.id,
        name: domain::ServiceAccountName::parse(name).unwrap(),
        description: None,
        role: Role::Viewer,
        groups: vec![],
        allowed_ranges: given.and_then(ranges),
    };
    // Outside the account's ranges: refused, and nothing made.
    let e =
        w.kw.create_service_account(&acme.admin, create("wide", Some(&["192.0.2.0/24"])), t0())
            .await
            .unwrap_err();
    assert!(invalid(e).contains("192.0.2.0/24"));
    let made =
        w.kw.create_service_account(&acme.admin, create("narrow", Some(&["10.1.0.0/16"])), t0())
            .await
            .unwrap();
    assert_eq!(
        made.allowed_ranges.as_ref().map(AddressRanges::texts),
        Some(vec!["10.1.0.0/16".to_owned()])
    );
    let (_, token) = w.key(&acme, made.id).await;
    w.kw.authenticate_from(&token, ip("10.1.2.3"), t0())
        .await
        .unwrap();
    assert!(matches!(
        w.kw.authenticate_from(&token, ip("10.2.0.1"), t0()).await,
        Err(AuthError::Address)
    ));
    let created: Vec<_> = w
        .audit_log(&acme)
        .await
        .into_iter()
        .filter(|e| e.action == "service_account.create")
        .collect();
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(
        created[0].after,
        Some(serde_json::json!({ "allowedRanges": ["10.1.0.0/16"] }))
    );
    // Without ranges, it works from wherever the account allows.
    let plain =
        w.kw.create_service_account(&acme.admin, create("plain", None), t0())
            .await
            .unwrap();
    assert_eq!(plain.allowed_ranges, None);
}
