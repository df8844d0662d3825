//! The audit log: exactly one event per successful mutation, none for a failed one.

use std::time::Duration;

use domain::ids::UserId;
use domain::{
    ActorKind, AddMember, AuditQuery, CreatePersonalAccessToken, CreateServiceAccount, DomainError,
    Role, RotateKey, ServiceAccountName, UpdateServiceAccount, Username,
};

use crate::support::{World, create_key, minutes, t0};

/// Runs `op` and checks it added exactly `expected` audit events.
async fn adds<T, F: std::future::Future<Output = Result<T, DomainError>>>(
    w: &World,
    expected: u64,
    op: F,
) -> Result<T, DomainError> {
    let before = w.audit_count().await;
    let result = op.await;
    assert_eq!(
        w.audit_count().await - before,
        expected,
        "{:?}",
        result.as_ref().err()
    );
    result
}

#[tokio::test]
async fn every_successful_mutation_leaves_exactly_one_audit_event() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let kw = &w.kw;
    let admin = &acme.admin;
    let sa = adds(
        &w,
        1,
        kw.create_service_account(
            admin,
            CreateServiceAccount {
                account_id: acme.id,
                name: ServiceAccountName::parse("ci").unwrap(),
                description: None,
                role: Role::Viewer,
                groups: vec![],
                allowed_ranges: None,
            },
            t0(),
        ),
    )
    .await
    .unwrap();
    let update = UpdateServiceAccount {
        role: Some(Role::Editor),
        ..Default::default()
    };
    adds(&w, 1, kw.update_service_account(admin, sa.id, update, t0()))
        .await
        .unwrap();
    let disable = UpdateServiceAccount {
        enabled: Some(false),
        ..Default::default()
    };
    adds(
        &w,
        1,
        kw.update_service_account(admin, sa.id, disable, t0()),
    )
    .await
    .unwrap();
    let key = adds(&w, 1, kw.create_key(admin, create_key(sa.id), t0()))
        .await
        .unwrap();
    let rotate = RotateKey {
        key_id: key.key.id,
        expires_at: None,
        overlap: Duration::from_secs(60),
    };
    let rotated = adds(&w, 1, kw.rotate_key(admin, rotate, t0()))
        .await
        .unwrap();
    adds(&w, 1, kw.revoke_key(admin, rotated.key.id, t0()))
        .await
        .unwrap();
    adds(&w, 1, kw.revoke_key(admin, rotated.key.id, t0()))
        .await
        .unwrap();
    let added = adds(
        &w,
        1,
        kw.add_member(
            admin,
            AddMember {
                account_id: acme.id,
                username: Username::parse("bob").unwrap(),
                email: None,
                role: Role::Viewer,
            },
            true,
            t0(),
        ),
    )
    .await
    .unwrap();
    let bob = UserId(added.member.user_id.0);
    adds(
        &w,
        1,
        kw.update_member(admin, acme.id, bob, Role::Editor, t0()),
    )
    .await
    .unwrap();
    adds(&w, 1, kw.remove_member(admin, acme.id, bob, t0()))
        .await
        .unwrap();
    let expiring = CreatePersonalAccessToken {
        name: None,
        expires_at: Some(t0() + minutes(90)),
    };
    let pat = adds(
        &w,
        1,
        kw.create_personal_access_token(admin, expiring, t0()),
    )
    .await
    .unwrap();
    adds(
        &w,
        1,
        kw.rotate_personal_access_token(admin, pat.token.id, t0() + minutes(120), t0()),
    )
    .await
    .unwrap();
    adds(
        &w,
        1,
        kw.revoke_personal_access_token(admin, pat.token.id, t0()),
    )
    .await
    .unwrap();
    adds(&w, 1, kw.delete_service_account(admin, sa.id, t0()))
        .await
        .unwrap();

    // Failures leave nothing.
    let (_, robot, _) = w.robot(&acme, Role::Admin).await;
    adds(&w, 0, kw.create_key(&robot, create_key(sa.id), t0()))
        .await
        .unwrap_err();
    adds(
        &w,
        0,
        kw.remove_member(admin, acme.id, UserId(admin.id()), t0()),
    )
    .await
    .unwrap_err();
}

#[tokio::test]
async fn an_event_names_the_actor_the_target_and_survives_the_target() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let (sa, _, _) = w.robot(&acme, Role::Viewer).await;
    w.kw.delete_service_account(&acme.admin, sa.id, t0() + minutes(1))
        .await
        .unwrap();
    let query = AuditQuery {
        limit: 100,
        ..Default::default()
    };
    let page =
        w.kw.audit_events(&acme.admin, acme.id, &query)
            .await
            .unwrap();
    let actions: Vec<_> = page.events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        vec![
            "account.create",
            "service_account.create",
            "service_account_key.create",
            "service_account.delete"
        ]
    );
    assert_eq!(page.total, 4);
    let deleted = &page.events[3];
    assert_eq!(deleted.actor_kind, ActorKind::User);
    assert_eq!(deleted.actor_name, "alice");
    assert_eq!(
        deleted.attributed_user_id.map(|u| u.0),
        Some(acme.admin.id())
    );
    assert_eq!(deleted.target_type, "ServiceAccount");
    assert_eq!(deleted.target_id, sa.id.0);
    assert_eq!(deleted.target_name.as_deref(), Some("robot"));
    assert_eq!(deleted.created_at, t0() + minutes(1));
    assert_eq!(page.events[0].actor_kind, ActorKind::System);
}

#[tokio::test]
async fn the_audit_log_pages_forwards_and_backwards() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    for i in 0..5 {
        w.service_account(&acme, &format!("sa{i}"), Role::Viewer)
            .await;
    }
    let all =
        w.kw.audit_events(
            &acme.admin,
            acme.id,
            &AuditQuery {
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(all.total, 6);
    let ids: Vec<_> = all.events.iter().map(|e| e.id).collect();
    let first =
        w.kw.audit_events(
            &acme.admin,
            acme.id,
            &AuditQuery {
                limit: 2,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        first.events.iter().map(|e| e.id).collect::<Vec<_>>(),
        ids[..2]
    );
    assert!(first.has_more);
    let next =
        w.kw.audit_events(
            &acme.admin,
            acme.id,
            &AuditQuery {
                after: Some(ids[1]),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        next.events.iter().map(|e| e.id).collect::<Vec<_>>(),
        ids[2..]
    );
    assert!(!next.has_more);
    let last =
        w.kw.audit_events(
            &acme.admin,
            acme.id,
            &AuditQuery {
                before: Some(ids[5]),
                limit: 2,
                from_end: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        last.events.iter().map(|e| e.id).collect::<Vec<_>>(),
        ids[3..5]
    );
    assert!(last.has_more);
}

#[tokio::test]
async fn only_the_accounts_admins_read_its_audit_log() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let globex = w.tenant("Globex", "gina").await;
    let (viewer, _) = w.member(&acme, "vi", Role::Viewer).await;
    let (_, robot, _) = w.robot(&acme, Role::Admin).await;
    let q = AuditQuery {
        limit: 10,
        ..Default::default()
    };
    for caller in [&viewer, &robot] {
        assert!(matches!(
            w.kw.audit_events(caller, acme.id, &q).await,
            Err(DomainError::Unauthorized(_))
        ));
    }
    assert!(matches!(
        w.kw.audit_events(&globex.admin, acme.id, &q).await,
        Err(DomainError::NotFound(_))
    ));
}

#[tokio::test]
async fn a_change_made_for_a_request_records_where_the_request_came_from() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let origin = domain::Origin {
        client: Some("198.51.100.7".parse().unwrap()),
        request_id: Some("req-1".to_owned()),
    };
    origin
        .clone()
        .within(w.service_account(&acme, "traced", Role::Viewer))
        .await;
    w.service_account(&acme, "untraced", Role::Viewer).await;
    let log = w.audit_log(&acme).await;
    let origins: Vec<(Option<&str>, domain::Origin)> = log
        .iter()
        .map(|e| (e.target_name.as_deref(), e.origin.clone()))
        .collect();
    assert_eq!(
        origins,
        [
            (Some("Acme"), domain::Origin::default()),
            (Some("traced"), origin),
            (Some("untraced"), domain::Origin::default()),
        ]
    );
}

fn actions(page: &domain::AuditPage) -> Vec<&str> {
    page.events.iter().map(|e| e.action.as_str()).collect()
}

#[tokio::test]
async fn the_log_filters_by_actor_action_and_target_and_counts_what_matches() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let (bob, _) = w.member(&acme, "bob", Role::Admin).await;
    let ci = w.service_account(&acme, "ci", Role::Editor).await;
    let other =
        w.kw.create_service_account(
            &bob,
            CreateServiceAccount {
                account_id: acme.id,
                name: ServiceAccountName::parse("other").unwrap(),
                description: None,
                role: Role::Viewer,
                groups: vec![],
                allowed_ranges: None,
            },
            t0(),
        )
        .await
        .unwrap();
    let (key, _) = w.key(&acme, ci.id).await;
    w.kw.revoke_key(&acme.admin, key.key.id, t0())
        .await
        .unwrap();
    let page = |filter: domain::AuditFilter| {
        let w = &w;
        let acme = &acme;
        async move {
            w.kw.audit_events(
                &acme.admin,
                acme.id,
                &AuditQuery {
                    limit: 100,
                    filter,
                    ..Default::default()
                },
            )
            .await
            .unwrap()
        }
    };

    // An action, or a family of them by its prefix and a dot.
    let by_action = |a: &str| domain::AuditFilter {
        action: Some(a.to_owned()),
        ..Default::default()
    };
    let created = page(by_action("service_account.create")).await;
    assert_eq!(actions(&created), ["service_account.create"; 2]);
    assert_eq!(created.total, 2, "the count is of what matches");
    assert!(!created.has_more);
    // A page exactly as long as what matches has nothing more; one shorter has.
    for (limit, more) in [(2, false), (1, true)] {
        let paged =
            w.kw.audit_events(
                &acme.admin,
                acme.id,
                &AuditQuery {
                    limit,
                    filter: by_action("service_account.create"),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(paged.events.len() as u64, limit);
        assert_eq!(paged.has_more, more, "limit {limit}");
    }
    let keys = page(by_action("service_account_key")).await;
    assert_eq!(
        actions(&keys),
        ["service_account_key.create", "service_account_key.revoke"]
    );
    assert!(
        actions(&page(by_action("service_account")).await)
            .iter()
            .all(|a| a.starts_with("service_account.")),
        "a family is whole words: service_account is not service_account_key"
    );
    assert!(page(by_action("service")).await.events.is_empty());
    assert!(page(by_action("service_account_")).await.events.is_empty());

    // An actor.
    let bobs = page(domain::AuditFilter {
        actor: Some(domain::GroupMember::User(bob_id(&bob))),
        ..Default::default()
    })
    .await;
    assert_eq!(actions(&bobs), ["service_account.create"]);
    assert_eq!(bobs.events[0].target_id, other.id.0);
    // A target, with the actor and action together.
    let about_ci = page(domain::AuditFilter {
        target: Some(("ServiceAccount".to_owned(), ci.id.0)),
        ..Default::default()
    })
    .await;
    assert_eq!(actions(&about_ci), ["service_account.create"]);
    let nothing = page(domain::AuditFilter {
        target: Some(("ServiceAccount".to_owned(), ci.id.0)),
        actor: Some(domain::GroupMember::User(bob_id(&bob))),
        action: None,
    })
    .await;
    assert!(nothing.events.is_empty());
    assert_eq!(nothing.total, 0);
    // Ids of the same number but another type are other targets.
    let typed = page(domain::AuditFilter {
        target: Some(("Group".to_owned(), ci.id.0)),
        ..Default::default()
    })
    .await;
    assert!(typed.events.is_empty());

    // Another account's log has none of these, whatever the filter.
    let globex = w.tenant("Globex", "gina").await;
    let theirs =
        w.kw.audit_events(
            &globex.admin,
            globex.id,
            &AuditQuery {
                limit: 100,
                filter: by_action("service_account"),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(theirs.events.is_empty());
}

fn bob_id(p: &domain::Principal) -> UserId {
    match p {
        domain::Principal::User(u) => u.user_id,
        domain::Principal::ServiceAccount(_) => panic!("a user"),
    }
}

#[tokio::test]
async fn a_user_reads_their_own_token_events_and_no_one_else_does() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let (bob, _) = w.member(&acme, "bob", Role::Viewer).await;
    let mine =
        w.kw.create_personal_access_token(&acme.admin, CreatePersonalAccessToken::default(), t0())
            .await
            .unwrap();
    w.kw.revoke_personal_access_token(&acme.admin, mine.token.id, t0())
        .await
        .unwrap();
    w.kw.create_personal_access_token(&bob, CreatePersonalAccessToken::default(), t0())
        .await
        .unwrap();
    let everything = AuditQuery {
        limit: 100,
        ..Default::default()
    };
    let alice =
        w.kw.own_audit_events(&acme.admin, &everything)
            .await
            .unwrap();
    assert_eq!(
        actions(&alice),
        [
            "personal_access_token.create",
            "personal_access_token.revoke"
        ]
    );
    assert!(alice.events.iter().all(|e| e.account_id.is_none()));
    let bobs = w.kw.own_audit_events(&bob, &everything).await.unwrap();
    assert_eq!(actions(&bobs), ["personal_access_token.create"]);
    // Nor are they in the account's log.
    let account =
        w.kw.audit_events(&acme.admin, acme.id, &everything)
            .await
            .unwrap();
    assert!(
        !actions(&account)
            .iter()
            .any(|a| a.starts_with("personal_access_token."))
    );
    let (_, robot, _) = w.robot(&acme, Role::Admin).await;
    assert!(matches!(
        w.kw.own_audit_events(&robot, &everything).await,
        Err(DomainError::Unauthorized(_))
    ));
}
