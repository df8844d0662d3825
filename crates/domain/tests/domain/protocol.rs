//! The versioned protocol between processes on one PostgreSQL database: a
//! process serves from memory only while it understands every notification and
//! has confirmed every listening connection, and it speaks version 1 with the
//! releases up to 0.1.0. On SQLite there is no protocol, and these tests have
//! nothing to do.

use std::time::{Duration, Instant};

use domain::ids::KeyId;
use domain::{Keyring, Keywarden, PeerCount, Role};
use sea_orm::sqlx::postgres::{PgConnection, PgListener};
use sea_orm::sqlx::{Connection, Executor};

use crate::support::{World, pepper, t0};

/// The name every release gives its listening connection.
const LISTENER_NAME: &str = "keywarden-listener";

async fn process(w: &World) -> Keywarden {
    World::open(&w.url, Keyring::new(pepper(1), vec![])).await
}

async fn raw(w: &World) -> PgConnection {
    PgConnection::connect(&w.url).await.unwrap()
}

async fn notify(w: &World, channel: &str, payload: &str) {
    let mut conn = raw(w).await;
    sea_orm::sqlx::query("SELECT pg_notify($1, $2)")
        .bind(channel)
        .bind(payload)
        .execute(&mut conn)
        .await
        .unwrap();
}

/// Revokes (or restores) key `id` behind keywarden's back: nobody is told.
async fn by_hand(w: &World, id: KeyId, revoked: bool) {
    let mut conn = raw(w).await;
    let value = if revoked { Some(0_i64) } else { None };
    sea_orm::sqlx::query("UPDATE service_account_keys SET revoked_at = $1 WHERE id = $2")
        .bind(value)
        .bind(id.0)
        .execute(&mut conn)
        .await
        .unwrap();
}

/// Whether `kw` answers `token` from memory now: a second verification costs
/// no database read. (Told by reads, not by revoking behind its back: a
/// refusal read while it was not serving would be remembered, rightly, for as
/// long as entries live.)
async fn from_memory(kw: &Keywarden, token: &str) -> bool {
    assert!(kw.authenticate(token, t0()).await.is_ok());
    let before = kw.verification_reads();
    assert!(kw.authenticate(token, t0()).await.is_ok());
    kw.verification_reads() == before
}

async fn until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done().await {
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether `kw` reads the database for each of two verifications of `token`,
/// rather than answering from memory. (Checked by reads, not by revoking
/// behind its back: a refusal read then would be remembered, rightly, for as
/// long as entries live.)
async fn reads_every_time(kw: &Keywarden, token: &str) -> bool {
    let before = kw.verification_reads();
    for _ in 0..2 {
        assert!(kw.authenticate(token, t0()).await.is_ok());
    }
    kw.verification_reads() - before == 2
}

fn peers(kw: &Keywarden) -> PeerCount {
    kw.stats().listener.expect("on PostgreSQL").peers
}

/// A world on PostgreSQL with a key that a second process serves from memory.
async fn setup() -> Option<(World, Keywarden, KeyId, String)> {
    let w = World::new().await;
    if !w.is_postgres() {
        return None;
    }
    let acme = w.tenant("Acme", "alice").await;
    let sa = w.service_account(&acme, "ci", Role::Editor).await;
    let (issued, token) = w.key(&acme, sa.id).await;
    let kw = process(&w).await;
    let id = issued.key.id;
    until(
        "the second process serves the key from memory",
        async || from_memory(&kw, &token).await,
    )
    .await;
    // The world's own process and this one speak the same version.
    assert_eq!(peers(&kw).v2, 1);
    Some((w, kw, id, token))
}

#[tokio::test]
async fn a_notification_it_cannot_read_stops_it_serving_from_memory_for_a_while() {
    let Some((w, kw, _, token)) = setup().await else {
        return;
    };
    // A newer release's change, in words this one does not know.
    notify(&w, "keywarden", "3 changed 1 1 k1 extra").await;
    until("it doubts", async || peers(&kw).doubting).await;
    assert!(!kw.stats().listener.unwrap().serving);
    assert!(reads_every_time(&kw, &token).await);
    // Quiet for a second, it understands everything again.
    until("it serves from memory again", async || {
        from_memory(&kw, &token).await
    })
    .await;
    assert!(!peers(&kw).doubting);
    // Noise on the version 1 channel is doubted the same way.
    notify(&w, "keywarden_credentials", "changed 1 1 nonsense").await;
    until("it doubts", async || peers(&kw).doubting).await;
    assert!(reads_every_time(&kw, &token).await);
}

#[tokio::test]
async fn a_listener_that_never_says_what_it_speaks_stops_every_process_serving_from_memory() {
    let Some((w, kw, _, token)) = setup().await else {
        return;
    };
    let mut mute = raw(&w).await;
    // Named before it listens: a notification that arrives while a plain
    // connection waits for its query's answer fails that query.
    sea_orm::sqlx::query("SELECT set_config('application_name', $1, false)")
        .bind(LISTENER_NAME)
        .execute(&mut mute)
        .await
        .unwrap();
    mute.execute("LISTEN keywarden").await.unwrap();
    // Each process looks at who listens on its own beat: both must have seen
    // it before either is asked.
    until("the mute listener is seen by both processes", async || {
        peers(&kw).unconfirmed == 1 && peers(&w.kw).unconfirmed == 1
    })
    .await;
    for process in [&kw, &w.kw] {
        assert!(reads_every_time(process, &token).await);
    }
    mute.close().await.unwrap();
    until("it serves from memory again", async || {
        from_memory(&kw, &token).await
    })
    .await;
    assert_eq!(peers(&kw).unconfirmed, 0);
}

/// A stand-in for a release up to 0.1.0: it listens on the version 1 channel
/// under the listener's name and answers each change as such a release does.
struct Release010 {
    pid: i32,
    heard: tokio::sync::mpsc::UnboundedReceiver<String>,
    _task: tokio::task::JoinHandle<()>,
}

impl Release010 {
    async fn start(w: &World) -> Release010 {
        let mut listener = PgListener::connect(&w.url).await.unwrap();
        listener.listen("keywarden_credentials").await.unwrap();
        sea_orm::sqlx::query("SELECT set_config('application_name', $1, false)")
            .bind(LISTENER_NAME)
            .execute(&mut listener)
            .await
            .unwrap();
        let (pid,): (i32,) = sea_orm::sqlx::query_as("SELECT pg_backend_pid()")
            .fetch_one(&mut listener)
            .await
            .unwrap();
        let (tx, heard) = tokio::sync::mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            while let Ok(n) = listener.recv().await {
                let payload = n.payload().to_owned();
                let words: Vec<&str> = payload.split(' ').collect();
                if words[0] == "changed" && words[1] != "999" {
                    let answer = format!("heard {} {} {pid}", words[1], words[2]);
                    sea_orm::sqlx::query("SELECT pg_notify('keywarden_credentials', $1)")
                        .bind(answer)
                        .execute(&mut listener)
                        .await
                        .unwrap();
                }
                let _ = tx.send(payload);
            }
        });
        Release010 {
            pid,
            heard,
            _task: task,
        }
    }

    /// Waits for a message it heard that `matches`.
    async fn heard(&mut self, matches: impl Fn(&str) -> bool) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let payload = tokio::time::timeout_at(deadline, self.heard.recv())
                .await
                .expect("heard in time")
                .expect("still listening");
            if matches(&payload) {
                return payload;
            }
        }
    }
}

#[tokio::test]
async fn a_release_speaking_version_1_is_confirmed_told_and_heard() {
    let Some((w, kw, id, token)) = setup().await else {
        return;
    };
    let mut old = Release010::start(&w).await;
    // Confirmed by its answer to a probe, and the cache serves again.
    until("the old release is confirmed", async || {
        let p = peers(&kw);
        p.v1 == 1 && p.unconfirmed == 0
    })
    .await;
    until("it serves from memory beside it", async || {
        from_memory(&kw, &token).await
    })
    .await;
    // A change through this release reaches it in version 1: the key's scope.
    let revoked = {
        let acme = w.tenant("Globex", "gina").await;
        let sa = w.service_account(&acme, "robot", Role::Editor).await;
        let (issued, _) = w.key(&acme, sa.id).await;
        let started = Instant::now();
        kw.revoke_key(&acme.admin, issued.key.id, t0())
            .await
            .unwrap();
        // Answered once everyone heard, the old release too: no 2 s wait.
        assert!(started.elapsed() < Duration::from_millis(1_500));
        issued.key.id
    };
    let scope = format!("k{}", revoked.0);
    let told = old
        .heard(|p| p.starts_with("changed ") && p.split(' ').nth(3) == Some(scope.as_str()))
        .await;
    assert!(!told.starts_with('2'), "{told}");
    // Its change, in version 1, is heard here and answered in version 1.
    by_hand(&w, id, true).await;
    notify(
        &w,
        "keywarden_credentials",
        &format!("changed 999 1 k{}", id.0),
    )
    .await;
    let answer = old.heard(|p| p.starts_with("heard 999 1 ")).await;
    assert_ne!(answer, format!("heard 999 1 {}", old.pid));
    assert!(kw.authenticate(&token, t0()).await.is_err());
    assert!(!peers(&kw).doubting);
}
