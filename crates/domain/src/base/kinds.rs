//! The kinds of object, as errors (`NOT_FOUND` names what was not found) and
//! the audit log's targets spell them. They are part of the contract: clients
//! read them.

pub(crate) const ACCOUNT: &str = "Account";
pub(crate) const USER: &str = "User";
pub(crate) const INVITATION: &str = "AccountInvitation";
pub(crate) const SERVICE_ACCOUNT: &str = "ServiceAccount";
pub(crate) const KEY: &str = "ServiceAccountKey";
pub(crate) const TOKEN: &str = "PersonalAccessToken";
pub(crate) const PROJECT: &str = "Project";
pub(crate) const PERMISSION: &str = "Permission";
pub(crate) const PERMISSION_SET: &str = "PermissionSet";
pub(crate) const GROUP: &str = "Group";
pub(crate) const GRANT: &str = "GroupGrant";
