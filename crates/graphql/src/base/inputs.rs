//! Reading what a request sends: global ids of each kind, descriptions, key
//! names and fields that may be left out but not set to null. A malformed
//! value is refused with a coded error before the domain is asked.

use async_graphql::{MaybeUndefined, Result};
use domain::ids::{AccountId, InvitationId, KeyId, ServiceAccountId, TokenId, UserId};
use domain::{AddressRanges, Description, GroupMember, KeyName};

use crate::base::error::{api, bad_input, not_found};
use crate::base::scalars::ObjectId;

/// The numeric id inside a global id of the expected type; any other id names
/// nothing the caller can see.
pub fn id_of(id: &ObjectId, type_name: &'static str) -> Result<i64> {
    id.of(type_name).ok_or_else(|| not_found(type_name))
}

/// A list of address ranges (`allowedRanges`), checked whole.
pub fn address_ranges(given: Option<&[String]>) -> Result<Option<AddressRanges>> {
    AddressRanges::parse("allowedRanges", given).map_err(api)
}

/// A change of a list of address ranges: absent keeps it, `null` clears it.
pub fn address_ranges_change(
    given: &MaybeUndefined<Vec<String>>,
) -> Result<Option<Option<AddressRanges>>> {
    match given {
        MaybeUndefined::Undefined => Ok(None),
        MaybeUndefined::Null => Ok(Some(None)),
        MaybeUndefined::Value(list) => address_ranges(Some(list)).map(Some),
    }
}

pub fn account_id(id: &ObjectId) -> Result<AccountId> {
    id_of(id, "Account").map(AccountId)
}

pub fn service_account_id(id: &ObjectId) -> Result<ServiceAccountId> {
    id_of(id, "ServiceAccount").map(ServiceAccountId)
}

pub fn key_id(id: &ObjectId) -> Result<KeyId> {
    id_of(id, "ServiceAccountKey").map(KeyId)
}

pub fn token_id(id: &ObjectId) -> Result<TokenId> {
    id_of(id, "PersonalAccessToken").map(TokenId)
}

pub fn user_id(id: &ObjectId) -> Result<UserId> {
    id_of(id, "User").map(UserId)
}

pub fn invitation_id(id: &ObjectId) -> Result<InvitationId> {
    id_of(id, "AccountInvitation").map(InvitationId)
}

pub fn group_id(id: &ObjectId) -> Result<domain::ids::GroupId> {
    id_of(id, "Group").map(domain::ids::GroupId)
}

/// An optional description, parsed.
pub fn description(text: Option<&str>) -> Result<Option<Description>> {
    text.map(Description::parse).transpose().map_err(api)
}

/// A description to change: absent leaves it alone (`None`), `null` clears it
/// (`Some(None)`), a value sets it.
pub fn description_change(value: MaybeUndefined<String>) -> Result<Option<Option<Description>>> {
    Ok(match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(d) => Some(Some(Description::parse(&d).map_err(api)?)),
    })
}

pub fn key_name(name: Option<&str>) -> Result<Option<KeyName>> {
    name.map(KeyName::parse).transpose().map_err(api)
}

/// A field that may be absent but not `null`.
pub fn not_null<T>(field: &str, value: MaybeUndefined<T>) -> Result<Option<T>> {
    match value {
        MaybeUndefined::Undefined => Ok(None),
        MaybeUndefined::Null => Err(bad_input(format!("{field} cannot be null"))),
        MaybeUndefined::Value(v) => Ok(Some(v)),
    }
}

/// A user or a service account, by its global id.
pub fn member_of(id: &ObjectId) -> Result<GroupMember> {
    match id.type_name.as_str() {
        "User" => Ok(GroupMember::User(UserId(id.id))),
        "ServiceAccount" => Ok(GroupMember::ServiceAccount(ServiceAccountId(id.id))),
        _ => Err(bad_input("expected the id of a User or a ServiceAccount")),
    }
}
