//! Disabled keys: by an Admin, or by the housekeeping for want of use past
//! the account's `disableUnusedAfterDays`, once however many processes share
//! the database; enabled again by an Admin, idle from then.

use chrono::{DateTime, Duration, Utc};
use domain::ids::KeyId;
use domain::{
    ActorKind, AuthError, DisabledReason, DomainError, Keyring, Keywarden, PolicyChange, Role,
};

use crate::support::{Tenant, World, create_key, pepper, t0};

fn days(n: i64) -> Duration {
    Duration::days(n)
}

async fn disable_after(w: &World, tenant: &Tenant, days: Option<u32>) {
    let change = PolicyChange {
        disable_unused_after_days: Some(days),
        ..Default::default()
    };
    let set =
        w.kw.set_credential_policy(&tenant.admin, tenant.id, change, t0())
            .await
            .unwrap();
    assert_eq!(set.disable_unused_after_days, days);
}

async fn disable_events(w: &World, tenant: &Tenant) -> Vec<domain::AuditEvent> {
    w.audit_log(tenant)
        .await
        .into_iter()
        .filter(|e| e.action == "service_account_key.disable")
        .collect()
}

async fn works(kw: &Keywarden, token: &str, at: DateTime<Utc>) -> bool {
    match kw.authenticate(token, at).await {
        Ok(_) => true,
        Err(AuthError::Disabled) => false,
        Err(e) => panic!("refused for another reason: {e}"),
    }
}

#[tokio::test]
async fn an_idle_key_is_disabled_once_by_two_processes_and_works_again_once_enabled() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let globex = w.tenant("Globex", "gina").await;
    let sa = w.service_account(&acme, "nightly", Role::Viewer).await;
    let (idle, idle_token) = w.key(&acme, sa.id).await;
    let (_, busy_token) = w.key(&acme, sa.id).await;
    let globex_sa = w.service_account(&globex, "nightly", Role::Viewer).await;
    let (_, globex_token) = w.key(&globex, globex_sa.id).await;
    disable_after(&w, &acme, Some(30)).await;
    let other = World::open(&w.url, Keyring::new(pepper(1), vec![])).await;
    w.kw.flush_usage().await.unwrap();
    assert!(works(&w.kw, &busy_token, t0() + days(20)).await);
    w.kw.flush_usage().await.unwrap();

    // Until thirty days have passed, nothing; a day on, two processes at
    // once disable the idle key, one of them.
    assert_eq!(
        w.kw.disable_idle_keys(t0() + days(30) - Duration::milliseconds(1))
            .await
            .unwrap(),
        0
    );
    let at = t0() + days(31);
    let (a, b) = tokio::join!(w.kw.disable_idle_keys(at), other.disable_idle_keys(at));
    assert_eq!(a.unwrap() + b.unwrap(), 1);
    assert_eq!(w.kw.disable_idle_keys(at).await.unwrap(), 0);
    assert_eq!(other.disable_idle_keys(at).await.unwrap(), 0);

    for kw in [&w.kw, &other] {
        assert!(!works(kw, &idle_token, at).await);
        assert!(works(kw, &busy_token, at).await);
        // Globex has no such policy: its key, as idle, keeps working.
        assert!(works(kw, &globex_token, at).await);
    }
    let key = w.kw.key(&acme.admin, idle.key.id).await.unwrap();
    let disabled = key.disabled.unwrap();
    assert_eq!(disabled.reason, DisabledReason::Idle);
    assert_eq!(disabled.at, at);
    let events = disable_events(&w, &acme).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let event = &events[0];
    assert_eq!(event.actor_kind, ActorKind::System);
    assert_eq!(event.target_id, idle.key.id.0);
    let after = event.after.clone().unwrap_or_default();
    assert_eq!(after["disabledReason"], "idle");
    assert_eq!(after["disableUnusedAfterDays"], 30);
    assert_eq!(after["lastUsedAt"], serde_json::Value::Null);
    assert!(disable_events(&w, &globex).await.is_empty());

    // Enabled again, it works on every process, and its idle time counts
    // from then.
    let enabled =
        w.kw.set_key_enabled(&acme.admin, idle.key.id, true, at)
            .await
            .unwrap();
    assert_eq!(enabled.disabled, None);
    assert_eq!(enabled.enabled_at, Some(at));
    for kw in [&w.kw, &other] {
        assert!(works(kw, &idle_token, at).await);
    }
    w.kw.flush_usage().await.unwrap();
    other.flush_usage().await.unwrap();
    // Both keys were last used at `at`: thirty days on, both are idle.
    let ms = Duration::milliseconds(1);
    assert_eq!(w.kw.disable_idle_keys(at + days(30) - ms).await.unwrap(), 0);
    assert_eq!(w.kw.disable_idle_keys(at + days(30)).await.unwrap(), 2);
    assert_eq!(disable_events(&w, &acme).await.len(), 3);

    // With the policy unset, nothing is disabled for want of use.
    w.kw.set_key_enabled(&acme.admin, idle.key.id, true, at + days(30))
        .await
        .unwrap();
    disable_after(&w, &acme, None).await;
    assert_eq!(w.kw.disable_idle_keys(at + days(400)).await.unwrap(), 0);
}

#[tokio::test]
async fn a_key_enabled_again_and_never_used_is_idle_from_its_enabling() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let sa = w.service_account(&acme, "nightly", Role::Viewer).await;
    let (made, _) = w.key(&acme, sa.id).await;
    disable_after(&w, &acme, Some(10)).await;
    let at = t0() + days(11);
    assert_eq!(w.kw.disable_idle_keys(at).await.unwrap(), 1);
    w.kw.set_key_enabled(&acme.admin, made.key.id, true, at)
        .await
        .unwrap();
    assert_eq!(
        w.kw.disable_idle_keys(at + days(10) - Duration::milliseconds(1))
            .await
            .unwrap(),
        0
    );
    assert_eq!(w.kw.disable_idle_keys(at + days(10)).await.unwrap(), 1);
}

#[tokio::test]
async fn one_turn_disables_at_most_its_share_and_the_next_turn_the_rest() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let count = domain::IDLE_KEYS_PER_TURN + 3;
    let mut made = 0;
    while made < count {
        let sa = w
            .service_account(&acme, &format!("batch-{made}"), Role::Viewer)
            .await;
        for _ in 0..domain::MAX_ACTIVE_KEYS.min(count - made) {
            w.kw.create_key(&acme.admin, create_key(sa.id), t0())
                .await
                .unwrap();
            made += 1;
        }
    }
    disable_after(&w, &acme, Some(1)).await;
    let at = t0() + days(2);
    assert_eq!(
        w.kw.disable_idle_keys(at).await.unwrap(),
        domain::IDLE_KEYS_PER_TURN
    );
    assert_eq!(w.kw.disable_idle_keys(at).await.unwrap(), 3);
    assert_eq!(w.kw.disable_idle_keys(at).await.unwrap(), 0);
}

#[tokio::test]
async fn an_admin_disables_and_enables_a_key_and_no_one_else_can() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let globex = w.tenant("Globex", "gina").await;
    let (editor, _) = w.member(&acme, "eddie", Role::Editor).await;
    let sa = w.service_account(&acme, "deploy", Role::Editor).await;
    let (made, token) = w.key(&acme, sa.id).await;
    let id = made.key.id;
    assert!(works(&w.kw, &token, t0()).await);

    for (caller, refused) in [(&globex.admin, "not found"), (&editor, "Unauthorized")] {
        let e =
            w.kw.set_key_enabled(caller, id, false, t0())
                .await
                .unwrap_err();
        assert!(e.to_string().contains(refused), "{e}");
    }
    assert!(works(&w.kw, &token, t0()).await);

    let disabled =
        w.kw.set_key_enabled(&acme.admin, id, false, t0())
            .await
            .unwrap();
    assert_eq!(
        disabled.disabled.map(|d| d.reason),
        Some(DisabledReason::Admin)
    );
    assert!(!works(&w.kw, &token, t0()).await);
    // Asked again, nothing changes and nothing more is recorded.
    let again =
        w.kw.set_key_enabled(&acme.admin, id, false, t0() + days(1))
            .await
            .unwrap();
    assert_eq!(again.disabled, disabled.disabled);
    let events = disable_events(&w, &acme).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].actor_kind, ActorKind::User);
    assert_eq!(
        events[0].after.clone().unwrap_or_default()["disabledReason"],
        "admin"
    );

    let enabled =
        w.kw.set_key_enabled(&acme.admin, id, true, t0())
            .await
            .unwrap();
    assert_eq!(enabled.disabled, None);
    assert!(works(&w.kw, &token, t0()).await);
    let enables = w
        .audit_log(&acme)
        .await
        .into_iter()
        .filter(|e| e.action == "service_account_key.enable")
        .count();
    assert_eq!(enables, 1);

    // A revoked key can be neither.
    w.kw.revoke_key(&acme.admin, id, t0()).await.unwrap();
    let e =
        w.kw.set_key_enabled(&acme.admin, id, false, t0())
            .await
            .unwrap_err();
    assert!(matches!(e, DomainError::Conflict(_)), "{e}");
    let missing =
        w.kw.set_key_enabled(&acme.admin, KeyId(id.0 + 1000), true, t0())
            .await
            .unwrap_err();
    assert!(matches!(missing, DomainError::NotFound(_)), "{missing}");
}
