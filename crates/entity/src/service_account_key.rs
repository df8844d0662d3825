//! An API key of a service account. Only its digest is stored.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "service_account_keys")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub service_account_id: i64,
    pub name: Option<String>,
    pub description: Option<String>,
    /// HMAC-SHA256 of the whole token under the pepper named by `pepper_id`.
    #[sea_orm(unique)]
    pub digest: Vec<u8>,
    pub pepper_id: String,
    /// The highest role this key may act with, whatever its service account's role.
    pub role_ceiling: Option<String>,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    /// The client's address at the use `last_used_at` records.
    pub last_used_from: Option<String>,
    /// The `User-Agent` of that use, cut to 256 characters.
    pub last_used_agent: Option<String>,
    pub revoked_at: Option<i64>,
    /// The key this one replaced through rotation.
    pub rotated_from_id: Option<i64>,
    pub created_by_user_id: Option<i64>,
    pub created_at: i64,
    /// The key's start in clear (`lmr_sa_12_AbCd`), to tell keys apart.
    pub prefix: Option<String>,
    /// When the key was first reported as found in public; `None` for a key
    /// never reported (see `credentials::leaks`).
    pub leaked_at: Option<i64>,
    /// Where the first report found it.
    pub leak_url: Option<String>,
    /// What kind of place that was (`commit`, `issue_comment`, ...).
    pub leak_source: Option<String>,
    /// Who reported it: `github`, `holder` or `scanner:<name>`.
    pub leak_reporter: Option<String>,
    /// Where the key works, within its service account's and account's
    /// ranges: networks in CIDR notation, apart by spaces; `None`: wherever
    /// they allow.
    pub allowed_ranges: Option<String>,
    /// When the key was disabled; `None` while it is enabled.
    pub disabled_at: Option<i64>,
    /// Why: `idle` (by the account's policy) or `admin`.
    pub disabled_reason: Option<String>,
    /// When it was last enabled again: its idle time counts from then.
    pub enabled_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::service_account::Entity",
        from = "Column::ServiceAccountId",
        to = "super::service_account::Column::Id"
    )]
    ServiceAccount,
}

impl Related<super::service_account::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ServiceAccount.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
