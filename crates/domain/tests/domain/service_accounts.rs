//! Service accounts: who may manage and read them, partial updates, deletion and
//! attribution.

use domain::ids::{AccountId, ServiceAccountId};
use domain::{
    CreateServiceAccount, Description, DomainError, Role, ServiceAccountName, UpdateServiceAccount,
};

use crate::support::{World, create_key, minutes, t0};

fn create(account: AccountId, name: &str) -> CreateServiceAccount {
    CreateServiceAccount {
        account_id: account,
        name: ServiceAccountName::parse(name).unwrap(),
        description: Some(Description::parse("runs the nightly build").unwrap()),
        role: Role::Editor,
        groups: vec![],
        allowed_ranges: None,
    }
}

#[tokio::test]
async fn an_admin_creates_reads_and_lists_service_accounts() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let sa =
        w.kw.create_service_account(&acme.admin, create(acme.id, "ci"), t0())
            .await
            .unwrap();
    assert_eq!(sa.name, "ci");
    assert_eq!(sa.description.as_deref(), Some("runs the nightly build"));
    assert_eq!(sa.role, Role::Editor);
    assert!(sa.enabled);
    assert_eq!(sa.account_id, acme.id);
    assert_eq!((sa.created_at, sa.updated_at), (t0(), t0()));
    assert_eq!(w.kw.service_account(&acme.admin, sa.id).await.unwrap(), sa);
    assert_eq!(
        w.kw.service_accounts(&acme.admin, acme.id, domain::Page::default(), None)
            .await
            .unwrap(),
        vec![sa]
    );
}

#[tokio::test]
async fn editors_viewers_and_service_accounts_may_not_manage_or_read_service_accounts() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let (editor, _) = w.member(&acme, "ed", Role::Editor).await;
    let (viewer, _) = w.member(&acme, "vi", Role::Viewer).await;
    let (sa, robot, _) = w.robot(&acme, Role::Admin).await;
    for caller in [&editor, &viewer, &robot] {
        let unauthorized = |r: Result<_, DomainError>| {
            assert!(
                matches!(r, Err(DomainError::Unauthorized(_))),
                "{caller:?}: {r:?}"
            )
        };
        unauthorized(
            w.kw.create_service_account(caller, create(acme.id, "x"), t0())
                .await
                .map(|_| ()),
        );
        unauthorized(w.kw.service_account(caller, sa.id).await.map(|_| ()));
        unauthorized(
            w.kw.service_accounts(caller, acme.id, domain::Page::default(), None)
                .await
                .map(|_| ()),
        );
        unauthorized(
            w.kw.update_service_account(caller, sa.id, UpdateServiceAccount::default(), t0())
                .await
                .map(|_| ()),
        );
        unauthorized(
            w.kw.delete_service_account(caller, sa.id, t0())
                .await
                .map(|_| ()),
        );
        unauthorized(
            w.kw.create_key(caller, create_key(sa.id), t0())
                .await
                .map(|_| ()),
        );
        unauthorized(
            w.kw.keys(caller, sa.id, domain::Page::default())
                .await
                .map(|_| ()),
        );
    }
    // Each may still read the account itself.
    for caller in [&editor, &viewer, &robot] {
        assert_eq!(w.kw.account(caller, acme.id).await.unwrap().name, "Acme");
    }
}

#[tokio::test]
async fn another_accounts_service_account_is_not_found_whether_it_exists_or_not() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let globex = w.tenant("Globex", "gina").await;
    let (theirs, their_robot, _) = w.robot(&globex, Role::Admin).await;
    let missing = ServiceAccountId(theirs.id.0 + 1000);
    for id in [theirs.id, missing] {
        let not_found = |r: Result<(), DomainError>| {
            assert!(
                matches!(r, Err(DomainError::NotFound("ServiceAccount"))),
                "{id}: {r:?}"
            )
        };
        not_found(w.kw.service_account(&acme.admin, id).await.map(|_| ()));
        not_found(
            w.kw.update_service_account(&acme.admin, id, UpdateServiceAccount::default(), t0())
                .await
                .map(|_| ()),
        );
        not_found(
            w.kw.delete_service_account(&acme.admin, id, t0())
                .await
                .map(|_| ()),
        );
        not_found(
            w.kw.create_key(&acme.admin, create_key(id), t0())
                .await
                .map(|_| ()),
        );
        not_found(
            w.kw.keys(&acme.admin, id, domain::Page::default())
                .await
                .map(|_| ()),
        );
    }
    // Another account itself is not found either, for users and service accounts.
    assert!(matches!(
        w.kw.account(&acme.admin, globex.id).await,
        Err(DomainError::NotFound("Account"))
    ));
    assert!(matches!(
        w.kw.account(&their_robot, acme.id).await,
        Err(DomainError::NotFound("Account"))
    ));
    assert!(matches!(
        w.kw.create_service_account(&acme.admin, create(globex.id, "x"), t0())
            .await,
        Err(DomainError::NotFound("Account"))
    ));
    assert!(
        w.kw.service_accounts(&globex.admin, globex.id, domain::Page::default(), None)
            .await
            .unwrap()
            .len()
            == 1
    );
}

#[tokio::test]
async fn an_update_changes_only_the_fields_it_names_and_null_clears_the_description() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let sa =
        w.kw.create_service_account(&acme.admin, create(acme.id, "ci"), t0())
            .await
            .unwrap();
    let later = t0() + minutes(1);
    let renamed =
        w.kw.update_service_account(
            &acme.admin,
            sa.id,
            UpdateServiceAccount {
                name: Some(ServiceAccountName::parse("ci-prod").unwrap()),
                ..Default::default()
            },
            later,
        )
        .await
        .unwrap();
    assert_eq!(renamed.name, "ci-prod");
    assert_eq!(renamed.description, sa.description);
    assert_eq!(renamed.role, sa.role);
    assert!(renamed.enabled);
    assert_eq!(renamed.updated_at, later);
    assert_eq!(renamed.created_at, t0());

    let cleared =
        w.kw.update_service_account(
            &acme.admin,
            sa.id,
            UpdateServiceAccount {
                description: Some(None),
                role: Some(Role::Viewer),
                ..Default::default()
            },
            later,
        )
        .await
        .unwrap();
    assert_eq!(cleared.description, None);
    assert_eq!(cleared.role, Role::Viewer);
    assert_eq!(cleared.name, "ci-prod");
}

#[tokio::test]
async fn deleting_a_service_account_is_permanent() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let (sa, _, _) = w.robot(&acme, Role::Viewer).await;
    let deleted =
        w.kw.delete_service_account(&acme.admin, sa.id, t0())
            .await
            .unwrap();
    assert_eq!(deleted.id, sa.id);
    assert!(matches!(
        w.kw.service_account(&acme.admin, sa.id).await,
        Err(DomainError::NotFound(_))
    ));
    assert!(matches!(
        w.kw.delete_service_account(&acme.admin, sa.id, t0()).await,
        Err(DomainError::NotFound(_))
    ));
}

#[tokio::test]
async fn a_service_account_is_attributed_to_its_creator_then_to_the_oldest_admin() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let (bob, _) = w
        .member_at(&acme, "bob", Role::Admin, t0() + minutes(1))
        .await;
    let (carol, _) = w
        .member_at(&acme, "carol", Role::Admin, t0() + minutes(2))
        .await;
    let sa =
        w.kw.create_service_account(&carol, create(acme.id, "ci"), t0())
            .await
            .unwrap();
    let who = |w: &World| {
        let kw = w.kw.clone();
        let admin = acme.admin.clone();
        async move {
            kw.attributed_user(&admin, sa.id)
                .await
                .unwrap()
                .map(|u| u.0)
        }
    };
    assert_eq!(who(&w).await, Some(carol.id()));
    // Twice in a row, the same answer.
    assert_eq!(who(&w).await, Some(carol.id()));
    w.kw.remove_member(&acme.admin, acme.id, domain::ids::UserId(carol.id()), t0())
        .await
        .unwrap();
    // The creator is gone: the oldest Admin by membership is alice.
    assert_eq!(who(&w).await, Some(acme.admin.id()));
    assert_eq!(who(&w).await, Some(acme.admin.id()));
    w.kw.update_member(
        &bob,
        acme.id,
        domain::ids::UserId(acme.admin.id()),
        Role::Viewer,
        t0(),
    )
    .await
    .unwrap();
    // alice is no longer an Admin: bob, the next oldest, takes over.
    assert_eq!(who(&w).await, Some(bob.id()));
}

#[tokio::test]
async fn the_attribution_tie_between_admins_who_joined_together_goes_to_the_lowest_user_id() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let (bob, _) = w.member_at(&acme, "bob", Role::Admin, t0()).await;
    let (_carol, _) = w.member_at(&acme, "carol", Role::Admin, t0()).await;
    let sa =
        w.kw.create_service_account(&acme.admin, create(acme.id, "ci"), t0())
            .await
            .unwrap();
    let alice = domain::ids::UserId(acme.admin.id());
    w.kw.remove_member(&bob, acme.id, alice, t0())
        .await
        .unwrap();
    // alice, bob and carol all joined at t0; with alice gone, bob has the lower id.
    let attributed = w.kw.attributed_user(&bob, sa.id).await.unwrap();
    assert_eq!(attributed.map(|u| u.0), Some(bob.id()));
}

#[tokio::test]
async fn service_account_names_and_descriptions_are_checked() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    assert!(ServiceAccountName::parse(&"n".repeat(255)).is_ok());
    assert!(ServiceAccountName::parse(&"n".repeat(256)).is_err());
    assert!(ServiceAccountName::parse("").is_err());
    let long = CreateServiceAccount {
        name: ServiceAccountName::parse(&"n".repeat(255)).unwrap(),
        ..create(acme.id, "x")
    };
    assert!(
        w.kw.create_service_account(&acme.admin, long, t0())
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_search_finds_names_containing_it_whatever_the_case_and_nothing_of_another_account() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let globex = w.tenant("Globex", "gina").await;
    for name in ["CI-runner", "nightly_report", "deploy 100%", "runner2"] {
        w.kw.create_service_account(&acme.admin, create(acme.id, name), t0())
            .await
            .unwrap();
    }
    w.kw.create_service_account(&globex.admin, create(globex.id, "runner-of-globex"), t0())
        .await
        .unwrap();
    let found = |search: &'static str| {
        let w = &w;
        let acme = &acme;
        async move {
            w.kw.service_accounts(&acme.admin, acme.id, domain::Page::default(), Some(search))
                .await
                .unwrap()
                .into_iter()
                .map(|sa| sa.name)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(found("RUNNER").await, ["CI-runner", "runner2"]);
    assert_eq!(found("  ci-R ").await, ["CI-runner"], "trimmed, any case");
    // The wildcards of LIKE are plain characters here.
    assert_eq!(found("_").await, ["nightly_report"]);
    assert_eq!(found("%").await, ["deploy 100%"]);
    assert_eq!(found("y_r").await, ["nightly_report"]);
    assert!(found("t_r").await.is_empty(), "_ is not any character");
    assert_eq!(found("").await.len(), 4, "an empty search is no search");
    // Paging goes on within the search.
    let first =
        w.kw.service_accounts(
            &acme.admin,
            acme.id,
            domain::Page {
                limit: 1,
                after: None,
            },
            Some("runner"),
        )
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    let next =
        w.kw.service_accounts(
            &acme.admin,
            acme.id,
            domain::Page {
                limit: 10,
                after: Some(first[0].id.0),
            },
            Some("runner"),
        )
        .await
        .unwrap();
    assert_eq!(
        next.into_iter().map(|sa| sa.name).collect::<Vec<_>>(),
        ["runner2"]
    );
}

#[tokio::test]
async fn key_usage_counts_working_keys_and_the_last_use_of_any() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let sa = w.service_account(&acme, "ci", Role::Editor).await;
    let idle = w.service_account(&acme, "idle", Role::Viewer).await;
    let usage_at = |at| {
        let w = &w;
        let acme = &acme;
        let both = [sa.clone(), idle.clone()];
        async move { w.kw.key_usages(&acme.admin, &both, at).await.unwrap() }
    };
    let usage = usage_at(t0()).await;
    assert_eq!(
        (usage[&sa.id].active, usage[&sa.id].last_used_at),
        (0, None)
    );

    let (_, used_token) = w.key(&acme, sa.id).await;
    let (revoked, _) = w.key(&acme, sa.id).await;
    w.kw.create_key(
        &acme.admin,
        domain::CreateKey {
            expires: Some(domain::time::Expiry::At(t0() + minutes(10))),
            ..create_key(sa.id)
        },
        t0(),
    )
    .await
    .unwrap();
    w.kw.revoke_key(&acme.admin, revoked.key.id, t0())
        .await
        .unwrap();
    w.auth_at(&used_token, t0() + minutes(1)).await.unwrap();
    w.kw.flush_usage().await.unwrap();
    let usage = usage_at(t0() + minutes(2)).await;
    assert_eq!(usage[&sa.id].active, 2, "the revoked key does not count");
    assert_eq!(usage[&sa.id].last_used_at, Some(t0() + minutes(1)));
    // One without keys is there too, with none.
    assert_eq!(
        (usage[&idle.id].active, usage[&idle.id].last_used_at),
        (0, None)
    );
    let later = usage_at(t0() + minutes(11)).await;
    assert_eq!(later[&sa.id].active, 1, "nor does the expired one");
    assert!(
        w.kw.key_usages(&acme.admin, &[], t0())
            .await
            .unwrap()
            .is_empty()
    );

    // Only an Admin of their account may ask; one foreign service account
    // among others refuses the whole question.
    let globex = w.tenant("Globex", "gina").await;
    let theirs = w.service_account(&globex, "theirs", Role::Viewer).await;
    assert!(matches!(
        w.kw.key_usages(&globex.admin, std::slice::from_ref(&sa), t0())
            .await,
        Err(DomainError::NotFound(_))
    ));
    assert!(matches!(
        w.kw.key_usages(&globex.admin, &[theirs.clone(), sa.clone()], t0())
            .await,
        Err(DomainError::NotFound(_))
    ));
    assert!(
        w.kw.key_usages(&globex.admin, &[theirs], t0())
            .await
            .is_ok()
    );
    let (viewer, _) = w.member(&acme, "vic", Role::Viewer).await;
    assert!(matches!(
        w.kw.key_usages(&viewer, std::slice::from_ref(&sa), t0())
            .await,
        Err(DomainError::Unauthorized(_))
    ));
}
