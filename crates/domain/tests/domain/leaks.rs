//! Leaked credentials: a report of a live key, token or invitation stops it
//! (or does what its account chose), once, in every process; anything else
//! changes nothing and tells nothing.

use std::net::IpAddr;

use domain::{
    AuthError, CreateInvitation, CreatePersonalAccessToken, DomainError, HOLDER_REPORTS_PER_MINUTE,
    Keyring, LeakLabel, LeakReport, LeakResponse, Origin, Page, Reporter, Role,
};

use crate::support::{World, minutes, pepper, t0};

fn found(token: &str) -> LeakReport {
    LeakReport {
        token: token.to_owned(),
        url: Some("https://github.com/acme/site/blob/abc123/deploy.sh".to_owned()),
        source: Some("commit".to_owned()),
    }
}

/// A Viewer's invitation to `tenant`, made by its Admin at t0.
async fn invite(w: &World, tenant: &crate::support::Tenant) -> domain::IssuedInvitation {
    w.kw.create_invitation(
        &tenant.admin,
        CreateInvitation {
            account_id: tenant.id,
            role: Role::Viewer,
            expires_at: None,
        },
        t0(),
    )
    .await
    .unwrap()
}

async fn report(w: &World, reporter: &Reporter, token: &str) -> LeakLabel {
    w.kw.report_leak(reporter, &found(token), t0() + minutes(1))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_live_key_reported_by_github_is_revoked_recorded_and_logged_once() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let sa = w.service_account(&acme, "ci", Role::Editor).await;
    let (issued, token) = w.key(&acme, sa.id).await;
    let (_, other) = w.key(&acme, sa.id).await;
    assert!(w.auth(&token).await.is_ok(), "cached before the report");

    assert_eq!(
        report(&w, &Reporter::GitHub, &token).await,
        LeakLabel::TruePositive
    );
    assert!(matches!(w.auth(&token).await, Err(AuthError::Revoked)));
    assert!(w.auth(&other).await.is_ok(), "only the leaked key stops");

    let key = w.kw.key(&acme.admin, issued.key.id).await.unwrap();
    assert_eq!(key.revoked_at, Some(t0() + minutes(1)));
    let leak = key.leak.clone().expect("the key shows its leak");
    assert_eq!(leak.reported_at, t0() + minutes(1));
    assert_eq!(leak.reporter, "github");
    assert_eq!(leak.source.as_deref(), Some("commit"));
    assert_eq!(
        leak.url.as_deref(),
        Some("https://github.com/acme/site/blob/abc123/deploy.sh")
    );

    let log = w.audit_log(&acme).await;
    let event = log.last().unwrap();
    assert_eq!(event.action, "credential.leak");
    assert_eq!(event.actor_kind, domain::ActorKind::System);
    assert_eq!(event.actor_name, "GitHub secret scanning");
    assert_eq!(
        (event.target_type.as_str(), event.target_id),
        ("ServiceAccountKey", issued.key.id.0)
    );
    let after = event.after.as_ref().unwrap();
    assert_eq!(after["reporter"], "github");
    assert_eq!(after["response"], "revoke");
    assert_eq!(after["source"], "commit");
    assert!(
        !after.to_string().contains(&token),
        "the log never holds the token"
    );

    // Again, and again from another reporter: the same answer, nothing more.
    let events = w.audit_count().await;
    assert_eq!(
        report(&w, &Reporter::GitHub, &token).await,
        LeakLabel::TruePositive
    );
    assert_eq!(
        report(&w, &Reporter::Holder, &token).await,
        LeakLabel::TruePositive
    );
    assert_eq!(w.audit_count().await, events);
    let again = w.kw.key(&acme.admin, issued.key.id).await.unwrap();
    assert_eq!(again, key, "the first report stands");
}

#[tokio::test]
async fn malformed_unknown_and_dead_tokens_are_false_positives_that_change_nothing() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let sa = w.service_account(&acme, "ci", Role::Editor).await;
    let (revoked, dead) = w.key(&acme, sa.id).await;
    w.kw.revoke_key(&acme.admin, revoked.key.id, t0())
        .await
        .unwrap();
    let (_, live) = w.key(&acme, sa.id).await;
    let mut tampered = live.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'a' { 'b' } else { 'a' });
    // Well formed, checksum and all, but never stored.
    let unknown_key = domain::token::issue_service_account_key(sa.id);
    let unknown_pat = domain::token::issue_personal_access_token();
    // A real key's secret under another service account's id.
    let moved = live.replacen(&format!("lmr_sa_{}_", sa.id.0), "lmr_sa_999_", 1);
    let events = w.audit_count().await;
    for token in [
        "",
        "not a token",
        tampered.as_str(),
        unknown_key.expose(),
        unknown_pat.expose(),
        moved.as_str(),
        dead.as_str(),
    ] {
        for reporter in [
            Reporter::GitHub,
            Reporter::Scanner("gitleaks".into()),
            Reporter::Holder,
        ] {
            assert_eq!(
                report(&w, &reporter, token).await,
                LeakLabel::FalsePositive,
                "{token}"
            );
        }
    }
    assert_eq!(w.audit_count().await, events);
    assert!(w.auth(&live).await.is_ok());
    let dead_key = w.kw.key(&acme.admin, revoked.key.id).await.unwrap();
    assert_eq!(dead_key.leak, None, "a dead key's report is not recorded");
    assert_eq!(
        dead_key.revoked_at,
        Some(t0()),
        "nor is its revocation moved"
    );
}

#[tokio::test]
async fn an_expired_key_and_a_disabled_service_accounts_key_are_not_live() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let sa = w.service_account(&acme, "ci", Role::Editor).await;
    let (_, expiring) = w
        .key_with(
            &acme,
            domain::CreateKey {
                expires: Some(domain::time::Expiry::At(t0() + minutes(1))),
                ..crate::support::create_key(sa.id)
            },
        )
        .await;
    // Reported at t0 + 1 min: it has just expired.
    assert_eq!(
        report(&w, &Reporter::GitHub, &expiring).await,
        LeakLabel::FalsePositive
    );
    let other = w.service_account(&acme, "off", Role::Editor).await;
    let (_, disabled) = w.key(&acme, other.id).await;
    w.kw.update_service_account(
        &acme.admin,
        other.id,
        domain::UpdateServiceAccount {
            enabled: Some(false),
            ..Default::default()
        },
        t0(),
    )
    .await
    .unwrap();
    assert_eq!(
        report(&w, &Reporter::GitHub, &disabled).await,
        LeakLabel::FalsePositive
    );
}

#[tokio::test]
async fn a_leaked_personal_access_token_is_revoked_and_logged_in_its_owners_own_log() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let issued =
        w.kw.create_personal_access_token(&acme.admin, CreatePersonalAccessToken::default(), t0())
            .await
            .unwrap();
    let token = w.remember(&issued.secret);
    assert!(w.auth(&token).await.is_ok());
    let events = w.audit_log(&acme).await.len();

    assert_eq!(
        report(&w, &Reporter::Scanner("trufflehog-ci".into()), &token).await,
        LeakLabel::TruePositive
    );
    assert!(matches!(w.auth(&token).await, Err(AuthError::Revoked)));
    let shown =
        w.kw.personal_access_token(&acme.admin, issued.token.id)
            .await
            .unwrap();
    assert_eq!(
        shown.leak.as_ref().unwrap().reporter,
        "scanner:trufflehog-ci"
    );
    assert_eq!(shown.revoked_at, Some(t0() + minutes(1)));
    // A person's token is in no account's log: in its owner's own.
    assert_eq!(w.audit_log(&acme).await.len(), events);
    let own =
        w.kw.own_audit_events(
            &acme.admin,
            &domain::AuditQuery {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .events;
    let event = own.iter().find(|e| e.action == "credential.leak").unwrap();
    assert_eq!(event.actor_name, "scanner trufflehog-ci");
    assert_eq!(event.target_id, issued.token.id.0);
    assert_eq!(
        report(&w, &Reporter::Holder, &token).await,
        LeakLabel::TruePositive
    );
}

#[tokio::test]
async fn a_leaked_invitation_is_withdrawn_and_can_no_longer_be_accepted() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let invited = invite(&w, &acme).await;
    let secret = w.remember(&invited.secret);
    assert_eq!(
        report(&w, &Reporter::Holder, &secret).await,
        LeakLabel::TruePositive
    );
    let event = w.audit_log(&acme).await.pop().unwrap();
    assert_eq!(event.action, "credential.leak");
    assert_eq!(event.target_type, "AccountInvitation");
    assert_eq!(event.after.as_ref().unwrap()["response"], "revoke");
    let globex = w.tenant("Globex", "bob").await;
    let refused =
        w.kw.accept_invitation(&globex.admin, &secret, t0() + minutes(2))
            .await;
    assert!(refused.is_err(), "a withdrawn invitation is refused");
    assert_eq!(
        report(&w, &Reporter::Holder, &secret).await,
        LeakLabel::TruePositive
    );
}

#[tokio::test]
async fn an_account_that_disables_loses_the_whole_service_account_and_one_that_records_keeps_the_key()
 {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let globex = w.tenant("Globex", "bob").await;
    assert_eq!(
        w.kw.leak_response(&acme.admin, acme.id).await.unwrap(),
        LeakResponse::Revoke,
        "revoking is the default"
    );
    w.kw.set_leak_response(&acme.admin, acme.id, LeakResponse::Disable, t0())
        .await
        .unwrap();
    w.kw.set_leak_response(&globex.admin, globex.id, LeakResponse::Record, t0())
        .await
        .unwrap();
    let setting = w.audit_log(&acme).await.pop().unwrap();
    assert_eq!(setting.action, "account.update");
    assert_eq!(setting.before.unwrap()["leakResponse"], "revoke");
    assert_eq!(setting.after.unwrap()["leakResponse"], "disable");

    let sa = w.service_account(&acme, "ci", Role::Editor).await;
    let (_, leaked) = w.key(&acme, sa.id).await;
    let (_, sibling) = w.key(&acme, sa.id).await;
    assert!(w.auth(&sibling).await.is_ok());
    assert_eq!(
        report(&w, &Reporter::GitHub, &leaked).await,
        LeakLabel::TruePositive
    );
    assert!(w.auth(&leaked).await.is_err());
    assert!(
        matches!(w.auth(&sibling).await, Err(AuthError::Disabled)),
        "its service account is disabled"
    );
    let log = w.audit_log(&acme).await;
    let actions: Vec<&str> = log
        .iter()
        .rev()
        .take(2)
        .map(|e| e.action.as_str())
        .collect();
    assert_eq!(actions, ["service_account.disable", "credential.leak"]);
    assert_eq!(
        log[log.len() - 2].after.as_ref().unwrap()["response"],
        "disable"
    );

    let gsa = w.service_account(&globex, "ci", Role::Editor).await;
    let (issued, kept) = w.key(&globex, gsa.id).await;
    assert_eq!(
        report(&w, &Reporter::GitHub, &kept).await,
        LeakLabel::TruePositive
    );
    assert!(w.auth(&kept).await.is_ok(), "recorded only: it still works");
    let key = w.kw.key(&globex.admin, issued.key.id).await.unwrap();
    assert!(key.leak.is_some() && key.revoked_at.is_none());
    assert_eq!(
        w.audit_log(&globex).await.pop().unwrap().after.unwrap()["response"],
        "record"
    );
    let events = w.audit_count().await;
    assert_eq!(
        report(&w, &Reporter::GitHub, &kept).await,
        LeakLabel::TruePositive
    );
    assert_eq!(
        w.audit_count().await,
        events,
        "a recorded leak is recorded once"
    );
}

#[tokio::test]
async fn only_an_admin_of_the_account_reads_or_sets_what_a_leak_does() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let globex = w.tenant("Globex", "bob").await;
    let (viewer, _) = w.member(&acme, "vera", Role::Viewer).await;
    let (_, robot, _) = w.robot(&acme, Role::Admin).await;
    for caller in [&viewer, &robot] {
        assert!(matches!(
            w.kw.set_leak_response(caller, acme.id, LeakResponse::Record, t0())
                .await,
            Err(DomainError::Unauthorized(_))
        ));
    }
    assert!(matches!(
        w.kw.set_leak_response(&globex.admin, acme.id, LeakResponse::Record, t0())
            .await,
        Err(DomainError::NotFound(_))
    ));
    assert!(matches!(
        w.kw.leak_response(&globex.admin, acme.id).await,
        Err(DomainError::NotFound(_))
    ));
    assert_eq!(
        w.kw.leak_response(&acme.admin, acme.id).await.unwrap(),
        LeakResponse::Revoke
    );
}

#[tokio::test]
async fn a_report_of_one_accounts_key_changes_nothing_in_another() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let globex = w.tenant("Globex", "bob").await;
    let sa = w.service_account(&acme, "ci", Role::Editor).await;
    let (_, token) = w.key(&acme, sa.id).await;
    let gsa = w.service_account(&globex, "ci", Role::Editor).await;
    let (gkey, gtoken) = w.key(&globex, gsa.id).await;
    let globex_log = w.audit_log(&globex).await;
    // Reported through Globex's webhook: revoked all the same.
    assert_eq!(
        report(&w, &Reporter::GitHubWebhook, &token).await,
        LeakLabel::TruePositive
    );
    assert!(w.auth(&token).await.is_err());
    assert_eq!(w.audit_log(&globex).await, globex_log);
    assert!(w.auth(&gtoken).await.is_ok());
    assert_eq!(
        w.kw.key(&globex.admin, gkey.key.id).await.unwrap().leak,
        None
    );
    let acme_event = w.audit_log(&acme).await.pop().unwrap();
    assert_eq!(acme_event.after.unwrap()["reporter"], "github_webhook");
}

#[tokio::test]
async fn a_batch_is_answered_in_order_and_the_same_token_twice_alike() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let sa = w.service_account(&acme, "ci", Role::Editor).await;
    let (_, token) = w.key(&acme, sa.id).await;
    let batch = [
        found("junk"),
        found(&token),
        found(&token),
        found("lmr_pat_nope"),
    ];
    let labels =
        w.kw.report_leaks(&Reporter::GitHub, &batch, t0() + minutes(1))
            .await
            .unwrap();
    use LeakLabel::{FalsePositive as F, TruePositive as T};
    assert_eq!(labels, [F, T, T, F]);
    let leaks = w
        .audit_log(&acme)
        .await
        .iter()
        .filter(|e| e.action == "credential.leak")
        .count();
    assert_eq!(leaks, 1);
}

#[tokio::test]
async fn a_long_url_and_source_are_cut_to_their_bounds() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let sa = w.service_account(&acme, "ci", Role::Editor).await;
    let (issued, token) = w.key(&acme, sa.id).await;
    let report = LeakReport {
        token,
        url: Some(format!("https://example.com/{}", "é".repeat(5000))),
        source: Some("x".repeat(500)),
    };
    w.kw.report_leak(&Reporter::GitHub, &report, t0())
        .await
        .unwrap();
    let leak =
        w.kw.key(&acme.admin, issued.key.id)
            .await
            .unwrap()
            .leak
            .unwrap();
    assert!(leak.url.unwrap().len() <= domain::MAX_LEAK_URL);
    assert_eq!(leak.source.unwrap().len(), domain::MAX_LEAK_SOURCE);
}

#[tokio::test]
async fn a_holder_may_report_a_bounded_number_a_minute_from_one_address() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let sa = w.service_account(&acme, "ci", Role::Editor).await;
    let (_, token) = w.key(&acme, sa.id).await;
    let from = |last: u8| Origin {
        client: Some(IpAddr::from([203, 0, 113, last])),
        request_id: None,
    };
    for _ in 0..HOLDER_REPORTS_PER_MINUTE {
        from(1)
            .within(w.kw.report_leak_as_holder("lmr_pat_made_up", t0()))
            .await
            .unwrap();
    }
    let refused = from(1)
        .within(w.kw.report_leak_as_holder(&token, t0()))
        .await;
    assert!(matches!(refused, Err(DomainError::LimitExceeded(_))));
    assert!(
        w.auth(&token).await.is_ok(),
        "a refused report does nothing"
    );
    // Another address is not held back by the first.
    from(2)
        .within(w.kw.report_leak_as_holder(&token, t0()))
        .await
        .unwrap();
    assert!(matches!(w.auth(&token).await, Err(AuthError::Revoked)));
}

#[tokio::test]
async fn a_key_reported_through_one_process_is_refused_by_another_on_its_next_request() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let sa = w.service_account(&acme, "ci", Role::Editor).await;
    let (_, token) = w.key(&acme, sa.id).await;
    let other = World::open(&w.url, Keyring::new(pepper(1), vec![])).await;
    assert!(
        other.authenticate(&token, t0()).await.is_ok(),
        "cached there"
    );
    assert_eq!(
        report(&w, &Reporter::GitHub, &token).await,
        LeakLabel::TruePositive
    );
    assert!(matches!(
        other.authenticate(&token, t0()).await,
        Err(AuthError::Revoked)
    ));
}

#[tokio::test]
async fn a_key_digested_under_a_retired_pepper_is_found_too() {
    let w = World::with_keyring(Keyring::new(pepper(1), vec![])).await;
    let acme = w.tenant("Acme", "alice").await;
    let sa = w.service_account(&acme, "ci", Role::Editor).await;
    let (issued, token) = w.key(&acme, sa.id).await;
    let rotated = World::open(&w.url, Keyring::new(pepper(2), vec![pepper(1)])).await;
    let label = rotated
        .report_leak(&Reporter::GitHub, &found(&token), t0())
        .await
        .unwrap();
    assert_eq!(label, LeakLabel::TruePositive);
    let keys =
        w.kw.keys(&acme.admin, sa.id, Page::default())
            .await
            .unwrap();
    assert!(
        keys.iter()
            .any(|k| k.id == issued.key.id && k.revoked_at.is_some())
    );
}

#[tokio::test]
async fn an_expired_or_revoked_token_and_an_accepted_invitation_are_not_live() {
    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let expiring =
        w.kw.create_personal_access_token(
            &acme.admin,
            CreatePersonalAccessToken {
                expires_at: Some(t0() + minutes(1)),
                ..Default::default()
            },
            t0(),
        )
        .await
        .unwrap();
    let revoked =
        w.kw.create_personal_access_token(&acme.admin, CreatePersonalAccessToken::default(), t0())
            .await
            .unwrap();
    w.kw.revoke_personal_access_token(&acme.admin, revoked.token.id, t0())
        .await
        .unwrap();
    let invited = invite(&w, &acme).await;
    let globex = w.tenant("Globex", "bob").await;
    let invitation = w.remember(&invited.secret);
    w.kw.accept_invitation(&globex.admin, &invitation, t0())
        .await
        .unwrap();
    let events = w.audit_count().await;
    // Reported at t0 + 1 min: the first token has just expired.
    for secret in [
        w.remember(&expiring.secret),
        w.remember(&revoked.secret),
        invitation,
    ] {
        assert_eq!(
            report(&w, &Reporter::GitHub, &secret).await,
            LeakLabel::FalsePositive
        );
    }
    assert_eq!(w.audit_count().await, events, "nothing was changed");
    for (id, revoked_at) in [(expiring.token.id, None), (revoked.token.id, Some(t0()))] {
        let token = w.kw.personal_access_token(&acme.admin, id).await.unwrap();
        assert_eq!(token.leak, None);
        assert_eq!(token.revoked_at, revoked_at);
    }
    let accepted =
        w.kw.invitation(&acme.admin, invited.invitation.id)
            .await
            .unwrap();
    assert_eq!(accepted.revoked_at, None, "an accepted invitation stays so");
}

/// A report acts only on the row that is the token's own: a row whose
/// digest matches but that names another service account, or another
/// pepper, is not that token, as verification too would say.
#[tokio::test]
async fn a_row_that_is_not_the_tokens_own_is_not_reported() {
    use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};

    let w = World::new().await;
    let acme = w.tenant("Acme", "alice").await;
    let sa = w.service_account(&acme, "ci", Role::Editor).await;
    let elsewhere = w.service_account(&acme, "elsewhere", Role::Editor).await;
    let (moved, moved_key) = w.key(&acme, sa.id).await;
    let row = entity::service_account_key::Entity::find_by_id(moved.key.id.0)
        .one(w.kw.db())
        .await
        .unwrap()
        .unwrap();
    let mut row: entity::service_account_key::ActiveModel = row.into();
    row.service_account_id = Set(elsewhere.id.0);
    row.update(w.kw.db()).await.unwrap();
    assert_eq!(
        report(&w, &Reporter::GitHub, &moved_key).await,
        LeakLabel::FalsePositive
    );
    let key = w.kw.key(&acme.admin, moved.key.id).await.unwrap();
    assert_eq!((key.revoked_at, key.leak), (None, None));

    let (renamed, key) = w.key(&acme, sa.id).await;
    let issued =
        w.kw.create_personal_access_token(&acme.admin, CreatePersonalAccessToken::default(), t0())
            .await
            .unwrap();
    let invited = invite(&w, &acme).await;
    for table in [
        "service_account_keys",
        "personal_access_tokens",
        "account_invitations",
    ] {
        w.kw.db()
            .execute_unprepared(&format!("UPDATE {table} SET pepper_id = 'another'"))
            .await
            .unwrap();
    }
    let events = w.audit_count().await;
    for secret in [key, w.remember(&issued.secret), w.remember(&invited.secret)] {
        assert_eq!(
            report(&w, &Reporter::GitHub, &secret).await,
            LeakLabel::FalsePositive
        );
    }
    assert_eq!(w.audit_count().await, events);
    let key = w.kw.key(&acme.admin, renamed.key.id).await.unwrap();
    assert_eq!((key.revoked_at, key.leak), (None, None));
    let token =
        w.kw.personal_access_token(&acme.admin, issued.token.id)
            .await
            .unwrap();
    assert_eq!((token.revoked_at, token.leak), (None, None));
    let invitation =
        w.kw.invitation(&acme.admin, invited.invitation.id)
            .await
            .unwrap();
    assert_eq!(invitation.revoked_at, None);
}

/// The server's housekeeping forgets an address once its quota has refilled,
/// so the table of addresses cannot grow without end. One report comes back
/// every two seconds, and the limiter forgets an address one interval after
/// that: four seconds after a single report.
#[tokio::test]
async fn an_address_is_forgotten_once_its_quota_has_refilled() {
    let w = World::new().await;
    let _acme = w.tenant("Acme", "alice").await;
    let from = Origin {
        client: Some(IpAddr::from([198, 51, 100, 7])),
        request_id: None,
    };
    assert_eq!(w.kw.prune_holder_reports(), 0);
    from.within(w.kw.report_leak_as_holder("lmr_pat_made_up", t0()))
        .await
        .unwrap();
    assert_eq!(w.kw.prune_holder_reports(), 1, "still counted");
    tokio::time::sleep(std::time::Duration::from_millis(2 * 60_000 / 30 + 200)).await;
    assert_eq!(w.kw.prune_holder_reports(), 0, "refilled, so forgotten");
}
