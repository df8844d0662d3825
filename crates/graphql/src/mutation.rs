//! The mutations. Every one is for humans only (the `HumanOnly` guard states it;
//! the domain enforces the Admin role in the account concerned). A mutation that
//! returns a new secret checks that the secret is in the selection before it
//! writes anything: a secret nobody receives must not exist.

use async_graphql::{Context, Object, Result, SimpleObject};
use domain::{
    AddMember, CreateInvitation, CreateKey, CreatePersonalAccessToken, CreateServiceAccount, Email,
    RotateKey, ServiceAccountName, Username,
};

use crate::context::{HumanOnly, caller, kw, selects};
use crate::error::{ApiResult, ROTATION_SECRET_MESSAGE, SECRET_MESSAGE, api, bad_input};
use crate::inputs::*;
use crate::types::{
    AccountInvitation, AccountMember, PersonalAccessToken, ServiceAccount, ServiceAccountKey,
};

const INVITATION_SECRET_MESSAGE: &str =
    "The 'secret' field must be requested when creating an invitation: it is shown only once.";

const TOKEN_SECRET_MESSAGE: &str = "The 'secret' field must be requested when creating or rotating a personal access token: it is shown only once.";

/// The rule for every mutation that returns a new secret: refused, before
/// anything is written, unless the secret is in the selection.
fn require_selected(ctx: &Context<'_>, field: &str, message: &str) -> Result<()> {
    if selects(ctx, field) {
        Ok(())
    } else {
        Err(bad_input(message))
    }
}

fn now() -> chrono::DateTime<chrono::Utc> {
    domain::time::now()
}

#[derive(SimpleObject)]
pub struct CreateServiceAccountPayload {
    pub service_account: ServiceAccount,
}

#[derive(SimpleObject)]
pub struct UpdateServiceAccountPayload {
    pub service_account: ServiceAccount,
}

#[derive(SimpleObject)]
pub struct DeleteServiceAccountPayload {
    /// The service account as it was before deletion.
    pub service_account: ServiceAccount,
}

#[derive(SimpleObject)]
pub struct RevokeServiceAccountKeyPayload {
    pub service_account_key: ServiceAccountKey,
}

#[derive(SimpleObject)]
pub struct RevokePersonalAccessTokenPayload {
    pub personal_access_token: PersonalAccessToken,
}

#[derive(SimpleObject)]
pub struct AddAccountMemberPayload {
    pub account_member: AccountMember,
    /// The new user's first personal access token, for the Admin to hand over.
    /// Shown once.
    pub initial_token: String,
}

#[derive(SimpleObject)]
pub struct RevokeAccountInvitationPayload {
    pub account_invitation: AccountInvitation,
}

#[derive(SimpleObject)]
pub struct AcceptAccountInvitationPayload {
    /// The caller's new membership.
    pub account_member: AccountMember,
}

#[derive(SimpleObject)]
pub struct UpdateAccountMemberPayload {
    pub account_member: AccountMember,
}

#[derive(SimpleObject)]
pub struct RemoveAccountMemberPayload {
    /// The membership as it was before removal.
    pub account_member: AccountMember,
}

#[derive(Debug, Default)]
pub struct CoreMutation;

#[Object]
impl CoreMutation {
    #[graphql(guard = "HumanOnly")]
    async fn create_service_account(
        &self,
        ctx: &Context<'_>,
        input: CreateServiceAccountInput,
    ) -> Result<CreateServiceAccountPayload> {
        let request = CreateServiceAccount {
            account_id: account_id(&input.account_id)?,
            name: ServiceAccountName::parse(&input.name).map_err(api)?,
            description: description(input.description.as_deref())?,
            role: input.role_code.into(),
            groups: input
                .group_ids
                .iter()
                .flatten()
                .map(group_id)
                .collect::<Result<_>>()?,
        };
        let sa = kw(ctx)
            .create_service_account(caller(ctx)?, request, now())
            .await
            .api()?;
        Ok(CreateServiceAccountPayload {
            service_account: ServiceAccount::from(sa),
        })
    }

    #[graphql(guard = "HumanOnly")]
    async fn update_service_account(
        &self,
        ctx: &Context<'_>,
        input: UpdateServiceAccountInput,
    ) -> Result<UpdateServiceAccountPayload> {
        let (id, change) = input.into_change()?;
        let sa = kw(ctx)
            .update_service_account(caller(ctx)?, id, change, now())
            .await
            .api()?;
        Ok(UpdateServiceAccountPayload {
            service_account: ServiceAccount::from(sa),
        })
    }

    /// Deletes a service account for good. All of its keys stop working at once.
    #[graphql(guard = "HumanOnly")]
    async fn delete_service_account(
        &self,
        ctx: &Context<'_>,
        input: DeleteServiceAccountInput,
    ) -> Result<DeleteServiceAccountPayload> {
        let id = service_account_id(&input.service_account_id)?;
        let sa = kw(ctx)
            .delete_service_account(caller(ctx)?, id, now())
            .await
            .api()?;
        Ok(DeleteServiceAccountPayload {
            service_account: ServiceAccount::from(sa),
        })
    }

    /// Issues a key and returns it. `secret` must be requested: it is shown only here.
    #[graphql(guard = "HumanOnly")]
    async fn create_service_account_key(
        &self,
        ctx: &Context<'_>,
        input: CreateServiceAccountKeyInput,
    ) -> Result<ServiceAccountKey> {
        require_selected(ctx, "secret", SECRET_MESSAGE)?;
        let request = CreateKey {
            service_account_id: service_account_id(&input.service_account_id)?,
            name: key_name(input.name.as_deref())?,
            description: description(input.description.as_deref())?,
            expires: input.expiry()?,
            role_ceiling: input.role_code.map(Into::into),
        };
        let issued = kw(ctx)
            .create_key(caller(ctx)?, request, now())
            .await
            .api()?;
        Ok(ServiceAccountKey {
            key: issued.key,
            secret: Some(issued.secret.expose().to_owned()),
            owner_role: None,
        })
    }

    /// Revokes a key. Revoking it again changes nothing and keeps the first `revokedAt`.
    #[graphql(guard = "HumanOnly")]
    async fn revoke_service_account_key(
        &self,
        ctx: &Context<'_>,
        input: RevokeServiceAccountKeyInput,
    ) -> Result<RevokeServiceAccountKeyPayload> {
        let id = key_id(&input.service_account_key_id)?;
        let key = kw(ctx).revoke_key(caller(ctx)?, id, now()).await.api()?;
        Ok(RevokeServiceAccountKeyPayload {
            service_account_key: ServiceAccountKey {
                key,
                secret: None,
                owner_role: None,
            },
        })
    }

    /// Replaces a key with a new one of the same name and role ceiling. The old key
    /// keeps working for `overlapSeconds`, then expires. `secret` must be requested.
    #[graphql(guard = "HumanOnly")]
    async fn rotate_service_account_key(
        &self,
        ctx: &Context<'_>,
        input: RotateServiceAccountKeyInput,
    ) -> Result<ServiceAccountKey> {
        require_selected(ctx, "secret", ROTATION_SECRET_MESSAGE)?;
        let request = RotateKey {
            key_id: key_id(&input.service_account_key_id)?,
            expires_at: input.expires_at.map(|t| t.0),
            overlap: input.overlap()?,
        };
        let issued = kw(ctx)
            .rotate_key(caller(ctx)?, request, now())
            .await
            .api()?;
        Ok(ServiceAccountKey {
            key: issued.key,
            secret: Some(issued.secret.expose().to_owned()),
            owner_role: None,
        })
    }

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

    /// Creates a user as a member of the account. Their first token comes back
    /// once, as `initialToken`, which must be requested. A user who exists
    /// already joins by accepting an invitation (`createAccountInvitation`).
    #[graphql(guard = "HumanOnly")]
    async fn add_account_member(
        &self,
        ctx: &Context<'_>,
        input: AddAccountMemberInput,
    ) -> Result<AddAccountMemberPayload> {
        let request = AddMember {
            account_id: account_id(&input.account_id)?,
            username: Username::parse(&input.username).map_err(api)?,
            email: input
                .email
                .as_deref()
                .map(Email::parse)
                .transpose()
                .map_err(api)?,
            role: input.role_code.into(),
        };
        let added = kw(ctx)
            .add_member(caller(ctx)?, request, selects(ctx, "initialToken"), now())
            .await
            .api()?;
        Ok(AddAccountMemberPayload {
            account_member: AccountMember(added.member),
            initial_token: added.initial_token.secret.expose().to_owned(),
        })
    }

    /// Creates an invitation to join the account with a role, for an Admin to
    /// hand to an existing user; `secret` must be requested. Nothing changes for
    /// anyone until the invitee accepts.
    #[graphql(guard = "HumanOnly")]
    async fn create_account_invitation(
        &self,
        ctx: &Context<'_>,
        input: CreateAccountInvitationInput,
    ) -> Result<AccountInvitation> {
        require_selected(ctx, "secret", INVITATION_SECRET_MESSAGE)?;
        let request = CreateInvitation {
            account_id: account_id(&input.account_id)?,
            role: input.role_code.into(),
            expires_at: input.expires_at.map(|t| t.0),
        };
        let issued = kw(ctx)
            .create_invitation(caller(ctx)?, request, now())
            .await
            .api()?;
        Ok(AccountInvitation {
            invitation: issued.invitation,
            secret: Some(issued.secret.expose().to_owned()),
        })
    }

    /// Withdraws an invitation before it is accepted.
    #[graphql(guard = "HumanOnly")]
    async fn revoke_account_invitation(
        &self,
        ctx: &Context<'_>,
        input: RevokeAccountInvitationInput,
    ) -> Result<RevokeAccountInvitationPayload> {
        let invitation = kw(ctx)
            .revoke_invitation(
                caller(ctx)?,
                invitation_id(&input.account_invitation_id)?,
                now(),
            )
            .await
            .api()?;
        Ok(RevokeAccountInvitationPayload {
            account_invitation: AccountInvitation {
                invitation,
                secret: None,
            },
        })
    }

    /// The caller joins the account of an invitation they were handed, with its
    /// role. Only a user can accept, with their own personal access token.
    #[graphql(guard = "HumanOnly")]
    async fn accept_account_invitation(
        &self,
        ctx: &Context<'_>,
        input: AcceptAccountInvitationInput,
    ) -> Result<AcceptAccountInvitationPayload> {
        let member = kw(ctx)
            .accept_invitation(caller(ctx)?, &input.secret, now())
            .await
            .api()?;
        Ok(AcceptAccountInvitationPayload {
            account_member: AccountMember(member),
        })
    }

    /// Changes a member's role. The last Admin cannot be demoted.
    #[graphql(guard = "HumanOnly")]
    async fn update_account_member(
        &self,
        ctx: &Context<'_>,
        input: UpdateAccountMemberInput,
    ) -> Result<UpdateAccountMemberPayload> {
        let member = kw(ctx)
            .update_member(
                caller(ctx)?,
                account_id(&input.account_id)?,
                user_id(&input.user_id)?,
                input.role_code.into(),
                now(),
            )
            .await
            .api()?;
        Ok(UpdateAccountMemberPayload {
            account_member: AccountMember(member),
        })
    }

    /// Removes a user from an account. The last Admin cannot be removed.
    #[graphql(guard = "HumanOnly")]
    async fn remove_account_member(
        &self,
        ctx: &Context<'_>,
        input: RemoveAccountMemberInput,
    ) -> Result<RemoveAccountMemberPayload> {
        let member = kw(ctx)
            .remove_member(
                caller(ctx)?,
                account_id(&input.account_id)?,
                user_id(&input.user_id)?,
                now(),
            )
            .await
            .api()?;
        Ok(RemoveAccountMemberPayload {
            account_member: AccountMember(member),
        })
    }
}
