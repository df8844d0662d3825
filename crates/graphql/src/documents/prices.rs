//! What each field of keywarden's costs: the fields that read the database,
//! and how many items a list of them can return (the contract is
//! `docs/limits.md`; [`crate::documents::measure`] adds them up).

use crate::base::page::{DEFAULT_PAGE, KEYS_PAGE};

/// How many items one of keywarden's lists may return.
#[derive(Copy, Clone, Debug)]
pub(crate) enum Items {
    /// Always at most this many.
    Fixed(usize),
    /// A page: `first` (or, when given, `last`), or `default` when neither is.
    Page { default: u64, last: bool },
    /// As many as the ids the named argument lists.
    Ids(&'static str),
}

/// What a field of keywarden's costs beyond 1 plus its selection.
#[derive(Copy, Clone, Debug)]
pub(crate) enum Price {
    /// Reads one object: [`QUERY_COST`] plus its selection.
    Read,
    /// Reads a list: [`QUERY_COST`] plus its selection once per item.
    List(Items),
    /// Reads a list of objects one by one: [`QUERY_COST`], plus, per item,
    /// [`QUERY_COST`] and its selection.
    ReadEach(Items),
    /// A list already read by the field that holds it, whose length the
    /// account's own data bounds rather than the document: 1 plus its
    /// selection, counted once.
    Held,
}

pub(crate) const PAGE: Items = Items::Page {
    default: domain::MAX_PAGE,
    last: false,
};

pub(crate) const AUDIT_PAGE: Items = Items::Page {
    default: DEFAULT_PAGE as u64,
    last: true,
};

/// The price of every field of keywarden's that reads the database or
/// returns a list (a test checks that every list is here, and that every
/// entry names a field). Any other field costs 1 plus its selection.
pub(crate) const PRICES: &[(&str, &str, Price)] = &[
    ("Query", "me", Price::Read),
    ("Query", "node", Price::Read),
    ("Query", "nodes", Price::ReadEach(Items::Ids("ids"))),
    ("Query", "serviceAccount", Price::Read),
    ("Query", "getAccount", Price::Read),
    ("Query", "checkPermission", Price::Read),
    ("Query", "heldPermissions", Price::Read),
    (
        "Query",
        "unusedCredentials",
        Price::List(Items::Page {
            default: DEFAULT_PAGE as u64,
            last: false,
        }),
    ),
    ("UnusedCredentialConnection", "nodes", Price::Held),
    ("UnusedCredentialConnection", "edges", Price::Held),
    ("UnusedCredential", "user", Price::Read),
    ("Account", "serviceAccounts", Price::List(PAGE)),
    ("Account", "members", Price::List(PAGE)),
    (
        "Account",
        "invitations",
        Price::List(Items::Fixed(domain::MAX_PAGE as usize)),
    ),
    ("Account", "projects", Price::List(PAGE)),
    (
        "Account",
        "permissions",
        Price::List(Items::Fixed(domain::limits::PERMISSIONS.max as usize)),
    ),
    (
        // The account's own sets and the three built in.
        "Account",
        "permissionSets",
        Price::List(Items::Fixed(
            domain::limits::PERMISSION_SETS.max as usize + 3,
        )),
    ),
    ("Account", "groups", Price::List(PAGE)),
    ("Account", "auditEvents", Price::List(AUDIT_PAGE)),
    // A connection's lists are priced by the field that returns it.
    ("AuditEventConnection", "nodes", Price::Held),
    ("AuditEventConnection", "edges", Price::Held),
    (
        "User",
        "accounts",
        Price::List(Items::Fixed(domain::MAX_PAGE as usize)),
    ),
    (
        "User",
        "personalAccessTokens",
        Price::List(Items::Fixed(domain::MAX_PAGE as usize)),
    ),
    ("User", "auditEvents", Price::List(AUDIT_PAGE)),
    ("ServiceAccount", "account", Price::Read),
    ("ServiceAccount", "createdByUser", Price::Read),
    ("ServiceAccount", "attributedUser", Price::Read),
    (
        "ServiceAccount",
        "groups",
        Price::List(Items::Fixed(domain::limits::GROUPS_PER_MEMBER.max as usize)),
    ),
    ("ServiceAccount", "keyUsage", Price::Read),
    (
        "ServiceAccount",
        "keys",
        Price::List(Items::Page {
            default: KEYS_PAGE,
            last: false,
        }),
    ),
    ("ServiceAccountKey", "roleCode", Price::Read),
    ("ServiceAccountKey", "createdByUser", Price::Read),
    ("ServiceAccountKey", "serviceAccount", Price::Read),
    (
        "AccountMember",
        "groups",
        Price::List(Items::Fixed(domain::limits::GROUPS_PER_MEMBER.max as usize)),
    ),
    ("AuditEvent", "actor", Price::Read),
    ("AuditEvent", "attributedUser", Price::Read),
    ("Project", "account", Price::Read),
    ("Group", "members", Price::List(PAGE)),
    (
        "Group",
        "grants",
        Price::List(Items::Fixed(domain::limits::GROUP_GRANTS.max as usize)),
    ),
    ("GroupGrant", "group", Price::Read),
    ("GroupGrant", "permissionSet", Price::Read),
    (
        "GroupGrant",
        "projects",
        Price::List(Items::Fixed(domain::limits::GRANT_PROJECTS.max as usize)),
    ),
    (
        "PermissionSource",
        "projects",
        Price::List(Items::Fixed(domain::limits::GRANT_PROJECTS.max as usize)),
    ),
    ("PermissionSet", "permissions", Price::Held),
    // At most 20 each, read with the object that holds them.
    ("CredentialPolicy", "allowedRanges", Price::Held),
    ("ServiceAccount", "allowedRanges", Price::Held),
    ("ServiceAccountKey", "allowedRanges", Price::Held),
    ("PermissionCheck", "sources", Price::Held),
    ("HeldPermissions", "permissions", Price::Held),
    ("HeldPermission", "sources", Price::Held),
];

pub(crate) fn price(ty: &str, field: &str) -> Option<Price> {
    PRICES
        .iter()
        .find(|(t, f, _)| *t == ty && *f == field)
        .map(|(_, _, p)| *p)
}
