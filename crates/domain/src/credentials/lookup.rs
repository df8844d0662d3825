//! The cold read of a presented credential: one statement, by the digest's
//! index, made on the verification pool with no transaction around it.
//!
//! For a key it reads the key, its service account and whether that service
//! account is in any group; for a personal access token, the token, its user,
//! the user's memberships and whether the user is in any group. Only a
//! principal in a group costs a second statement, for what its groups grant
//! (see [`crate::access::grants`]).
//!
//! On a SQLite file the statement is first tried on the request's own thread
//! (see [`crate::db::Direct`]), then, if that fails, through the pool.
//!
//! The statements are plain SQL, the same text on both backends (SQLite reads
//! `$1` as the first parameter, as PostgreSQL does), so that each is prepared
//! once per connection and nothing is built per request but its parameters.

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement, Value};

use crate::db::{Columns, Reads};
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
    /// `None` when the service account is gone.
    pub service_account: Option<entity::service_account::Model>,
    /// Whether the service account is in any group.
    pub grouped: bool,
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
    /// Whether the user is in any group.
    pub grouped: bool,
}

const KEY: &str = "SELECT k.id AS key_id, k.pepper_id, k.digest, k.role_ceiling, k.expires_at, \
       k.last_used_at, k.revoked_at, s.id AS sa_id, s.account_id, s.name, s.description, s.role, \
       s.enabled, s.created_by_user_id, s.created_at, s.updated_at, \
       EXISTS (SELECT 1 FROM group_members m WHERE m.service_account_id = s.id) AS grouped \
  FROM service_account_keys k LEFT JOIN service_accounts s ON s.id = k.service_account_id \
 WHERE k.digest IN";

const TOKEN: &str = "SELECT t.id AS token_id, t.pepper_id, t.digest, t.user_id, t.expires_at, \
       t.last_used_at, t.revoked_at, u.username, ms.account_id, ms.role, \
       EXISTS (SELECT 1 FROM group_members m WHERE m.user_id = t.user_id) AS grouped \
  FROM personal_access_tokens t LEFT JOIN users u ON u.id = t.user_id \
  LEFT JOIN memberships ms ON ms.user_id = u.id \
 WHERE t.digest IN";

/// `head` and an `IN` list of `n` parameters.
fn with_list(head: &str, n: usize, order: &str) -> String {
    let list: Vec<String> = (1..=n).map(|i| format!("${i}")).collect();
    format!("{head} ({}){order}", list.join(", "))
}

/// The text of `head` for `n` candidates: made once for the usual counts.
fn text(
    texts: &'static std::sync::OnceLock<Vec<String>>,
    head: &str,
    order: &str,
    n: usize,
) -> std::borrow::Cow<'static, str> {
    let made = texts.get_or_init(|| {
        (1..=PREPARED_CANDIDATES)
            .map(|n| with_list(head, n, order))
            .collect()
    });
    match n.checked_sub(1).and_then(|at| made.get(at)) {
        Some(text) => text.as_str().into(),
        None => with_list(head, n, order).into(),
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
    static TEXTS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let backend = reads.pool.get_database_backend();
    let sql = text(&TEXTS, KEY, "", candidates.len());
    if let Some(rows) = direct(reads, &sql, candidates, |r| key_row(r)) {
        return rows;
    }
    let rows = reads
        .pool
        .query_all_raw(statement(&sql, backend, candidates))
        .await?;
    rows.iter().map(key_row).collect()
}

fn key_row(row: &impl Columns) -> Result<KeyRow, DbErr> {
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
        grouped: service_account.is_some() && row.flag("grouped")?,
        service_account,
    })
}

/// The personal access tokens stored under one of `candidates`, each with
/// its memberships in the order of their accounts.
pub(crate) async fn tokens(
    reads: &Reads<'_>,
    candidates: &[StoredDigest],
) -> Result<Vec<TokenRow>, DbErr> {
    static TEXTS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let backend = reads.pool.get_database_backend();
    let sql = text(
        &TEXTS,
        TOKEN,
        " ORDER BY t.id, ms.account_id",
        candidates.len(),
    );
    let rows = match direct(reads, &sql, candidates, |r| token_part(r)) {
        Some(rows) => rows?,
        None => reads
            .pool
            .query_all_raw(statement(&sql, backend, candidates))
            .await?
            .iter()
            .map(token_part)
            .collect::<Result<_, _>>()?,
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
/// membership it carries, if any.
fn token_part(row: &impl Columns) -> Result<(TokenRow, Option<(i64, String)>), DbErr> {
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
        grouped: username.is_some() && row.flag("grouped")?,
        username,
        memberships: Vec::new(),
    };
    Ok((token, membership))
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
