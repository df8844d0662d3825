//! One successful mutation: who did what to which object, and when.
//!
//! Audit rows carry names as well as ids and have no foreign keys, so they outlive
//! whatever they describe.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The account whose log shows the event; `NULL` for a user's own tokens.
    pub account_id: Option<i64>,
    pub action: String,
    /// `User` or `ServiceAccount`.
    pub actor_type: String,
    pub actor_id: i64,
    pub actor_name: String,
    pub attributed_user_id: Option<i64>,
    pub target_type: String,
    pub target_id: i64,
    pub target_name: Option<String>,
    pub created_at: i64,
    /// The client the change's request came from, when a request made it.
    pub client_address: Option<String>,
    /// The id of the request that made the change (its `X-Request-Id`).
    pub request_id: Option<String>,
    /// What the change did, as JSON `{"before": ..., "after": ...}`, for
    /// changes that record it.
    pub changes: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
