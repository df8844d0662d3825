//! Who holds which permission on which project.
//!
//! A principal's permissions on a project of an account are the union of
//! - its role's built-in set (see [`crate::policy::table::role_permissions`]); the
//!   Admin set holds every permission, on every project; and
//! - the permission sets its groups grant on all of the account's projects,
//!   or on a list of projects that holds this one.
//!
//! A key acts under its role ceiling: its role is the lower of the two, and a
//! Viewer ceiling keeps only the granted permissions whose action is `read`
//! (a read-only key stays read-only, whatever its groups grant).
//!
//! A question asked of the account as a whole, with no project, is answered
//! by the role's set and by grants on all projects only.
//!
//! Nothing here reads the database: the grants come with the principal, read
//! when its credential was verified (see [`crate::credentials::verify`]).

use std::collections::BTreeSet;

use crate::base::ids::{AccountId, ProjectId};
use crate::policy::grant::Grant;
use crate::policy::principal::Principal;
use crate::policy::role::Role;
use crate::policy::table::{role_lists, role_permissions};

/// The action a Viewer ceiling lets through.
const READ: &str = "read";

/// What gives a principal a permission.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source<'a> {
    /// The built-in set of this role.
    Role(Role),
    Grant(&'a Grant),
}

/// The permissions held on one project.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Held<'a> {
    /// Every permission there is (the Admin set).
    Every,
    /// These, sorted.
    Listed(BTreeSet<&'a str>),
}

/// A principal's standing in one account, for questions of permission.
#[derive(Clone, Debug)]
pub struct Access<'a> {
    role: Role,
    /// Only permissions whose action is `read` pass from grants.
    read_only: bool,
    account: AccountId,
    grants: &'a [Grant],
}

impl<'a> Access<'a> {
    /// `principal`'s access in `account`, if it acts there at all.
    pub fn of(principal: &'a Principal, account: AccountId) -> Option<Self> {
        let role = principal.role_in(account)?;
        let (read_only, grants) = match principal {
            Principal::User(u) => (false, &u.grants[..]),
            Principal::ServiceAccount(s) => (s.role_ceiling == Some(Role::Viewer), &s.grants[..]),
        };
        Some(Self::new(role, read_only, account, grants))
    }

    /// Access with `role` and `grants` (those of other accounts are ignored);
    /// `read_only` for a key under a Viewer ceiling.
    pub fn new(role: Role, read_only: bool, account: AccountId, grants: &'a [Grant]) -> Self {
        Self {
            role,
            read_only,
            account,
            grants,
        }
    }

    pub fn role(&self) -> Role {
        self.role
    }

    fn role_gives(&self, permission: &str) -> bool {
        self.role == Role::Admin || role_lists(self.role, permission)
    }

    fn passes_ceiling(&self, permission: &str) -> bool {
        !self.read_only
            || permission
                .split_once(':')
                .is_some_and(|(_, action)| action == READ)
    }

    /// The grants in this account that cover `project`.
    fn covering(&self, project: Option<ProjectId>) -> impl Iterator<Item = &'a Grant> + '_ {
        self.grants
            .iter()
            .filter(move |g| g.account_id == self.account && g.coverage.covers(project))
    }

    /// Everything that gives `permission` on `project`; empty when nothing does.
    pub fn sources(&self, permission: &str, project: Option<ProjectId>) -> Vec<Source<'a>> {
        let mut sources = Vec::new();
        if self.role_gives(permission) {
            sources.push(Source::Role(self.role));
        }
        if self.passes_ceiling(permission) {
            sources.extend(
                self.covering(project)
                    .filter(|g| g.gives(permission))
                    .map(Source::Grant),
            );
        }
        sources
    }

    /// Whether `permission` is held on `project`: the hot path of a gateway's
    /// question, with nothing allocated.
    pub fn holds(&self, permission: &str, project: Option<ProjectId>) -> bool {
        self.role_gives(permission)
            || (self.passes_ceiling(permission)
                && self.covering(project).any(|g| g.gives(permission)))
    }

    /// Every permission held on `project`.
    pub fn held(&self, project: Option<ProjectId>) -> Held<'a> {
        if self.role == Role::Admin {
            return Held::Every;
        }
        let mut held: BTreeSet<&'a str> = role_permissions(self.role).into_iter().collect();
        for grant in self.covering(project) {
            held.extend(
                grant
                    .permissions
                    .iter()
                    .map(|p| &**p)
                    .filter(|p| self.passes_ceiling(p)),
            );
        }
        Held::Listed(held)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::ids::{GrantId, GroupId, PermissionSetId};
    use crate::policy::grant::Coverage;

    const ACCOUNT: AccountId = AccountId(1);
    const P1: ProjectId = ProjectId(10);
    const P2: ProjectId = ProjectId(20);

    fn grant(id: i64, account: AccountId, permissions: &[&str], coverage: Coverage) -> Grant {
        let mut sorted: Vec<Box<str>> = permissions.iter().map(|p| Box::from(*p)).collect();
        sorted.sort();
        Grant {
            id: GrantId(id),
            account_id: account,
            group_id: GroupId(id * 100),
            permission_set_id: PermissionSetId(id * 1000),
            permissions: sorted.into(),
            coverage,
        }
    }

    fn listed(projects: &[ProjectId]) -> Coverage {
        Coverage::Listed(projects.to_vec().into_boxed_slice())
    }

    #[test]
    fn a_grant_weighs_what_it_holds() {
        let small = grant(1, ACCOUNT, &["jobs:run"], Coverage::All);
        assert_eq!(small.size(), 64 + 8 + 16);
        let listed = grant(1, ACCOUNT, &["jobs:run", "a:b"], listed(&[P1, P2]));
        assert_eq!(listed.size(), 64 + (8 + 16) + (3 + 16) + 16);
    }

    #[test]
    fn coverage_of_all_and_of_a_list() {
        assert!(Coverage::All.covers(None));
        assert!(Coverage::All.covers(Some(P1)));
        let one = listed(&[P1]);
        assert!(one.covers(Some(P1)));
        assert!(!one.covers(Some(P2)));
        assert!(!one.covers(None));
        assert!(listed(&[P1, P2]).covers(Some(P2)));
    }

    #[test]
    fn permissions_are_the_union_of_the_role_and_the_covering_grants() {
        let grants = [
            grant(1, ACCOUNT, &["jobs:run", "docs:read"], listed(&[P1])),
            grant(2, ACCOUNT, &["docs:read", "docs:write"], Coverage::All),
        ];
        let access = Access::new(Role::Viewer, false, ACCOUNT, &grants);
        // The role's own set.
        assert!(access.holds("account:read", None));
        assert_eq!(
            access.sources("account:read", Some(P2)),
            [Source::Role(Role::Viewer)]
        );
        assert!(!access.holds("service_accounts:manage", Some(P1)));
        // A listed grant covers its projects only, and not the whole account.
        assert!(access.holds("jobs:run", Some(P1)));
        assert!(!access.holds("jobs:run", Some(P2)));
        assert!(!access.holds("jobs:run", None));
        // Two grants giving one permission are both named.
        assert_eq!(
            access.sources("docs:read", Some(P1)),
            [Source::Grant(&grants[0]), Source::Grant(&grants[1])]
        );
        assert_eq!(
            access.sources("docs:read", Some(P2)),
            [Source::Grant(&grants[1])]
        );
        assert!(access.sources("jobs:run", Some(P2)).is_empty());
        assert!(access.holds("docs:write", None));
        assert!(!access.holds("docs:delete", Some(P1)));
        let on_p1: Vec<&str> = match access.held(Some(P1)) {
            Held::Listed(set) => set.into_iter().collect(),
            Held::Every => panic!("a Viewer holds a list"),
        };
        assert_eq!(
            on_p1,
            ["account:read", "docs:read", "docs:write", "jobs:run"]
        );
        let on_p2: Vec<&str> = match access.held(Some(P2)) {
            Held::Listed(set) => set.into_iter().collect(),
            Held::Every => panic!("a Viewer holds a list"),
        };
        assert_eq!(on_p2, ["account:read", "docs:read", "docs:write"]);
    }

    #[test]
    fn an_admin_holds_every_permission_everywhere() {
        let access = Access::new(Role::Admin, false, ACCOUNT, &[]);
        for permission in ["jobs:run", "service_accounts:manage", "anything:else"] {
            for project in [None, Some(P1)] {
                assert!(access.holds(permission, project));
                assert_eq!(
                    access.sources(permission, project),
                    [Source::Role(Role::Admin)]
                );
            }
        }
        assert_eq!(access.held(Some(P1)), Held::Every);
        assert_eq!(access.role(), Role::Admin);
    }

    #[test]
    fn an_editor_holds_only_what_its_groups_give_beyond_reading_the_account() {
        let grants = [grant(1, ACCOUNT, &["jobs:run"], listed(&[P1]))];
        let access = Access::new(Role::Editor, false, ACCOUNT, &grants);
        assert!(access.holds("account:read", None));
        assert!(access.holds("jobs:run", Some(P1)));
        assert!(!access.holds("keys:manage", Some(P1)));
        assert!(!access.holds("jobs:run", Some(P2)));
    }

    #[test]
    fn another_accounts_grants_give_nothing_here() {
        let grants = [grant(1, AccountId(2), &["jobs:run"], Coverage::All)];
        let access = Access::new(Role::Viewer, false, ACCOUNT, &grants);
        assert!(!access.holds("jobs:run", Some(P1)));
        assert!(!access.holds("jobs:run", None));
        assert!(access.sources("jobs:run", None).is_empty());
        assert_eq!(
            access.held(None),
            Held::Listed(["account:read"].into_iter().collect())
        );
    }

    #[test]
    fn a_viewer_ceiling_lets_through_only_reading() {
        let grants = [grant(
            1,
            ACCOUNT,
            &["docs:read", "jobs:run", "jobs:readall"],
            Coverage::All,
        )];
        let capped = Access::new(Role::Viewer, true, ACCOUNT, &grants);
        assert!(capped.holds("docs:read", Some(P1)));
        assert!(!capped.holds("jobs:run", Some(P1)));
        assert!(!capped.holds("jobs:readall", Some(P1)));
        assert!(capped.sources("jobs:run", Some(P1)).is_empty());
        assert_eq!(
            capped.sources("docs:read", Some(P1)),
            [Source::Grant(&grants[0])]
        );
        // The role's own set is not a grant: the ceiling already lowered it.
        assert!(capped.holds("account:read", None));
        assert_eq!(
            capped.held(Some(P1)),
            Held::Listed(["account:read", "docs:read"].into_iter().collect())
        );
        let uncapped = Access::new(Role::Viewer, false, ACCOUNT, &grants);
        assert!(uncapped.holds("jobs:run", Some(P1)));
    }
}
