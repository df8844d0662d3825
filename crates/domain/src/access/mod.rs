//! The objects that give access inside an account, and the questions asked of
//! it: projects, permissions and permission sets, groups and their grants,
//! and the checks ("may this principal do this on that project, and why").
//!
//! Decides what an account's access objects may hold and who may change
//! them. Uses [`crate::policy`] for the rule itself, [`crate::warden`] to
//! change anything, and [`crate::coherence`], [`crate::db`], [`crate::base`].
//! Never [`crate::credentials`] nor [`crate::directory`]: they use it.

pub(crate) mod checks;
pub(crate) mod grants;
pub(crate) mod groups;
pub(crate) mod permission_sets;
pub(crate) mod projects;
