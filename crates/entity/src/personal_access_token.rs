//! A user's personal access token. Only its digest is stored.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "personal_access_tokens")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    pub name: Option<String>,
    /// HMAC-SHA256 of the whole token under the pepper named by `pepper_id`.
    #[sea_orm(unique)]
    pub digest: Vec<u8>,
    pub pepper_id: String,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    /// The client's address at the use `last_used_at` records.
    pub last_used_from: Option<String>,
    /// The `User-Agent` of that use, cut to 256 characters.
    pub last_used_agent: Option<String>,
    pub revoked_at: Option<i64>,
    pub rotated_at: Option<i64>,
    pub created_at: i64,
    /// When the token was first reported as found in public; `None` for a token
    /// never reported (see `credentials::leaks`).
    pub leaked_at: Option<i64>,
    /// Where the first report found it.
    pub leak_url: Option<String>,
    /// What kind of place that was (`commit`, `issue_comment`, ...).
    pub leak_source: Option<String>,
    /// Who reported it: `github`, `holder` or `scanner:<name>`.
    pub leak_reporter: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
