//! Users as others see them: a user sees themself; an Admin sees the members of
//! their account; anyone who may read an object sees the users it names (its
//! creator, the user its actions are attributed to).

use chrono::{DateTime, Utc};
use entity::{membership, user};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::base::error::{DomainError, DomainResult};
use crate::base::ids::{AccountId, UserId};
use crate::base::kinds;
use crate::base::time::from_millis;
use crate::policy::principal::Principal;
use crate::policy::role::Role;
use crate::policy::table::{Action, authorize};
use crate::warden::handle::Keywarden;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub email: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<user::Model> for User {
    type Error = DomainError;

    fn try_from(m: user::Model) -> DomainResult<Self> {
        Ok(Self {
            id: UserId(m.id),
            username: m.username,
            email: m.email,
            created_at: from_millis(m.created_at)?,
        })
    }
}

impl Keywarden {
    async fn load_user(&self, id: UserId) -> DomainResult<Option<User>> {
        user::Entity::find_by_id(id.0)
            .one(&self.db)
            .await?
            .map(User::try_from)
            .transpose()
    }

    /// A user, for themself or for an Admin of an account they belong to.
    pub async fn user(&self, caller: &Principal, id: UserId) -> DomainResult<User> {
        let is_self = matches!(caller, Principal::User(u) if u.user_id == id);
        if !is_self {
            let shared = membership::Entity::find()
                .filter(membership::Column::UserId.eq(id.0))
                .all(&self.db)
                .await?
                .into_iter()
                .any(|m| {
                    caller.role_in(AccountId(m.account_id)) == Some(Role::Admin)
                        && !caller.is_service_account()
                });
            if !shared {
                return Err(DomainError::NotFound(kinds::USER));
            }
        }
        self.load_user(id)
            .await?
            .ok_or(DomainError::NotFound(kinds::USER))
    }

    /// A user named by an object of `account`, for a caller who may do `action`
    /// there. `None` when the user no longer exists.
    pub async fn user_seen_from(
        &self,
        caller: &Principal,
        account: AccountId,
        action: Action,
        id: UserId,
    ) -> DomainResult<Option<User>> {
        authorize(caller, account, action, "Account")?;
        self.load_user(id).await
    }
}
