//! `unusedCredentials`: an account's working keys and its members' working
//! tokens idle for the days asked or never used, the longest idle first, paged.

use chrono::{DateTime, Duration, Utc};
use domain::ids::KeyId;
use domain::time::Expiry;
use domain::{DomainError, Principal, Role, Unused, UnusedPage, UnusedPlace};

use crate::support::{Tenant, World, create_key, minutes, t0};

fn days(n: i64) -> Duration {
    Duration::days(n)
}

/// What a page lists, as `key:<name>` and `token:<name>`.
fn names(page: &UnusedPage) -> Vec<String> {
    page.credentials
        .iter()
        .map(|c| match c {
            Unused::Key(k) => format!("key:{}", k.name.as_deref().unwrap_or("-")),
            Unused::Token(t) => format!("token:{}", t.name.as_deref().unwrap_or("-")),
        })
        .collect()
}

async fn unused(
    w: &World,
    caller: &Principal,
    tenant: &Tenant,
    idle_days: i64,
    after: Option<UnusedPlace>,
    limit: u64,
    now: DateTime<Utc>,
) -> Result<UnusedPage, DomainError> {
    w.kw.unused_credentials(caller, tenant.id, idle_days, after, limit, now)
        .await
}

async fn named_key(
    w: &World,
    tenant: &Tenant,
    sa: domain::ids::ServiceAccountId,
    name: &str,
    at: DateTime<Utc>,
) -> (KeyId, String) {
    let mut input = create_key(sa);
    input.name = Some(domain::KeyName::parse(name).unwrap());
    let issued = w.kw.create_key(&tenant.admin, input, at).await.unwrap();
    let token = w.remember(&issued.secret);
    (issued.key.id, token)
}

#[tokio::test]
async fn the_longest_idle_come_first_keys_before_tokens_of_the_same_moment() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let sa = w.service_account(&acme, "ci", Role::Editor).await;
    let (_, stale) = named_key(&w, &acme, sa.id, "stale", t0()).await;
    let (_, _never) = named_key(&w, &acme, sa.id, "never", t0() + days(1)).await;
    let (_, busy) = named_key(&w, &acme, sa.id, "busy", t0()).await;
    let (revoked, _) = named_key(&w, &acme, sa.id, "revoked", t0()).await;
    w.kw.revoke_key(&acme.admin, revoked, t0()).await.unwrap();
    let mut expiring = create_key(sa.id);
    expiring.name = Some(domain::KeyName::parse("expired").unwrap());
    expiring.expires = Some(Expiry::InDays(10));
    w.kw.create_key(&acme.admin, expiring, t0()).await.unwrap();
    let (bob, _) = w.member(&acme, "bob", Role::Viewer).await;
    w.kw.flush_usage().await.unwrap();

    w.auth_at(&stale, t0() + minutes(1)).await.unwrap();
    w.auth_at(&busy, t0() + days(95)).await.unwrap();
    w.kw.flush_usage().await.unwrap();

    let now = t0() + days(100);
    let page = unused(&w, &acme.admin, &acme, 30, None, 100, now)
        .await
        .unwrap();
    // alice's and bob's first tokens were made at t0 and used then (their
    // first verification); "never" was made a day after and never used.
    let bob_name = {
        let tokens = w.kw.personal_access_tokens(&bob).await.unwrap();
        format!("token:{}", tokens[0].name.as_deref().unwrap_or("-"))
    };
    let listed = names(&page);
    assert_eq!(listed.len(), 4, "{listed:?}");
    assert_eq!(
        listed[2..],
        ["key:stale".to_owned(), "key:never".to_owned()]
    );
    assert!(listed[..2].contains(&bob_name), "{listed:?}");
    assert!(!listed.contains(&"key:busy".to_owned()));
    assert!(!listed.contains(&"key:revoked".to_owned()));
    assert!(!listed.contains(&"key:expired".to_owned()));
    assert_eq!(page.total, 4);
    assert!(!page.has_more);
    let idle: Vec<_> = page.credentials.iter().map(Unused::idle_since).collect();
    assert!(idle.windows(2).all(|p| p[0] <= p[1]), "{idle:?}");

    // A shorter idleness lists the busy key too; a longer one fewer.
    let week = unused(&w, &acme.admin, &acme, 4, None, 100, now)
        .await
        .unwrap();
    assert_eq!(names(&week).last().map(String::as_str), Some("key:busy"));
    // A hundred days: only what has been idle since t0 or before, and the
    // key never used.
    let long = unused(&w, &acme.admin, &acme, 100, None, 100, now)
        .await
        .unwrap();
    let long_names = names(&long);
    assert_eq!(long_names.len(), 3, "{long_names:?}");
    assert_eq!(long_names[..2], listed[..2]);
    assert_eq!(long_names[2], "key:never");
}

#[tokio::test]
async fn never_used_is_listed_whatever_its_age_and_pages_go_on_by_cursor() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let sa = w.service_account(&acme, "ci", Role::Viewer).await;
    let made_at = t0() + days(1);
    let mut made = Vec::new();
    for i in 0..5 {
        // Five never used, two of them made at the same moment.
        let at = if i < 2 { made_at } else { made_at + minutes(i) };
        made.push(named_key(&w, &acme, sa.id, &format!("k{i}"), at).await.0);
    }
    let now = made_at + minutes(10);
    let all = unused(&w, &acme.admin, &acme, 30, None, 100, now)
        .await
        .unwrap();
    let keys: Vec<String> = names(&all)
        .into_iter()
        .filter(|n| n.starts_with("key:"))
        .collect();
    assert_eq!(keys, ["key:k0", "key:k1", "key:k2", "key:k3", "key:k4"]);
    // The five keys and alice's first token, made at t0 and never used.
    assert_eq!(all.total, 6);

    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = unused(&w, &acme.admin, &acme, 30, after, 2, now)
            .await
            .unwrap();
        // Six in pages of two: every page is full, and the third says it
        // is the last.
        assert_eq!(page.credentials.len(), 2);
        assert_eq!(page.total, all.total);
        seen.extend(names(&page));
        if !page.has_more {
            break;
        }
        after = page.credentials.last().map(Unused::place);
        let cursor = after.map(UnusedPlace::cursor).unwrap_or_default();
        assert_eq!(UnusedPlace::from_cursor(&cursor), after);
    }
    assert_eq!(seen, names(&all));
}

#[tokio::test]
async fn only_an_admin_of_the_account_reads_it_and_only_its_own() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let globex = w.tenant("Globex", "gina").await;
    let acme_sa = w.service_account(&acme, "ci", Role::Viewer).await;
    let globex_sa = w.service_account(&globex, "ci", Role::Viewer).await;
    named_key(&w, &acme, acme_sa.id, "acme-key", t0()).await;
    named_key(&w, &globex, globex_sa.id, "globex-key", t0()).await;
    let (editor, _) = w.member(&acme, "eddie", Role::Editor).await;
    let now = t0() + days(40);

    let acme_page = unused(&w, &acme.admin, &acme, 30, None, 100, now)
        .await
        .unwrap();
    let listed = names(&acme_page);
    assert!(listed.contains(&"key:acme-key".to_owned()), "{listed:?}");
    assert!(!listed.contains(&"key:globex-key".to_owned()), "{listed:?}");
    // Globex's Admin's token is not a token of Acme's members.
    let gina = w.kw.personal_access_tokens(&globex.admin).await.unwrap();
    let gina_token = domain::ids::TokenId(gina[0].id.0);
    assert!(
        acme_page
            .credentials
            .iter()
            .all(|c| !matches!(c, Unused::Token(t) if t.id == gina_token))
    );

    let refused = unused(&w, &globex.admin, &acme, 30, None, 100, now).await;
    assert!(
        matches!(refused, Err(DomainError::NotFound(_))),
        "{refused:?}"
    );
    let refused = unused(&w, &editor, &acme, 30, None, 100, now).await;
    assert!(
        matches!(refused, Err(DomainError::Unauthorized(_))),
        "{refused:?}"
    );
    for bad in [0, -3, 3651] {
        let refused = unused(&w, &acme.admin, &acme, bad, None, 100, now).await;
        assert!(
            matches!(refused, Err(DomainError::Invalid(_))),
            "{bad}: {refused:?}"
        );
    }

    // A member of both accounts has their token listed in each.
    let invited =
        w.kw.create_invitation(
            &acme.admin,
            domain::CreateInvitation {
                account_id: acme.id,
                role: Role::Viewer,
                expires_at: None,
            },
            t0(),
        )
        .await
        .unwrap();
    w.kw.accept_invitation(&globex.admin, &w.remember(&invited.secret), t0())
        .await
        .unwrap();
    let acme_page = unused(&w, &acme.admin, &acme, 30, None, 100, now)
        .await
        .unwrap();
    assert!(
        acme_page
            .credentials
            .iter()
            .any(|c| matches!(c, Unused::Token(t) if t.id == gina_token))
    );
}
