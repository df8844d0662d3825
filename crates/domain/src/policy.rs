//! The permission table of the contract (who may do what), as code.
//!
//! Every domain operation asks [`authorize`] before it reads or writes anything
//! that belongs to an account. An account the caller does not belong to does not
//! exist for it: the answer is "not found", never "unauthorized", so that no
//! response tells a missing object from someone else's.

use crate::error::DomainError;
use crate::ids::AccountId;
use crate::principal::Principal;
use crate::role::Role;

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
) -> Result<&crate::principal::UserPrincipal, DomainError> {
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
    use crate::ids::{TokenId, UserId};
    use crate::principal::{Membership, UserPrincipal};

    fn member(account: AccountId, role: Role) -> Principal {
        Principal::User(UserPrincipal {
            user_id: UserId(1),
            username: "someone".to_owned(),
            memberships: vec![Membership {
                account_id: account,
                role,
            }],
            token_id: TokenId(1),
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
        // An outsider is told nothing but "not found", naming what it asked for.
        assert!(matches!(
            authorize(&viewer, AccountId(8), Action::ReadAccount, "ServiceAccount"),
            Err(DomainError::NotFound("ServiceAccount"))
        ));
    }
}
