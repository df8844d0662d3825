//! Leaked credentials as the schema shows them: where a key or token was
//! found, the report anyone holding a token may make, and what a leak of an
//! account's credentials does.

use async_graphql::{Context, Enum, InputObject, Object, Result, SimpleObject};

use crate::base::context::{HumanOnly, caller, kw, now};
use crate::base::error::ApiResult;
use crate::base::inputs::account_id;
use crate::base::scalars::{DateTime, ObjectId};
use crate::objects::Account;

/// The first report of a credential as found in public.
#[derive(SimpleObject, Debug)]
pub struct CredentialLeak {
    pub reported_at: DateTime,
    /// Where it was found, as the report said (GitHub: the commit, comment
    /// or gist).
    pub url: Option<String>,
    /// What kind of place that was, as GitHub names it (`commit`,
    /// `issue_comment`, `gist_content`, ...).
    pub source: Option<String>,
    /// Who reported it: `github` (secret scanning), `github_webhook` (an
    /// organisation's custom pattern), `scanner:<name>` (an own scanner) or
    /// `holder` (someone holding it).
    pub reporter: String,
}

impl From<&domain::Leak> for CredentialLeak {
    fn from(leak: &domain::Leak) -> Self {
        Self {
            reported_at: DateTime(leak.reported_at),
            url: leak.url.clone(),
            source: leak.source.clone(),
            reporter: leak.reporter.clone(),
        }
    }
}

/// What a leak of one of an account's credentials does.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum LeakResponse {
    /// The key or token is revoked, the invitation withdrawn (the default).
    Revoke,
    /// The key is revoked and its service account disabled as well.
    Disable,
    /// The leak is only recorded: the credential keeps working.
    Record,
}

impl From<domain::LeakResponse> for LeakResponse {
    fn from(r: domain::LeakResponse) -> Self {
        match r {
            domain::LeakResponse::Revoke => Self::Revoke,
            domain::LeakResponse::Disable => Self::Disable,
            domain::LeakResponse::Record => Self::Record,
        }
    }
}

impl From<LeakResponse> for domain::LeakResponse {
    fn from(r: LeakResponse) -> Self {
        match r {
            LeakResponse::Revoke => Self::Revoke,
            LeakResponse::Disable => Self::Disable,
            LeakResponse::Record => Self::Record,
        }
    }
}

#[derive(SimpleObject, Debug)]
pub struct ReportLeakedCredentialPayload {
    /// Always true: the answer is the same whatever the token was.
    pub received: bool,
    pub message: String,
}

#[derive(InputObject, Debug)]
pub struct UpdateAccountLeakResponseInput {
    pub account_id: ObjectId,
    pub leak_response: LeakResponse,
}

#[derive(SimpleObject, Debug)]
pub struct UpdateAccountLeakResponsePayload {
    pub account: Account,
    pub leak_response: LeakResponse,
}

#[derive(Debug, Default)]
pub struct LeakMutation;

#[Object]
impl LeakMutation {
    /// Reports a token found where it should not be. No credential is needed:
    /// holding the token is the proof. The answer is the same whatever the
    /// token was (live, dead, unknown or malformed); a live credential is
    /// then revoked, or as its account chose. Limited per client address.
    async fn report_leaked_credential(
        &self,
        ctx: &Context<'_>,
        token: String,
    ) -> Result<ReportLeakedCredentialPayload> {
        kw(ctx).report_leak_as_holder(&token, now()).await.api()?;
        Ok(ReportLeakedCredentialPayload {
            received: true,
            message: domain::HOLDER_ANSWER.to_owned(),
        })
    }

    /// Sets what a leak of one of the account's credentials does. Admins only.
    #[graphql(guard = "HumanOnly")]
    async fn update_account_leak_response(
        &self,
        ctx: &Context<'_>,
        input: UpdateAccountLeakResponseInput,
    ) -> Result<UpdateAccountLeakResponsePayload> {
        let account = account_id(&input.account_id)?;
        let caller = caller(ctx)?;
        let set = kw(ctx)
            .set_leak_response(caller, account, input.leak_response.into(), now())
            .await
            .api()?;
        let account = kw(ctx).account(caller, account).await.api()?;
        Ok(UpdateAccountLeakResponsePayload {
            account: Account(account),
            leak_response: set.into(),
        })
    }
}
