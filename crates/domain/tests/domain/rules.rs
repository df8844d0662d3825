//! An account's credential policy: keys made or rotated against it are
//! refused with the rule and its limit; keys made before it are refused at
//! verification, in every process, while they break it, and work again when
//! it changes back; one account's policy is nothing to another's.

use chrono::Duration;
use domain::ids::ServiceAccountId;
use domain::time::Expiry;
use domain::{AuthError, CredentialPolicy, DomainError, PolicyChange, PolicyRule, Role, RotateKey};

use crate::support::{Tenant, World, create_key, pepper, t0};

fn limit(days: u32) -> PolicyChange {
    PolicyChange {
        key_max_lifetime_days: Some(Some(days)),
        ..Default::default()
    }
}

fn required(on: bool) -> PolicyChange {
    PolicyChange {
        key_expiry_required: Some(on),
        ..Default::default()
    }
}

async fn set(w: &World, tenant: &Tenant, change: PolicyChange) -> CredentialPolicy {
    w.kw.set_credential_policy(&tenant.admin, tenant.id, change, t0())
        .await
        .unwrap()
}

fn key_expiring(sa: ServiceAccountId, expires: Option<Expiry>) -> domain::CreateKey {
    domain::CreateKey {
        expires,
        ..create_key(sa)
    }
}

fn violation(e: DomainError) -> (&'static str, Option<u32>, String) {
    match e {
        DomainError::PolicyViolation {
            rule,
            limit,
            message,
        } => (rule, limit, message),
        other => panic!("not a policy violation: {other:?}"),
    }
}

#[tokio::test]
async fn a_key_against_the_policy_is_refused_at_creation_and_rotation_naming_the_rule_and_its_limit()
 {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let sa = w.service_account(&acme, "deployer", Role::Editor).await;
    let (old, _) = w
        .key_with(&acme, key_expiring(sa.id, Some(Expiry::InDays(30))))
        .await;
    set(&w, &acme, limit(90)).await;
    let keys_before =
        w.kw.keys(&acme.admin, sa.id, Default::default())
            .await
            .unwrap()
            .len();
    for expires in [
        None,
        Some(Expiry::InDays(91)),
        Some(Expiry::At(
            t0() + Duration::days(90) + Duration::milliseconds(1),
        )),
    ] {
        let e =
            w.kw.create_key(&acme.admin, key_expiring(sa.id, expires), t0())
                .await
                .unwrap_err();
        let (rule, limit, message) = violation(e);
        assert_eq!(
            (rule, limit),
            ("keyMaxLifetimeDays", Some(90)),
            "{expires:?}"
        );
        assert!(message.contains("at most 90 days"), "{message}");
    }
    for expires in [Expiry::InDays(90), Expiry::At(t0() + Duration::days(90))] {
        w.kw.create_key(&acme.admin, key_expiring(sa.id, Some(expires)), t0())
            .await
            .unwrap();
    }
    let rotate = |expires_at| RotateKey {
        key_id: old.key.id,
        expires_at,
        overlap: std::time::Duration::ZERO,
    };
    let e =
        w.kw.rotate_key(&acme.admin, rotate(None), t0())
            .await
            .unwrap_err();
    assert_eq!(violation(e).0, "keyMaxLifetimeDays");
    let e =
        w.kw.rotate_key(&acme.admin, rotate(Some(t0() + Duration::days(91))), t0())
            .await
            .unwrap_err();
    assert_eq!(violation(e).1, Some(90));
    // Refused rotations changed nothing: the old key is still active.
    let still = w.kw.key(&acme.admin, old.key.id).await.unwrap();
    assert!(still.is_active(t0()));
    assert_eq!(
        w.kw.keys(&acme.admin, sa.id, Default::default())
            .await
            .unwrap()
            .len(),
        keys_before + 2
    );
    w.kw.rotate_key(&acme.admin, rotate(Some(t0() + Duration::days(60))), t0())
        .await
        .unwrap();

    // An expiry required, no limit.
    let policy = set(
        &w,
        &acme,
        PolicyChange {
            key_max_lifetime_days: Some(None),
            key_expiry_required: Some(true),
            allowed_ranges: None,
            disable_unused_after_days: None,
        },
    )
    .await;
    assert_eq!(
        policy,
        CredentialPolicy {
            key_max_lifetime_days: None,
            key_expiry_required: true,
            allowed_ranges: None,
            disable_unused_after_days: None,
        }
    );
    let e =
        w.kw.create_key(&acme.admin, create_key(sa.id), t0())
            .await
            .unwrap_err();
    let (rule, limit, message) = violation(e);
    assert_eq!((rule, limit), ("keyExpiryRequired", None));
    assert!(message.contains("expiry"), "{message}");
    w.kw.create_key(
        &acme.admin,
        key_expiring(sa.id, Some(Expiry::InDays(3650))),
        t0(),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn a_key_made_before_the_policy_is_refused_in_every_process_while_it_breaks_it_and_works_again_after()
 {
    let w = World::new().await;
    let elsewhere = World::open(&w.url, domain::Keyring::new(pepper(1), vec![])).await;
    let acme = w.tenant("Acme", "alice").await;
    let globex = w.tenant("Globex", "bob").await;
    let sa = w.service_account(&acme, "deployer", Role::Editor).await;
    let (forever, forever_token) = w.key(&acme, sa.id).await;
    let (monthly, monthly_token) = w
        .key_with(&acme, key_expiring(sa.id, Some(Expiry::InDays(30))))
        .await;
    let globex_sa = w.service_account(&globex, "deployer", Role::Editor).await;
    let (_, globex_token) = w.key(&globex, globex_sa.id).await;
    // Each verified once in this process, so that the refusal must come
    // from the policy's change and not from a first read.
    for token in [&forever_token, &monthly_token, &globex_token] {
        w.auth(token).await.unwrap();
    }

    // Changed in another process: this one refuses at once.
    elsewhere
        .set_credential_policy(&acme.admin, acme.id, required(true), t0())
        .await
        .unwrap();
    assert!(matches!(
        w.auth(&forever_token).await,
        Err(AuthError::Policy)
    ));
    assert!(matches!(
        elsewhere.authenticate(&forever_token, t0()).await,
        Err(AuthError::Policy)
    ));
    w.auth(&monthly_token).await.unwrap();
    w.auth(&globex_token).await.unwrap();
    let shown =
        w.kw.key_policy_violation(&acme.admin, &forever.key, t0())
            .await
            .unwrap()
            .unwrap();
    assert_eq!(
        (shown.rule, shown.limit),
        (PolicyRule::KeyExpiryRequired, None)
    );
    assert_eq!(
        w.kw.key_policy_violation(&acme.admin, &monthly.key, t0())
            .await
            .unwrap(),
        None
    );
    // The key is refused, not revoked or deleted.
    assert!(
        w.kw.key(&acme.admin, forever.key.id)
            .await
            .unwrap()
            .is_active(t0())
    );

    // A limit shorter than the monthly key's lifetime refuses it too.
    elsewhere
        .set_credential_policy(&acme.admin, acme.id, limit(7), t0())
        .await
        .unwrap();
    assert!(matches!(
        w.auth(&monthly_token).await,
        Err(AuthError::Policy)
    ));
    let shown =
        w.kw.key_policy_violation(&acme.admin, &monthly.key, t0())
            .await
            .unwrap()
            .unwrap();
    assert_eq!(
        (shown.rule, shown.limit),
        (PolicyRule::KeyMaxLifetimeDays, Some(7))
    );

    // Changed back: both work on their next request, everywhere.
    elsewhere
        .set_credential_policy(
            &acme.admin,
            acme.id,
            PolicyChange {
                key_max_lifetime_days: Some(None),
                key_expiry_required: Some(false),
                allowed_ranges: None,
                disable_unused_after_days: None,
            },
            t0(),
        )
        .await
        .unwrap();
    for token in [&forever_token, &monthly_token] {
        w.auth(token).await.unwrap();
        elsewhere.authenticate(token, t0()).await.unwrap();
    }
    assert_eq!(
        w.kw.credential_policy(&globex.admin, globex.id)
            .await
            .unwrap(),
        CredentialPolicy::default(),
        "another account's policy is untouched"
    );
}

#[tokio::test]
async fn only_an_admin_of_the_account_reads_or_changes_its_policy_and_each_change_is_audited() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let globex = w.tenant("Globex", "bob").await;
    let (viewer, _) = w.member(&acme, "vera", Role::Viewer).await;
    let (_, robot, _) = w.robot(&acme, Role::Admin).await;
    for caller in [&viewer, &robot] {
        assert!(matches!(
            w.kw.set_credential_policy(caller, acme.id, required(true), t0())
                .await,
            Err(DomainError::Unauthorized(_))
        ));
        assert!(matches!(
            w.kw.credential_policy(caller, acme.id).await,
            Err(DomainError::Unauthorized(_))
        ));
    }
    assert!(matches!(
        w.kw.set_credential_policy(&globex.admin, acme.id, required(true), t0())
            .await,
        Err(DomainError::NotFound(_))
    ));
    assert!(matches!(
        w.kw.credential_policy(&globex.admin, acme.id).await,
        Err(DomainError::NotFound(_))
    ));
    for days in [0, 3651] {
        let e =
            w.kw.set_credential_policy(&acme.admin, acme.id, limit(days), t0())
                .await
                .unwrap_err();
        assert!(
            matches!(&e, DomainError::Invalid(m) if m.contains("between 1 and 3650")),
            "{e:?}"
        );
    }
    assert_eq!(
        w.kw.credential_policy(&acme.admin, acme.id).await.unwrap(),
        CredentialPolicy::default(),
        "nothing refused changed anything"
    );

    let events = w.audit_count().await;
    set(&w, &acme, limit(30)).await;
    set(&w, &acme, required(true)).await;
    let log = w.audit_log(&acme).await;
    let changes: Vec<_> = log
        .iter()
        .filter(|e| {
            e.action == "account.update"
                && e.after
                    .as_ref()
                    .is_some_and(|a| a.get("keyMaxLifetimeDays").is_some())
        })
        .map(|e| (e.before.clone().unwrap(), e.after.clone().unwrap()))
        .collect();
    assert_eq!(
        changes,
        vec![
            (
                serde_json::json!({"keyMaxLifetimeDays": null, "keyExpiryRequired": false, "allowedRanges": null, "disableUnusedAfterDays": null}),
                serde_json::json!({"keyMaxLifetimeDays": 30, "keyExpiryRequired": false, "allowedRanges": null, "disableUnusedAfterDays": null}),
            ),
            (
                serde_json::json!({"keyMaxLifetimeDays": 30, "keyExpiryRequired": false, "allowedRanges": null, "disableUnusedAfterDays": null}),
                serde_json::json!({"keyMaxLifetimeDays": 30, "keyExpiryRequired": true, "allowedRanges": null, "disableUnusedAfterDays": null}),
            ),
        ]
    );
    assert_eq!(w.audit_count().await, events + 2);
    assert_eq!(
        w.kw.credential_policy(&globex.admin, globex.id)
            .await
            .unwrap(),
        CredentialPolicy::default()
    );
}
