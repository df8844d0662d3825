//! The permission table of the contract (who may do what), as code.
//!
//! Every domain operation asks [`authorize`] before it reads or writes anything
//! that belongs to an account. An account the caller does not belong to does not
//! exist for it: the answer is "not found", never "unauthorized", so that no
//! response tells a missing object from someone else's.

use crate::base::error::DomainError;
use crate::base::ids::AccountId;
use crate::policy::principal::Principal;
use crate::policy::role::Role;

/// What a caller wants to do inside one account.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Create, update, disable, enable or delete service accounts.
    ManageServiceAccounts,
    /// Create, revoke, rotate and list keys.
    ManageKeys,
    /// Read the account's service accounts.
    ReadServiceAccounts,
    /// Read the account itself (`id`, `name`).
    ReadAccount,
    ReadAuditLog,
    /// List, add, update and remove members.
    ManageMembers,
    /// Read the account's projects, permissions, permission sets and groups.
    ReadAccess,
    /// Create, change and delete projects, permissions, permission sets,
    /// groups, their members and their grants.
    ManageAccess,
}

impl Action {
    pub const ALL: [Action; 8] = [
        Action::ReadAccount,
        Action::ReadServiceAccounts,
        Action::ManageServiceAccounts,
        Action::ManageKeys,
        Action::ManageMembers,
        Action::ReadAuditLog,
        Action::ReadAccess,
        Action::ManageAccess,
    ];

    /// The action as one of keywarden's own permissions, `resource:action`,
    /// as the built-in permission sets list it.
    pub fn permission(self) -> &'static str {
        match self {
            Action::ReadAccount => "account:read",
            Action::ReadServiceAccounts => "service_accounts:read",
            Action::ManageServiceAccounts => "service_accounts:manage",
            Action::ManageKeys => "keys:manage",
            Action::ManageMembers => "members:manage",
            Action::ReadAuditLog => "audit:read",
            Action::ReadAccess => "groups:read",
            Action::ManageAccess => "groups:manage",
        }
    }
}

/// The resources of keywarden's own permissions: an account cannot define a
/// permission on one of them.
pub const RESERVED_RESOURCES: [&str; 10] = [
    "account",
    "service_accounts",
    "keys",
    "members",
    "audit",
    "groups",
    "projects",
    "permissions",
    "permission_sets",
    "tokens",
];

/// The built-in permission set of a role: keywarden's own permissions that
/// the role's holder may use, read off the table below, so that the set and
/// what the role may do can never disagree. The Admin set also holds every
/// permission the account defines, on every project (see [`crate::policy::held`]).
pub fn role_permissions(role: Role) -> Vec<&'static str> {
    role_permission_iter(role).collect()
}

/// Whether the built-in set of `role` lists `permission`, with nothing
/// allocated (a gateway asks this on every request).
pub(crate) fn role_lists(role: Role, permission: &str) -> bool {
    role_permission_iter(role).any(|p| p == permission)
}

fn role_permission_iter(role: Role) -> impl Iterator<Item = &'static str> {
    Action::ALL
        .into_iter()
        .filter(move |a| Standing::Member(role).permits(*a))
        .map(Action::permission)
}

impl Action {
    fn refusal(self) -> &'static str {
        match self {
            Action::ManageServiceAccounts => {
                "managing service accounts needs the Admin role of the account, held by a user"
            }
            Action::ManageKeys => {
                "managing service account keys needs the Admin role of the account, held by a user"
            }
            Action::ReadServiceAccounts => {
                "reading service accounts needs the Admin role of the account, held by a user"
            }
            Action::ReadAccount => "reading this account is not allowed",
            Action::ReadAuditLog => {
                "reading the audit log needs the Admin role of the account, held by a user"
            }
            Action::ManageMembers => {
                "managing members needs the Admin role of the account, held by a user"
            }
            Action::ReadAccess => {
                "reading projects, permissions, permission sets and groups needs the Admin role \
                 of the account, held by a user"
            }
            Action::ManageAccess => {
                "managing projects, permissions, permission sets and groups needs the Admin role \
                 of the account, held by a user"
            }
        }
    }
}

/// How a caller stands towards one account.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Standing {
    /// Not a member: the account and all it holds do not exist for the caller.
    Outsider,
    Member(Role),
    /// A service account of this account, acting with this role.
    ServiceAccount(Role),
}

impl Standing {
    pub fn of(caller: &Principal, account: AccountId) -> Standing {
        match (caller, caller.role_in(account)) {
            (_, None) => Standing::Outsider,
            (Principal::User(_), Some(role)) => Standing::Member(role),
            (Principal::ServiceAccount(_), Some(role)) => Standing::ServiceAccount(role),
        }
    }

    /// The table itself. A service account's role is what it carries to the
    /// systems keywarden guards; inside keywarden it may read only its own account
    /// (and itself, through `me`, which needs no check here).
    pub fn permits(self, action: Action) -> bool {
        match self {
            Standing::Outsider => false,
            Standing::Member(Role::Admin) => true,
            Standing::Member(_) | Standing::ServiceAccount(_) => action == Action::ReadAccount,
        }
    }
}

/// Refuses `action` on `account` unless the caller may do it. `kind` names the
/// object asked for, for the "not found" an outsider gets.
pub(crate) fn authorize(
    caller: &Principal,
    account: AccountId,
    action: Action,
    kind: &'static str,
) -> Result<(), DomainError> {
    match Standing::of(caller, account) {
        Standing::Outsider => Err(DomainError::NotFound(kind)),
        standing if standing.permits(action) => Ok(()),
        _ => Err(DomainError::Unauthorized(action.refusal())),
    }
}

/// Personal access tokens belong to users; a service account has none.
pub(crate) fn require_user(
    caller: &Principal,
) -> Result<&crate::policy::principal::UserPrincipal, DomainError> {
    match caller {
        Principal::User(u) => Ok(u),
        Principal::ServiceAccount(_) => Err(DomainError::Unauthorized(
            "personal access tokens belong to users; a service account has none",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::ids::{TokenId, UserId};
    use crate::policy::principal::{Membership, UserPrincipal};

    fn member(account: AccountId, role: Role) -> Principal {
        Principal::User(UserPrincipal {
            user_id: UserId(1),
            username: "someone".to_owned(),
            memberships: vec![Membership {
                account_id: account,
                role,
            }],
            token_id: TokenId(1),
            grants: std::sync::Arc::new([]),
        })
    }

    #[test]
    fn a_refusal_says_what_the_action_needs() {
        let account = AccountId(7);
        let viewer = member(account, Role::Viewer);
        for (action, says) in [
            (
                Action::ManageServiceAccounts,
                "managing service accounts needs the Admin role",
            ),
            (
                Action::ManageKeys,
                "managing service account keys needs the Admin role",
            ),
            (
                Action::ReadServiceAccounts,
                "reading service accounts needs the Admin role",
            ),
            (
                Action::ReadAuditLog,
                "reading the audit log needs the Admin role",
            ),
            (
                Action::ManageMembers,
                "managing members needs the Admin role",
            ),
            (
                Action::ReadAccess,
                "reading projects, permissions, permission sets and groups needs the Admin role",
            ),
            (
                Action::ManageAccess,
                "managing projects, permissions, permission sets and groups needs the Admin role",
            ),
        ] {
            match authorize(&viewer, account, action, "Account") {
                Err(DomainError::Unauthorized(message)) => {
                    assert!(message.starts_with(says), "{action:?}: {message}");
                    assert!(message.ends_with("held by a user"), "{message}");
                }
                other => panic!("{action:?}: {other:?}"),
            }
        }
        assert_eq!(
            Action::ReadAccount.refusal(),
            "reading this account is not allowed"
        );
        // An Admin may do every one of them.
        let admin = member(account, Role::Admin);
        for action in Action::ALL {
            assert!(
                authorize(&admin, account, action, "Account").is_ok(),
                "{action:?}"
            );
        }
        // An outsider is told nothing but "not found", naming what it asked for.
        assert!(matches!(
            authorize(&viewer, AccountId(8), Action::ReadAccount, "ServiceAccount"),
            Err(DomainError::NotFound("ServiceAccount"))
        ));
    }
}

#[cfg(test)]
mod permission_tests {
    use super::*;

    #[test]
    fn the_built_in_sets_are_what_each_role_may_do() {
        let every: Vec<&str> = Action::ALL.into_iter().map(Action::permission).collect();
        assert_eq!(role_permissions(Role::Admin), every);
        assert_eq!(role_permissions(Role::Editor), ["account:read"]);
        assert_eq!(role_permissions(Role::Viewer), ["account:read"]);
        for role in Role::ALL {
            for action in Action::ALL {
                assert_eq!(
                    role_lists(role, action.permission()),
                    Standing::Member(role).permits(action),
                    "{role} {action:?}"
                );
            }
            assert!(!role_lists(role, "jobs:run"));
        }
        // Each of keywarden's own permissions is on a reserved resource, and
        // no two actions share one.
        for action in Action::ALL {
            let (resource, _) = action.permission().split_once(':').unwrap_or_default();
            assert!(RESERVED_RESOURCES.contains(&resource), "{action:?}");
        }
        let mut names = every.clone();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Action::ALL.len());
    }
}
