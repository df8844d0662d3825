//! No issued secret, and not the pepper, is ever stored: a scan of the database
//! file after a busy scenario finds none of them anywhere.

use std::time::Duration;

use domain::{CreatePersonalAccessToken, Keyring, Role, RotateKey};

use crate::support::{World, minutes, t0};

#[tokio::test]
async fn no_issued_secret_appears_anywhere_in_the_database() {
    let pepper_text = "correct horse battery staple, long enough for a pepper";
    let pepper = domain::Pepper::new(pepper_text.as_bytes()).unwrap();
    let w = World::with_keyring(Keyring::new(pepper, vec![])).await;
    let acme = w.tenant("Acme", "alice").await;
    let (_, bob_token) = w.member(&acme, "bob", Role::Editor).await;
    let (_, robot, key) = w.robot(&acme, Role::Editor).await;
    let domain::Principal::ServiceAccount(p) = &robot else {
        unreachable!()
    };
    let rotated =
        w.kw.rotate_key(
            &acme.admin,
            RotateKey {
                key_id: p.key_id,
                expires_at: None,
                overlap: Duration::from_secs(60),
            },
            t0(),
        )
        .await
        .unwrap();
    w.remember(&rotated.secret);
    let pat =
        w.kw.create_personal_access_token(
            &acme.admin,
            CreatePersonalAccessToken {
                name: None,
                expires_at: Some(t0() + minutes(120)),
            },
            t0(),
        )
        .await
        .unwrap();
    w.remember(&pat.secret);
    let rotated_pat =
        w.kw.rotate_personal_access_token(&acme.admin, pat.token.id, t0() + minutes(240), t0())
            .await
            .unwrap();
    w.remember(&rotated_pat.secret);
    for token in [&key, &bob_token] {
        w.auth(token).await.unwrap();
    }
    w.kw.flush_usage().await.unwrap();

    let haystack = w.dump().await;
    let issued = w.issued.lock().unwrap().clone();
    assert!(
        issued.len() >= 5,
        "the scenario issued {} secrets",
        issued.len()
    );
    for secret in &issued {
        // The random part alone, in case a prefix were stripped before storing.
        let random = &secret[secret.len() - 38..secret.len() - 6];
        assert!(
            !test_support::holds(&haystack, random),
            "a secret was stored: {secret}"
        );
    }
    assert!(
        !test_support::holds(&haystack, pepper_text),
        "the pepper was stored"
    );
    // The scan does see what is stored: names are there in plain text.
    assert!(haystack.contains("robot") && haystack.contains("Acme"));
}
