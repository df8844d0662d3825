//! `lastUsedAt`: to the minute, written off the request path, at most once a
//! minute per credential.

use domain::Role;
use sea_orm::EntityTrait;

use crate::support::{World, minutes, t0};

async fn stored_last_used(w: &World, key: i64) -> Option<i64> {
    entity::service_account_key::Entity::find_by_id(key)
        .one(w.kw.db())
        .await
        .unwrap()
        .unwrap()
        .last_used_at
}

#[tokio::test]
async fn verification_writes_nothing_and_a_flush_writes_once_per_minute() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let sa = w.service_account(&acme, "ci", Role::Viewer).await;
    let (issued, token) = w.key(&acme, sa.id).await;
    let id = issued.key.id.0;
    w.kw.flush_usage().await.unwrap();

    for i in 0..100 {
        w.auth_at(&token, t0() + chrono::Duration::milliseconds(i))
            .await
            .unwrap();
    }
    // Nothing is written on the request path.
    assert_eq!(stored_last_used(&w, id).await, None);
    assert_eq!(w.kw.flush_usage().await.unwrap(), 1);
    assert_eq!(
        stored_last_used(&w, id).await,
        Some(t0().timestamp_millis())
    );

    // Within the minute, further uses write nothing.
    for s in [1, 30, 59] {
        w.auth_at(&token, t0() + chrono::Duration::seconds(s))
            .await
            .unwrap();
    }
    assert_eq!(w.kw.flush_usage().await.unwrap(), 0);
    assert_eq!(
        stored_last_used(&w, id).await,
        Some(t0().timestamp_millis())
    );

    // A minute later, one more write.
    let later = t0() + minutes(1);
    w.auth_at(&token, later).await.unwrap();
    w.auth_at(&token, later).await.unwrap();
    assert_eq!(w.kw.flush_usage().await.unwrap(), 1);
    assert_eq!(
        stored_last_used(&w, id).await,
        Some(later.timestamp_millis())
    );
}

#[tokio::test]
async fn two_processes_on_one_database_write_a_credential_once_a_minute_between_them() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let (_, principal, token) = w.robot(&acme, Role::Viewer).await;
    w.kw.flush_usage().await.unwrap();
    let other = World::open(
        &w.url,
        domain::Keyring::new(crate::support::pepper(1), vec![]),
    )
    .await;
    let at = t0() + minutes(5);
    w.auth_at(&token, at).await.unwrap();
    other
        .authenticate(&token, at + chrono::Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(w.kw.flush_usage().await.unwrap(), 1);
    assert_eq!(other.flush_usage().await.unwrap(), 0);
    let domain::Principal::ServiceAccount(p) = principal else {
        unreachable!()
    };
    assert_eq!(
        stored_last_used(&w, p.key_id.0).await,
        Some(at.timestamp_millis())
    );
}

#[tokio::test]
async fn personal_access_tokens_record_their_use_too() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let (bob, token) = w.member(&acme, "bob", Role::Viewer).await;
    w.kw.flush_usage().await.unwrap();
    w.auth_at(&token, t0() + minutes(3)).await.unwrap();
    assert_eq!(w.kw.flush_usage().await.unwrap(), 1);
    let tokens = w.kw.personal_access_tokens(&bob).await.unwrap();
    assert_eq!(tokens[0].last_used_at, Some(t0() + minutes(3)));
}

#[tokio::test]
async fn a_use_served_from_the_cache_a_minute_after_the_stored_one_is_recorded() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let (_, principal, token) = w.robot(&acme, Role::Viewer).await;
    let domain::Principal::ServiceAccount(p) = principal else {
        unreachable!()
    };
    w.kw.flush_usage().await.unwrap();
    let at = t0() + minutes(5);
    w.auth_at(&token, at).await.unwrap();
    assert_eq!(w.kw.flush_usage().await.unwrap(), 1);

    // Another process reads the key (stored use: `at`) half a minute later,
    // then serves it from its cache 70 s after `at`: that use is a minute past
    // the stored one, so it is recorded, once.
    let other = World::open(
        &w.url,
        domain::Keyring::new(crate::support::pepper(1), vec![]),
    )
    .await;
    other
        .authenticate(&token, at + chrono::Duration::seconds(30))
        .await
        .unwrap();
    for s in [70, 71, 89] {
        other
            .authenticate(&token, at + chrono::Duration::seconds(s))
            .await
            .unwrap();
    }
    assert_eq!(other.flush_usage().await.unwrap(), 1);
    assert_eq!(
        stored_last_used(&w, p.key_id.0).await,
        Some((at + chrono::Duration::seconds(70)).timestamp_millis())
    );
}

fn client(address: &str, agent: &'static str) -> domain::Client<'static> {
    domain::Client {
        address: address.parse().ok(),
        agent: Some(agent),
    }
}

#[tokio::test]
async fn the_address_and_agent_of_the_recorded_use_are_kept_with_its_time() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let sa = w.service_account(&acme, "ci", Role::Viewer).await;
    let (issued, token) = w.key(&acme, sa.id).await;
    let (bob, bob_token) = w.member(&acme, "bob", Role::Viewer).await;
    w.kw.flush_usage().await.unwrap();
    let key_of = |w: &World| {
        let kw = w.kw.clone();
        let admin = acme.admin.clone();
        let id = issued.key.id;
        async move { kw.key(&admin, id).await.unwrap() }
    };
    assert_eq!(key_of(&w).await.last_used_from, None);

    let at = t0() + minutes(5);
    w.kw.authenticate_from(&token, client("192.0.2.7", "deploy-bot/1.2"), at)
        .await
        .unwrap();
    w.kw.authenticate_from(&bob_token, client("2001:db8::9", "curl/8.5.0"), at)
        .await
        .unwrap();
    assert_eq!(w.kw.flush_usage().await.unwrap(), 2);
    let key = key_of(&w).await;
    assert_eq!(key.last_used_at, Some(at));
    assert_eq!(key.last_used_from, "192.0.2.7".parse().ok());
    assert_eq!(key.last_used_agent.as_deref(), Some("deploy-bot/1.2"));
    let tokens = w.kw.personal_access_tokens(&bob).await.unwrap();
    assert_eq!(tokens[0].last_used_from, "2001:db8::9".parse().ok());
    assert_eq!(tokens[0].last_used_agent.as_deref(), Some("curl/8.5.0"));

    // Within the minute another client changes nothing; a minute on, its use
    // is the one kept, and a use with no agent clears the agent.
    w.kw.authenticate_from(
        &token,
        client("198.51.100.1", "other"),
        at + minutes(1) - chrono::Duration::milliseconds(1),
    )
    .await
    .unwrap();
    assert_eq!(w.kw.flush_usage().await.unwrap(), 0);
    assert_eq!(key_of(&w).await.last_used_from, "192.0.2.7".parse().ok());
    let later = at + minutes(2);
    let no_agent = domain::Client {
        address: "198.51.100.1".parse().ok(),
        agent: None,
    };
    w.kw.authenticate_from(&token, no_agent, later)
        .await
        .unwrap();
    assert_eq!(w.kw.flush_usage().await.unwrap(), 1);
    let key = key_of(&w).await;
    assert_eq!(key.last_used_at, Some(later));
    assert_eq!(key.last_used_from, "198.51.100.1".parse().ok());
    assert_eq!(key.last_used_agent, None);

    // An agent is stored printable and cut to its first 256 characters.
    let long = format!("bot\n{}", "x".repeat(400));
    let much_later = at + minutes(10);
    w.kw.authenticate_from(
        &token,
        domain::Client {
            address: None,
            agent: Some(&long),
        },
        much_later,
    )
    .await
    .unwrap();
    w.kw.flush_usage().await.unwrap();
    let key = key_of(&w).await;
    let agent = key.last_used_agent.unwrap_or_default();
    assert_eq!(agent.chars().count(), domain::MAX_AGENT_CHARS);
    assert!(agent.starts_with("bot x"), "{agent}");
    assert_eq!(key.last_used_from, None);
}
