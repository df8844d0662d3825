//! Typed ids, so that a key id is never passed where a service account id belongs.

macro_rules! ids {
    ($($name:ident),* $(,)?) => {$(
        #[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

ids!(
    AccountId,
    UserId,
    MemberId,
    ServiceAccountId,
    KeyId,
    TokenId,
    AuditEventId,
    InvitationId,
    ProjectId,
    PermissionId,
    PermissionSetId,
    GroupId,
    GrantId,
);

/// Who can be a member of a group, act, or be asked about: a user or a
/// service account, by id.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum GroupMember {
    User(UserId),
    ServiceAccount(ServiceAccountId),
}
