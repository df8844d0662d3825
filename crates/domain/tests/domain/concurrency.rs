//! Limits and rules that must hold when requests race.

use std::sync::Arc;

use domain::{CreatePersonalAccessToken, DomainError, Principal, Role};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::support::{World, create_key, minutes, t0};

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
