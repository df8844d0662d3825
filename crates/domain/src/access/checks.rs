//! Asking whether a principal holds a permission on a project: quickly, for a
//! gateway, from what its credential's verification read; with the reasons,
//! for the GraphQL API. The rule itself is [`crate::policy::held`].

use std::collections::HashMap;

use entity::{group, membership, permission_set, service_account};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter};
use sha2::{Digest, Sha256};

use crate::access::grants::grants_of;
use crate::access::groups::Group;
use crate::access::projects::{self, Project, ProjectRef};
use crate::base::error::{DomainError, DomainResult};
use crate::base::ids::GroupMember;
use crate::base::ids::{AccountId, GrantId, PermissionSetId, ProjectId};
use crate::base::kinds;
use crate::base::names::PermissionName;
use crate::base::time::to_millis;
use crate::coherence::{Located, Lookup, Read, Scope};
use crate::policy::held::{Access, Held, Source};
use crate::policy::principal::Principal;
use crate::policy::role::Role;
use crate::policy::table::{Action, authorize};
use crate::warden::handle::Keywarden;

/// A gateway's answer.
#[derive(Clone, Debug)]
pub enum Decision<'a> {
    /// Held; on the project found (whose permissions [`Access::held`]
    /// lists).
    Granted {
        project: Option<Located>,
        access: Access<'a>,
    },
    Refused(Why),
}

/// Why a good credential is refused a permission.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Why {
    /// It does not act in the account asked about.
    NotInAccount,
    /// The account has no project by that id or name.
    UnknownProject,
    /// It does not hold the permission there.
    NotHeld,
}

impl Why {
    /// As the gateway's reason header says it.
    pub fn code(self) -> &'static str {
        match self {
            Why::NotInAccount => "not-in-account",
            Why::UnknownProject => "unknown-project",
            Why::NotHeld => "permission-not-held",
        }
    }
}

/// What gives a permission, for the GraphQL API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Because {
    Role(Role),
    Grant {
        id: GrantId,
        group: Group,
        permission_set_id: PermissionSetId,
        permission_set_name: String,
        /// `None`: all projects.
        projects: Option<Vec<Project>>,
    },
}

/// The answer to "does this principal hold this permission here, and why".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PermissionCheck {
    pub allowed: bool,
    pub permission: String,
    /// The project asked about, if any.
    pub project: Option<Project>,
    /// The principal's role in the account (for a key, under its ceiling).
    pub role: Role,
    /// Everything that gives it; empty when refused.
    pub because: Vec<Because>,
}

/// Every permission a principal holds on a project, for the GraphQL API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldPermissions {
    /// The project asked about, if any.
    pub project: Option<Project>,
    /// The principal's role in the account (for a key, under its ceiling).
    pub role: Role,
    /// Whether it holds every permission there is (the Admin role); then
    /// `permissions` is empty.
    pub every: bool,
    /// Each permission held, by name, with everything that gives it.
    pub permissions: Vec<(String, Vec<Because>)>,
}

/// The cache key of a lookup of `text` in `account`: the account and the text
/// themselves when they fit (a gateway's usual question costs no hashing),
/// otherwise a digest of them. The first byte tells the two apart, so that no
/// two questions share a key.
fn lookup_key(account: AccountId, text: &str) -> [u8; 32] {
    const SHORT: usize = 32 - 1 - 8 - 1;
    let mut key = [0u8; 32];
    if text.len() <= SHORT {
        key[0] = 1;
        key[1..9].copy_from_slice(&account.0.to_le_bytes());
        // Fits in a byte: at most SHORT.
        #[allow(clippy::cast_possible_truncation)]
        let len = text.len() as u8;
        key[9] = len;
        key[10..10 + text.len()].copy_from_slice(text.as_bytes());
    } else {
        let mut hash = Sha256::new();
        hash.update(account.0.to_le_bytes());
        hash.update(text.as_bytes());
        key[1..].copy_from_slice(&hash.finalize()[..31]);
        key[0] = 2;
    }
    key
}

impl Keywarden {
    /// The project `text` (a project id or a name) names in `account`, if
    /// any; from memory while no project of the account has changed.
    pub async fn locate_project(
        &self,
        account: AccountId,
        text: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<Located>, DbErr> {
        let now_ms = to_millis(now);
        let cache = &self.coherence.projects;
        let key = lookup_key(account, text);
        if let Some(hit) = cache.get(&key, now_ms) {
            return Ok(hit.value.0.clone());
        }
        let named = ProjectRef::parse(text);
        let found = cache
            .read_through(key, now_ms, || async {
                let id =
                    projects::find_id(&self.verification_reads_from(), account, &named).await?;
                Ok::<_, DbErr>(Read {
                    value: Lookup(id.map(|id| Located::new(ProjectId(id)))),
                    scopes: vec![Scope::Projects(account)],
                })
            })
            .await?;
        Ok(found.entry.value.0.clone())
    }

    /// A gateway's question: does `principal` hold `permission` on the
    /// project `project` names in `account` (or on the account as a whole)?
    /// With no permission, only what it holds there.
    pub async fn decide<'a>(
        &self,
        principal: &'a Principal,
        account: AccountId,
        permission: Option<&PermissionName>,
        project: Option<&str>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Decision<'a>, DbErr> {
        let Some(access) = Access::of(principal, account) else {
            return Ok(Decision::Refused(Why::NotInAccount));
        };
        let project = match project {
            None => None,
            Some(text) => match self.locate_project(account, text, now).await? {
                Some(found) => Some(found),
                None => return Ok(Decision::Refused(Why::UnknownProject)),
            },
        };
        if permission.is_none_or(|p| access.holds(p.as_str(), project.as_ref().map(|l| l.id))) {
            Ok(Decision::Granted { project, access })
        } else {
            Ok(Decision::Refused(Why::NotHeld))
        }
    }

    /// Whether the caller, or (for an Admin) `subject`, holds `permission` on
    /// `project` in `account`, and what gives it. The caller is answered from
    /// its credential as verified for this request, as a gateway would be;
    /// a subject is read afresh.
    pub async fn check_permission(
        &self,
        caller: &Principal,
        account: AccountId,
        permission: &PermissionName,
        project: Option<&ProjectRef>,
        subject: Option<GroupMember>,
    ) -> DomainResult<PermissionCheck> {
        let project = self.project_asked(caller, account, project).await?;
        let project_id = project.as_ref().map(|p| p.id);
        let (role, sources) = self
            .with_access(caller, account, subject, |access| {
                (
                    access.role(),
                    owned(access.sources(permission.as_str(), project_id)),
                )
            })
            .await?;
        let because = self.explain(sources).await?;
        Ok(PermissionCheck {
            allowed: !because.is_empty(),
            permission: permission.as_str().to_owned(),
            project,
            role,
            because,
        })
    }

    /// Every permission the caller, or (for an Admin) `subject`, holds on
    /// `project` in `account` (on the account as a whole without one), each
    /// with what gives it.
    pub async fn held_permissions(
        &self,
        caller: &Principal,
        account: AccountId,
        project: Option<&ProjectRef>,
        subject: Option<GroupMember>,
    ) -> DomainResult<HeldPermissions> {
        let project = self.project_asked(caller, account, project).await?;
        let project_id = project.as_ref().map(|p| p.id);
        let (role, held) = self
            .with_access(caller, account, subject, |access| {
                let held = match access.held(project_id) {
                    Held::Every => None,
                    Held::Listed(names) => Some(
                        names
                            .into_iter()
                            .map(|name| (name.to_owned(), owned(access.sources(name, project_id))))
                            .collect::<Vec<_>>(),
                    ),
                };
                (access.role(), held)
            })
            .await?;
        let Some(held) = held else {
            return Ok(HeldPermissions {
                project,
                role,
                every: true,
                permissions: Vec::new(),
            });
        };
        // One explanation for all, then each permission takes its own back.
        let counts: Vec<usize> = held.iter().map(|(_, sources)| sources.len()).collect();
        let (names, sources): (Vec<String>, Vec<Vec<Owned>>) = held.into_iter().unzip();
        let mut explained = self
            .explain(sources.into_iter().flatten().collect())
            .await?
            .into_iter();
        let permissions = names
            .into_iter()
            .zip(counts)
            .map(|(name, count)| (name, explained.by_ref().take(count).collect()))
            .collect();
        Ok(HeldPermissions {
            project,
            role,
            every: false,
            permissions,
        })
    }

    /// The project a question names, read afresh; "not found" when the
    /// account has none by that id or name.
    async fn project_asked(
        &self,
        caller: &Principal,
        account: AccountId,
        project: Option<&ProjectRef>,
    ) -> DomainResult<Option<Project>> {
        let Some(named) = project else {
            return Ok(None);
        };
        authorize(caller, account, Action::ReadAccount, "Account")?;
        let row = projects::find(&self.db, account, named)
            .await?
            .ok_or(DomainError::NotFound(kinds::PROJECT))?;
        Ok(Some(Project::try_from(row)?))
    }

    /// `read` of the access the question is about: the caller's own, from its
    /// credential as verified for this request (as a gateway would be
    /// answered), or, for an Admin, `subject`'s, read afresh.
    async fn with_access<T>(
        &self,
        caller: &Principal,
        account: AccountId,
        subject: Option<GroupMember>,
        read: impl FnOnce(&Access<'_>) -> T,
    ) -> DomainResult<T> {
        match subject {
            None => {
                let access = Access::of(caller, account).ok_or(DomainError::NotFound("Account"))?;
                Ok(read(&access))
            }
            Some(member) => {
                authorize(caller, account, Action::ReadAccess, "Account")?;
                let role = self.role_of(account, member).await?;
                let (grants, _) = grants_of(&self.db, member).await?;
                Ok(read(&Access::new(role, false, account, &grants)))
            }
        }
    }

    /// `member`'s role in `account`; "not found" when it is not there.
    async fn role_of(&self, account: AccountId, member: GroupMember) -> DomainResult<Role> {
        match member {
            GroupMember::User(user) => {
                let row = membership::Entity::find()
                    .filter(membership::Column::AccountId.eq(account.0))
                    .filter(membership::Column::UserId.eq(user.0))
                    .one(&self.db)
                    .await?
                    .ok_or(DomainError::NotFound(kinds::USER))?;
                Role::from_stored(&row.role)
            }
            GroupMember::ServiceAccount(id) => {
                let row = service_account::Entity::find_by_id(id.0)
                    .one(&self.db)
                    .await?
                    .filter(|sa| sa.account_id == account.0)
                    .ok_or(DomainError::NotFound(kinds::SERVICE_ACCOUNT))?;
                Role::from_stored(&row.role)
            }
        }
    }

    /// Names the groups and sets behind each source.
    async fn explain(&self, sources: Vec<Owned>) -> DomainResult<Vec<Because>> {
        let group_ids: Vec<i64> = sources
            .iter()
            .filter_map(|s| match s {
                Owned::Grant { group, .. } => Some(*group),
                Owned::Role(_) => None,
            })
            .collect();
        let groups: HashMap<i64, Group> = if group_ids.is_empty() {
            HashMap::new()
        } else {
            group::Entity::find()
                .filter(group::Column::Id.is_in(group_ids))
                .all(&self.db)
                .await?
                .into_iter()
                .map(|g| Ok((g.id, Group::try_from(g)?)))
                .collect::<DomainResult<_>>()?
        };
        let set_ids: Vec<i64> = sources
            .iter()
            .filter_map(|s| match s {
                Owned::Grant { set, .. } => Some(set.0),
                Owned::Role(_) => None,
            })
            .collect();
        let set_names: HashMap<i64, String> = if set_ids.is_empty() {
            HashMap::new()
        } else {
            permission_set::Entity::find()
                .filter(permission_set::Column::Id.is_in(set_ids))
                .all(&self.db)
                .await?
                .into_iter()
                .map(|s| (s.id, s.name))
                .collect()
        };
        let project_ids: Vec<i64> = sources
            .iter()
            .filter_map(|s| match s {
                Owned::Grant {
                    projects: Some(ids),
                    ..
                } => Some(ids.iter().map(|p| p.0)),
                _ => None,
            })
            .flatten()
            .collect();
        let projects: HashMap<i64, Project> = if project_ids.is_empty() {
            HashMap::new()
        } else {
            entity::project::Entity::find()
                .filter(entity::project::Column::Id.is_in(project_ids))
                .all(&self.db)
                .await?
                .into_iter()
                .map(|p| Ok((p.id, Project::try_from(p)?)))
                .collect::<DomainResult<_>>()?
        };
        sources
            .into_iter()
            .map(|source| match source {
                Owned::Role(role) => Ok(Because::Role(role)),
                Owned::Grant {
                    id,
                    group,
                    set,
                    projects: projects_listed,
                } => Ok(Because::Grant {
                    id,
                    group: groups
                        .get(&group)
                        .cloned()
                        .ok_or(DomainError::NotFound(kinds::GROUP))?,
                    permission_set_id: set,
                    permission_set_name: set_names.get(&set.0).cloned().unwrap_or_default(),
                    projects: projects_listed.map(|ids| {
                        ids.iter()
                            .filter_map(|id| projects.get(&id.0).cloned())
                            .collect()
                    }),
                }),
            })
            .collect()
    }
}

/// A source, detached from the principal it was read from.
enum Owned {
    Role(Role),
    Grant {
        id: GrantId,
        group: i64,
        set: PermissionSetId,
        projects: Option<Vec<ProjectId>>,
    },
}

fn owned(sources: Vec<Source<'_>>) -> Vec<Owned> {
    sources
        .into_iter()
        .map(|s| match s {
            Source::Role(role) => Owned::Role(role),
            Source::Grant(g) => Owned::Grant {
                id: g.id,
                group: g.group_id.0,
                set: g.permission_set_id,
                projects: match &g.coverage {
                    crate::policy::grant::Coverage::All => None,
                    crate::policy::grant::Coverage::Listed(list) => Some(list.to_vec()),
                },
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refusal_has_its_own_reason_for_the_gateway() {
        assert_eq!(Why::NotInAccount.code(), "not-in-account");
        assert_eq!(Why::UnknownProject.code(), "unknown-project");
        assert_eq!(Why::NotHeld.code(), "permission-not-held");
    }

    #[test]
    fn a_lookup_key_depends_on_the_account_and_the_text() {
        let long = "p".repeat(23);
        let longer = "p".repeat(100);
        let mut keys = std::collections::HashSet::new();
        for account in [1, 2, 256] {
            for text in ["", "web", "web\0", "api", &"p".repeat(22), &long, &longer] {
                let key = lookup_key(AccountId(account), text);
                assert_eq!(key, lookup_key(AccountId(account), text));
                assert!(keys.insert(key), "{account} {text:?}");
            }
        }
        // Short texts are kept as they are; long ones hashed.
        assert_eq!(lookup_key(AccountId(1), "web")[0], 1);
        assert_eq!(&lookup_key(AccountId(1), "web")[10..13], b"web");
        assert_eq!(lookup_key(AccountId(1), &long)[0], 2);
    }
}
