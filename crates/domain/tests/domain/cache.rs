//! The verification cache: a key verified once is answered from memory, and any
//! change committed through keywarden, in this process or another on the same
//! database, is honoured on the very next request.

use std::time::Duration;

use domain::ids::KeyId;
use domain::{
    AuthError, Keyring, Keywarden, Principal, Role, ServiceAccountName, UpdateServiceAccount,
};
use entity::service_account_key as key;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::support::{World, pepper, t0};

/// Revokes a key behind keywarden's back, as an operator's SQL would.
async fn revoke_by_hand(db: &impl ConnectionTrait, id: KeyId) {
    let changed = key::Entity::update_many()
        .col_expr(key::Column::RevokedAt, Expr::value(0i64))
        .filter(key::Column::Id.eq(id.0))
        .exec(db)
        .await
        .unwrap();
    assert_eq!(changed.rows_affected, 1);
}

fn key_id(principal: &Principal) -> KeyId {
    match principal {
        Principal::ServiceAccount(s) => s.key_id,
        Principal::User(_) => panic!("not a service account"),
    }
}

async fn process(w: &World, capacity: u64) -> Keywarden {
    let db = domain::db::connect(&w.url, &domain::db::DbOptions::default())
        .await
        .unwrap();
    Keywarden::open(db, Keyring::new(pepper(1), vec![]), capacity)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_verified_key_is_answered_without_reading_the_database() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let (_, robot, token) = w.robot(&acme, Role::Editor).await;
    // Only a cache can still accept a key whose row now says it is revoked.
    revoke_by_hand(w.kw.db(), key_id(&robot)).await;
    assert_eq!(w.auth(&token).await.unwrap(), robot);
    // A process that never saw the key reads the row.
    let fresh = process(&w, domain::DEFAULT_CACHE_CAPACITY).await;
    assert!(matches!(
        fresh.authenticate(&token, t0()).await,
        Err(AuthError::Revoked)
    ));
}

#[tokio::test]
async fn a_cache_of_capacity_zero_reads_every_time() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let (_, robot, token) = w.robot(&acme, Role::Editor).await;
    let uncached = process(&w, 0).await;
    assert!(uncached.authenticate(&token, t0()).await.is_ok());
    revoke_by_hand(w.kw.db(), key_id(&robot)).await;
    assert!(matches!(
        uncached.authenticate(&token, t0()).await,
        Err(AuthError::Revoked)
    ));
}

#[tokio::test]
async fn a_cached_key_still_expires_on_time() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let sa = w.service_account(&acme, "ci", Role::Editor).await;
    let mut input = crate::support::create_key(sa.id);
    input.expires = Some(domain::time::Expiry::At(
        t0() + chrono::Duration::minutes(5),
    ));
    let (_, token) = w.key_with(&acme, input).await;
    assert!(w.auth(&token).await.is_ok());
    assert!(
        w.auth_at(&token, t0() + chrono::Duration::minutes(4))
            .await
            .is_ok()
    );
    assert!(matches!(
        w.auth_at(&token, t0() + chrono::Duration::minutes(5)).await,
        Err(AuthError::Expired)
    ));
}

/// Every change to a service account or its keys, made through `changer`, is
/// seen by `watcher` (which has the key cached) on its next request.
async fn changes_show_at_once(w: &World, changer: &Keywarden, watcher: &Keywarden) {
    let acme = w.tenant("Acme", "alice").await;
    let sa = w.service_account(&acme, "ci", Role::Editor).await;
    let (_, token) = w.key(&acme, sa.id).await;
    let auth = || watcher.authenticate(&token, t0());
    let update = |change: UpdateServiceAccount| {
        changer.update_service_account(&acme.admin, sa.id, change, t0())
    };
    let nothing = UpdateServiceAccount {
        name: None,
        description: None,
        role: None,
        enabled: None,
        allowed_ranges: None,
    };

    let principal = auth().await.unwrap();
    assert_eq!(principal.role_in(acme.id), Some(Role::Editor));

    update(UpdateServiceAccount {
        role: Some(Role::Viewer),
        ..nothing.clone()
    })
    .await
    .unwrap();
    assert_eq!(auth().await.unwrap().role_in(acme.id), Some(Role::Viewer));

    update(UpdateServiceAccount {
        name: Some(ServiceAccountName::parse("deploy").unwrap()),
        ..nothing.clone()
    })
    .await
    .unwrap();
    let renamed = auth().await.unwrap();
    assert_eq!(renamed.name(), "deploy");
    assert_eq!(
        watcher.own_service_account(&renamed).await.unwrap().name,
        "deploy"
    );

    update(UpdateServiceAccount {
        enabled: Some(false),
        ..nothing.clone()
    })
    .await
    .unwrap();
    assert!(matches!(auth().await, Err(AuthError::Disabled)));
    update(UpdateServiceAccount {
        enabled: Some(true),
        ..nothing.clone()
    })
    .await
    .unwrap();
    let back = auth().await.unwrap();

    changer
        .revoke_key(&acme.admin, key_id(&back), t0())
        .await
        .unwrap();
    assert!(matches!(auth().await, Err(AuthError::Revoked)));
}

#[tokio::test]
async fn changes_through_the_same_process_show_on_the_next_request() {
    let w = World::new().await;
    changes_show_at_once(&w, &w.kw, &w.kw).await;
}

#[tokio::test]
async fn changes_through_another_process_show_on_the_next_request() {
    let w = World::new().await;
    let other = process(&w, domain::DEFAULT_CACHE_CAPACITY).await;
    changes_show_at_once(&w, &other, &w.kw).await;
}

#[tokio::test]
async fn a_revoke_through_another_process_is_refused_at_once_every_time() {
    let w = World::new().await;
    let other = process(&w, domain::DEFAULT_CACHE_CAPACITY).await;
    let acme = w.tenant("Acme", "alice").await;
    let sa = w.service_account(&acme, "ci", Role::Editor).await;
    for _ in 0..20 {
        let (issued, token) = w.key(&acme, sa.id).await;
        // Cached in both processes.
        assert!(w.kw.authenticate(&token, t0()).await.is_ok());
        assert!(other.authenticate(&token, t0()).await.is_ok());
        other
            .revoke_key(&acme.admin, issued.key.id, t0())
            .await
            .unwrap();
        assert!(matches!(
            w.kw.authenticate(&token, t0()).await,
            Err(AuthError::Revoked)
        ));
    }
}

#[tokio::test]
async fn a_personal_access_token_revoked_elsewhere_is_refused_at_once() {
    let w = World::new().await;
    let other = process(&w, domain::DEFAULT_CACHE_CAPACITY).await;
    let acme = w.tenant("Acme", "alice").await;
    let (bob, token) = w.member(&acme, "bob", Role::Editor).await;
    let Principal::User(user) = &bob else {
        panic!("a member is a user")
    };
    assert!(w.kw.authenticate(&token, t0()).await.is_ok());
    other
        .revoke_personal_access_token(&bob, user.token_id, t0())
        .await
        .unwrap();
    assert!(matches!(
        w.kw.authenticate(&token, t0()).await,
        Err(AuthError::Revoked)
    ));
}

/// On PostgreSQL the cache is only as good as the connection that hears other
/// processes' changes: while it is down, every request reads the database, and
/// once it is back the cache works again. (SQLite needs no connection: its
/// processes share the change file, there from the start.)
#[tokio::test]
async fn without_its_notification_connection_a_process_reads_the_database() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let (_, robot, token) = w.robot(&acme, Role::Editor).await;
    if !w.is_postgres() {
        assert!(w.dir.path().join("keywarden.db.changes").is_file());
        revoke_by_hand(w.kw.db(), key_id(&robot)).await;
        assert!(
            w.auth(&token).await.is_ok(),
            "cached from the first request"
        );
        return;
    }
    let terminated =
        w.kw.db()
            .execute_unprepared(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND application_name = 'keywarden-listener'",
            )
            .await
            .unwrap();
    assert_eq!(terminated.rows_affected(), 1, "one listening connection");
    revoke_by_hand(w.kw.db(), key_id(&robot)).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while w.auth(&token).await.is_ok() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the lost connection was never noticed"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // Listening again, it caches again. Each try takes a new key: a key
    // revoked by hand may itself have been cached as refused once the
    // connection came back, so un-revoking it would prove nothing.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let (_, robot, token) = w.robot(&acme, Role::Viewer).await;
        revoke_by_hand(w.kw.db(), key_id(&robot)).await;
        if w.auth(&token).await.is_ok() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the cache never came back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_cached_key_is_served_until_its_expiry_and_never_after() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let sa = w.service_account(&acme, "ci", Role::Editor).await;
    let expiry = t0() + chrono::Duration::seconds(30);
    let mut input = crate::support::create_key(sa.id);
    input.expires = Some(domain::time::Expiry::At(expiry));
    let (_, token) = w.key_with(&acme, input).await;
    assert!(w.auth(&token).await.is_ok(), "read and cached");
    // Behind the cache's back (no commit through keywarden), the row goes: from
    // now on only the cache can accept the key.
    w.kw.db()
        .execute_unprepared("DELETE FROM service_account_keys")
        .await
        .unwrap();
    let just_before = expiry - chrono::Duration::milliseconds(1);
    assert!(
        w.auth_at(&token, just_before).await.is_ok(),
        "served from the cache before its expiry"
    );
    for after in [expiry, expiry + chrono::Duration::milliseconds(1)] {
        assert!(
            w.auth_at(&token, after).await.is_err(),
            "a cached key served at or after its expiry ({after})"
        );
    }
}
