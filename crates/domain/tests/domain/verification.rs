//! Verification: every condition under which a credential is refused.

use domain::ids::ServiceAccountId;
use domain::token::{issue_personal_access_token, issue_service_account_key};
use domain::{AuthError, CreateKey, Keyring, Principal, Role, TokenError, UpdateServiceAccount};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};

use crate::support::{World, minutes, pepper, t0};

#[tokio::test]
async fn a_new_key_authenticates_as_its_service_account() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let (sa, principal, _) = w.robot(&acme, Role::Editor).await;
    match principal {
        Principal::ServiceAccount(p) => {
            assert_eq!(p.service_account_id, sa.id);
            assert_eq!(p.account_id, acme.id);
            assert_eq!(p.role, Role::Editor);
            assert_eq!(p.name, "robot");
        }
        other => panic!("expected a service account, got {other:?}"),
    }
}

#[tokio::test]
async fn a_personal_access_token_authenticates_as_its_user_with_memberships() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let globex = w.tenant("Globex", "gina").await;
    let invitation =
        w.kw.create_invitation(
            &globex.admin,
            domain::CreateInvitation {
                account_id: globex.id,
                role: Role::Viewer,
                expires_at: None,
            },
            t0(),
        )
        .await
        .unwrap();
    let secret = w.remember(&invitation.secret);
    w.kw.accept_invitation(&acme.admin, &secret, t0())
        .await
        .unwrap();
    let token = w.issued.lock().unwrap()[0].clone();
    let Principal::User(alice) = w.auth(&token).await.unwrap() else {
        panic!("bootstrap token is a user's");
    };
    assert_eq!(alice.username, "alice");
    let accounts: Vec<_> = alice
        .memberships
        .iter()
        .map(|m| (m.account_id, m.role))
        .collect();
    assert_eq!(
        accounts,
        vec![(acme.id, Role::Admin), (globex.id, Role::Viewer)]
    );
}

#[tokio::test]
async fn malformed_tokens_are_refused_before_any_database_read() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let (_, good) = w
        .key(&acme, w.service_account(&acme, "ci", Role::Viewer).await.id)
        .await;
    // Take the tables away: any lookup would now fail with a database error.
    for table in [
        "service_account_keys",
        "personal_access_tokens",
        "memberships",
    ] {
        w.kw.db()
            .execute_unprepared(&format!("DROP TABLE {table}"))
            .await
            .unwrap();
    }
    let secret = &good[good.rfind('_').unwrap() + 1..];
    let mut checksum_broken = good.clone();
    checksum_broken.pop();
    checksum_broken.push(if good.ends_with('0') { '1' } else { '0' });
    let malformed = [
        String::new(),
        "Bearer".to_owned(),
        format!("lmr_xx_1_{secret}"),
        format!("sk_live_{secret}"),
        checksum_broken,
        good.replacen("lmr_sa_", "lmr_sa_9", 1),
        good[..good.len() - 5].to_owned(),
        format!("{}ü", &good[..good.len() - 1]),
        format!("{good}\n"),
        "lmr_pat_".to_owned(),
        "x".repeat(10_000),
    ];
    for token in &malformed {
        match w.auth(token).await {
            Err(AuthError::Malformed(_)) => {}
            other => panic!("{token:?} should be malformed, got {other:?}"),
        }
    }
    // The same broken database does fail a well-formed token, so the test can tell.
    assert!(matches!(w.auth(&good).await, Err(AuthError::Db(_))));
}

#[tokio::test]
async fn a_well_formed_token_that_was_never_issued_is_unknown() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let sa = w.service_account(&acme, "ci", Role::Viewer).await;
    let forged_key = issue_service_account_key(sa.id);
    assert!(matches!(
        w.auth(forged_key.expose()).await,
        Err(AuthError::Unknown)
    ));
    let forged_pat = issue_personal_access_token();
    assert!(matches!(
        w.auth(forged_pat.expose()).await,
        Err(AuthError::Unknown)
    ));
}

#[tokio::test]
async fn a_revoked_key_is_refused() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let (_, _, token) = w.robot(&acme, Role::Viewer).await;
    let key_id = match w.auth(&token).await.unwrap() {
        Principal::ServiceAccount(p) => p.key_id,
        _ => unreachable!(),
    };
    w.kw.revoke_key(&acme.admin, key_id, t0()).await.unwrap();
    assert!(matches!(w.auth(&token).await, Err(AuthError::Revoked)));
}

#[tokio::test]
async fn an_expired_key_is_refused_from_its_expiry_on() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let sa = w.service_account(&acme, "ci", Role::Viewer).await;
    let expires = t0() + minutes(30);
    let (_, token) = w
        .key_with(
            &acme,
            CreateKey {
                expires: Some(domain::time::Expiry::At(expires)),
                ..crate::support::create_key(sa.id)
            },
        )
        .await;
    assert!(
        w.auth_at(&token, expires - chrono::Duration::milliseconds(1))
            .await
            .is_ok()
    );
    assert!(matches!(
        w.auth_at(&token, expires).await,
        Err(AuthError::Expired)
    ));
    assert!(matches!(
        w.auth_at(&token, expires + minutes(1)).await,
        Err(AuthError::Expired)
    ));
}

#[tokio::test]
async fn a_disabled_service_accounts_keys_are_refused_until_it_is_enabled() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let (sa, _, token) = w.robot(&acme, Role::Viewer).await;
    let toggle = |enabled| UpdateServiceAccount {
        enabled: Some(enabled),
        ..Default::default()
    };
    w.kw.update_service_account(&acme.admin, sa.id, toggle(false), t0())
        .await
        .unwrap();
    assert!(matches!(w.auth(&token).await, Err(AuthError::Disabled)));
    w.kw.update_service_account(&acme.admin, sa.id, toggle(true), t0())
        .await
        .unwrap();
    assert!(w.auth(&token).await.is_ok());
}

#[tokio::test]
async fn a_deleted_service_accounts_keys_are_refused_and_gone() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let (sa, _, token) = w.robot(&acme, Role::Admin).await;
    w.kw.delete_service_account(&acme.admin, sa.id, t0())
        .await
        .unwrap();
    assert!(matches!(w.auth(&token).await, Err(AuthError::Unknown)));
    let keys = entity::service_account_key::Entity::find()
        .all(w.kw.db())
        .await
        .unwrap();
    assert!(
        keys.is_empty(),
        "the keys go with their service account: {keys:?}"
    );
}

#[tokio::test]
async fn a_key_whose_row_names_another_service_account_is_refused() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let (_, principal, token) = w.robot(&acme, Role::Viewer).await;
    let other = w.service_account(&acme, "other", Role::Viewer).await;
    let Principal::ServiceAccount(p) = principal else {
        unreachable!()
    };
    // Move the stored key to another service account behind keywarden's back.
    let row = entity::service_account_key::Entity::find_by_id(p.key_id.0)
        .one(w.kw.db())
        .await
        .unwrap()
        .unwrap();
    let mut row: entity::service_account_key::ActiveModel = row.into();
    row.service_account_id = Set(other.id.0);
    row.update(w.kw.db()).await.unwrap();
    // A process that reads the row (this one remembers the key as it was).
    let reader = World::open(&w.url, Keyring::new(pepper(1), vec![])).await;
    assert!(matches!(
        reader.authenticate(&token, t0()).await,
        Err(AuthError::Mismatch)
    ));
}

#[tokio::test]
async fn a_role_change_shows_on_the_next_verification() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let (sa, _, token) = w.robot(&acme, Role::Viewer).await;
    let change = UpdateServiceAccount {
        role: Some(Role::Admin),
        ..Default::default()
    };
    w.kw.update_service_account(&acme.admin, sa.id, change, t0())
        .await
        .unwrap();
    match w.auth(&token).await.unwrap() {
        Principal::ServiceAccount(p) => assert_eq!(p.role, Role::Admin),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_key_acts_with_the_lower_of_its_ceiling_and_its_service_accounts_role() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let sa = w.service_account(&acme, "ci", Role::Admin).await;
    let with_ceiling = |role| CreateKey {
        role_ceiling: Some(role),
        ..crate::support::create_key(sa.id)
    };
    let (_, capped) = w.key_with(&acme, with_ceiling(Role::Viewer)).await;
    let (roomy_key, roomy) = w.key_with(&acme, with_ceiling(Role::Admin)).await;
    // The service account is lowered below the ceiling after the key was made.
    w.kw.update_service_account(
        &acme.admin,
        sa.id,
        UpdateServiceAccount {
            role: Some(Role::Editor),
            ..Default::default()
        },
        t0(),
    )
    .await
    .unwrap();
    assert_eq!(roomy_key.key.acts_with(Role::Editor), Role::Editor);
    assert_eq!(roomy_key.key.acts_with(Role::Viewer), Role::Viewer);
    let role_of = |p: Principal| match p {
        Principal::ServiceAccount(p) => (p.role, p.service_account_role),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        role_of(w.auth(&capped).await.unwrap()),
        (Role::Viewer, Role::Editor)
    );
    assert_eq!(
        role_of(w.auth(&roomy).await.unwrap()),
        (Role::Editor, Role::Editor)
    );
}

#[tokio::test]
async fn a_revoked_or_expired_personal_access_token_is_refused() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let (bob, token) = w.member(&acme, "bob", Role::Viewer).await;
    let Principal::User(u) = &bob else {
        unreachable!()
    };
    w.kw.revoke_personal_access_token(&bob, u.token_id, t0())
        .await
        .unwrap();
    assert!(matches!(w.auth(&token).await, Err(AuthError::Revoked)));

    let made =
        w.kw.create_personal_access_token(
            &acme.admin,
            domain::CreatePersonalAccessToken {
                name: None,
                expires_at: Some(t0() + minutes(5)),
            },
            t0(),
        )
        .await
        .unwrap();
    let token = w.remember(&made.secret);
    assert!(w.auth(&token).await.is_ok());
    assert!(matches!(
        w.auth_at(&token, t0() + minutes(5)).await,
        Err(AuthError::Expired)
    ));
}

#[tokio::test]
async fn a_deleted_users_token_is_refused() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let (bob, token) = w.member(&acme, "bob", Role::Viewer).await;
    entity::user::Entity::delete_by_id(bob.id())
        .exec(w.kw.db())
        .await
        .unwrap();
    // Users leave only by an operator's hand in the database, which no process
    // is told of: a process that has not cached the token reads the deletion.
    let fresh = World::open(&w.url, Keyring::new(pepper(1), vec![])).await;
    assert!(matches!(
        fresh.authenticate(&token, t0()).await,
        Err(AuthError::Unknown)
    ));
}

#[tokio::test]
async fn a_token_digested_under_a_retired_pepper_still_verifies() {
    let w = World::with_keyring(Keyring::new(pepper(1), vec![])).await;
    let acme = w.tenant("Acme", "alice").await;
    let (_, _, key) = w.robot(&acme, Role::Viewer).await;
    // Restart on a new pepper with the old one retired.
    let rotated = World::open(&w.url, Keyring::new(pepper(2), vec![pepper(1)])).await;
    assert!(rotated.authenticate(&key, t0()).await.is_ok());
    // Without the old pepper, the key is unknown.
    let forgotten = World::open(&w.url, Keyring::new(pepper(2), vec![])).await;
    assert!(matches!(
        forgotten.authenticate(&key, t0()).await,
        Err(AuthError::Unknown)
    ));
}

/// A stored digest counts only under the pepper its row names: a row whose
/// digest matches but whose pepper id does not is no credential.
#[tokio::test]
async fn a_digest_stored_under_another_peppers_name_is_unknown() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let (_, _, key) = w.robot(&acme, Role::Viewer).await;
    let (_, token) = w.member(&acme, "bob", Role::Viewer).await;
    for table in ["service_account_keys", "personal_access_tokens"] {
        w.kw.db()
            .execute_unprepared(&format!("UPDATE {table} SET pepper_id = 'another'"))
            .await
            .unwrap();
    }
    let fresh = World::open(&w.url, Keyring::new(pepper(1), vec![])).await;
    for credential in [&key, &token] {
        assert!(matches!(
            fresh.authenticate(credential, t0()).await,
            Err(AuthError::Unknown)
        ));
    }
}

#[tokio::test]
async fn token_parse_errors_reach_the_caller_with_their_reason() {
    let w = World::new().await;
    let forged = issue_service_account_key(ServiceAccountId(5));
    let tampered = forged.expose().replacen("lmr_sa_5_", "lmr_sa_6_", 1);
    assert!(matches!(
        w.auth(&tampered).await,
        Err(AuthError::Malformed(TokenError::Checksum))
    ));
}

#[tokio::test]
async fn a_ceiling_above_the_service_accounts_role_is_refused_and_nothing_is_written() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let sa = w.service_account(&acme, "ci", Role::Editor).await;
    let before = w.audit_count().await;
    for (ceiling, allowed) in [
        (Role::Admin, false),
        (Role::Editor, true),
        (Role::Viewer, true),
    ] {
        let made =
            w.kw.create_key(
                &acme.admin,
                CreateKey {
                    role_ceiling: Some(ceiling),
                    ..crate::support::create_key(sa.id)
                },
                t0(),
            )
            .await;
        match made {
            Ok(issued) => {
                assert!(allowed, "{ceiling:?}");
                w.remember(&issued.secret);
            }
            Err(domain::DomainError::Invalid(m)) => {
                assert!(!allowed, "{ceiling:?}");
                assert!(m.contains("Admin") && m.contains("Editor"), "{m}");
            }
            Err(e) => panic!("{e}"),
        }
    }
    let keys =
        w.kw.keys(&acme.admin, sa.id, domain::Page::default())
            .await
            .unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(w.audit_count().await, before + 2);
}

/// HMAC-SHA256 of `token` under a pepper of 32 `byte`s, as keywarden stores it.
fn digest_under(byte: u8, token: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&[byte; 32]).unwrap();
    mac.update(token.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn a_token_verifies_whatever_row_of_another_digest_is_read_before_it() {
    let keyring = || Keyring::new(pepper(1), vec![pepper(2)]);
    let w = World::with_keyring(keyring()).await;
    let acme = w.tenant("Acme", "alice").await;
    let (_, token) = w.member(&acme, "bob", Role::Viewer).await;
    // A row with a lower id, stored under the token's digest by the retired
    // pepper but named for the current one: the statement reads it first
    // (it reads every candidate's digest), and it matches no candidate.
    w.kw.db()
        .execute_unprepared(&format!(
            "INSERT INTO personal_access_tokens (id, user_id, digest, pepper_id, created_at) \
             SELECT -1, user_id, {}, pepper_id, created_at FROM personal_access_tokens \
              WHERE digest = {}",
            hex_literal(&w, &digest_under(2, &token)),
            hex_literal(&w, &digest_under(1, &token)),
        ))
        .await
        .unwrap();
    let cold = World::open_with_capacity(&w.url, keyring(), 0).await;
    assert!(cold.authenticate(&token, t0()).await.is_ok());
    assert_eq!(cold.verification_statements(), 1);
}

/// A byte string literal of `hex` on `w`'s backend.
fn hex_literal(w: &World, hex: &str) -> String {
    if w.is_postgres() {
        format!("decode('{hex}', 'hex')")
    } else {
        format!("x'{hex}'")
    }
}

#[tokio::test]
async fn on_a_sqlite_file_a_cold_verification_reads_without_the_pool() {
    let w = World::new().await;
    if w.is_postgres() {
        return;
    }
    let acme = w.tenant("Acme", "alice").await;
    let (_, _, key) = w.robot(&acme, Role::Viewer).await;
    let (_, token) = w.member(&acme, "bob", Role::Viewer).await;
    let cold = World::open_with_capacity(&w.url, Keyring::new(pepper(1), vec![]), 0).await;
    // With the pool closed, only the direct reads can answer.
    cold.verification_db().close_by_ref().await.unwrap();
    for credential in [&key, &token] {
        assert!(cold.authenticate(credential, t0()).await.is_ok());
    }
    assert_eq!(cold.verification_statements(), 2);
}

/// On PostgreSQL, cold verifications that ask at the same time are read by
/// one statement of each kind, and each gets the answer of its own
/// credential: two tenants' keys, one key asked for twice, a revoked key and a
/// key never issued in one, a user's token in the other. On SQLite each is a
/// statement of its own.
#[tokio::test]
async fn verifications_that_miss_the_cache_at_once_share_one_statement_on_postgresql_each_answered_for_itself()
 {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let globex = w.tenant("Globex", "gina").await;
    let (acme_sa, acme_principal, acme_key) = w.robot(&acme, Role::Editor).await;
    let (globex_sa, _, globex_key) = w.robot(&globex, Role::Viewer).await;
    let (revoked, revoked_key) = w.key(&acme, acme_sa.id).await;
    w.kw.revoke_key(&acme.admin, revoked.key.id, t0())
        .await
        .unwrap();
    let (_, bob_token) = w.member(&acme, "bob", Role::Viewer).await;
    let forged = issue_service_account_key(globex_sa.id);
    let cold = World::open_with_capacity(&w.url, Keyring::new(pepper(1), vec![]), 0).await;
    let before = cold.verification_statements();
    let (acme_1, acme_2, globex_1, revoked_1, bob, never) = tokio::join!(
        cold.authenticate(&acme_key, t0()),
        cold.authenticate(&acme_key, t0()),
        cold.authenticate(&globex_key, t0()),
        cold.authenticate(&revoked_key, t0()),
        cold.authenticate(&bob_token, t0()),
        cold.authenticate(forged.expose(), t0()),
    );
    // On PostgreSQL one statement for the five keys, one for the token.
    let statements = cold.verification_statements() - before;
    assert_eq!(statements, if w.is_postgres() { 2 } else { 6 });
    let Principal::ServiceAccount(acme_expected) = &acme_principal else {
        panic!("a key's principal");
    };
    for answer in [acme_1, acme_2] {
        let Ok(Principal::ServiceAccount(p)) = answer else {
            panic!("acme's key refused: {answer:?}");
        };
        assert_eq!(
            (p.account_id, p.service_account_id, p.key_id, p.role),
            (acme.id, acme_sa.id, acme_expected.key_id, Role::Editor)
        );
    }
    let Ok(Principal::ServiceAccount(g)) = globex_1 else {
        panic!("globex's key refused: {globex_1:?}");
    };
    assert_eq!(
        (g.account_id, g.service_account_id, g.role),
        (globex.id, globex_sa.id, Role::Viewer)
    );
    assert!(
        matches!(revoked_1, Err(AuthError::Revoked)),
        "{revoked_1:?}"
    );
    let Ok(Principal::User(bob)) = bob else {
        panic!("bob's token refused: {bob:?}");
    };
    assert_eq!(bob.username, "bob");
    assert_eq!(
        bob.memberships
            .iter()
            .map(|m| m.account_id)
            .collect::<Vec<_>>(),
        vec![acme.id]
    );
    assert!(matches!(never, Err(AuthError::Unknown)), "{never:?}");
}

/// A verification whose client gave up before its gathered statement ran is
/// not read for, and takes no connection with it: the next is read on the
/// connection kept.
#[tokio::test]
async fn on_postgresql_a_verification_abandoned_while_it_waits_costs_no_statement_and_no_connection()
 {
    let w = World::new().await;
    if !w.is_postgres() {
        assert_eq!(w.kw.verification_connections(), None);
        return;
    }
    let acme = w.tenant("Acme", "alice").await;
    let (_, _, key) = w.robot(&acme, Role::Viewer).await;
    let cold = World::open_with_capacity(&w.url, Keyring::new(pepper(1), vec![]), 0).await;
    assert!(cold.authenticate(&key, t0()).await.is_ok());
    assert_eq!(cold.verification_connections(), Some((0, 1)));
    let before = cold.verification_statements();
    {
        // Polled once, so that it waits for its statement, then dropped
        // before anything else runs.
        let mut abandoned = Box::pin(cold.authenticate(&key, t0()));
        let polled =
            std::future::poll_fn(|cx| std::task::Poll::Ready(abandoned.as_mut().poll(cx))).await;
        assert!(polled.is_pending(), "it waits for a reader");
    }
    assert!(cold.authenticate(&key, t0()).await.is_ok());
    assert_eq!(cold.verification_statements() - before, 1);
    assert_eq!(cold.verification_connections(), Some((0, 1)));
}

/// One gathered statement reads at most 64 digests: 65 verifications that
/// miss at once take two statements, and each is answered.
#[tokio::test]
async fn on_postgresql_one_gathered_statement_reads_at_most_64_digests() {
    let w = World::new().await;
    if !w.is_postgres() {
        assert_eq!(w.kw.verification_connections(), None);
        return;
    }
    let acme = w.tenant("Acme", "alice").await;
    let mut keys = Vec::new();
    for (name, count) in [("one", 50), ("two", 15)] {
        let sa = w.service_account(&acme, name, Role::Viewer).await;
        for _ in 0..count {
            keys.push(w.key(&acme, sa.id).await.1);
        }
    }
    let cold = World::open_with_capacity(&w.url, Keyring::new(pepper(1), vec![]), 0).await;
    let before = cold.verification_statements();
    // Every verification asks before any reader runs.
    let mut all = tokio::task::JoinSet::new();
    for key in keys {
        let cold = cold.clone();
        all.spawn(async move { cold.authenticate(&key, t0()).await.is_ok() });
    }
    let answers = all.join_all().await;
    assert_eq!(answers, vec![true; 65]);
    assert_eq!(cold.verification_statements() - before, 2);
}

/// Readers lost with the runtime that started them (a test's, or a
/// process's ending) are started again: the next verification reads through
/// the pool, and those after it are gathered again.
#[test]
fn on_postgresql_readers_lost_with_their_runtime_are_started_again() {
    let runtime = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    };
    let main = runtime();
    let (w, cold, a, b) = main.block_on(async {
        let w = World::new().await;
        let acme = w.tenant("Acme", "alice").await;
        let sa = w.service_account(&acme, "robot", Role::Viewer).await;
        let (_, a) = w.key(&acme, sa.id).await;
        let (_, b) = w.key(&acme, sa.id).await;
        let cold = World::open_with_capacity(&w.url, Keyring::new(pepper(1), vec![]), 0).await;
        (w, cold, a, b)
    });
    if !w.is_postgres() {
        assert_eq!(cold.verification_connections(), None);
        return;
    }
    let other = runtime();
    assert!(other.block_on(cold.authenticate(&a, t0())).is_ok());
    drop(other);
    main.block_on(async {
        // Its readers are gone: through the pool.
        assert!(cold.authenticate(&a, t0()).await.is_ok());
        // New readers; the connection opened on the other runtime fails and
        // is dropped, and both read through the pool.
        let (one, two) = tokio::join!(cold.authenticate(&a, t0()), cold.authenticate(&b, t0()));
        assert!(one.is_ok() && two.is_ok());
        // Gathered again, on a connection of this runtime.
        let before = cold.verification_statements();
        let (one, two) = tokio::join!(cold.authenticate(&a, t0()), cold.authenticate(&b, t0()));
        assert!(one.is_ok() && two.is_ok());
        assert_eq!(cold.verification_statements() - before, 1);
        assert_eq!(cold.verification_connections(), Some((0, 1)));
    });
}

#[tokio::test]
async fn on_postgresql_a_verification_connection_the_server_closed_is_read_past_and_never_used_again()
 {
    let w = World::new().await;
    if !w.is_postgres() {
        assert_eq!(w.kw.verification_connections(), None);
        return;
    }
    let acme = w.tenant("Acme", "alice").await;
    let (_, _, key) = w.robot(&acme, Role::Viewer).await;
    let (_, token) = w.member(&acme, "bob", Role::Viewer).await;
    let cold = World::open_with_capacity(&w.url, Keyring::new(pepper(1), vec![]), 0).await;
    assert_eq!(cold.verification_connections(), Some((0, 0)));
    let count = async |credential: &str| {
        let before = cold.verification_statements();
        assert!(cold.authenticate(credential, t0()).await.is_ok());
        cold.verification_statements() - before
    };
    // One statement each, on verification's own connection, kept idle after.
    assert_eq!(count(&key).await, 1);
    assert_eq!(count(&token).await, 1);
    assert_eq!(cold.verification_connections(), Some((0, 1)));
    let close = || async {
        w.kw.db()
            .execute_unprepared(&format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                  WHERE datname = current_database() AND application_name = '{}'",
                domain::db::PG_DIRECT_NAME
            ))
            .await
            .unwrap()
            .rows_affected()
    };
    // Every such connection to this database, the setup's process's too.
    assert!(close().await >= 1, "a connection of verification's own");
    // The closed connection fails its statement; the pool answers.
    assert_eq!(count(&key).await, 2);
    // It was dropped: the next read opens a connection of its own again.
    assert_eq!(count(&token).await, 1);
    assert!(close().await >= 1);
    assert_eq!(count(&token).await, 2);
    assert_eq!(count(&key).await, 1);
}
