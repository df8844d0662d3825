//! Invitations: an existing user joins another account only by their own action.

use chrono::Duration;
use domain::ids::{InvitationId, UserId};
use domain::{AuditQuery, CreateInvitation, DomainError, MAX_PENDING_INVITATIONS, Role};

use crate::support::{Tenant, World, t0};

fn invite(tenant: &Tenant, role: Role) -> CreateInvitation {
    CreateInvitation {
        account_id: tenant.id,
        role,
        expires_at: None,
    }
}

async fn actions(w: &World, tenant: &Tenant) -> Vec<String> {
    let query = AuditQuery {
        limit: 1000,
        ..Default::default()
    };
    w.kw.audit_events(&tenant.admin, tenant.id, &query)
        .await
        .unwrap()
        .events
        .into_iter()
        .map(|e| e.action)
        .collect()
}

#[tokio::test]
async fn an_invited_user_joins_with_their_own_token_and_both_logs_say_so() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let other = w.tenant("Other", "olga").await;
    let (vic, _) = w.member(&acme, "vic", Role::Editor).await;
    let issued =
        w.kw.create_invitation(&other.admin, invite(&other, Role::Viewer), t0())
            .await
            .unwrap();
    let secret = w.remember(&issued.secret);
    assert!(secret.starts_with("lmr_inv_"), "{secret}");
    assert_eq!(
        issued.invitation.created_by.map(|u| u.0),
        Some(other.admin.id())
    );
    assert_ne!(other.admin.id(), 1);
    assert_eq!(issued.invitation.role, Role::Viewer);
    assert_eq!(issued.invitation.created_at, t0());
    assert_eq!(
        (
            issued.invitation.accepted_at,
            issued.invitation.accepted_by,
            issued.invitation.revoked_at
        ),
        (None, None, None)
    );
    assert_eq!(issued.invitation.expires_at, t0() + Duration::days(7));
    // Until vic acts, nothing about him changes.
    assert_eq!(w.kw.accounts_of(UserId(vic.id())).await.unwrap().len(), 1);

    let member = w.kw.accept_invitation(&vic, &secret, t0()).await.unwrap();
    let used =
        w.kw.invitation(&other.admin, issued.invitation.id)
            .await
            .unwrap();
    assert_eq!(used.accepted_at, Some(t0()));
    assert_eq!(used.accepted_by.map(|u| u.0), Some(vic.id()));
    assert!(!used.is_pending(t0()));
    assert_eq!(member.user_id.0, vic.id());
    assert_eq!(member.account_id, other.id);
    assert_eq!(member.role, Role::Viewer);
    let accounts = w.kw.accounts_of(UserId(vic.id())).await.unwrap();
    assert_eq!(accounts.len(), 2);
    assert!(
        actions(&w, &other)
            .await
            .contains(&"account_member.join".to_owned())
    );
    assert!(
        actions(&w, &acme)
            .await
            .contains(&"account_member.join_elsewhere".to_owned()),
        "Acme's log records that its member's credential now acts in another account"
    );
    // It works once.
    assert!(matches!(
        w.kw.accept_invitation(&vic, &secret, t0()).await,
        Err(DomainError::NotFound("AccountInvitation"))
    ));
    let pending =
        w.kw.pending_invitations(&other.admin, other.id, t0())
            .await
            .unwrap();
    assert!(pending.is_empty());
    // A used invitation is not revoked after the fact: the member stays, and
    // removing them is how they go.
    match w
        .kw
        .revoke_invitation(&other.admin, issued.invitation.id, t0())
        .await
    {
        Err(DomainError::Invalid(m)) => assert!(m.contains("already accepted"), "{m}"),
        other => panic!("{other:?}"),
    }
    let still =
        w.kw.invitation(&other.admin, issued.invitation.id)
            .await
            .unwrap();
    assert_eq!(still.revoked_at, None);
}

#[tokio::test]
async fn a_used_revoked_expired_or_made_up_invitation_gets_one_answer() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let other = w.tenant("Other", "olga").await;
    let (vic, _) = w.member(&acme, "vic", Role::Editor).await;
    let revoked =
        w.kw.create_invitation(&other.admin, invite(&other, Role::Admin), t0())
            .await
            .unwrap();
    let revoked_secret = w.remember(&revoked.secret);
    let first =
        w.kw.revoke_invitation(&other.admin, revoked.invitation.id, t0())
            .await
            .unwrap();
    let second =
        w.kw.revoke_invitation(
            &other.admin,
            revoked.invitation.id,
            t0() + Duration::hours(1),
        )
        .await
        .unwrap();
    assert_eq!(first.revoked_at, Some(t0()));
    assert_eq!(
        second.revoked_at,
        Some(t0()),
        "revoking twice keeps the first time"
    );
    let expiring =
        w.kw.create_invitation(
            &other.admin,
            CreateInvitation {
                expires_at: Some(t0() + Duration::hours(1)),
                ..invite(&other, Role::Admin)
            },
            t0(),
        )
        .await
        .unwrap();
    let expiring_secret = w.remember(&expiring.secret);
    let at_expiry = t0() + Duration::hours(1);
    // One character changed keeps the shape but not the checksum; a valid shape
    // that was never issued is unknown.
    let mut typo = expiring_secret.clone().into_bytes();
    typo[10] = if typo[10] == b'a' { b'b' } else { b'a' };
    let typo = String::from_utf8(typo).unwrap();
    let cases = [
        (revoked_secret.as_str(), t0()),
        (expiring_secret.as_str(), at_expiry),
        (typo.as_str(), t0()),
        ("lmr_inv_", t0()),
        ("", t0()),
    ];
    for (secret, now) in cases {
        assert!(
            matches!(
                w.kw.accept_invitation(&vic, secret, now).await,
                Err(DomainError::NotFound("AccountInvitation"))
            ),
            "{secret:?}"
        );
    }
    // A millisecond before its expiry it still works.
    w.kw.accept_invitation(
        &vic,
        &expiring_secret,
        at_expiry - Duration::milliseconds(1),
    )
    .await
    .unwrap();
    assert_eq!(vic_role(&w, &vic, &other).await, Some(Role::Admin));
}

async fn vic_role(w: &World, vic: &domain::Principal, tenant: &Tenant) -> Option<Role> {
    w.kw.accounts_of(UserId(vic.id()))
        .await
        .unwrap()
        .into_iter()
        .find(|(a, _)| a.id == tenant.id)
        .map(|(_, role)| role)
}

#[tokio::test]
async fn only_a_user_who_is_not_yet_a_member_and_whose_name_is_free_can_accept() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let other = w.tenant("Other", "olga").await;
    let (vic, _) = w.member(&acme, "vic", Role::Editor).await;
    let (_, robot, _) = w.robot(&acme, Role::Admin).await;
    let secret = |w: &World, issued: domain::IssuedInvitation| w.remember(&issued.secret);
    let one = secret(
        &w,
        w.kw.create_invitation(&other.admin, invite(&other, Role::Viewer), t0())
            .await
            .unwrap(),
    );
    assert!(matches!(
        w.kw.accept_invitation(&robot, &one, t0()).await,
        Err(DomainError::Unauthorized(_))
    ));
    assert!(matches!(
        w.kw.accept_invitation(&other.admin, &one, t0()).await,
        Err(DomainError::Conflict(_))
    ));
    // Other already has a member named vic: Acme's vic cannot join under it.
    w.member(&other, "vic", Role::Viewer).await;
    match w.kw.accept_invitation(&vic, &one, t0()).await {
        Err(DomainError::Conflict(m)) => assert!(m.contains("vic"), "{m}"),
        other => panic!("{other:?}"),
    }
    // A refused acceptance used nothing up.
    assert_eq!(
        w.kw.pending_invitations(&other.admin, other.id, t0())
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn invitations_are_an_admins_and_stay_inside_their_account() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let other = w.tenant("Other", "mallory").await;
    let (editor, _) = w.member(&acme, "ed", Role::Editor).await;
    let (_, robot, _) = w.robot(&acme, Role::Admin).await;
    for caller in [&editor, &robot] {
        assert!(matches!(
            w.kw.create_invitation(caller, invite(&acme, Role::Admin), t0())
                .await,
            Err(DomainError::Unauthorized(_))
        ));
        assert!(matches!(
            w.kw.pending_invitations(caller, acme.id, t0()).await,
            Err(DomainError::Unauthorized(_))
        ));
    }
    let issued =
        w.kw.create_invitation(&acme.admin, invite(&acme, Role::Admin), t0())
            .await
            .unwrap();
    w.remember(&issued.secret);
    let id = issued.invitation.id;
    assert!(matches!(
        w.kw.create_invitation(&other.admin, invite(&acme, Role::Admin), t0())
            .await,
        Err(DomainError::NotFound(_))
    ));
    assert!(matches!(
        w.kw.pending_invitations(&other.admin, acme.id, t0()).await,
        Err(DomainError::NotFound(_))
    ));
    for probe in [id, InvitationId(id.0 + 1000)] {
        assert!(matches!(
            w.kw.invitation(&other.admin, probe).await,
            Err(DomainError::NotFound("AccountInvitation"))
        ));
        assert!(matches!(
            w.kw.revoke_invitation(&other.admin, probe, t0()).await,
            Err(DomainError::NotFound("AccountInvitation"))
        ));
    }
    assert!(
        w.kw.invitation(&acme.admin, id)
            .await
            .unwrap()
            .is_pending(t0())
    );
}

#[tokio::test]
async fn an_invitation_secret_is_not_a_credential() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let issued =
        w.kw.create_invitation(&acme.admin, invite(&acme, Role::Admin), t0())
            .await
            .unwrap();
    let secret = w.remember(&issued.secret);
    assert!(w.auth(&secret).await.is_err());
    w.robot(&acme, Role::Viewer).await;
    let dump = w.dump().await;
    assert!(!dump.contains(&secret), "only the digest is stored");
}

#[tokio::test]
async fn expiry_is_in_the_future_and_within_thirty_days() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    for (at, ok) in [
        (t0(), false),
        (t0() - Duration::days(1), false),
        (t0() + Duration::days(30), true),
        (t0() + Duration::days(30) + Duration::milliseconds(1), false),
    ] {
        let made =
            w.kw.create_invitation(
                &acme.admin,
                CreateInvitation {
                    expires_at: Some(at),
                    ..invite(&acme, Role::Viewer)
                },
                t0(),
            )
            .await;
        match made {
            Ok(issued) => {
                assert!(ok, "{at}");
                assert_eq!(issued.invitation.expires_at, at);
                w.remember(&issued.secret);
            }
            Err(DomainError::Invalid(m)) => {
                assert!(!ok, "{at}: {m}");
                assert!(m.contains("expiresAt"), "{m}");
            }
            Err(e) => panic!("{e}"),
        }
    }
}

#[tokio::test]
async fn an_account_has_at_most_a_hundred_pending_invitations() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let mut last = None;
    for _ in 0..MAX_PENDING_INVITATIONS {
        let issued =
            w.kw.create_invitation(&acme.admin, invite(&acme, Role::Viewer), t0())
                .await
                .unwrap();
        w.remember(&issued.secret);
        last = Some(issued.invitation.id);
    }
    assert!(matches!(
        w.kw.create_invitation(&acme.admin, invite(&acme, Role::Viewer), t0())
            .await,
        Err(DomainError::LimitExceeded(_))
    ));
    let listed =
        w.kw.pending_invitations(&acme.admin, acme.id, t0())
            .await
            .unwrap();
    assert_eq!(listed.len() as u64, MAX_PENDING_INVITATIONS);
    assert_eq!(listed.first().map(|i| i.id), last, "newest first");
    // Revoking one makes room.
    w.kw.revoke_invitation(&acme.admin, listed[0].id, t0())
        .await
        .unwrap();
    let issued =
        w.kw.create_invitation(&acme.admin, invite(&acme, Role::Viewer), t0())
            .await
            .unwrap();
    w.remember(&issued.secret);
}
