//! Members and accounts: the last-Admin rule, initial tokens, bootstrap.

use domain::ids::UserId;
use domain::token::issue_personal_access_token;
use domain::{
    AccountName, AddMember, DomainError, Email, FirstStart, Role, Secret, TokenError, Username,
};
use sea_orm::{EntityTrait, PaginatorTrait};

use crate::support::{World, t0};

fn add(tenant: &crate::support::Tenant, username: &str, role: Role) -> AddMember {
    AddMember {
        account_id: tenant.id,
        username: Username::parse(username).unwrap(),
        email: Some(Email::parse(&format!("{username}@example.com")).unwrap()),
        role,
    }
}

async fn row_counts(w: &World) -> (u64, u64, u64) {
    let db = w.kw.db();
    (
        entity::user::Entity::find().count(db).await.unwrap(),
        entity::membership::Entity::find().count(db).await.unwrap(),
        entity::personal_access_token::Entity::find()
            .count(db)
            .await
            .unwrap(),
    )
}

#[tokio::test]
async fn adding_a_new_user_returns_their_first_token_once() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let added =
        w.kw.add_member(&acme.admin, add(&acme, "bob", Role::Editor), true, t0())
            .await
            .unwrap();
    assert_eq!(added.member.username, "bob");
    assert_eq!(added.member.email.as_deref(), Some("bob@example.com"));
    assert_eq!(added.member.role, Role::Editor);
    let token = added.initial_token;
    let bob = w.auth(token.secret.expose()).await.unwrap();
    assert_eq!(bob.role_in(acme.id), Some(Role::Editor));
}

#[tokio::test]
async fn adding_a_new_user_without_taking_the_token_writes_nothing() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let before = (row_counts(&w).await, w.audit_count().await);
    match w
        .kw
        .add_member(&acme.admin, add(&acme, "bob", Role::Editor), false, t0())
        .await
    {
        Err(DomainError::Invalid(m)) => assert!(m.contains("initialToken"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert_eq!((row_counts(&w).await, w.audit_count().await), before);
}

#[tokio::test]
async fn a_username_is_unique_within_an_account_only() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let globex = w.tenant("Globex", "gina").await;
    w.member(&acme, "bob", Role::Viewer).await;
    match w
        .kw
        .add_member(&acme.admin, add(&acme, "bob", Role::Editor), true, t0())
        .await
    {
        Err(DomainError::Conflict(m)) => assert!(m.contains("bob"), "{m}"),
        other => panic!("{other:?}"),
    }
    // In another account the same name is a user of its own.
    let other =
        w.kw.add_member(&globex.admin, add(&globex, "bob", Role::Editor), true, t0())
            .await
            .unwrap();
    assert_eq!(other.member.username, "bob");
    let acme_bob =
        w.kw.members(&acme.admin, acme.id, domain::Page::default())
            .await
            .unwrap()
            .into_iter()
            .find(|m| m.username == "bob")
            .unwrap();
    assert_ne!(other.member.user_id, acme_bob.user_id);
}

#[tokio::test]
async fn another_accounts_admin_adding_a_taken_username_claims_nobody_and_learns_nothing() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let other = w.tenant("Other", "mallory").await;
    let (vic, vic_token) = w.member(&acme, "vic", Role::Editor).await;
    let acme_events =
        w.kw.audit_events(&acme.admin, acme.id, &everything())
            .await
            .unwrap()
            .total;

    // The same request for a name that exists in Acme and for one that exists
    // nowhere: both make a new user of Other, with nothing of Acme's in the answer.
    let mut answers = Vec::new();
    for name in ["vic", "nobody"] {
        let added =
            w.kw.add_member(&other.admin, add(&other, name, Role::Viewer), true, t0())
                .await
                .unwrap();
        assert_eq!(added.member.username, name);
        assert_eq!(
            added.member.email.as_deref(),
            Some(format!("{name}@example.com").as_str())
        );
        assert_eq!(added.member.account_id, other.id);
        answers.push(added);
    }
    assert_ne!(
        answers[0].member.user_id.0,
        vic.id(),
        "Acme's vic was not claimed"
    );

    // Acme's vic is exactly as before: one account, the same role, the same log.
    let again = w.auth(&vic_token).await.unwrap();
    assert_eq!(again.role_in(acme.id), Some(Role::Editor));
    assert_eq!(again.role_in(other.id), None);
    assert_eq!(w.kw.accounts_of(UserId(vic.id())).await.unwrap().len(), 1);
    assert_eq!(
        w.kw.audit_events(&acme.admin, acme.id, &everything())
            .await
            .unwrap()
            .total,
        acme_events
    );
    // And Other's Admin still cannot read him.
    assert!(matches!(
        w.kw.user(&other.admin, UserId(vic.id())).await,
        Err(DomainError::NotFound(_))
    ));
}

fn everything() -> domain::AuditQuery {
    domain::AuditQuery {
        limit: 1000,
        ..Default::default()
    }
}

#[tokio::test]
async fn the_last_admin_can_be_neither_demoted_nor_removed() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let alice = UserId(acme.admin.id());
    assert!(matches!(
        w.kw.update_member(&acme.admin, acme.id, alice, Role::Editor, t0())
            .await,
        Err(DomainError::Conflict(_))
    ));
    assert!(matches!(
        w.kw.remove_member(&acme.admin, acme.id, alice, t0()).await,
        Err(DomainError::Conflict(_))
    ));
    // With a second Admin, either may go.
    let (bob, _) = w.member(&acme, "bob", Role::Admin).await;
    w.kw.update_member(&acme.admin, acme.id, alice, Role::Viewer, t0())
        .await
        .unwrap();
    assert!(matches!(
        w.kw.remove_member(&bob, acme.id, UserId(bob.id()), t0())
            .await,
        Err(DomainError::Conflict(_))
    ));
    let members =
        w.kw.members(&bob, acme.id, domain::Page::default())
            .await
            .unwrap();
    let roles: Vec<_> = members
        .iter()
        .map(|m| (m.username.as_str(), m.role))
        .collect();
    assert_eq!(roles, vec![("alice", Role::Viewer), ("bob", Role::Admin)]);
}

#[tokio::test]
async fn only_admins_manage_members_and_outsiders_see_nothing() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let globex = w.tenant("Globex", "gina").await;
    let (editor, _) = w.member(&acme, "ed", Role::Editor).await;
    let (_, robot, _) = w.robot(&acme, Role::Admin).await;
    for caller in [&editor, &robot] {
        assert!(matches!(
            w.kw.members(caller, acme.id, domain::Page::default()).await,
            Err(DomainError::Unauthorized(_))
        ));
        assert!(matches!(
            w.kw.add_member(caller, add(&acme, "zed", Role::Viewer), true, t0())
                .await,
            Err(DomainError::Unauthorized(_))
        ));
    }
    assert!(matches!(
        w.kw.members(&globex.admin, acme.id, domain::Page::default())
            .await,
        Err(DomainError::NotFound("Account"))
    ));
    assert!(matches!(
        w.kw.update_member(
            &globex.admin,
            acme.id,
            UserId(editor.id()),
            Role::Admin,
            t0()
        )
        .await,
        Err(DomainError::NotFound("Account"))
    ));
    assert!(matches!(
        w.kw.remove_member(&acme.admin, acme.id, UserId(globex.admin.id()), t0())
            .await,
        Err(DomainError::NotFound("User"))
    ));
}

#[tokio::test]
async fn bootstrap_refuses_a_duplicate_account_name_and_always_makes_a_new_admin() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let again =
        w.kw.bootstrap(
            AccountName::parse("Acme").unwrap(),
            Username::parse("zoe").unwrap(),
            None,
            t0(),
        )
        .await;
    assert!(matches!(again, Err(DomainError::Conflict(_))));
    assert_eq!(
        row_counts(&w).await.0,
        1,
        "the failed bootstrap left no user behind"
    );
    // A name in use elsewhere names a new user: bootstrap joins nobody to an
    // account without their own action.
    let second = w.tenant("Second", "alice").await;
    assert_ne!(second.admin.id(), acme.admin.id());
    assert_eq!(acme.admin.role_in(second.id), None);
    let alice = w.kw.accounts_of(UserId(acme.admin.id())).await.unwrap();
    assert_eq!(alice.len(), 1);
}

fn first_start(token: Option<Secret>) -> FirstStart {
    FirstStart {
        account: AccountName::parse("Default").unwrap(),
        admin: Username::parse("admin").unwrap(),
        token,
    }
}

#[tokio::test]
async fn the_first_start_bootstrap_runs_once_on_an_empty_database() {
    let w = World::new().await;
    let made =
        w.kw.bootstrap_if_empty(first_start(None), t0())
            .await
            .unwrap()
            .expect("empty database");
    assert_eq!(made.account.name, "Default");
    let admin = w.auth(made.token.expose()).await.unwrap();
    assert_eq!(admin.name(), "admin");
    assert_eq!(admin.role_in(made.account.id), Some(Role::Admin));
    assert!(
        w.kw.bootstrap_if_empty(first_start(None), t0())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn the_first_start_installs_the_operators_token_once() {
    let w = World::new().await;
    let given = issue_personal_access_token();
    let first = FirstStart {
        account: AccountName::parse("Platform").unwrap(),
        admin: Username::parse("ops").unwrap(),
        token: Some(Secret::given_personal_access_token(given.expose()).unwrap()),
    };
    let made =
        w.kw.bootstrap_if_empty(first.clone(), t0())
            .await
            .unwrap()
            .expect("empty database");
    assert_eq!(made.account.name, "Platform");
    assert_eq!(made.token, given, "the given token, not a new one");
    let admin = w.auth(given.expose()).await.unwrap();
    assert_eq!(admin.name(), "ops");
    assert_eq!(admin.role_in(made.account.id), Some(Role::Admin));
    // A later start with the same settings leaves everything alone.
    assert!(
        w.kw.bootstrap_if_empty(first, t0())
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(row_counts(&w).await.0, 1);
}

#[tokio::test]
async fn a_given_token_must_be_a_well_formed_personal_access_token() {
    for bad in [
        "",
        "lmr_pat_short",
        "hello",
        "lmr_sa_1_0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZab",
    ] {
        assert!(Secret::given_personal_access_token(bad).is_err(), "{bad}");
    }
    let key = domain::token::issue_service_account_key(domain::ids::ServiceAccountId(7));
    assert_eq!(
        Secret::given_personal_access_token(key.expose()),
        Err(TokenError::Prefix)
    );
}

#[tokio::test]
async fn recovering_an_admin_revokes_their_tokens_and_gives_one_new() {
    let w = World::new().await;
    let made =
        w.kw.bootstrap(
            AccountName::parse("Acme").unwrap(),
            Username::parse("alice").unwrap(),
            None,
            t0(),
        )
        .await
        .unwrap();
    let lost = made.token.expose().to_owned();
    let alice = w.auth(&lost).await.unwrap();
    let acme = crate::support::Tenant {
        id: made.account.id,
        admin: alice,
    };
    let (_, editor_token) = w.member(&acme, "ed", Role::Editor).await;
    // Another account's Admin of the same name is not touched.
    let other =
        w.kw.bootstrap(
            AccountName::parse("Other").unwrap(),
            Username::parse("alice").unwrap(),
            None,
            t0(),
        )
        .await
        .unwrap();

    let recovered =
        w.kw.recover_admin(
            AccountName::parse("Acme").unwrap(),
            Username::parse("alice").unwrap(),
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(recovered.revoked, 1);
    assert_eq!(recovered.account.id, acme.id);
    assert!(matches!(
        w.auth(&lost).await,
        Err(domain::AuthError::Revoked)
    ));
    let back = w.auth(recovered.token.expose()).await.unwrap();
    assert_eq!(back.role_in(acme.id), Some(Role::Admin));
    assert!(w.auth(other.token.expose()).await.is_ok());
    assert!(w.auth(&editor_token).await.is_ok());
    let log =
        w.kw.audit_events(&back, acme.id, &everything())
            .await
            .unwrap();
    let last = log.events.last().unwrap();
    assert_eq!(last.action, "personal_access_token.recover");
    assert_eq!(last.actor_kind, domain::ActorKind::System);
    assert_eq!(last.target_name.as_deref(), Some("alice"));

    // Only an Admin's access is recovered, and only in an account that exists.
    let not_admin =
        w.kw.recover_admin(
            AccountName::parse("Acme").unwrap(),
            Username::parse("ed").unwrap(),
            t0(),
        )
        .await;
    assert!(matches!(not_admin, Err(DomainError::Conflict(ref m)) if m.contains("not an Admin")));
    assert!(
        w.auth(&editor_token).await.is_ok(),
        "and nothing was revoked"
    );
    for (account, user, missing) in [("Nowhere", "alice", "Account"), ("Acme", "zoe", "User")] {
        let outcome =
            w.kw.recover_admin(
                AccountName::parse(account).unwrap(),
                Username::parse(user).unwrap(),
                t0(),
            )
            .await;
        assert!(
            matches!(outcome, Err(DomainError::NotFound(kind)) if kind == missing),
            "{account} {user}"
        );
    }
}
