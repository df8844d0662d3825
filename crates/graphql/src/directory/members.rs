//! Members and invitations: the `AccountMember` and `AccountInvitation`
//! objects, and the mutations that add, re-role and remove members and that
//! create, withdraw and accept invitations.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject};
use domain::{AddMember, CreateInvitation, Email, Username};

use crate::access::groups::groups_of;
use crate::base::context::{HumanOnly, caller, kw, now, require_selected, selects};
use crate::base::error::{ApiResult, api};
use crate::base::inputs::{account_id, invitation_id, user_id};
use crate::base::roles::{RoleCode, RoleInfo};
use crate::base::scalars::{DateTime, ObjectId};
use crate::objects::{AccountInvitation, AccountMember, Group, User};

/// An Admin's invitation to join an account. Whoever accepts it, with their
/// own personal access token, becomes a member with its role; it works once.
#[Object]
impl AccountInvitation {
    pub(crate) async fn id(&self) -> ObjectId {
        ObjectId::new("AccountInvitation", self.invitation.id.0)
    }

    /// The invitation's secret, to hand to the invitee: only in the response of
    /// `createAccountInvitation`, `null` ever after.
    async fn secret(&self) -> Option<String> {
        self.secret.clone()
    }

    /// The role the invitee will hold.
    async fn role_code(&self) -> RoleCode {
        self.invitation.role.into()
    }

    async fn role(&self) -> RoleInfo {
        self.invitation.role.into()
    }

    async fn created_at(&self) -> DateTime {
        self.invitation.created_at.into()
    }

    async fn expires_at(&self) -> DateTime {
        self.invitation.expires_at.into()
    }

    async fn accepted_at(&self) -> Option<DateTime> {
        self.invitation.accepted_at.map(Into::into)
    }

    async fn revoked_at(&self) -> Option<DateTime> {
        self.invitation.revoked_at.map(Into::into)
    }
}

/// A user's membership of an account.
#[Object]
impl AccountMember {
    pub(crate) async fn id(&self) -> ObjectId {
        ObjectId::new("AccountMember", self.0.id.0)
    }

    async fn user(&self) -> User {
        User(domain::User {
            id: self.0.user_id,
            username: self.0.username.clone(),
            email: self.0.email.clone(),
            created_at: self.0.user_created_at,
        })
    }

    async fn role_code(&self) -> RoleCode {
        self.0.role.into()
    }

    async fn role(&self) -> RoleInfo {
        self.0.role.into()
    }

    /// When the user joined the account.
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }

    /// The groups of this account the user is in, by name (Admins, and the
    /// user themself).
    async fn groups(&self, ctx: &Context<'_>) -> Option<Vec<Group>> {
        groups_of(
            ctx,
            self.0.account_id,
            domain::GroupMember::User(self.0.user_id),
        )
        .await
    }
}

#[derive(InputObject, Debug)]
pub struct AddAccountMemberInput {
    pub account_id: ObjectId,
    /// The new user's username, unique among the account's members. (A user
    /// who exists already joins by accepting an invitation.)
    pub username: String,
    pub email: Option<String>,
    pub role_code: RoleCode,
}

#[derive(InputObject, Debug)]
pub struct CreateAccountInvitationInput {
    pub account_id: ObjectId,
    /// The role the invitee will hold.
    pub role_code: RoleCode,
    /// When the invitation stops working: in the future, at most 30 days away.
    /// A week from now when absent.
    pub expires_at: Option<DateTime>,
}

#[derive(InputObject, Debug)]
pub struct RevokeAccountInvitationInput {
    pub account_invitation_id: ObjectId,
}

/// The invitee accepts with their own personal access token as the credential.
#[derive(InputObject)]
pub struct AcceptAccountInvitationInput {
    /// The invitation's secret, as the Admin handed it over.
    pub secret: String,
}

impl std::fmt::Debug for AcceptAccountInvitationInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcceptAccountInvitationInput")
            .finish_non_exhaustive()
    }
}

#[derive(InputObject, Debug)]
pub struct UpdateAccountMemberInput {
    pub account_id: ObjectId,
    pub user_id: ObjectId,
    pub role_code: RoleCode,
}

#[derive(InputObject, Debug)]
pub struct RemoveAccountMemberInput {
    pub account_id: ObjectId,
    pub user_id: ObjectId,
}

const INVITATION_SECRET_MESSAGE: &str =
    "The 'secret' field must be requested when creating an invitation: it is shown only once.";

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
pub struct MemberMutation;

#[Object]
impl MemberMutation {
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
