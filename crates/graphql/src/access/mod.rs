//! The objects that give access inside an account, and the questions asked of
//! it: projects, permissions and permission sets, groups and grants, checks.
//! Uses `objects` and `base`.

pub(crate) mod checks;
pub(crate) mod groups;
pub(crate) mod permissions;
pub(crate) mod projects;
