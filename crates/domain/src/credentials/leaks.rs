//! Leaked credentials: what a report that a credential keywarden issued was
//! found in public does to it.
//!
//! A report names the token itself, since holding it is the proof: whoever
//! reports it (GitHub's secret scanning, an organisation's own scanner, the
//! webhook of GitHub's custom patterns, or anyone holding it) may have it
//! revoked. The token's shape and checksum are checked before anything is
//! read, so that a malformed or made-up token costs no read at all, and a
//! well-formed unknown one costs one indexed lookup by digest.
//!
//! A live credential's first report records where it was found and does what
//! its account chose ([`LeakResponse`]): by default it is revoked (an
//! invitation withdrawn) through the write unit, so every process refuses it
//! on its next request. A second report of it changes nothing and is answered
//! as the first was. The answer never says which account a credential is in:
//! a reporter learns only whether the token was one keywarden issued and could
//! use ([`LeakLabel`]), which it could learn by presenting the token anyway.

use chrono::{DateTime, Utc};
use entity::{account, account_invitation as invitation, personal_access_token as pat};
use entity::{service_account, service_account_key as key};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::base::error::{DomainError, DomainResult};
use crate::base::ids::{AccountId, KeyId, ServiceAccountId, TokenId, UserId};
use crate::base::kinds;
use crate::base::origin::Origin;
use crate::base::time::{from_millis, to_millis};
use crate::coherence::Scope;
use crate::credentials::token::{self, TokenKind};
use crate::policy::principal::Principal;
use crate::policy::table::{Action, authorize};
use crate::warden::audit::{AuditAction, Event, Target};
use crate::warden::handle::Keywarden;
use crate::warden::keyring::{Keyring, StoredDigest, digests};
use crate::warden::locks;
use crate::warden::write::Change;

/// What a leak of one of an account's credentials does, as its Admins chose.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum LeakResponse {
    /// Revoke the key or token, withdraw the invitation (the default).
    #[default]
    Revoke,
    /// Revoke the key and disable its service account too, so that none of
    /// its keys works until an Admin enables it again.
    Disable,
    /// Only record the leak, for a team that rotates first; the credential
    /// keeps working.
    Record,
}

impl LeakResponse {
    pub const ALL: [LeakResponse; 3] = [Self::Revoke, Self::Disable, Self::Record];

    /// The name stored in `accounts.leak_response` and written in the log.
    pub fn code(self) -> &'static str {
        match self {
            Self::Revoke => "revoke",
            Self::Disable => "disable",
            Self::Record => "record",
        }
    }

    pub(crate) fn from_stored(stored: Option<&str>) -> DomainResult<Self> {
        match stored {
            None => Ok(Self::Revoke),
            Some(code) => Self::ALL
                .into_iter()
                .find(|r| r.code() == code)
                .ok_or_else(|| DomainError::Internal(format!("stored leak response {code:?}"))),
        }
    }
}

/// Who reported a leak, as the audit log and the credential show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reporter {
    /// GitHub's secret scanning, as a partner: signed with GitHub's keys.
    GitHub,
    /// The webhook of an organisation's custom secret-scanning patterns on
    /// GitHub, signed with the secret of an account's webhook.
    GitHubWebhook,
    /// An organisation's own scanner, by the name of the key that signed it.
    Scanner(String),
    /// Someone who holds the token and says it leaked.
    Holder,
}

/// The longest name of a scanner kept with a leak.
pub const MAX_SCANNER_NAME: usize = 128;
/// The longest `url` kept with a leak; a longer one is cut to it.
pub const MAX_LEAK_URL: usize = 2048;
/// The longest `source` kept with a leak.
pub const MAX_LEAK_SOURCE: usize = 64;

impl Reporter {
    /// How the credential's row keeps it: `github`, `github_webhook`,
    /// `holder`, `scanner:<name>`.
    pub fn stored(&self) -> String {
        match self {
            Self::GitHub => "github".to_owned(),
            Self::GitHubWebhook => "github_webhook".to_owned(),
            Self::Scanner(name) => format!("scanner:{}", cut(name, MAX_SCANNER_NAME)),
            Self::Holder => "holder".to_owned(),
        }
    }

    /// The actor's name in the audit log.
    fn actor_name(&self) -> String {
        match self {
            Self::GitHub => "GitHub secret scanning".to_owned(),
            Self::GitHubWebhook => "GitHub secret scanning (custom pattern)".to_owned(),
            Self::Scanner(name) => format!("scanner {}", cut(name, MAX_SCANNER_NAME)),
            Self::Holder => "a holder of the credential".to_owned(),
        }
    }
}

/// The start of `text`, at most `max` bytes, cut at a character's edge.
fn cut(text: &str, max: usize) -> &str {
    &text[..text.floor_char_boundary(max)]
}

/// One found token and where it was found.
#[derive(Clone, PartialEq, Eq)]
pub struct LeakReport {
    pub token: String,
    /// Where it was found (GitHub: the commit, comment or gist).
    pub url: Option<String>,
    /// What kind of place that was (GitHub's `source`: `commit`,
    /// `issue_comment`, ...), as given; an unknown value is kept as it is.
    pub source: Option<String>,
}

impl std::fmt::Debug for LeakReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeakReport")
            .field("token", &"<redacted>")
            .field("url", &self.url)
            .field("source", &self.source)
            .finish()
    }
}

/// What a holder who reports a token is told, whatever the token was.
pub const HOLDER_ANSWER: &str =
    "Thank you. If this is a credential this server issued, it has been reported to its account.";

/// What keywarden says of a reported token.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum LeakLabel {
    /// A credential keywarden issued that was live when first reported.
    TruePositive,
    /// Anything else: malformed, unknown, or already dead when reported.
    FalsePositive,
}

impl LeakLabel {
    pub fn code(self) -> &'static str {
        match self {
            Self::TruePositive => "true_positive",
            Self::FalsePositive => "false_positive",
        }
    }
}

/// A credential's leak, as its row keeps the first report of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leak {
    pub reported_at: DateTime<Utc>,
    pub url: Option<String>,
    pub source: Option<String>,
    /// `github`, `github_webhook`, `holder` or `scanner:<name>`.
    pub reporter: String,
}

impl Leak {
    /// The leak kept in a row's four columns, if it has one.
    pub(crate) fn from_stored(
        at: Option<i64>,
        url: Option<String>,
        source: Option<String>,
        reporter: Option<String>,
    ) -> DomainResult<Option<Self>> {
        let Some(at) = at else {
            return Ok(None);
        };
        Ok(Some(Self {
            reported_at: from_millis(at)?,
            url,
            source,
            reporter: reporter.unwrap_or_default(),
        }))
    }
}

/// A report's fields as stored: bounded, and the same for every table.
struct Stored {
    at: i64,
    url: Option<String>,
    source: Option<String>,
    reporter: String,
}

impl Stored {
    fn of(reporter: &Reporter, report: &LeakReport, change: &Change<'_>) -> Self {
        Self {
            at: change.now_ms(),
            url: report
                .url
                .as_deref()
                .map(|u| cut(u, MAX_LEAK_URL).to_owned()),
            source: report
                .source
                .as_deref()
                .map(|s| cut(s, MAX_LEAK_SOURCE).to_owned()),
            reporter: reporter.stored(),
        }
    }

    /// The audit event's `after`: what was found where, and what was done.
    fn audited(&self, credential: &str, done: &str) -> serde_json::Value {
        serde_json::json!({
            "credential": credential,
            "url": self.url,
            "source": self.source,
            "reporter": self.reporter,
            "response": done,
        })
    }
}

/// What a well-formed reported string claims to be.
enum Claimed {
    Key(ServiceAccountId),
    Token,
    Invitation,
}

fn claimed(raw: &str) -> Option<Claimed> {
    match token::parse(raw) {
        Ok(parsed) => Some(match parsed.kind() {
            TokenKind::ServiceAccountKey(id) => Claimed::Key(id),
            TokenKind::PersonalAccessToken => Claimed::Token,
        }),
        Err(_) => token::parse_invitation(raw)
            .ok()
            .map(|_| Claimed::Invitation),
    }
}

/// Why a credential found by its digest has no leak to record.
enum Found<T> {
    /// Not stored, or stored under a different pepper than the row says.
    None,
    /// Its first report is already recorded.
    Known,
    /// Revoked, expired, used or disabled before it was reported.
    Dead,
    Live(T),
}

impl<T> Found<T> {
    /// A stored credential: known as leaked before all else, then dead or live.
    fn judged(leaked: bool, dead: bool, row: T) -> Self {
        if leaked {
            Found::Known
        } else if dead {
            Found::Dead
        } else {
            Found::Live(row)
        }
    }
}

impl Keywarden {
    /// Answers each of `reports`, in order, doing what a leak of each live
    /// credential asks. The same token twice in one batch is answered twice,
    /// alike.
    pub async fn report_leaks(
        &self,
        reporter: &Reporter,
        reports: &[LeakReport],
        now: DateTime<Utc>,
    ) -> DomainResult<Vec<LeakLabel>> {
        let mut labels = Vec::with_capacity(reports.len());
        for report in reports {
            labels.push(self.report_leak(reporter, report, now).await?);
        }
        Ok(labels)
    }

    /// A holder's report of a token they say leaked, needing no credential.
    /// The answer is the same whatever the token is, so it tells nothing;
    /// each client address may make
    /// [`crate::warden::quota::HOLDER_REPORTS_PER_MINUTE`] a minute.
    pub async fn report_leak_as_holder(&self, token: &str, now: DateTime<Utc>) -> DomainResult<()> {
        if !self.holder_reports.admit(Origin::current().client) {
            return Err(DomainError::LimitExceeded(
                "Too many leak reports from this address: try again in a minute",
            ));
        }
        let report = LeakReport {
            token: token.to_owned(),
            url: None,
            source: None,
        };
        self.report_leak(&Reporter::Holder, &report, now).await?;
        Ok(())
    }

    /// Forgets addresses whose holder reports have refilled; returns how
    /// many addresses are still counted.
    pub fn prune_holder_reports(&self) -> usize {
        self.holder_reports.prune()
    }

    /// Answers one report.
    pub async fn report_leak(
        &self,
        reporter: &Reporter,
        report: &LeakReport,
        now: DateTime<Utc>,
    ) -> DomainResult<LeakLabel> {
        let raw = report.token.as_str();
        let known = match claimed(raw) {
            None => return Ok(LeakLabel::FalsePositive),
            Some(Claimed::Key(sa)) => self.leak_key(reporter, report, sa, now).await?,
            Some(Claimed::Token) => self.leak_token(reporter, report, now).await?,
            Some(Claimed::Invitation) => self.leak_invitation(reporter, report, now).await?,
        };
        Ok(if known {
            LeakLabel::TruePositive
        } else {
            LeakLabel::FalsePositive
        })
    }

    fn candidates(&self, raw: &str) -> Vec<StoredDigest> {
        self.keyring
            .candidates(raw, self.keyring.current_digest(raw))
    }

    /// A reported key: `true` when it was live when first reported.
    async fn leak_key(
        &self,
        reporter: &Reporter,
        report: &LeakReport,
        claimed_sa: ServiceAccountId,
        now: DateTime<Utc>,
    ) -> DomainResult<bool> {
        let candidates = self.candidates(&report.token);
        let found = |row: Option<(key::Model, Option<service_account::Model>)>| match row {
            Some((k, Some(sa)))
                if k.service_account_id == claimed_sa.0
                    && Keyring::matches(&candidates, &k.pepper_id, &k.digest) =>
            {
                let dead = k.revoked_at.is_some()
                    || k.expires_at.is_some_and(|t| t <= to_millis(now))
                    || !sa.enabled;
                Found::judged(k.leaked_at.is_some(), dead, (k, sa))
            }
            _ => Found::None,
        };
        let by_digest = || {
            key::Entity::find()
                .filter(key::Column::Digest.is_in(digests(&candidates)))
                .find_also_related(service_account::Entity)
        };
        // Read before any change begins, so that unknown and dead tokens never
        // wait for the write lock.
        match found(by_digest().one(&self.db).await?) {
            Found::Live(_) => {}
            Found::Known => return Ok(true),
            Found::None | Found::Dead => return Ok(false),
        }
        let change = self.reported_change(reporter, None, now).await?;
        let txn = change.txn();
        locks::service_account(txn, claimed_sa, true).await?;
        // Again under the lock: a concurrent report or revocation may have won.
        let (k, sa) = match found(by_digest().one(txn).await?) {
            Found::Live(live) => live,
            Found::Known => return Ok(true),
            Found::None | Found::Dead => return Ok(false),
        };
        let account = AccountId(sa.account_id);
        let response = response_of(txn, account).await?;
        let stored = Stored::of(reporter, report, &change);
        let mut update = key::Entity::update_many()
            .col_expr(key::Column::LeakedAt, Expr::value(stored.at))
            .col_expr(key::Column::LeakUrl, Expr::value(stored.url.clone()))
            .col_expr(key::Column::LeakSource, Expr::value(stored.source.clone()))
            .col_expr(
                key::Column::LeakReporter,
                Expr::value(stored.reporter.clone()),
            );
        if response != LeakResponse::Record {
            update = update.col_expr(key::Column::RevokedAt, Expr::value(stored.at));
        }
        update
            .filter(key::Column::Id.eq(k.id))
            .filter(key::Column::LeakedAt.is_null())
            .exec(txn)
            .await?;
        let mut events = vec![
            Event::new(
                Some(account),
                AuditAction::CredentialLeak,
                Target::new(kinds::KEY, k.id, k.name.as_deref()),
            )
            .changing(None, Some(stored.audited(kinds::KEY, response.code()))),
        ];
        let mut scopes = vec![Scope::Key(KeyId(k.id))];
        if response == LeakResponse::Disable {
            service_account::Entity::update_many()
                .col_expr(service_account::Column::Enabled, Expr::value(false))
                .col_expr(service_account::Column::UpdatedAt, Expr::value(stored.at))
                .filter(service_account::Column::Id.eq(sa.id))
                .exec(txn)
                .await?;
            events.push(Event::new(
                Some(account),
                AuditAction::ServiceAccountDisable,
                Target::new(kinds::SERVICE_ACCOUNT, sa.id, Some(&sa.name)),
            ));
            scopes.push(Scope::ServiceAccount(ServiceAccountId(sa.id)));
        }
        change.commit_each(events, &scopes).await?;
        Ok(true)
    }

    /// A reported personal access token: always revoked, since it belongs to
    /// a person and no single account's choice governs it.
    async fn leak_token(
        &self,
        reporter: &Reporter,
        report: &LeakReport,
        now: DateTime<Utc>,
    ) -> DomainResult<bool> {
        let candidates = self.candidates(&report.token);
        let found = |row: Option<pat::Model>| match row {
            Some(t) if Keyring::matches(&candidates, &t.pepper_id, &t.digest) => {
                let dead =
                    t.revoked_at.is_some() || t.expires_at.is_some_and(|at| at <= to_millis(now));
                Found::judged(t.leaked_at.is_some(), dead, t)
            }
            _ => Found::None,
        };
        let by_digest =
            || pat::Entity::find().filter(pat::Column::Digest.is_in(digests(&candidates)));
        let t = match found(by_digest().one(&self.db).await?) {
            Found::Live(t) => t,
            Found::Known => return Ok(true),
            Found::None | Found::Dead => return Ok(false),
        };
        let change = self
            .reported_change(reporter, Some(UserId(t.user_id)), now)
            .await?;
        let txn = change.txn();
        let stored = Stored::of(reporter, report, &change);
        // Conditional: of a report and a revocation at once, or two reports,
        // the first stands, and the rest answer by what it left.
        let done = pat::Entity::update_many()
            .col_expr(pat::Column::LeakedAt, Expr::value(stored.at))
            .col_expr(pat::Column::LeakUrl, Expr::value(stored.url.clone()))
            .col_expr(pat::Column::LeakSource, Expr::value(stored.source.clone()))
            .col_expr(
                pat::Column::LeakReporter,
                Expr::value(stored.reporter.clone()),
            )
            .col_expr(pat::Column::RevokedAt, Expr::value(stored.at))
            .filter(pat::Column::Id.eq(t.id))
            .filter(pat::Column::LeakedAt.is_null())
            .filter(pat::Column::RevokedAt.is_null())
            .exec(txn)
            .await?;
        if done.rows_affected == 0 {
            return Ok(matches!(found(by_digest().one(txn).await?), Found::Known));
        }
        let event = Event::new(
            None,
            AuditAction::CredentialLeak,
            Target::new(kinds::TOKEN, t.id, t.name.as_deref()),
        )
        .changing(
            None,
            Some(stored.audited(kinds::TOKEN, LeakResponse::Revoke.code())),
        );
        change.commit(event, &[Scope::Token(TokenId(t.id))]).await?;
        Ok(true)
    }

    /// A reported invitation: withdrawn, unless its account only records.
    async fn leak_invitation(
        &self,
        reporter: &Reporter,
        report: &LeakReport,
        now: DateTime<Utc>,
    ) -> DomainResult<bool> {
        let candidates = self.candidates(&report.token);
        let found = |row: Option<invitation::Model>| match row {
            Some(i) if Keyring::matches(&candidates, &i.pepper_id, &i.digest) => {
                let dead = i.revoked_at.is_some()
                    || i.accepted_at.is_some()
                    || i.expires_at <= to_millis(now);
                Found::judged(i.leaked_at.is_some(), dead, i)
            }
            _ => Found::None,
        };
        let by_digest = || {
            invitation::Entity::find()
                .filter(invitation::Column::Digest.is_in(digests(&candidates)))
        };
        let account = match found(by_digest().one(&self.db).await?) {
            Found::Live(i) => AccountId(i.account_id),
            Found::Known => return Ok(true),
            Found::None | Found::Dead => return Ok(false),
        };
        let change = self.reported_change(reporter, None, now).await?;
        let txn = change.txn();
        locks::lock_account(txn, account).await?;
        let i = match found(by_digest().one(txn).await?) {
            Found::Live(i) => i,
            Found::Known => return Ok(true),
            Found::None | Found::Dead => return Ok(false),
        };
        let response = match response_of(txn, account).await? {
            LeakResponse::Record => LeakResponse::Record,
            // An invitation has no service account to disable.
            LeakResponse::Revoke | LeakResponse::Disable => LeakResponse::Revoke,
        };
        let stored = Stored::of(reporter, report, &change);
        let mut update = invitation::Entity::update_many()
            .col_expr(invitation::Column::LeakedAt, Expr::value(stored.at))
            .col_expr(invitation::Column::LeakUrl, Expr::value(stored.url.clone()))
            .col_expr(
                invitation::Column::LeakSource,
                Expr::value(stored.source.clone()),
            )
            .col_expr(
                invitation::Column::LeakReporter,
                Expr::value(stored.reporter.clone()),
            );
        if response == LeakResponse::Revoke {
            update = update.col_expr(invitation::Column::RevokedAt, Expr::value(stored.at));
        }
        update
            .filter(invitation::Column::Id.eq(i.id))
            .exec(txn)
            .await?;
        let event = Event::new(
            Some(account),
            AuditAction::CredentialLeak,
            Target::new(kinds::INVITATION, i.id, None),
        )
        .changing(
            None,
            Some(stored.audited(kinds::INVITATION, response.code())),
        );
        // An invitation is no credential: no verification depends on it.
        change.commit(event, &[]).await?;
        Ok(true)
    }

    /// What a leak of `account`'s credentials does.
    pub async fn leak_response(
        &self,
        caller: &Principal,
        account: AccountId,
    ) -> DomainResult<LeakResponse> {
        authorize(caller, account, Action::ManageKeys, kinds::ACCOUNT)?;
        response_of(&self.db, account).await
    }

    /// Sets what a leak of `account`'s credentials does, for an Admin of it.
    pub async fn set_leak_response(
        &self,
        caller: &Principal,
        account: AccountId,
        response: LeakResponse,
        now: DateTime<Utc>,
    ) -> DomainResult<LeakResponse> {
        authorize(caller, account, Action::ManageKeys, kinds::ACCOUNT)?;
        let change = self.change(caller, now).await?;
        let txn = change.txn();
        locks::lock_account(txn, account).await?;
        let before = response_of(txn, account).await?;
        account::Entity::update_many()
            .col_expr(
                account::Column::LeakResponse,
                Expr::value(Some(response.code().to_owned())),
            )
            .filter(account::Column::Id.eq(account.0))
            .exec(txn)
            .await?;
        let name = account::Entity::find_by_id(account.0)
            .one(txn)
            .await?
            .map(|a| a.name);
        let event = Event::new(
            Some(account),
            AuditAction::AccountUpdate,
            Target::new(kinds::ACCOUNT, account.0, name.as_deref()),
        )
        .changing(
            Some(serde_json::json!({ "leakResponse": before.code() })),
            Some(serde_json::json!({ "leakResponse": response.code() })),
        );
        // What a leak does changes no verification.
        change.commit(event, &[]).await?;
        Ok(response)
    }

    /// A change made for `reporter`, who holds no principal, about a
    /// credential of an account's, or of `owner`'s own.
    async fn reported_change(
        &self,
        reporter: &Reporter,
        owner: Option<UserId>,
        now: DateTime<Utc>,
    ) -> DomainResult<Change<'_>> {
        self.system_change_as(reporter.actor_name(), owner, now)
            .await
    }
}

async fn response_of<C: sea_orm::ConnectionTrait>(
    conn: &C,
    account: AccountId,
) -> DomainResult<LeakResponse> {
    let row = account::Entity::find_by_id(account.0)
        .one(conn)
        .await?
        .ok_or(DomainError::NotFound(kinds::ACCOUNT))?;
    LeakResponse::from_stored(row.leak_response.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_named_as_githubs_partner_format_names_them() {
        assert_eq!(LeakLabel::TruePositive.code(), "true_positive");
        assert_eq!(LeakLabel::FalsePositive.code(), "false_positive");
    }

    #[test]
    fn a_report_shows_where_it_was_found_but_never_the_token() {
        let report = LeakReport {
            token: "lmr_pat_secret".to_owned(),
            url: Some("https://example.com/leak".to_owned()),
            source: Some("commit".to_owned()),
        };
        let shown = format!("{report:?}");
        assert!(!shown.contains("lmr_pat_secret"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
        assert!(shown.contains("https://example.com/leak"), "{shown}");
        assert!(shown.contains("commit"), "{shown}");
    }

    #[test]
    fn a_cut_keeps_whole_characters_and_short_text_as_it_is() {
        assert_eq!(cut("short", 10), "short");
        assert_eq!(cut("abcdef", 3), "abc");
        // `é` is two bytes: a cut inside it keeps the character before.
        assert_eq!(cut("aé", 2), "a");
        assert_eq!(cut("aé", 3), "aé");
    }

    #[test]
    fn each_response_reads_back_as_stored_and_none_is_revoke() {
        for response in LeakResponse::ALL {
            assert_eq!(
                LeakResponse::from_stored(Some(response.code())).ok(),
                Some(response)
            );
        }
        assert_eq!(
            LeakResponse::from_stored(None).ok(),
            Some(LeakResponse::Revoke)
        );
        assert!(LeakResponse::from_stored(Some("ignore")).is_err());
    }

    #[test]
    fn reporters_are_stored_by_kind_and_a_scanner_by_its_bounded_name() {
        assert_eq!(Reporter::GitHub.stored(), "github");
        assert_eq!(Reporter::GitHubWebhook.stored(), "github_webhook");
        assert_eq!(Reporter::Holder.stored(), "holder");
        assert_eq!(
            Reporter::Scanner("gitleaks".into()).stored(),
            "scanner:gitleaks"
        );
        let long = Reporter::Scanner("x".repeat(500)).stored();
        assert_eq!(long.len(), "scanner:".len() + MAX_SCANNER_NAME);
    }

    #[test]
    fn only_well_formed_tokens_are_claimed_and_each_by_its_kind() {
        let key = token::issue_service_account_key(ServiceAccountId(7));
        let pat = token::issue_personal_access_token();
        let inv = token::issue_invitation();
        assert!(matches!(
            claimed(key.expose()),
            Some(Claimed::Key(ServiceAccountId(7)))
        ));
        assert!(matches!(claimed(pat.expose()), Some(Claimed::Token)));
        assert!(matches!(claimed(inv.expose()), Some(Claimed::Invitation)));
        let mut tampered = pat.expose().to_owned();
        tampered.pop();
        tampered.push('!');
        assert!(claimed(&tampered).is_none());
        assert!(claimed("").is_none());
        assert!(claimed("lmr_sa_").is_none());
    }
}
