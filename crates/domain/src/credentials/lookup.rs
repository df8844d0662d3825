//! The cold read of a presented credential: one statement, by the digest's
//! index, made on the verification pool with no transaction around it.
//!
//! For a key it reads the key, its service account, its account's policy
//! (with the address ranges of all three)
//! and its groups; for a personal access token, the token, its user, the
//! user's memberships and the user's groups. On PostgreSQL "its groups" is what they grant, folded into
//! one column, so every cold read is this one statement. On SQLite it is only
//! whether there are any, and a principal in a group costs a second statement
//! (see [`crate::access::grants`]).
//!
//! On a SQLite file the statement is first tried on the request's own thread
//! (see [`crate::db::Direct`]), then, if that fails, through the pool. On
//! PostgreSQL the verifications that miss at the same moment share one
//! statement over the array of their digests, on verification's own
//! connections (see [`crate::db::PgDirect::gathered`]); if that fails, each
//! reads through the pool with a list of its own.
//!
//! The statements are plain SQL, made once (SQLite reads `$1` as the first
//! parameter, as PostgreSQL does), so that each is prepared once per
//! connection and nothing is built per request but its parameters.

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement, Value};

use crate::access::grants::{Groups, folded};
use crate::credentials::rules::CredentialPolicy;
use crate::db::{Columns, PgDirect, Reads};
use crate::policy::ranges::AllowedFrom;
use crate::warden::keyring::StoredDigest;

/// Statements prepared for this many candidate digests (one per pepper); more
/// peppers than that are written out per request.
const PREPARED_CANDIDATES: usize = 4;

/// A key row, joined with its service account.
#[derive(Debug)]
pub(crate) struct KeyRow {
    pub id: i64,
    pub pepper_id: String,
    pub digest: Vec<u8>,
    pub role_ceiling: Option<String>,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub created_at: i64,
    /// When the key was disabled, while it is.
    pub disabled_at: Option<i64>,
    /// `None` when the service account is gone.
    pub service_account: Option<entity::service_account::Model>,
    /// The policy of the service account's account (the default when the
    /// service account is gone).
    pub policy: CredentialPolicy,
    /// Where the key works: its account's, service account's and own ranges.
    pub allowed: AllowedFrom,
    /// The service account's groups (none when it is gone).
    pub groups: Groups,
}

/// A personal access token row, joined with its user and memberships.
#[derive(Debug)]
pub(crate) struct TokenRow {
    pub id: i64,
    pub pepper_id: String,
    pub digest: Vec<u8>,
    pub user_id: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// `None` when the user is gone.
    pub username: Option<String>,
    /// The user's accounts and stored roles, by account id.
    pub memberships: Vec<(i64, String)>,
    /// The user's groups (none when the user is gone).
    pub groups: Groups,
}

/// How a statement is given its digests: as a list, or gathered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Asked {
    /// Its text ends with `IN` and is followed by a list of parameters.
    Listed,
    /// One parameter, `$1`, the digests of many verifications as a `bytea[]`;
    /// each row says by the column `at` which of them it was found by (see
    /// [`crate::db::PgDirect::gathered`]).
    Gathered,
}

/// What a statement selects first, and the table `table` (named `alias`)
/// that it finds by `digest`, as `asked` says.
fn found_by(asked: Asked, table: &str, alias: &str) -> (&'static str, String) {
    match asked {
        Asked::Listed => ("", format!("{table} {alias}")),
        Asked::Gathered => (
            "asked.at, ",
            format!(
                "unnest($1::bytea[]) WITH ORDINALITY AS asked(digest, at) \
  JOIN {table} {alias} ON {alias}.digest = asked.digest"
            ),
        ),
    }
}

/// What ends a statement before its list of digests, if it has one.
fn listed_tail(asked: Asked, alias: &str) -> String {
    match asked {
        Asked::Listed => format!(
            " \
 WHERE {alias}.digest IN"
        ),
        Asked::Gathered => String::new(),
    }
}

/// The key statement, up to its list of digests if `asked` has one; `groups`
/// is its last column, what it reads of the service account's groups.
fn key_head(groups: &str, asked: Asked) -> String {
    let (at, from) = found_by(asked, "service_account_keys", "k");
    let tail = listed_tail(asked, "k");
    format!(
        "SELECT {at}k.id AS key_id, k.pepper_id, k.digest, k.role_ceiling, k.expires_at, \
       k.last_used_at, k.revoked_at, k.created_at AS key_created_at, \
       k.allowed_ranges AS key_ranges, k.disabled_at, s.id AS sa_id, s.account_id, s.name, s.description, \
       s.role, s.enabled, s.created_by_user_id, s.created_at, s.updated_at, \
       s.allowed_ranges AS sa_ranges, CAST(a.key_max_lifetime_days AS BIGINT) AS key_max_days, \
       COALESCE(a.key_expiry_required, FALSE) AS key_expiry_required, \
       a.allowed_ranges AS account_ranges, {groups} \
  FROM {from} LEFT JOIN service_accounts s ON s.id = k.service_account_id \
  LEFT JOIN accounts a ON a.id = s.account_id{tail}"
    )
}

/// The token statement, as for keys.
fn token_head(groups: &str, asked: Asked) -> String {
    let (at, from) = found_by(asked, "personal_access_tokens", "t");
    let tail = listed_tail(asked, "t");
    format!(
        "SELECT {at}t.id AS token_id, t.pepper_id, t.digest, t.user_id, t.expires_at, \
       t.last_used_at, t.revoked_at, u.username, ms.account_id, ms.role, {groups} \
  FROM {from} LEFT JOIN users u ON u.id = t.user_id \
  LEFT JOIN memberships ms ON ms.user_id = u.id{tail}"
    )
}

/// What a statement reads of the groups of the member whose id is the
/// column `id`: on PostgreSQL what they grant (`grants`), on SQLite whether
/// there are any (`grouped`).
fn groups_column(folds: bool, column: &str, id: &str) -> String {
    if folds {
        format!("{} AS grants", folded(column, id))
    } else {
        format!("EXISTS (SELECT 1 FROM group_members m WHERE m.{column} = {id}) AS grouped")
    }
}

/// Whether the statements fold a principal's grants into their own (see
/// [`crate::access::grants`]).
fn folds(backend: DbBackend) -> bool {
    backend == DbBackend::Postgres
}

/// The groups a row read, as its statement wrote them: `exists` is whether
/// the principal itself was found.
fn groups(row: &impl Columns, folds: bool, exists: bool) -> Result<Groups, DbErr> {
    if !exists {
        return Ok(Groups::None);
    }
    if folds {
        return Ok(row
            .maybe_text("grants")?
            .map_or(Groups::None, Groups::Folded));
    }
    Ok(if row.flag("grouped")? {
        Groups::Unread
    } else {
        Groups::None
    })
}

/// The texts of one statement for each way of reading groups, each for the
/// usual counts of candidates.
type Texts = [std::sync::OnceLock<Vec<String>>; 2];

/// `head` and an `IN` list of `n` parameters.
fn with_list(head: &str, n: usize, order: &str) -> String {
    let list: Vec<String> = (1..=n).map(|i| format!("${i}")).collect();
    format!("{head} ({}){order}", list.join(", "))
}

/// The text of `head(folds)` for `n` candidates: made once for the usual
/// counts.
fn text(
    texts: &'static Texts,
    head: impl Fn(bool) -> String,
    folds: bool,
    order: &str,
    n: usize,
) -> std::borrow::Cow<'static, str> {
    let made = texts[usize::from(folds)].get_or_init(|| {
        let head = head(folds);
        (1..=PREPARED_CANDIDATES)
            .map(|n| with_list(&head, n, order))
            .collect()
    });
    match n.checked_sub(1).and_then(|at| made.get(at)) {
        Some(text) => text.as_str().into(),
        None => with_list(&head(folds), n, order).into(),
    }
}

fn statement(sql: &str, backend: DbBackend, candidates: &[StoredDigest]) -> Statement {
    let values: Vec<Value> = candidates
        .iter()
        .map(|c| c.digest.to_vec().into())
        .collect();
    Statement::from_sql_and_values(backend, sql, values)
}

/// The keys stored under one of `candidates` (at most one each).
pub(crate) async fn keys(
    reads: &Reads<'_>,
    candidates: &[StoredDigest],
) -> Result<Vec<KeyRow>, DbErr> {
    static TEXTS: Texts = [std::sync::OnceLock::new(), std::sync::OnceLock::new()];
    static GATHERED: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let groups = |folds| groups_column(folds, "service_account_id", "s.id");
    let head = |folds| key_head(&groups(folds), Asked::Listed);
    if reads.direct.is_some() {
        let sql = text(&TEXTS, head, false, "", candidates.len());
        if let Some(rows) = direct(reads, &sql, candidates, |r| key_row(r, false)) {
            return rows;
        }
    }
    let backend = reads.pool.get_database_backend();
    let folds = folds(backend);
    if let Some(pg) = reads.pg {
        let sql = GATHERED
            .get_or_init(|| key_head(&groups(true), Asked::Gathered) + " ORDER BY asked.at");
        if let Some(rows) = gathered(pg, sql, candidates, |r| key_row(r, true)).await {
            return Ok(rows);
        }
    }
    let sql = text(&TEXTS, head, folds, "", candidates.len());
    let rows = reads
        .pool
        .query_all_raw(statement(&sql, backend, candidates))
        .await?;
    rows.iter().map(|r| key_row(r, folds)).collect()
}

fn key_row(row: &impl Columns, folds: bool) -> Result<KeyRow, DbErr> {
    let service_account = match row.maybe_int("sa_id")? {
        None => None,
        Some(id) => Some(entity::service_account::Model {
            id,
            account_id: row.int("account_id")?,
            name: row.text("name")?,
            description: row.maybe_text("description")?,
            role: row.text("role")?,
            enabled: row.flag("enabled")?,
            created_by_user_id: row.maybe_int("created_by_user_id")?,
            created_at: row.int("created_at")?,
            updated_at: row.int("updated_at")?,
            allowed_ranges: row.maybe_text("sa_ranges")?,
        }),
    };
    Ok(KeyRow {
        id: row.int("key_id")?,
        pepper_id: row.text("pepper_id")?,
        digest: row.bytes("digest")?,
        role_ceiling: row.maybe_text("role_ceiling")?,
        expires_at: row.maybe_int("expires_at")?,
        last_used_at: row.maybe_int("last_used_at")?,
        revoked_at: row.maybe_int("revoked_at")?,
        created_at: row.int("key_created_at")?,
        disabled_at: row.maybe_int("disabled_at")?,
        policy: CredentialPolicy::stored(
            row.maybe_int("key_max_days")?
                .map(|d| i32::try_from(d).unwrap_or(0)),
            Some(row.flag("key_expiry_required")?),
        ),
        allowed: AllowedFrom::stored(
            row.maybe_text("account_ranges")?.as_deref(),
            service_account
                .as_ref()
                .and_then(|sa| sa.allowed_ranges.as_deref()),
            row.maybe_text("key_ranges")?.as_deref(),
        ),
        groups: groups(row, folds, service_account.is_some())?,
        service_account,
    })
}

/// The personal access tokens stored under one of `candidates`, each with
/// its memberships in the order of their accounts.
pub(crate) async fn tokens(
    reads: &Reads<'_>,
    candidates: &[StoredDigest],
) -> Result<Vec<TokenRow>, DbErr> {
    static TEXTS: Texts = [std::sync::OnceLock::new(), std::sync::OnceLock::new()];
    static GATHERED: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    const ORDER: &str = " ORDER BY t.id, ms.account_id";
    let groups = |folds| groups_column(folds, "user_id", "t.user_id");
    let head = |folds| token_head(&groups(folds), Asked::Listed);
    let read_directly = match (reads.direct, reads.pg) {
        (Some(_), _) => {
            let sql = text(&TEXTS, head, false, ORDER, candidates.len());
            direct(reads, &sql, candidates, |r| token_part(r, false))
        }
        (None, Some(pg)) => {
            let sql = GATHERED.get_or_init(|| {
                token_head(&groups(true), Asked::Gathered)
                    + " ORDER BY asked.at, t.id, ms.account_id"
            });
            gathered(pg, sql, candidates, |r| token_part(r, true))
                .await
                .map(Ok)
        }
        (None, None) => None,
    };
    let rows = match read_directly {
        Some(rows) => rows?,
        None => {
            let backend = reads.pool.get_database_backend();
            let folds = folds(backend);
            let sql = text(&TEXTS, head, folds, ORDER, candidates.len());
            reads
                .pool
                .query_all_raw(statement(&sql, backend, candidates))
                .await?
                .iter()
                .map(|r| token_part(r, folds))
                .collect::<Result<_, _>>()?
        }
    };
    let mut tokens: Vec<TokenRow> = Vec::new();
    for (row, membership) in rows {
        match tokens.last_mut() {
            Some(last) if last.id == row.id => last.memberships.extend(membership),
            _ => tokens.push(TokenRow {
                memberships: membership.into_iter().collect(),
                ..row
            }),
        }
    }
    Ok(tokens)
}

/// One row of the token statement: the token (with no memberships) and the
/// membership it carries, if any. Each of a token's rows carries its groups;
/// the first is kept.
fn token_part(row: &impl Columns, folds: bool) -> Result<(TokenRow, Option<(i64, String)>), DbErr> {
    let membership = match row.maybe_int("account_id")? {
        Some(account) => Some((account, row.text("role")?)),
        None => None,
    };
    let username = row.maybe_text("username")?;
    let token = TokenRow {
        id: row.int("token_id")?,
        pepper_id: row.text("pepper_id")?,
        digest: row.bytes("digest")?,
        user_id: row.int("user_id")?,
        expires_at: row.maybe_int("expires_at")?,
        last_used_at: row.maybe_int("last_used_at")?,
        revoked_at: row.maybe_int("revoked_at")?,
        groups: groups(row, folds, username.is_some())?,
        username,
        memberships: Vec::new(),
    };
    Ok((token, membership))
}

/// On PostgreSQL, the rows of the gathered statement `sql` for
/// `candidates`, read on verification's own connections with what other
/// verifications ask meanwhile (see [`crate::db::PgDirect::gathered`]), or
/// `None` to read through the pool.
async fn gathered<T>(
    pg: &PgDirect,
    sql: &'static str,
    candidates: &[StoredDigest],
    row: impl Fn(&sea_orm::sqlx::postgres::PgRow) -> Result<T, DbErr>,
) -> Option<Vec<T>> {
    let digests: Vec<[u8; 32]> = candidates.iter().map(|c| c.digest).collect();
    let rows = pg.gathered(sql, digests).await?;
    match rows.iter().map(row).collect() {
        Ok(made) => Some(made),
        Err(e) => {
            tracing::debug!(error = %e, "a gathered verification read gave a row it cannot make; reading through the pool");
            None
        }
    }
}

/// The rows of `sql` for `candidates` read directly, or `None` to read
/// through the pool.
fn direct<T>(
    reads: &Reads<'_>,
    sql: &str,
    candidates: &[StoredDigest],
    row: impl Fn(&rusqlite::Row<'_>) -> Result<T, DbErr>,
) -> Option<Result<Vec<T>, DbErr>> {
    let direct = reads.direct?;
    let digests: Vec<&[u8]> = candidates.iter().map(|c| c.digest.as_slice()).collect();
    let params: Vec<&dyn rusqlite::ToSql> =
        digests.iter().map(|d| d as &dyn rusqlite::ToSql).collect();
    direct.read(sql, &params, row).map(Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_postgresql_folds_the_grants_into_the_credentials_statement() {
        assert!(folds(DbBackend::Postgres));
        assert!(!folds(DbBackend::Sqlite));
        let folded = key_head(
            &groups_column(true, "service_account_id", "s.id"),
            Asked::Listed,
        );
        assert!(
            folded.contains("WHERE m.service_account_id = s.id")
                && folded.contains(" AS grants ")
                && !folded.contains("grouped"),
            "{folded}"
        );
        let separate = token_head(&groups_column(false, "user_id", "t.user_id"), Asked::Listed);
        assert!(
            separate.contains(
                "EXISTS (SELECT 1 FROM group_members m WHERE m.user_id = t.user_id) AS grouped"
            ) && !separate.contains("json"),
            "{separate}"
        );
    }

    #[test]
    fn a_listed_statement_ends_with_in_and_a_gathered_one_joins_its_array_in_order() {
        for asked in [Asked::Listed, Asked::Gathered] {
            let key = key_head("1 AS grants", asked);
            let token = token_head("1 AS grants", asked);
            for (text, alias) in [(&key, "k"), (&token, "t")] {
                let listed = text.ends_with(&format!("WHERE {alias}.digest IN"));
                let gathered = text.starts_with("SELECT asked.at, ")
                    && text.contains(
                        "unnest($1::bytea[]) WITH ORDINALITY AS asked(digest, at) \
  JOIN ",
                    )
                    && text.contains(&format!(" {alias} ON {alias}.digest = asked.digest "))
                    && !text.contains(" IN");
                assert_eq!(
                    (listed, gathered),
                    (asked == Asked::Listed, asked == Asked::Gathered),
                    "{text}"
                );
            }
        }
    }
}
