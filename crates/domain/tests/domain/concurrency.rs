//! Limits and rules that must hold when requests race.

use std::sync::Arc;

use domain::db::DbOptions;
use domain::{
    CreatePersonalAccessToken, CreateServiceAccount, DomainError, Keyring, Principal, Role,
    ServiceAccountName,
};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::support::{World, create_key, minutes, pepper, t0};

/// On SQLite the writers of a process queue for their turn before they begin,
/// so none of them waits in SQLite's busy handler. Given a busy timeout of one
/// millisecond, 64 concurrent changes in two accounts all succeed; left to
/// race for the lock, most would fail with "database is locked".
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_writers_take_turns_rather_than_race_for_the_lock() {
    let w = World::new().await;
    if w.is_postgres() {
        return;
    }
    let acme = Arc::new(w.tenant("Acme", "alice").await);
    let other = Arc::new(w.tenant("Other", "mallory").await);
    let impatient = DbOptions {
        busy_timeout: std::time::Duration::from_millis(1),
        ..DbOptions::default()
    };
    let kw = Arc::new(
        World::open_with_options(&w.url, Keyring::new(pepper(1), vec![]), 0, &impatient).await,
    );
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let (kw, tenant) = (
                kw.clone(),
                if i % 2 == 0 {
                    acme.clone()
                } else {
                    other.clone()
                },
            );
            tokio::spawn(async move {
                let input = CreateServiceAccount {
                    account_id: tenant.id,
                    name: ServiceAccountName::parse(&format!("writer-{i}")).unwrap(),
                    description: None,
                    role: Role::Viewer,
                    groups: vec![],
                    allowed_ranges: None,
                };
                kw.create_service_account(&tenant.admin, input, t0()).await
            })
        })
        .collect();
    let mut failed = Vec::new();
    for task in tasks {
        if let Err(e) = task.await.unwrap() {
            failed.push(e.to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "{} of 64 writes failed: {failed:?}",
        failed.len()
    );
    let stored = entity::service_account::Entity::find()
        .filter(entity::service_account::Column::Name.starts_with("writer-"))
        .count(w.kw.db())
        .await
        .unwrap();
    assert_eq!(stored, 64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_concurrent_key_creations_leave_exactly_fifty() {
    let w = Arc::new(World::new().await);
    let acme = Arc::new(w.tenant("Acme", "alice").await);
    let sa = w.service_account(&acme, "ci", Role::Viewer).await;
    w.warm_pool().await;
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let (w, acme) = (w.clone(), acme.clone());
            tokio::spawn(async move { w.kw.create_key(&acme.admin, create_key(sa.id), t0()).await })
        })
        .collect();
    let (mut made, mut refused) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => made += 1,
            Err(DomainError::LimitExceeded(_)) => refused += 1,
            Err(other) => panic!("unexpected error: {other}"),
        }
    }
    assert_eq!((made, refused), (50, 50));
    let stored = entity::service_account_key::Entity::find()
        .filter(entity::service_account_key::Column::ServiceAccountId.eq(sa.id.0))
        .count(w.kw.db())
        .await
        .unwrap();
    assert_eq!(stored, 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_token_creations_stop_at_five() {
    let w = Arc::new(World::new().await);
    let acme = Arc::new(w.tenant("Acme", "alice").await);
    w.warm_pool().await;
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let (w, acme) = (w.clone(), acme.clone());
            tokio::spawn(async move {
                w.kw.create_personal_access_token(
                    &acme.admin,
                    CreatePersonalAccessToken::default(),
                    t0(),
                )
                .await
            })
        })
        .collect();
    let mut made = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => made += 1,
            Err(DomainError::LimitExceeded(_)) => {}
            Err(other) => panic!("unexpected error: {other}"),
        }
    }
    // The bootstrap token is one of the five.
    assert_eq!(made, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_rotations_of_one_token_rotate_it_once() {
    let w = Arc::new(World::new().await);
    let acme = Arc::new(w.tenant("Acme", "alice").await);
    let made =
        w.kw.create_personal_access_token(
            &acme.admin,
            CreatePersonalAccessToken {
                name: None,
                expires_at: Some(t0() + minutes(600)),
            },
            t0(),
        )
        .await
        .unwrap();
    let id = made.token.id;
    w.warm_pool().await;
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let (w, acme) = (w.clone(), acme.clone());
            tokio::spawn(async move {
                w.kw.rotate_personal_access_token(&acme.admin, id, t0() + minutes(900), t0())
                    .await
            })
        })
        .collect();
    let mut secrets = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(rotated) => secrets.push(rotated.secret),
            Err(DomainError::LimitExceeded(_)) => {}
            Err(other) => panic!("unexpected error: {other}"),
        }
    }
    assert_eq!(secrets.len(), 1);
    assert!(w.auth(secrets[0].expose()).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_admins_demoting_each_other_at_once_leave_one_admin() {
    let w = Arc::new(World::new().await);
    let acme = Arc::new(w.tenant("Acme", "alice").await);
    let (bob, _) = w.member(&acme, "bob", Role::Admin).await;
    let alice = acme.admin.clone();
    w.warm_pool().await;
    let pairs: [(Principal, i64); 2] = [(alice.clone(), bob.id()), (bob.clone(), alice.id())];
    let tasks: Vec<_> = pairs
        .into_iter()
        .map(|(caller, target)| {
            let (w, acme) = (w.clone(), acme.clone());
            tokio::spawn(async move {
                w.kw.update_member(
                    &caller,
                    acme.id,
                    domain::ids::UserId(target),
                    Role::Viewer,
                    t0(),
                )
                .await
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap().is_ok());
    }
    assert_eq!(outcomes.iter().filter(|ok| **ok).count(), 1, "{outcomes:?}");
    let admins = entity::membership::Entity::find()
        .filter(entity::membership::Column::Role.eq("Admin"))
        .count(w.kw.db())
        .await
        .unwrap();
    assert_eq!(admins, 1);
}
