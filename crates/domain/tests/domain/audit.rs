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
    let log =
        w.kw.audit_events(
            &acme.admin,
            acme.id,
            &domain::AuditQuery {
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let origins: Vec<(Option<&str>, domain::Origin)> = log
        .events
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
