//! The role hierarchy: `Admin` > `Editor` > `Viewer`.

use std::fmt;
use std::str::FromStr;

use crate::base::error::DomainError;

/// A role in an account. The order of the variants is the hierarchy: a higher
/// role includes everything of the lower ones.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Viewer,
    Editor,
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Editor, Role::Viewer];

    /// The code used in the API and in storage.
    pub fn code(self) -> &'static str {
        match self {
            Role::Admin => "Admin",
            Role::Editor => "Editor",
            Role::Viewer => "Viewer",
        }
    }

    /// This role, lowered to `ceiling` if there is one and it is lower.
    pub fn capped(self, ceiling: Option<Role>) -> Role {
        ceiling.map_or(self, |c| self.min(c))
    }

    /// A human-readable name.
    pub fn name(self) -> &'static str {
        match self {
            Role::Admin => "Administrator",
            Role::Editor => "Editor",
            Role::Viewer => "Viewer",
        }
    }

    pub(crate) fn from_stored(s: &str) -> Result<Role, DomainError> {
        s.parse()
            .map_err(|_| DomainError::Internal(format!("stored role {s:?} is not a role")))
    }
}

impl FromStr for Role {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.code() == s)
            .ok_or_else(|| DomainError::invalid("roleCode must be one of Admin, Editor, Viewer"))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_has_its_code_and_name_and_shows_as_its_code() {
        for (role, code, name) in [
            (Role::Admin, "Admin", "Administrator"),
            (Role::Editor, "Editor", "Editor"),
            (Role::Viewer, "Viewer", "Viewer"),
        ] {
            assert_eq!(role.code(), code);
            assert_eq!(role.name(), name);
            assert_eq!(role.to_string(), code);
            assert_eq!(code.parse::<Role>().ok(), Some(role));
            assert_eq!(Role::from_stored(code).ok(), Some(role));
        }
        for unknown in ["", "admin", "Owner", "Admin "] {
            assert!(unknown.parse::<Role>().is_err(), "{unknown:?}");
            assert!(Role::from_stored(unknown).is_err(), "{unknown:?}");
        }
    }

    #[test]
    fn the_hierarchy_orders_the_roles_and_a_ceiling_only_lowers() {
        assert!(Role::Admin > Role::Editor && Role::Editor > Role::Viewer);
        for role in Role::ALL {
            assert_eq!(role.capped(None), role);
            for ceiling in Role::ALL {
                assert_eq!(role.capped(Some(ceiling)), role.min(ceiling));
            }
        }
        assert_eq!(Role::Admin.capped(Some(Role::Viewer)), Role::Viewer);
        assert_eq!(Role::Viewer.capped(Some(Role::Admin)), Role::Viewer);
    }
}
