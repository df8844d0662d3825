//! What a member's groups grant, read in one statement: the groups it is in
//! (with their account), their grants, the permissions of each granted set and
//! the projects of each listing grant, as the parts of one `UNION ALL`. A
//! verification that misses the cache makes this read only when its principal
//! is in a group (see [`crate::credentials::lookup`]), so a cold verification
//! costs one or two statements whatever the principal's groups hold.

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

/// The statement for a member in `column` of `group_members`, `$1` being its
/// id (SQLite reads `$1` as PostgreSQL does). Every part filters by the
/// member's own index first.
fn statement(column: &str) -> String {
    let placeholder = "$1";
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
        part: i32::try_from(row.int("part")?)
            .map_err(|_| DbErr::Custom("grants read a part out of range".to_owned()))?,
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
pub(crate) async fn grants_read(
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
