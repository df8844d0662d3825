//! A grant as verification read it: a permission set given to one of the
//! principal's groups, on every project of the account or on a list of them.
//! The principal carries its grants (see [`crate::policy::principal`]); what
//! they add up to is [`crate::policy::held`].

use std::sync::Arc;

use crate::base::ids::{AccountId, GrantId, GroupId, PermissionSetId, ProjectId};

/// Which projects a grant covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Coverage {
    /// Every project of the account, and the account as a whole.
    All,
    /// These projects (sorted) and no others.
    Listed(Box<[ProjectId]>),
}

impl Coverage {
    /// Whether a question about `project` (`None`: the account as a whole) is
    /// covered.
    pub fn covers(&self, project: Option<ProjectId>) -> bool {
        match (self, project) {
            (Coverage::All, _) => true,
            (Coverage::Listed(projects), Some(p)) => projects.binary_search(&p).is_ok(),
            (Coverage::Listed(_), None) => false,
        }
    }
}

/// One grant of a permission set to one of the principal's groups, as it was
/// read when the credential was verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    pub id: GrantId,
    pub account_id: AccountId,
    pub group_id: GroupId,
    pub permission_set_id: PermissionSetId,
    /// The set's permissions, sorted.
    pub permissions: Arc<[Box<str>]>,
    pub coverage: Coverage,
}

impl Grant {
    /// About how many bytes it holds, to weigh a cached verification.
    pub(crate) fn size(&self) -> usize {
        let permissions: usize = self.permissions.iter().map(|p| p.len() + 16).sum();
        let projects = match &self.coverage {
            Coverage::All => 0,
            Coverage::Listed(list) => list.len() * 8,
        };
        64 + permissions + projects
    }

    pub(crate) fn gives(&self, permission: &str) -> bool {
        self.permissions
            .binary_search_by(|p| (**p).cmp(permission))
            .is_ok()
    }
}
