//! The role codes and role objects, as the API spells them.

use async_graphql::{Enum, SimpleObject};
use domain::Role;

/// The role codes, spelled as the API spells them.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(name = "RoleCode", rename_items = "PascalCase")]
pub enum RoleCode {
    Admin,
    Editor,
    Viewer,
}

impl From<Role> for RoleCode {
    fn from(r: Role) -> Self {
        match r {
            Role::Admin => RoleCode::Admin,
            Role::Editor => RoleCode::Editor,
            Role::Viewer => RoleCode::Viewer,
        }
    }
}

impl From<RoleCode> for Role {
    fn from(r: RoleCode) -> Self {
        match r {
            RoleCode::Admin => Role::Admin,
            RoleCode::Editor => Role::Editor,
            RoleCode::Viewer => Role::Viewer,
        }
    }
}

/// A role, with its code and a readable name.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(name = "Role")]
pub struct RoleInfo {
    pub code: RoleCode,
    pub name: String,
}

impl From<Role> for RoleInfo {
    fn from(r: Role) -> Self {
        RoleInfo {
            code: r.into(),
            name: r.name().to_owned(),
        }
    }
}
