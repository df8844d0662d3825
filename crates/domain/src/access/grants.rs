//! What a member's groups grant, read in one statement: the groups it is in
//! (with their account), their grants, the permissions of each granted set and
//! the projects of each listing grant, as the parts of one `UNION ALL`.
//!
//! A verification that misses the cache needs these parts only when its
//! principal is in a group (see [`crate::credentials::lookup`]). On
//! PostgreSQL, where every statement is a round trip, the credential's own
//! statement carries them as one more column ([`folded`]), so a cold
//! verification is one statement whatever the principal's groups hold. On
//! SQLite, where a statement is a few microseconds on the request's own thread,
//! the credential's statement says only whether there are groups and a second
//! statement reads them ([`grants_read`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use sea_orm::{ConnectionTrait, DbErr, Statement};

use crate::base::ids::GroupMember;
use crate::base::ids::{AccountId, GrantId, GroupId, PermissionSetId, ProjectId};
use crate::coherence::Scope;
use crate::db::{Columns, Reads};
use crate::policy::grant::{Coverage, Grant};

/// The four parts, told apart by the first column.
const MEMBERSHIP: i32 = 0;
const GRANT: i32 = 1;
const PERMISSION: i32 = 2;
const PROJECT: i32 = 3;

/// The parts for a member in `column` of `group_members` whose id is `id`:
/// a parameter, or a column of an enclosing statement. Every part filters by
/// the member's own index first.
fn union(column: &str, id: &str) -> String {
    let placeholder = id;
    format!(
        "SELECT CAST({MEMBERSHIP} AS BIGINT) AS part, m.group_id AS a, g.account_id AS b, 0 AS c, '' AS name \
           FROM group_members m JOIN groups g ON g.id = m.group_id \
          WHERE m.{column} = {placeholder} \
         UNION ALL \
         SELECT {GRANT}, gg.id, gg.group_id, gg.permission_set_id, \
                CASE WHEN gg.all_projects THEN 'all' ELSE '' END \
           FROM group_members m JOIN group_grants gg ON gg.group_id = m.group_id \
          WHERE m.{column} = {placeholder} \
         UNION ALL \
         SELECT {PERMISSION}, gg.permission_set_id, 0, 0, p.name \
           FROM group_members m JOIN group_grants gg ON gg.group_id = m.group_id \
           JOIN permission_set_permissions sp ON sp.permission_set_id = gg.permission_set_id \
           JOIN permissions p ON p.id = sp.permission_id \
          WHERE m.{column} = {placeholder} \
         UNION ALL \
         SELECT {PROJECT}, gp.grant_id, gp.project_id, 0, '' \
           FROM group_members m JOIN group_grants gg ON gg.group_id = m.group_id \
           JOIN group_grant_projects gp ON gp.grant_id = gg.id \
          WHERE m.{column} = {placeholder} AND NOT gg.all_projects"
    )
}

/// The statement for a member in `column`, `$1` being its id (SQLite reads
/// `$1` as PostgreSQL does).
fn statement(column: &str) -> String {
    union(column, "$1")
}

/// On PostgreSQL, a scalar subquery for the credential's statement: the parts
/// for the member in `column` whose id is the enclosing statement's column
/// `id`, as the text of one JSON array of `[part, a, b, c, name]` arrays, or
/// NULL when the member is in no group (a member of a group always has its
/// membership part). [`unfold`] reads it.
pub(crate) fn folded(column: &str, id: &str) -> String {
    format!(
        "(SELECT json_agg(json_build_array(x.part, x.a, x.b, x.c, x.name))::text FROM ({}) x)",
        union(column, id)
    )
}

/// What a principal's groups grant, as its credential's statement found it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Groups {
    /// In no group: nothing is granted, and nothing more is read.
    None,
    /// In a group, whose grants are yet to be read ([`grants_read`]).
    Unread,
    /// In a group, whose grants came with the credential ([`folded`]).
    Folded(String),
}

/// What `member`'s groups grant, from what its credential's statement found:
/// nothing, the folded parts, or a read of its own.
pub(crate) async fn grants_found(
    reads: &Reads<'_>,
    member: GroupMember,
    groups: &Groups,
) -> Result<(Vec<Grant>, Vec<Scope>), DbErr> {
    match groups {
        Groups::None => Ok((Vec::new(), Vec::new())),
        Groups::Unread => grants_read(reads, member).await,
        Groups::Folded(text) => unfold(text),
    }
}

/// The parts of a [`folded`] column, assembled.
fn unfold(text: &str) -> Result<(Vec<Grant>, Vec<Scope>), DbErr> {
    let rows: Vec<(i64, i64, i64, i64, String)> = serde_json::from_str(text)
        .map_err(|e| DbErr::Custom(format!("grants read unreadable parts: {e}")))?;
    let parts = rows
        .into_iter()
        .map(|(part, a, b, c, name)| {
            Ok(Part {
                part: numbered(part)?,
                a,
                b,
                c,
                name,
            })
        })
        .collect::<Result<_, DbErr>>()?;
    assemble(parts)
}

fn numbered(part: i64) -> Result<i32, DbErr> {
    i32::try_from(part).map_err(|_| DbErr::Custom("grants read a part out of range".to_owned()))
}

/// The statement's text for each kind of member, made once.
fn sql(member: GroupMember) -> &'static str {
    use std::sync::OnceLock;
    static TEXTS: OnceLock<[String; 2]> = OnceLock::new();
    let [users, service_accounts] =
        TEXTS.get_or_init(|| [statement("user_id"), statement("service_account_id")]);
    match member {
        GroupMember::User(_) => users,
        GroupMember::ServiceAccount(_) => service_accounts,
    }
}

/// One row of the statement.
struct Part {
    part: i32,
    a: i64,
    b: i64,
    c: i64,
    name: String,
}

fn part(row: &impl Columns) -> Result<Part, DbErr> {
    Ok(Part {
        part: numbered(row.int("part")?)?,
        a: row.int("a")?,
        b: row.int("b")?,
        c: row.int("c")?,
        name: row.text("name")?,
    })
}

fn member_id(member: GroupMember) -> i64 {
    match member {
        GroupMember::User(id) => id.0,
        GroupMember::ServiceAccount(id) => id.0,
    }
}

/// What `member`'s groups grant, read for verification: directly when it can
/// be (see [`crate::db::Direct`]), else through the pool.
async fn grants_read(
    reads: &Reads<'_>,
    member: GroupMember,
) -> Result<(Vec<Grant>, Vec<Scope>), DbErr> {
    if let Some(direct) = reads.direct {
        let id = member_id(member);
        if let Some(parts) = direct.read(sql(member), &[&id], |r| part(r)) {
            return assemble(parts);
        }
    }
    grants_of(reads.pool, member).await
}

/// What `member`'s groups grant, with the scopes whose change would alter it:
/// each group, and each permission set granted. Grants come in the order of
/// their ids, each set's permissions and each grant's projects sorted.
pub(crate) async fn grants_of<C: ConnectionTrait>(
    conn: &C,
    member: GroupMember,
) -> Result<(Vec<Grant>, Vec<Scope>), DbErr> {
    let backend = conn.get_database_backend();
    let rows = conn
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            sql(member),
            [member_id(member).into()],
        ))
        .await?;
    assemble(rows.iter().map(part).collect::<Result<_, _>>()?)
}

fn assemble(parts: Vec<Part>) -> Result<(Vec<Grant>, Vec<Scope>), DbErr> {
    let mut accounts: BTreeMap<i64, i64> = BTreeMap::new();
    let mut grants: BTreeMap<i64, (i64, i64, bool)> = BTreeMap::new();
    let mut permissions: BTreeMap<i64, BTreeSet<String>> = BTreeMap::new();
    let mut projects: BTreeMap<i64, Vec<ProjectId>> = BTreeMap::new();
    for Part {
        part,
        a,
        b,
        c,
        name,
    } in parts
    {
        match part {
            MEMBERSHIP => {
                accounts.insert(a, b);
            }
            GRANT => {
                grants.insert(a, (b, c, name == "all"));
            }
            PERMISSION => {
                permissions.entry(a).or_default().insert(name);
            }
            PROJECT => projects.entry(a).or_default().push(ProjectId(b)),
            other => {
                return Err(DbErr::Custom(format!("grants read a part {other}")));
            }
        }
    }
    let mut scopes: Vec<Scope> = accounts.keys().map(|g| Scope::Group(GroupId(*g))).collect();
    let sets: BTreeSet<i64> = grants.values().map(|(_, set, _)| *set).collect();
    scopes.extend(
        sets.iter()
            .map(|s| Scope::PermissionSet(PermissionSetId(*s))),
    );
    let shared: BTreeMap<i64, Arc<[Box<str>]>> = sets
        .iter()
        .map(|set| {
            let list = permissions
                .remove(set)
                .unwrap_or_default()
                .into_iter()
                .map(String::into_boxed_str)
                .collect();
            (*set, list)
        })
        .collect();
    let grants = grants
        .into_iter()
        .map(|(id, (group, set, all))| Grant {
            id: GrantId(id),
            account_id: AccountId(accounts.get(&group).copied().unwrap_or_default()),
            group_id: GroupId(group),
            permission_set_id: PermissionSetId(set),
            permissions: shared.get(&set).cloned().unwrap_or_else(|| Arc::new([])),
            coverage: if all {
                Coverage::All
            } else {
                let mut listed = projects.remove(&id).unwrap_or_default();
                listed.sort_unstable();
                Coverage::Listed(listed.into_boxed_slice())
            },
        })
        .collect();
    Ok((grants, scopes))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A folded column as PostgreSQL writes it: one group (7, of account
    /// 3) with a grant of set 5 on every project and a grant of the same set
    /// listing projects 42 and 41, the set holding two permissions.
    const FOLDED: &str = r#"[[0, 7, 3, 0, ""], [1, 11, 7, 5, "all"], [1, 12, 7, 5, ""],
        [2, 5, 0, 0, "jobs:run"], [2, 5, 0, 0, "docs:read"], [2, 5, 0, 0, "jobs:run"],
        [3, 12, 42, 0, ""], [3, 12, 41, 0, ""]]"#;

    #[test]
    fn folded_parts_are_the_grants_a_read_of_their_own_gives() {
        let (grants, scopes) = unfold(FOLDED).unwrap();
        assert_eq!(
            scopes,
            vec![
                Scope::Group(GroupId(7)),
                Scope::PermissionSet(PermissionSetId(5))
            ]
        );
        let read: Vec<_> = grants
            .iter()
            .map(|g| {
                let permissions: Vec<&str> = g.permissions.iter().map(|p| &**p).collect();
                (
                    g.id,
                    g.account_id,
                    g.group_id,
                    g.permission_set_id,
                    permissions,
                    g.coverage.clone(),
                )
            })
            .collect();
        assert_eq!(
            read,
            vec![
                (
                    GrantId(11),
                    AccountId(3),
                    GroupId(7),
                    PermissionSetId(5),
                    vec!["docs:read", "jobs:run"],
                    Coverage::All
                ),
                (
                    GrantId(12),
                    AccountId(3),
                    GroupId(7),
                    PermissionSetId(5),
                    vec!["docs:read", "jobs:run"],
                    Coverage::Listed(vec![ProjectId(41), ProjectId(42)].into_boxed_slice())
                ),
            ]
        );
    }

    #[test]
    fn a_group_that_grants_nothing_is_still_a_scope() {
        let (grants, scopes) = unfold(r#"[[0, 7, 3, 0, ""]]"#).unwrap();
        assert!(grants.is_empty());
        assert_eq!(scopes, vec![Scope::Group(GroupId(7))]);
    }

    #[test]
    fn folded_parts_that_cannot_be_read_are_an_error_not_fewer_grants() {
        for text in [
            "",
            "null",
            "[[0, 7, 3, 0]]",
            r#"[[9, 7, 3, 0, ""]]"#,
            r#"[[4294967296, 7, 3, 0, ""]]"#,
        ] {
            assert!(unfold(text).is_err(), "{text:?}");
        }
    }
}
