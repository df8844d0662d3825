//! Targeted invalidation, counted in database reads: a change makes stale only
//! the verifications it can affect, in this process and in another on the same
//! database, and concurrent lookups of one credential share one read.

use std::sync::Arc;

use domain::ids::{KeyId, TokenId};
use domain::{
    AddMember, AuthError, CreatePersonalAccessToken, Keyring, Keywarden, Principal, Role,
    UpdateServiceAccount, Username,
};

use crate::support::{Tenant, World, pepper, t0};

async fn process(w: &World) -> Keywarden {
    World::open(&w.url, Keyring::new(pepper(1), vec![])).await
}

/// Verifies every token through `kw` and returns how many database reads that
/// took, and the answers.
async fn verify_all(kw: &Keywarden, tokens: &[String]) -> (u64, Vec<Result<Principal, AuthError>>) {
    let before = kw.verification_reads();
    let mut answers = Vec::new();
    for token in tokens {
        answers.push(kw.authenticate(token, t0()).await);
    }
    (kw.verification_reads() - before, answers)
}

fn enabled(enabled: bool) -> UpdateServiceAccount {
    UpdateServiceAccount {
        name: None,
        description: None,
        role: None,
        enabled: Some(enabled),
        allowed_ranges: None,
    }
}

/// Account B's automation at work: every kind of change it can make to its
/// own service accounts, keys, members, tokens and credential policy.
async fn churn(w: &World, changer: &Keywarden, b: &Tenant) {
    let sa = changer
        .create_service_account(
            &b.admin,
            domain::CreateServiceAccount {
                account_id: b.id,
                name: domain::ServiceAccountName::parse("churn").unwrap(),
                description: None,
                role: Role::Editor,
                groups: vec![],
                allowed_ranges: None,
            },
            t0(),
        )
        .await
        .unwrap();
    let key = changer
        .create_key(&b.admin, crate::support::create_key(sa.id), t0())
        .await
        .unwrap();
    let token = w.remember(&key.secret);
    assert!(changer.authenticate(&token, t0()).await.is_ok());
    changer
        .rotate_key(
            &b.admin,
            domain::RotateKey {
                key_id: key.key.id,
                overlap: std::time::Duration::ZERO,
                expires_at: None,
            },
            t0(),
        )
        .await
        .unwrap();
    changer
        .update_service_account(&b.admin, sa.id, enabled(false), t0())
        .await
        .unwrap();
    changer
        .delete_service_account(&b.admin, sa.id, t0())
        .await
        .unwrap();
    let added = changer
        .add_member(
            &b.admin,
            AddMember {
                account_id: b.id,
                username: Username::parse("temp").unwrap(),
                email: None,
                role: Role::Viewer,
            },
            true,
            t0(),
        )
        .await
        .unwrap();
    let user = added.member.user_id;
    changer
        .update_member(&b.admin, b.id, user, Role::Editor, t0())
        .await
        .unwrap();
    changer
        .remove_member(&b.admin, b.id, user, t0())
        .await
        .unwrap();
    let Principal::User(admin) = &b.admin else {
        panic!("an admin is a user")
    };
    let pat = changer
        .create_personal_access_token(&b.admin, CreatePersonalAccessToken::default(), t0())
        .await
        .unwrap();
    changer
        .revoke_personal_access_token(&b.admin, pat.token.id, t0())
        .await
        .unwrap();
    assert_ne!(pat.token.id, admin.token_id);
    // B's credential policy, set and then unset.
    for required in [true, false] {
        changer
            .set_credential_policy(
                &b.admin,
                b.id,
                domain::PolicyChange {
                    key_expiry_required: Some(required),
                    ..Default::default()
                },
                t0(),
            )
            .await
            .unwrap();
    }
}

/// Account A's 2 service accounts with 5 keys each and 2 members, all verified
/// once through `watcher`.
struct Watched {
    a: Tenant,
    keys: Vec<(KeyId, String)>,
    service_accounts: Vec<domain::ServiceAccount>,
    members: Vec<(Principal, String)>,
}

impl Watched {
    fn tokens(&self) -> Vec<String> {
        self.keys
            .iter()
            .map(|(_, t)| t.clone())
            .chain(self.members.iter().map(|(_, t)| t.clone()))
            .collect()
    }
}

async fn watched(w: &World, watcher: &Keywarden) -> Watched {
    let a = w.tenant("Acme", "alice").await;
    let mut keys = Vec::new();
    let mut service_accounts = Vec::new();
    for name in ["deploy", "backup"] {
        let sa = w.service_account(&a, name, Role::Editor).await;
        for _ in 0..5 {
            let (issued, token) = w.key(&a, sa.id).await;
            keys.push((issued.key.id, token));
        }
        service_accounts.push(sa);
    }
    let members = vec![
        w.member(&a, "bob", Role::Editor).await,
        w.member(&a, "carol", Role::Viewer).await,
    ];
    let watched = Watched {
        a,
        keys,
        service_accounts,
        members,
    };
    let (_, answers) = verify_all(watcher, &watched.tokens()).await;
    assert!(answers.iter().all(Result::is_ok));
    watched
}

async fn other_accounts_changes_cost_no_read(w: &World, changer: &Keywarden, watcher: &Keywarden) {
    let watched = watched(w, watcher).await;
    let (reads, _) = verify_all(watcher, &watched.tokens()).await;
    assert_eq!(reads, 0, "all remembered");
    let b = w.tenant("Beta", "bert").await;
    for _ in 0..3 {
        churn(w, changer, &b).await;
    }
    let (reads, answers) = verify_all(watcher, &watched.tokens()).await;
    assert!(answers.iter().all(Result::is_ok));
    // A scope of B's that happens to share one of the board's 16,384 slots with
    // one of A's costs the credentials behind that slot one read: at most one
    // service account's five keys, rarely (a few runs in a hundred). More than
    // that means B's changes reached A's verifications.
    assert!(
        reads <= 5,
        "another account's changes made {reads} of A's {} verifications stale",
        watched.tokens().len()
    );
}

#[tokio::test]
async fn another_accounts_changes_in_this_process_cost_no_read() {
    let w = World::new().await;
    other_accounts_changes_cost_no_read(&w, &w.kw, &w.kw).await;
}

#[tokio::test]
async fn another_accounts_changes_in_another_process_cost_no_read() {
    let w = World::new().await;
    let changer = process(&w).await;
    other_accounts_changes_cost_no_read(&w, &changer, &w.kw).await;
}

/// Each change to A costs exactly one read for each credential it touches,
/// and none for the others; the credentials it touches answer as they should.
async fn a_change_costs_one_read_per_credential_it_touches(
    w: &World,
    changer: &Keywarden,
    watcher: &Keywarden,
) {
    let watched = watched(w, watcher).await;
    let tokens = watched.tokens();
    let admin = &watched.a.admin;

    // One key revoked: one read, its own, and it is refused.
    let (revoked, _) = &watched.keys[0];
    changer.revoke_key(admin, *revoked, t0()).await.unwrap();
    let (reads, answers) = verify_all(watcher, &tokens).await;
    assert_eq!(reads, 1);
    assert!(matches!(answers[0], Err(AuthError::Revoked)));
    assert!(answers[1..].iter().all(Result::is_ok));
    let (reads, _) = verify_all(watcher, &tokens).await;
    assert_eq!(reads, 0, "the refusal is remembered too");

    // A service account disabled: one read for each of its keys.
    let backup = &watched.service_accounts[1];
    changer
        .update_service_account(admin, backup.id, enabled(false), t0())
        .await
        .unwrap();
    let (reads, answers) = verify_all(watcher, &tokens).await;
    assert_eq!(reads, 5);
    assert!(
        answers[5..10]
            .iter()
            .all(|a| matches!(a, Err(AuthError::Disabled)))
    );
    assert!(answers[1..5].iter().all(Result::is_ok));
    changer
        .update_service_account(admin, backup.id, enabled(true), t0())
        .await
        .unwrap();
    let (reads, answers) = verify_all(watcher, &tokens).await;
    assert_eq!(
        reads, 5,
        "a refusal for being disabled ends with the enabling"
    );
    assert!(answers[5..10].iter().all(Result::is_ok));

    // A member's role changed: one read, for their token, with the new role.
    let (bob, _) = &watched.members[0];
    changer
        .update_member(admin, watched.a.id, bob_id(bob), Role::Viewer, t0())
        .await
        .unwrap();
    let (reads, answers) = verify_all(watcher, &tokens).await;
    assert_eq!(reads, 1);
    assert_eq!(
        answers[10].as_ref().unwrap().role_in(watched.a.id),
        Some(Role::Viewer)
    );

    // A member removed: one read; their token now belongs to no account here.
    let (carol, _) = &watched.members[1];
    changer
        .remove_member(admin, watched.a.id, bob_id(carol), t0())
        .await
        .unwrap();
    let (reads, answers) = verify_all(watcher, &tokens).await;
    assert_eq!(reads, 1);
    assert_eq!(answers[11].as_ref().unwrap().role_in(watched.a.id), None);

    // A member's own token revoked: one read, refused.
    changer
        .revoke_personal_access_token(bob, token_id(bob), t0())
        .await
        .unwrap();
    let (reads, answers) = verify_all(watcher, &tokens).await;
    assert_eq!(reads, 1);
    assert!(matches!(answers[10], Err(AuthError::Revoked)));

    // A service account deleted: one read for each of its keys.
    changer
        .delete_service_account(admin, watched.service_accounts[0].id, t0())
        .await
        .unwrap();
    let (reads, answers) = verify_all(watcher, &tokens).await;
    assert_eq!(reads, 5);
    assert!(
        answers[..5]
            .iter()
            .all(|a| matches!(a, Err(AuthError::Unknown)))
    );
    assert!(answers[5..10].iter().all(Result::is_ok));
}

fn bob_id(p: &Principal) -> domain::ids::UserId {
    match p {
        Principal::User(u) => u.user_id,
        Principal::ServiceAccount(_) => panic!("not a user"),
    }
}

fn token_id(p: &Principal) -> TokenId {
    match p {
        Principal::User(u) => u.token_id,
        Principal::ServiceAccount(_) => panic!("not a user"),
    }
}

#[tokio::test]
async fn a_change_in_this_process_costs_one_read_per_credential_it_touches() {
    let w = World::new().await;
    a_change_costs_one_read_per_credential_it_touches(&w, &w.kw, &w.kw).await;
}

#[tokio::test]
async fn a_change_in_another_process_costs_one_read_per_credential_it_touches() {
    let w = World::new().await;
    let changer = process(&w).await;
    a_change_costs_one_read_per_credential_it_touches(&w, &changer, &w.kw).await;
}

#[tokio::test]
async fn a_rotated_personal_token_is_refused_elsewhere_and_its_new_secret_accepted() {
    let w = World::new().await;
    let other = process(&w).await;
    let acme = w.tenant("Acme", "alice").await;
    let issued =
        w.kw.create_personal_access_token(
            &acme.admin,
            CreatePersonalAccessToken {
                name: None,
                expires_at: Some(t0() + chrono::Duration::days(30)),
            },
            t0(),
        )
        .await
        .unwrap();
    let old = w.remember(&issued.secret);
    assert!(w.kw.authenticate(&old, t0()).await.is_ok());
    let rotated = other
        .rotate_personal_access_token(
            &acme.admin,
            issued.token.id,
            t0() + chrono::Duration::days(60),
            t0(),
        )
        .await
        .unwrap();
    assert!(matches!(
        w.kw.authenticate(&old, t0()).await,
        Err(AuthError::Unknown)
    ));
    let new = w.remember(&rotated.secret);
    assert!(w.kw.authenticate(&new, t0()).await.is_ok());
}

#[tokio::test]
async fn an_unknown_token_presented_again_and_again_costs_one_read_at_most() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let sa = w.service_account(&acme, "ci", Role::Editor).await;
    let unknown = domain::token::issue_service_account_key(sa.id);
    let unknown = w.remember(&unknown);
    let before = w.kw.verification_reads();
    for _ in 0..1_000 {
        assert!(matches!(
            w.kw.authenticate(&unknown, t0()).await,
            Err(AuthError::Unknown)
        ));
    }
    // None when the filter of stored digests tells it apart, else one.
    let reads = w.kw.verification_reads() - before;
    assert!(reads <= 1, "{reads} reads");
    // Malformed strings are refused before any read.
    for bad in ["", "lmr_sa_x", &unknown[..unknown.len() - 1]] {
        assert!(matches!(
            w.kw.authenticate(bad, t0()).await,
            Err(AuthError::Malformed(_))
        ));
    }
    assert_eq!(w.kw.verification_reads() - before, reads);
}

#[tokio::test]
async fn concurrent_lookups_of_one_credential_share_one_read() {
    let w = World::new().await;
    w.warm_pool().await;
    let acme = w.tenant("Acme", "alice").await;
    let sa = w.service_account(&acme, "ci", Role::Editor).await;
    let (_, token) = w.key(&acme, sa.id).await;
    let kw = Arc::new(w.kw.clone());
    let token = Arc::new(token);
    let before = kw.verification_reads();
    let lookups: Vec<_> = (0..64)
        .map(|_| {
            let (kw, token) = (kw.clone(), token.clone());
            tokio::spawn(async move { kw.authenticate(&token, t0()).await.is_ok() })
        })
        .collect();
    for lookup in lookups {
        assert!(lookup.await.unwrap());
    }
    assert_eq!(kw.verification_reads() - before, 1);
}

#[tokio::test]
async fn the_stats_count_hits_misses_reads_and_invalidations() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let sa = w.service_account(&acme, "ci", Role::Editor).await;
    let (issued, key) = w.key(&acme, sa.id).await;
    let kw = process(&w).await;
    let before = kw.stats();
    assert_eq!(before.listener.is_some(), w.is_postgres());
    for _ in 0..3 {
        kw.authenticate(&key, t0()).await.unwrap();
    }
    let after = kw.stats();
    assert_eq!(after.cache_misses - before.cache_misses, 1);
    assert_eq!(after.cache_hits - before.cache_hits, 2);
    assert_eq!(after.verification_reads - before.verification_reads, 1);
    // A revoke through this process marks the key's scope here.
    kw.revoke_key(&acme.admin, issued.key.id, t0())
        .await
        .unwrap();
    let revoked = kw.stats();
    assert!(revoked.cache_invalidations > after.cache_invalidations);
    assert!(kw.authenticate(&key, t0()).await.is_err());
    assert_eq!(
        kw.stats().cache_misses - revoked.cache_misses,
        1,
        "stale is a miss"
    );
    if let Some(listener) = kw.stats().listener {
        assert!(listener.up);
        assert!(listener.last_heard.is_some());
    }
    // With caching off, nothing is a hit or a miss: every lookup reads.
    let uncached = World::open_with_capacity(&w.url, Keyring::new(pepper(1), vec![]), 0).await;
    let (_, other) = w.key(&acme, sa.id).await;
    for _ in 0..2 {
        uncached.authenticate(&other, t0()).await.unwrap();
    }
    let stats = uncached.stats();
    assert_eq!(
        (
            stats.cache_hits,
            stats.cache_misses,
            stats.verification_reads
        ),
        (0, 0, 2)
    );
}

/// Waits until `kw` refuses well-formed unknown tokens with no database read:
/// its filter of stored digests is built and, on PostgreSQL, it serves from
/// memory.
async fn filtering(kw: &Keywarden) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let forged = domain::token::issue_service_account_key(domain::ids::ServiceAccountId(1));
        let before = kw.verification_reads();
        assert!(matches!(
            kw.authenticate(forged.expose(), t0()).await,
            Err(AuthError::Unknown)
        ));
        if kw.verification_reads() == before {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "unknown tokens are still read"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn unknown_tokens_are_refused_unread_yet_a_key_or_token_issued_elsewhere_passes_at_once() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let sa = w.service_account(&acme, "ci", Role::Editor).await;
    let (_, before_build) = w.key(&acme, sa.id).await;
    let other = process(&w).await;
    filtering(&other).await;
    let builds = other.stats().filter_builds;
    assert!(builds >= 1);
    // A credential stored before the filter was built passes it.
    assert!(other.authenticate(&before_build, t0()).await.is_ok());
    // Distinct well-formed unknown tokens, of both kinds: not one read.
    let forged: Vec<String> = (0..200)
        .map(|i| {
            if i % 2 == 0 {
                domain::token::issue_service_account_key(sa.id)
            } else {
                domain::token::issue_personal_access_token()
            }
            .expose()
            .to_owned()
        })
        .collect();
    let unread = other.stats().unknown_unread;
    let (reads, answers) = verify_all(&other, &forged).await;
    assert!(answers.iter().all(|a| matches!(a, Err(AuthError::Unknown))));
    // A Bloom filter says "perhaps" of about one in a hundred.
    assert!(reads <= 10, "{reads} of 200 unknown tokens were read");
    assert_eq!(other.stats().unknown_unread - unread, 200 - reads);
    // Issued through the other process after the build: accepted here on
    // their first presentation, a key and a personal access token alike.
    for _ in 0..20 {
        let (_, key) = w.key(&acme, sa.id).await;
        assert!(other.authenticate(&key, t0()).await.is_ok());
    }
    let made =
        w.kw.create_personal_access_token(
            &acme.admin,
            CreatePersonalAccessToken {
                name: None,
                expires_at: None,
            },
            t0(),
        )
        .await
        .unwrap();
    let pat = w.remember(&made.secret);
    assert!(other.authenticate(&pat, t0()).await.is_ok());
    // Deleted through the other process: refused here.
    w.kw.delete_service_account(&acme.admin, sa.id, t0())
        .await
        .unwrap();
    assert!(other.authenticate(&before_build, t0()).await.is_err());
    // And unknown tokens are still refused unread once the filter has caught up.
    filtering(&other).await;
}

#[tokio::test]
async fn with_the_cache_off_every_unknown_token_is_read() {
    let w = World::new().await;
    let cold = World::open_with_capacity(&w.url, Keyring::new(pepper(1), vec![]), 0).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let forged: Vec<String> = (0..5)
        .map(|_| {
            domain::token::issue_personal_access_token()
                .expose()
                .to_owned()
        })
        .collect();
    let (reads, _) = verify_all(&cold, &forged).await;
    assert_eq!(reads, 5);
    assert_eq!(cold.stats().filter_builds, 0);
}
