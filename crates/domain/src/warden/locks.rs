//! The rows a change locks before it decides. Every change to an account's
//! objects first takes its account's row (`lock_account`), so that two
//! changes to one account are made one after the other, and a rule that
//! counts (the last Admin, a limit) counts what is committed.

use entity::{account, service_account};
use sea_orm::{ConnectionTrait, EntityTrait, QuerySelect};

use crate::base::error::{DomainError, DomainResult};
use crate::base::ids::{AccountId, ServiceAccountId};
use crate::base::kinds;

/// The account row, locked on PostgreSQL: member changes of one account queue up,
/// which keeps the last-Admin rule exact.
pub(crate) async fn lock_account<C: ConnectionTrait>(conn: &C, id: AccountId) -> DomainResult<()> {
    account::Entity::find_by_id(id.0)
        .lock_exclusive()
        .one(conn)
        .await?
        .map(|_| ())
        .ok_or(DomainError::NotFound(kinds::ACCOUNT))
}

/// Loads a service account row, locking it on PostgreSQL when `lock` is set.
pub(crate) async fn service_account<C: ConnectionTrait>(
    conn: &C,
    id: ServiceAccountId,
    lock: bool,
) -> DomainResult<service_account::Model> {
    let mut select = service_account::Entity::find_by_id(id.0);
    if lock {
        select = select.lock_exclusive();
    }
    select
        .one(conn)
        .await?
        .ok_or(DomainError::NotFound(kinds::SERVICE_ACCOUNT))
}
