//! Personal access tokens: the `PersonalAccessToken` object and the mutations
//! that issue, revoke and rotate one.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject};
use domain::CreatePersonalAccessToken;

use crate::base::context::{HumanOnly, caller, kw, now, require_selected};
use crate::base::error::ApiResult;
use crate::base::inputs::{key_name, token_id};
use crate::base::scalars::{DateTime, ObjectId};
use crate::credentials::leaks::CredentialLeak;
use crate::objects::PersonalAccessToken;

/// A user's own credential.
#[Object]
impl PersonalAccessToken {
    pub(crate) async fn id(&self) -> ObjectId {
        ObjectId::new("PersonalAccessToken", self.token.id.0)
    }

    pub(crate) async fn name(&self) -> Option<String> {
        self.token.name.clone()
    }

    /// The token itself: only in the response that created or rotated it.
    async fn secret(&self) -> Option<String> {
        self.secret.clone()
    }

    async fn last_used_at(&self) -> Option<DateTime> {
        self.token.last_used_at.map(DateTime)
    }

    /// The client's address at the use `lastUsedAt` records, as the server's
    /// trusted proxies resolve it; `null` when unknown.
    async fn last_used_from(&self) -> Option<String> {
        self.token.last_used_from.map(|a| a.to_string())
    }

    /// The `User-Agent` of that use (at most 256 characters).
    async fn last_used_user_agent(&self) -> Option<String> {
        self.token.last_used_agent.clone()
    }

    async fn expires_at(&self) -> Option<DateTime> {
        self.token.expires_at.map(DateTime)
    }

    async fn revoked_at(&self) -> Option<DateTime> {
        self.token.revoked_at.map(DateTime)
    }

    /// The first report of this token as found in public, if any: when, where
    /// and by whom.
    async fn leak(&self) -> Option<CredentialLeak> {
        self.token.leak.as_ref().map(CredentialLeak::from)
    }

    async fn rotated_at(&self) -> Option<DateTime> {
        self.token.rotated_at.map(DateTime)
    }

    async fn created_at(&self) -> DateTime {
        self.token.created_at.into()
    }
}

#[derive(InputObject, Debug)]
pub struct CreatePersonalAccessTokenInput {
    pub name: Option<String>,
    /// When the token stops working; it must lie in the future. A token that never
    /// expires cannot be rotated.
    pub expires_at: Option<DateTime>,
}

#[derive(InputObject, Debug)]
pub struct RevokePersonalAccessTokenInput {
    pub personal_access_token_id: ObjectId,
}

#[derive(InputObject, Debug)]
pub struct RotatePersonalAccessTokenInput {
    pub personal_access_token_id: ObjectId,
    /// The new expiry; it must lie in the future.
    pub expires_at: DateTime,
}

const TOKEN_SECRET_MESSAGE: &str = "The 'secret' field must be requested when creating or rotating a personal access token: it is shown only once.";

#[derive(SimpleObject)]
pub struct RevokePersonalAccessTokenPayload {
    pub personal_access_token: PersonalAccessToken,
}

#[derive(Debug, Default)]
pub struct TokenMutation;

#[Object]
impl TokenMutation {
    /// Issues a personal access token to the caller. `secret` must be requested.
    #[graphql(guard = "HumanOnly")]
    async fn create_personal_access_token(
        &self,
        ctx: &Context<'_>,
        input: CreatePersonalAccessTokenInput,
    ) -> Result<PersonalAccessToken> {
        require_selected(ctx, "secret", TOKEN_SECRET_MESSAGE)?;
        let request = CreatePersonalAccessToken {
            name: key_name(input.name.as_deref())?,
            expires_at: input.expires_at.map(|t| t.0),
        };
        let issued = kw(ctx)
            .create_personal_access_token(caller(ctx)?, request, now())
            .await
            .api()?;
        Ok(PersonalAccessToken {
            token: issued.token,
            secret: Some(issued.secret.expose().to_owned()),
        })
    }

    #[graphql(guard = "HumanOnly")]
    async fn revoke_personal_access_token(
        &self,
        ctx: &Context<'_>,
        input: RevokePersonalAccessTokenInput,
    ) -> Result<RevokePersonalAccessTokenPayload> {
        let id = token_id(&input.personal_access_token_id)?;
        let token = kw(ctx)
            .revoke_personal_access_token(caller(ctx)?, id, now())
            .await
            .api()?;
        Ok(RevokePersonalAccessTokenPayload {
            personal_access_token: PersonalAccessToken {
                token,
                secret: None,
            },
        })
    }

    /// Gives one of the caller's tokens a new secret and expiry; the old secret
    /// stops working at once. At most once an hour, and only for a token that
    /// expires. `secret` must be requested.
    #[graphql(guard = "HumanOnly")]
    async fn rotate_personal_access_token(
        &self,
        ctx: &Context<'_>,
        input: RotatePersonalAccessTokenInput,
    ) -> Result<PersonalAccessToken> {
        require_selected(ctx, "secret", TOKEN_SECRET_MESSAGE)?;
        let id = token_id(&input.personal_access_token_id)?;
        let issued = kw(ctx)
            .rotate_personal_access_token(caller(ctx)?, id, input.expires_at.0, now())
            .await
            .api()?;
        Ok(PersonalAccessToken {
            token: issued.token,
            secret: Some(issued.secret.expose().to_owned()),
        })
    }
}
