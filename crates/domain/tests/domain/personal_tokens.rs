//! Personal access tokens: the limit of five and the rotation rules.

use domain::ids::TokenId;
use domain::{AuthError, CreatePersonalAccessToken, DomainError, Principal, Role};

use crate::support::{World, minutes, t0};

fn expiring(at: chrono::DateTime<chrono::Utc>) -> CreatePersonalAccessToken {
    CreatePersonalAccessToken {
        name: None,
        expires_at: Some(at),
    }
}

fn token_id(p: &Principal) -> TokenId {
    match p {
        Principal::User(u) => u.token_id,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_user_holds_at_most_five_active_tokens() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    // The bootstrap token is the first of five.
    for _ in 0..4 {
        w.kw.create_personal_access_token(&acme.admin, CreatePersonalAccessToken::default(), t0())
            .await
            .unwrap();
    }
    match w
        .kw
        .create_personal_access_token(&acme.admin, CreatePersonalAccessToken::default(), t0())
        .await
    {
        Err(DomainError::LimitExceeded(m)) => assert!(m.contains('5'), "{m}"),
        other => panic!("{other:?}"),
    }
    w.kw.revoke_personal_access_token(&acme.admin, token_id(&acme.admin), t0())
        .await
        .unwrap();
    assert!(
        w.kw.create_personal_access_token(&acme.admin, CreatePersonalAccessToken::default(), t0())
            .await
            .is_ok()
    );
    assert_eq!(
        w.kw.personal_access_tokens(&acme.admin)
            .await
            .unwrap()
            .len(),
        6
    );
}

#[tokio::test]
async fn rotation_replaces_the_secret_at_once_and_sets_the_new_expiry() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let made =
        w.kw.create_personal_access_token(&acme.admin, expiring(t0() + minutes(60 * 24)), t0())
            .await
            .unwrap();
    let old = w.remember(&made.secret);
    let rotated = w
        .kw
        .rotate_personal_access_token(&acme.admin, made.token.id, t0() + minutes(60 * 48), t0())
        .await
        .unwrap();
    let new = w.remember(&rotated.secret);
    assert_eq!(rotated.token.id, made.token.id);
    assert_eq!(rotated.token.rotated_at, Some(t0()));
    assert_eq!(rotated.token.expires_at, Some(t0() + minutes(60 * 48)));
    assert!(matches!(w.auth(&old).await, Err(AuthError::Unknown)));
    assert_eq!(w.auth(&new).await.unwrap().name(), "alice");
}

#[tokio::test]
async fn rotation_follows_the_rules_on_expiry_and_frequency() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    // The bootstrap token never expires, so it cannot be rotated.
    match w
        .kw
        .rotate_personal_access_token(&acme.admin, token_id(&acme.admin), t0() + minutes(60), t0())
        .await
    {
        Err(DomainError::Invalid(m)) => assert!(m.contains("without an expiry"), "{m}"),
        other => panic!("{other:?}"),
    }
    let made =
        w.kw.create_personal_access_token(&acme.admin, expiring(t0() + minutes(600)), t0())
            .await
            .unwrap();
    let id = made.token.id;
    // The new expiry must lie in the future.
    assert!(matches!(
        w.kw.rotate_personal_access_token(&acme.admin, id, t0(), t0())
            .await,
        Err(DomainError::Invalid(_))
    ));
    let far = t0() + minutes(6000);
    w.kw.rotate_personal_access_token(&acme.admin, id, far, t0())
        .await
        .unwrap();
    // Once an hour at most.
    assert!(matches!(
        w.kw.rotate_personal_access_token(&acme.admin, id, far, t0() + minutes(59))
            .await,
        Err(DomainError::LimitExceeded(_))
    ));
    w.kw.rotate_personal_access_token(&acme.admin, id, far, t0() + minutes(60))
        .await
        .unwrap();
    // A revoked token is not rotated.
    w.kw.revoke_personal_access_token(&acme.admin, id, t0() + minutes(61))
        .await
        .unwrap();
    assert!(matches!(
        w.kw.rotate_personal_access_token(&acme.admin, id, far, t0() + minutes(200))
            .await,
        Err(DomainError::Invalid(_))
    ));
}

#[tokio::test]
async fn tokens_are_their_owners_alone_and_service_accounts_have_none() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let (bob, _) = w.member(&acme, "bob", Role::Admin).await;
    let (_, robot, _) = w.robot(&acme, Role::Admin).await;
    let alices = token_id(&acme.admin);
    assert!(matches!(
        w.kw.revoke_personal_access_token(&bob, alices, t0()).await,
        Err(DomainError::NotFound("PersonalAccessToken"))
    ));
    assert!(matches!(
        w.kw.rotate_personal_access_token(&bob, alices, t0() + minutes(90), t0())
            .await,
        Err(DomainError::NotFound("PersonalAccessToken"))
    ));
    assert!(matches!(
        w.kw.create_personal_access_token(&robot, CreatePersonalAccessToken::default(), t0())
            .await,
        Err(DomainError::Unauthorized(_))
    ));
    assert!(matches!(
        w.kw.personal_access_tokens(&robot).await,
        Err(DomainError::Unauthorized(_))
    ));
    // Asked for one token, a service account finds none: it has none.
    assert!(matches!(
        w.kw.personal_access_token(&robot, alices).await,
        Err(DomainError::NotFound("PersonalAccessToken"))
    ));
    assert_eq!(
        w.kw.personal_access_token(&acme.admin, alices)
            .await
            .map(|t| t.id)
            .ok(),
        Some(alices)
    );
    let bobs = w.kw.personal_access_tokens(&bob).await.unwrap();
    assert_eq!(bobs.len(), 1);
    assert!(bobs.iter().all(|t| t.user_id.0 == bob.id()));
}

#[tokio::test]
async fn a_token_is_rotated_until_its_expiry_and_not_from_it() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let expiry = t0() + minutes(5);
    let far = t0() + minutes(6000);
    let one =
        w.kw.create_personal_access_token(&acme.admin, expiring(expiry), t0())
            .await
            .unwrap();
    w.remember(&one.secret);
    assert!(
        one.token
            .is_active(expiry - chrono::Duration::milliseconds(1))
    );
    assert!(!one.token.is_active(expiry));
    match w
        .kw
        .rotate_personal_access_token(&acme.admin, one.token.id, far, expiry)
        .await
    {
        Err(DomainError::Invalid(m)) => assert!(m.contains("expired"), "{m}"),
        other => panic!("{other:?}"),
    }
    let rotated =
        w.kw.rotate_personal_access_token(
            &acme.admin,
            one.token.id,
            far,
            expiry - chrono::Duration::milliseconds(1),
        )
        .await
        .unwrap();
    w.remember(&rotated.secret);
    assert_eq!(rotated.token.expires_at, Some(far));
    let revoked =
        w.kw.revoke_personal_access_token(&acme.admin, one.token.id, t0() + minutes(2))
            .await
            .unwrap();
    assert!(!revoked.is_active(t0() + minutes(2)));
    assert!(!revoked.is_active(t0()), "revoked is never active");
}

#[tokio::test]
async fn a_token_keeps_its_name_and_starts_unused() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let made =
        w.kw.create_personal_access_token(
            &acme.admin,
            CreatePersonalAccessToken {
                name: Some(domain::KeyName::parse("laptop").unwrap()),
                expires_at: None,
            },
            t0(),
        )
        .await
        .unwrap();
    w.remember(&made.secret);
    let listed = w.kw.personal_access_tokens(&acme.admin).await.unwrap();
    let token = listed.iter().find(|t| t.id == made.token.id).unwrap();
    assert_eq!(token.name.as_deref(), Some("laptop"));
    assert_eq!(
        (token.last_used_at, token.revoked_at, token.rotated_at),
        (None, None, None)
    );
    assert_eq!(token, &made.token);
}
