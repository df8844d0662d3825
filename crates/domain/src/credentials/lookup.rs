//! The cold read of a presented credential: one statement, by the digest's
//! index, made on the verification pool with no transaction around it.
//!
//! For a key it reads the key, its service account and whether that service
//! account is in any group; for a personal access token, the token, its user,
//! the user's memberships and whether the user is in any group. Only a
//! principal in a group costs a second statement, for what its groups grant
//! (see [`crate::access::grants`]).
//!
//! The statements are plain SQL, the same on both backends but for how a
//! parameter is written, so that each is prepared once per connection and
//! nothing is built per request but its parameters.

use sea_orm::{ConnectionTrait, DbBackend, DbErr, QueryResult, Statement, Value};

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

/// `head` and an `IN` list of `n` parameters, as `backend` writes them.
fn with_list(head: &str, backend: DbBackend, n: usize, order: &str) -> String {
    let list: Vec<String> = (1..=n)
        .map(|i| match backend {
            DbBackend::Postgres => format!("${i}"),
            _ => format!("?{i}"),
        })
        .collect();
    format!("{head} ({}){order}", list.join(", "))
}

/// The text of `head` for `n` candidates on `backend`: made once for the
/// usual counts.
fn text(
    texts: &'static std::sync::OnceLock<Vec<String>>,
    head: &str,
    order: &str,
    backend: DbBackend,
    n: usize,
) -> std::borrow::Cow<'static, str> {
    let made = texts.get_or_init(|| {
        [DbBackend::Sqlite, DbBackend::Postgres]
            .into_iter()
            .flat_map(|b| (1..=PREPARED_CANDIDATES).map(move |n| with_list(head, b, n, order)))
            .collect()
    });
    let at = usize::from(backend == DbBackend::Postgres) * PREPARED_CANDIDATES + n.wrapping_sub(1);
    match made.get(at) {
        Some(text) if (1..=PREPARED_CANDIDATES).contains(&n) => text.as_str().into(),
        _ => with_list(head, backend, n, order).into(),
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
pub(crate) async fn keys<C: ConnectionTrait>(
    conn: &C,
    candidates: &[StoredDigest],
) -> Result<Vec<KeyRow>, DbErr> {
    static TEXTS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let backend = conn.get_database_backend();
    let sql = text(&TEXTS, KEY, "", backend, candidates.len());
    let rows = conn
        .query_all_raw(statement(&sql, backend, candidates))
        .await?;
    rows.iter().map(key_row).collect()
}

fn key_row(row: &QueryResult) -> Result<KeyRow, DbErr> {
    let sa_id: Option<i64> = row.try_get("", "sa_id")?;
    let service_account = match sa_id {
        None => None,
        Some(id) => Some(entity::service_account::Model {
            id,
            account_id: row.try_get("", "account_id")?,
            name: row.try_get("", "name")?,
            description: row.try_get("", "description")?,
            role: row.try_get("", "role")?,
            enabled: row.try_get("", "enabled")?,
            created_by_user_id: row.try_get("", "created_by_user_id")?,
            created_at: row.try_get("", "created_at")?,
            updated_at: row.try_get("", "updated_at")?,
        }),
    };
    Ok(KeyRow {
        id: row.try_get("", "key_id")?,
        pepper_id: row.try_get("", "pepper_id")?,
        digest: row.try_get("", "digest")?,
        role_ceiling: row.try_get("", "role_ceiling")?,
        expires_at: row.try_get("", "expires_at")?,
        last_used_at: row.try_get("", "last_used_at")?,
        revoked_at: row.try_get("", "revoked_at")?,
        grouped: service_account.is_some() && row.try_get("", "grouped")?,
        service_account,
    })
}

/// The personal access tokens stored under one of `candidates`, each with
/// its memberships in the order of their accounts.
pub(crate) async fn tokens<C: ConnectionTrait>(
    conn: &C,
    candidates: &[StoredDigest],
) -> Result<Vec<TokenRow>, DbErr> {
    static TEXTS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let backend = conn.get_database_backend();
    let sql = text(
        &TEXTS,
        TOKEN,
        " ORDER BY t.id, ms.account_id",
        backend,
        candidates.len(),
    );
    let rows = conn
        .query_all_raw(statement(&sql, backend, candidates))
        .await?;
    let mut tokens: Vec<TokenRow> = Vec::new();
    for row in &rows {
        let id: i64 = row.try_get("", "token_id")?;
        let membership: Option<i64> = row.try_get("", "account_id")?;
        let membership = match membership {
            Some(account) => Some((account, row.try_get::<String>("", "role")?)),
            None => None,
        };
        if let Some(last) = tokens.last_mut().filter(|t| t.id == id) {
            last.memberships.extend(membership);
            continue;
        }
        let username: Option<String> = row.try_get("", "username")?;
        tokens.push(TokenRow {
            id,
            pepper_id: row.try_get("", "pepper_id")?,
            digest: row.try_get("", "digest")?,
            user_id: row.try_get("", "user_id")?,
            expires_at: row.try_get("", "expires_at")?,
            last_used_at: row.try_get("", "last_used_at")?,
            revoked_at: row.try_get("", "revoked_at")?,
            grouped: username.is_some() && row.try_get("", "grouped")?,
            username,
            memberships: membership.into_iter().collect(),
        });
    }
    Ok(tokens)
}
