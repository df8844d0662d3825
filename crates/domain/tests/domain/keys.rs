//! Keys: creation rules, idempotent revocation, rotation with overlap, the limit.

use std::time::Duration;

use domain::ids::KeyId;
use domain::{AuthError, CreateKey, DomainError, KeyName, Principal, Role, RotateKey};

use crate::support::{World, create_key, minutes, t0};

fn key_id(p: &Principal) -> KeyId {
    match p {
        Principal::ServiceAccount(s) => s.key_id,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_key_keeps_its_name_expiry_and_ceiling() {
    let w = World::new().await;
    // So that the creator is not the first user.
    w.tenant("First", "zed").await;
    let acme = w.tenant("Acme", "alice").await;
    let sa = w.service_account(&acme, "ci", Role::Editor).await;
    let (issued, token) = w
        .key_with(
            &acme,
            CreateKey {
                name: Some(KeyName::parse("github-actions").unwrap()),
                expires: Some(domain::time::Expiry::At(t0() + minutes(60))),
                role_ceiling: Some(Role::Viewer),
                ..create_key(sa.id)
            },
        )
        .await;
    assert_eq!(issued.key.name.as_deref(), Some("github-actions"));
    assert_eq!(issued.key.expires_at, Some(t0() + minutes(60)));
    assert_eq!(issued.key.role_ceiling, Some(Role::Viewer));
    assert_eq!(issued.key.created_at, t0());
    assert_eq!(
        issued.key.created_by_user_id.map(|u| u.0),
        Some(acme.admin.id())
    );
    assert!(token.starts_with(&format!("lmr_sa_{}_", sa.id)));
    let listed =
        w.kw.keys(&acme.admin, sa.id, domain::Page::default())
            .await
            .unwrap();
    assert_eq!(listed, vec![issued.key]);
}

#[tokio::test]
async fn a_key_cannot_expire_in_the_past_or_now() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let sa = w.service_account(&acme, "ci", Role::Editor).await;
    for when in [t0(), t0() - minutes(1)] {
        let input = CreateKey {
            expires: Some(domain::time::Expiry::At(when)),
            ..create_key(sa.id)
        };
        match w.kw.create_key(&acme.admin, input, t0()).await {
            Err(DomainError::Invalid(m)) => assert!(m.contains("expiresAt"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
    assert!(
        w.kw.keys(&acme.admin, sa.id, domain::Page::default())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn revoking_twice_keeps_the_first_revocation_time() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let (_, p, _) = w.robot(&acme, Role::Viewer).await;
    let first =
        w.kw.revoke_key(&acme.admin, key_id(&p), t0())
            .await
            .unwrap();
    let second =
        w.kw.revoke_key(&acme.admin, key_id(&p), t0() + minutes(10))
            .await
            .unwrap();
    assert_eq!(first.revoked_at, Some(t0()));
    assert_eq!(second.revoked_at, Some(t0()));
}

#[tokio::test]
async fn the_fifty_first_active_key_is_refused_but_revoked_and_expired_ones_do_not_count() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let sa = w.service_account(&acme, "ci", Role::Viewer).await;
    let mut first = None;
    for i in 0..50 {
        let expires = (i == 0).then(|| t0() + minutes(5));
        let (issued, _) = w
            .key_with(
                &acme,
                CreateKey {
                    expires: expires.map(domain::time::Expiry::At),
                    ..create_key(sa.id)
                },
            )
            .await;
        first.get_or_insert(issued.key.id);
    }
    match w.kw.create_key(&acme.admin, create_key(sa.id), t0()).await {
        Err(DomainError::LimitExceeded(m)) => assert!(m.contains("50"), "{m}"),
        other => panic!("{other:?}"),
    }
    // Once the first key has expired, there is room again.
    assert!(
        w.kw.create_key(&acme.admin, create_key(sa.id), t0() + minutes(5))
            .await
            .is_ok()
    );
    let later = t0() + minutes(6);
    assert!(matches!(
        w.kw.create_key(&acme.admin, create_key(sa.id), later).await,
        Err(DomainError::LimitExceeded(_))
    ));
    let any_active =
        w.kw.keys(&acme.admin, sa.id, domain::Page::default())
            .await
            .unwrap()[0]
            .id;
    w.kw.revoke_key(&acme.admin, any_active, later)
        .await
        .unwrap();
    assert!(
        w.kw.create_key(&acme.admin, create_key(sa.id), later)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn rotation_with_overlap_keeps_the_old_key_working_until_the_overlap_ends() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let sa = w.service_account(&acme, "ci", Role::Editor).await;
    let (old, old_token) = w
        .key_with(
            &acme,
            CreateKey {
                name: Some(KeyName::parse("deploy").unwrap()),
                description: Some(domain::Description::parse("ships web").unwrap()),
                role_ceiling: Some(Role::Viewer),
                ..create_key(sa.id)
            },
        )
        .await;
    assert_eq!(old.key.description.as_deref(), Some("ships web"));
    let new =
        w.kw.rotate_key(
            &acme.admin,
            RotateKey {
                key_id: old.key.id,
                expires_at: Some(t0() + minutes(24 * 60)),
                overlap: Duration::from_secs(600),
            },
            t0(),
        )
        .await
        .unwrap();
    let new_token = w.remember(&new.secret);
    assert_ne!(new_token, old_token);
    assert_eq!(new.key.name.as_deref(), Some("deploy"));
    assert_eq!(new.key.role_ceiling, Some(Role::Viewer));
    assert_eq!(new.key.rotated_from, Some(old.key.id));
    assert_eq!(new.key.expires_at, Some(t0() + minutes(24 * 60)));
    // Each key keeps its own start in clear, as read back from the database.
    let listed =
        w.kw.keys(&acme.admin, sa.id, domain::Page::default())
            .await
            .unwrap();
    for (key, token) in [(&new.key, &new_token), (&old.key, &old_token)] {
        let read = listed.iter().find(|k| k.id == key.id).unwrap();
        assert_eq!(
            read.description.as_deref(),
            Some("ships web"),
            "kept, and kept by rotation"
        );
        let prefix = read.prefix.as_deref().unwrap();
        assert_eq!(prefix, &token[..prefix.len()]);
        assert_eq!(prefix.len(), format!("lmr_sa_{}_", sa.id.0).len() + 4);
    }
    let during = t0() + minutes(9);
    assert!(w.auth_at(&old_token, during).await.is_ok());
    assert!(w.auth_at(&new_token, during).await.is_ok());
    let after = t0() + minutes(10);
    assert!(matches!(
        w.auth_at(&old_token, after).await,
        Err(AuthError::Expired)
    ));
    assert!(w.auth_at(&new_token, after).await.is_ok());
}

#[tokio::test]
async fn rotation_without_overlap_revokes_the_old_key_at_once() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let (_, p, old_token) = w.robot(&acme, Role::Viewer).await;
    let rotate = RotateKey {
        key_id: key_id(&p),
        expires_at: None,
        overlap: Duration::ZERO,
    };
    let new =
        w.kw.rotate_key(&acme.admin, rotate.clone(), t0())
            .await
            .unwrap();
    assert!(matches!(w.auth(&old_token).await, Err(AuthError::Revoked)));
    assert!(w.auth(new.secret.expose()).await.is_ok());
    // The old key is no longer active, so it cannot be rotated again.
    assert!(matches!(
        w.kw.rotate_key(&acme.admin, rotate, t0()).await,
        Err(DomainError::Invalid(_))
    ));
}

#[tokio::test]
async fn rotation_overlap_is_capped_at_seven_days_and_never_extends_an_expiry() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let sa = w.service_account(&acme, "ci", Role::Viewer).await;
    let (old, old_token) = w
        .key_with(
            &acme,
            CreateKey {
                expires: Some(domain::time::Expiry::At(t0() + minutes(30))),
                ..create_key(sa.id)
            },
        )
        .await;
    let too_long = RotateKey {
        key_id: old.key.id,
        expires_at: None,
        overlap: Duration::from_secs(7 * 24 * 3600 + 1),
    };
    assert!(matches!(
        w.kw.rotate_key(&acme.admin, too_long, t0()).await,
        Err(DomainError::Invalid(_))
    ));
    let week = RotateKey {
        key_id: old.key.id,
        expires_at: None,
        overlap: Duration::from_secs(7 * 24 * 3600),
    };
    w.kw.rotate_key(&acme.admin, week, t0()).await.unwrap();
    // The old key still expires when it always would have.
    assert!(matches!(
        w.auth_at(&old_token, t0() + minutes(30)).await,
        Err(AuthError::Expired)
    ));
}

#[tokio::test]
async fn rotation_is_allowed_at_the_limit_because_it_replaces_a_key() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let sa = w.service_account(&acme, "ci", Role::Viewer).await;
    let mut last = None;
    for _ in 0..50 {
        last = Some(w.key(&acme, sa.id).await.0.key.id);
    }
    let rotate = RotateKey {
        key_id: last.unwrap(),
        expires_at: None,
        overlap: Duration::from_secs(60),
    };
    assert!(w.kw.rotate_key(&acme.admin, rotate, t0()).await.is_ok());
}

#[tokio::test]
async fn a_key_is_active_until_its_expiry_and_rotated_only_while_active() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let sa = w.service_account(&acme, "ci", Role::Editor).await;
    let expiry = t0() + minutes(5);
    let (old, _) = w
        .key_with(
            &acme,
            CreateKey {
                expires: Some(domain::time::Expiry::At(expiry)),
                ..create_key(sa.id)
            },
        )
        .await;
    assert!(
        old.key
            .is_active(expiry - chrono::Duration::milliseconds(1))
    );
    assert!(!old.key.is_active(expiry));
    let rotate = |now| {
        w.kw.rotate_key(
            &acme.admin,
            RotateKey {
                key_id: old.key.id,
                expires_at: None,
                overlap: Duration::ZERO,
            },
            now,
        )
    };
    match rotate(expiry).await {
        Err(DomainError::Invalid(m)) => assert!(m.contains("active"), "{m}"),
        other => panic!("{other:?}"),
    }
    let new = rotate(expiry - chrono::Duration::milliseconds(1))
        .await
        .unwrap();
    w.remember(&new.secret);
    assert!(
        new.key.is_active(expiry + minutes(60)),
        "no expiry: active on and on"
    );
}

#[tokio::test]
async fn an_expiry_in_days_lies_exactly_that_many_days_after_the_keys_creation() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let sa = w.service_account(&acme, "ci", Role::Editor).await;
    // A `now` with milliseconds, as the clock gives: both times are read from
    // the one change, so neither is rounded apart from the other.
    let now = t0() + chrono::Duration::milliseconds(999);
    let issued =
        w.kw.create_key(
            &acme.admin,
            CreateKey {
                expires: Some(domain::time::Expiry::InDays(30)),
                ..create_key(sa.id)
            },
            now,
        )
        .await
        .unwrap();
    assert_eq!(issued.key.created_at, now);
    assert_eq!(
        issued.key.expires_at,
        Some(now + chrono::Duration::days(30))
    );
    let stored = w.kw.key(&acme.admin, issued.key.id).await.unwrap();
    assert_eq!(stored.created_at, now);
    assert_eq!(
        stored.expires_at.map(|t| t - stored.created_at),
        Some(chrono::Duration::days(30))
    );
}

#[tokio::test]
async fn an_expiry_in_days_outside_one_to_3650_is_refused_and_issues_nothing() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let sa = w.service_account(&acme, "ci", Role::Editor).await;
    for days in [0, -1, 3651] {
        let input = CreateKey {
            expires: Some(domain::time::Expiry::InDays(days)),
            ..create_key(sa.id)
        };
        match w.kw.create_key(&acme.admin, input, t0()).await {
            Err(DomainError::Invalid(m)) => assert!(m.contains("expiresInDays"), "{m}"),
            other => panic!("{days}: {other:?}"),
        }
    }
    let longest = CreateKey {
        expires: Some(domain::time::Expiry::InDays(3650)),
        ..create_key(sa.id)
    };
    let issued = w.kw.create_key(&acme.admin, longest, t0()).await.unwrap();
    assert_eq!(
        issued.key.expires_at,
        Some(t0() + chrono::Duration::days(3650))
    );
    let listed =
        w.kw.keys(&acme.admin, sa.id, domain::Page::default())
            .await
            .unwrap();
    assert_eq!(listed.len(), 1, "only the key within the range was issued");
}

#[tokio::test]
async fn a_keys_creation_and_rotation_are_logged_with_the_key_as_it_became() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let sa = w.service_account(&acme, "ci", Role::Editor).await;
    let (issued, _) = w
        .key_with(
            &acme,
            CreateKey {
                name: Some(KeyName::parse("deploy").unwrap()),
                description: Some(domain::Description::parse("ships the web app").unwrap()),
                expires: Some(domain::time::Expiry::At(t0() + minutes(60))),
                role_ceiling: Some(Role::Viewer),
                ..create_key(sa.id)
            },
        )
        .await;
    let rotated =
        w.kw.rotate_key(
            &acme.admin,
            RotateKey {
                key_id: issued.key.id,
                expires_at: Some(t0() + minutes(90)),
                overlap: Duration::from_secs(0),
            },
            t0() + minutes(1),
        )
        .await
        .unwrap();
    let log = w.audit_log(&acme).await;
    let event = |action: &str| {
        log.iter()
            .find(|e| e.action == action)
            .unwrap_or_else(|| panic!("no {action} event"))
    };
    let expected = |id: domain::ids::KeyId, expires: chrono::DateTime<chrono::Utc>| {
        serde_json::json!({
            "id": id.0,
            "name": "deploy",
            "description": "ships the web app",
            "roleCeiling": "Viewer",
            "expiresAt": expires.timestamp_millis(),
            "allowedRanges": null,
        })
    };
    let created = event("service_account_key.create");
    assert_eq!(created.before, None);
    assert_eq!(
        created.after,
        Some(expected(issued.key.id, t0() + minutes(60)))
    );
    let rotation = event("service_account_key.rotate");
    assert_eq!(
        rotation.before,
        Some(expected(issued.key.id, t0() + minutes(60)))
    );
    assert_eq!(
        rotation.after,
        Some(expected(rotated.key.id, t0() + minutes(90)))
    );
    assert_eq!(rotation.created_at, t0() + minutes(1));
}
