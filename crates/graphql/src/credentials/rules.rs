//! An account's credential policy as the schema shows it: the rules its keys
//! keep, how a key breaks them, and the change of them.

use async_graphql::{Context, InputObject, MaybeUndefined, Object, Result, SimpleObject};

use crate::base::context::{HumanOnly, caller, kw, now};
use crate::base::error::{ApiResult, bad_input};
use crate::base::inputs::{account_id, address_ranges_change};
use crate::base::scalars::ObjectId;
use crate::objects::Account;

/// What an account requires of its service-account keys. A key made or
/// rotated against it is refused (`POLICY_VIOLATION`); a key made before it
/// is refused at verification while it breaks it.
#[derive(SimpleObject, Debug)]
pub struct CredentialPolicy {
    /// The longest a key may live, from its creation to its expiry, in
    /// days; `null`: no limit. A limit also requires an expiry.
    pub key_max_lifetime_days: Option<i32>,
    /// Whether every key must have an expiry.
    pub key_expiry_required: bool,
    /// The networks (CIDR) the account's keys work from; `null`: anywhere.
    /// A service account's and a key's own ranges lie within these.
    pub allowed_ranges: Option<Vec<String>>,
    /// The days without use after which a key is disabled (it stops working
    /// until an Admin enables it; it is not revoked); `null`: never.
    pub disable_unused_after_days: Option<i32>,
}

impl From<domain::CredentialPolicy> for CredentialPolicy {
    fn from(p: domain::CredentialPolicy) -> Self {
        Self {
            key_max_lifetime_days: p
                .key_max_lifetime_days
                .map(|d| i32::try_from(d).unwrap_or(i32::MAX)),
            key_expiry_required: p.key_expiry_required,
            allowed_ranges: p.allowed_ranges.as_ref().map(domain::AddressRanges::texts),
            disable_unused_after_days: p
                .disable_unused_after_days
                .map(|d| i32::try_from(d).unwrap_or(i32::MAX)),
        }
    }
}

/// How a credential breaks its account's policy.
#[derive(SimpleObject, Debug)]
pub struct PolicyViolation {
    /// The setting it breaks: `keyMaxLifetimeDays` or `keyExpiryRequired`.
    pub rule: String,
    /// The setting's value, for a rule that has one (days).
    pub limit: Option<i32>,
    pub message: String,
}

impl From<domain::PolicyViolation> for PolicyViolation {
    fn from(v: domain::PolicyViolation) -> Self {
        Self {
            rule: v.rule.code().to_owned(),
            limit: v.limit.map(|d| i32::try_from(d).unwrap_or(i32::MAX)),
            message: v.message(),
        }
    }
}

/// The rules to change: a field left out is kept; `null` unsets a limit.
#[derive(InputObject, Debug)]
pub struct UpdateAccountCredentialPolicyInput {
    pub account_id: ObjectId,
    /// 1 to 3650; `null`: no limit.
    pub key_max_lifetime_days: MaybeUndefined<i32>,
    pub key_expiry_required: Option<bool>,
    /// 1 to 20 networks in CIDR notation (or addresses), none wider than /8
    /// (IPv4) or /16 (IPv6); `null`: anywhere. Narrowing it stops what the
    /// account's service accounts and keys name outside it.
    pub allowed_ranges: MaybeUndefined<Vec<String>>,
    /// 1 to 3650: a key unused for this many days is disabled by the
    /// server's housekeeping; `null`: never.
    pub disable_unused_after_days: MaybeUndefined<i32>,
}

/// A number of days to set (`null` unsets it), refused when negative with
/// the words the domain uses for one out of range.
fn days_change(given: &MaybeUndefined<i32>, refusal: &str) -> Result<Option<Option<u32>>> {
    Ok(match *given {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(days) => Some(Some(
            u32::try_from(days).map_err(|_| bad_input(refusal.to_owned()))?,
        )),
    })
}

impl UpdateAccountCredentialPolicyInput {
    fn change(&self) -> Result<domain::PolicyChange> {
        Ok(domain::PolicyChange {
            key_max_lifetime_days: days_change(
                &self.key_max_lifetime_days,
                "keyMaxLifetimeDays must be between 1 and 3650 days (leave it unset for no limit)",
            )?,
            key_expiry_required: self.key_expiry_required,
            allowed_ranges: address_ranges_change(&self.allowed_ranges)?,
            disable_unused_after_days: days_change(
                &self.disable_unused_after_days,
                "disableUnusedAfterDays must be between 1 and 3650 days (leave it unset to never disable keys for want of use)",
            )?,
        })
    }
}

#[derive(SimpleObject, Debug)]
pub struct UpdateAccountCredentialPolicyPayload {
    pub account: Account,
    pub credential_policy: CredentialPolicy,
}

#[derive(Debug, Default)]
pub struct PolicyMutation;

#[Object]
impl PolicyMutation {
    /// Changes what the account requires of its keys. Admins only, and not
    /// with a key: an automation does not loosen its own rules. Every server
    /// judges the account's keys by the new rules on their next request.
    #[graphql(guard = "HumanOnly")]
    async fn update_account_credential_policy(
        &self,
        ctx: &Context<'_>,
        input: UpdateAccountCredentialPolicyInput,
    ) -> Result<UpdateAccountCredentialPolicyPayload> {
        let account = account_id(&input.account_id)?;
        let change = input.change()?;
        let caller = caller(ctx)?;
        let set = kw(ctx)
            .set_credential_policy(caller, account, change, now())
            .await
            .api()?;
        let account = kw(ctx).account(caller, account).await.api()?;
        Ok(UpdateAccountCredentialPolicyPayload {
            account: Account(account),
            credential_policy: set.into(),
        })
    }
}
