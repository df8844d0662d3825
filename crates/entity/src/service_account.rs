//! A machine identity in one account.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "service_accounts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub description: Option<String>,
    /// `Admin`, `Editor` or `Viewer`.
    pub role: String,
    pub enabled: bool,
    /// The human who created it; `NULL` once that user is deleted.
    pub created_by_user_id: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Where its keys work, within the account's ranges: networks in CIDR
    /// notation, apart by spaces; `None`: wherever the account allows.
    pub allowed_ranges: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
