//! An Admin's invitation to join an account, redeemed by the invitee with their
//! own credential. Only the secret's digest is stored.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "account_invitations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: i64,
    /// The role the invitee will hold.
    pub role: String,
    /// HMAC-SHA256 of the whole invitation secret under the pepper named by `pepper_id`.
    #[sea_orm(unique)]
    pub digest: Vec<u8>,
    pub pepper_id: String,
    pub created_by_user_id: Option<i64>,
    pub created_at: i64,
    pub expires_at: i64,
    pub accepted_at: Option<i64>,
    pub accepted_by_user_id: Option<i64>,
    pub revoked_at: Option<i64>,
    /// When the invitation's secret was first reported as found in public.
    pub leaked_at: Option<i64>,
    pub leak_url: Option<String>,
    pub leak_source: Option<String>,
    /// Who reported it: `github`, `holder` or `scanner:<name>`.
    pub leak_reporter: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
