//! An account: the tenant everything else hangs off.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "accounts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub name: String,
    /// The digest of the name as compared (see `migration::name_key`); none
    /// only for a row written by a release older than the column.
    pub name_key: Option<Vec<u8>>,
    pub created_at: i64,
    /// What a leak of one of the account's credentials does: `revoke`,
    /// `disable` (its service account too) or `record`; `None` is `revoke`.
    pub leak_response: Option<String>,
    /// The longest a service-account key of the account may live, in days;
    /// `None`: no limit.
    pub key_max_lifetime_days: Option<i32>,
    /// Whether every key must have an expiry; `None` is `false`.
    pub key_expiry_required: Option<bool>,
    /// Where the account's credentials work: networks in CIDR notation,
    /// apart by spaces; `None`: anywhere.
    pub allowed_ranges: Option<String>,
    /// The days without use after which a key of the account is disabled;
    /// `None`: never.
    pub disable_unused_after_days: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
