//! Accounts and their members: reading an account, adding, re-roling and
//! removing members (never the last Admin), and bootstrapping a new account.

use chrono::{DateTime, Utc};
use entity::{account, membership, user};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use crate::base::error::{DomainError, DomainResult, duplicate_is_conflict};
use crate::base::ids::{AccountId, MemberId, UserId};
use crate::base::kinds;
use crate::base::names::{AccountName, Email, SAME_NAME, Username, name_key};
use crate::base::page::{MAX_PAGE, Page};
use crate::base::time::{from_millis, to_millis};
use crate::coherence::Scope;
use crate::credentials::personal_tokens::{self, IssuedPersonalAccessToken};
use crate::credentials::token::{Secret, issue_personal_access_token};
use crate::policy::principal::Principal;
use crate::policy::role::Role;
use crate::policy::table::{Action, authorize};
use crate::warden::audit::{self, AuditAction, AuditPage, AuditQuery, Event, Target};
use crate::warden::handle::Keywarden;
use crate::warden::locks::lock_account;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub id: AccountId,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<account::Model> for Account {
    type Error = DomainError;

    fn try_from(m: account::Model) -> DomainResult<Self> {
        Ok(Self {
            id: AccountId(m.id),
            name: m.name,
            created_at: from_millis(m.created_at)?,
        })
    }
}

/// A user's place in an account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub id: MemberId,
    pub account_id: AccountId,
    pub user_id: UserId,
    pub username: String,
    pub email: Option<String>,
    pub role: Role,
    /// When the user joined the account.
    pub created_at: DateTime<Utc>,
    /// When the user was created.
    pub user_created_at: DateTime<Utc>,
}

pub(crate) fn member(m: membership::Model, u: user::Model) -> DomainResult<Member> {
    Ok(Member {
        id: MemberId(m.id),
        account_id: AccountId(m.account_id),
        user_id: UserId(u.id),
        username: u.username,
        email: u.email,
        role: Role::from_stored(&m.role)?,
        created_at: from_millis(m.created_at)?,
        user_created_at: from_millis(u.created_at)?,
    })
}

/// A new user, made a member of the account that creates them.
#[derive(Clone, Debug)]
pub struct AddMember {
    pub account_id: AccountId,
    pub username: Username,
    pub email: Option<Email>,
    pub role: Role,
}

#[derive(Debug)]
pub struct AddedMember {
    pub member: Member,
    /// The new user's first token, for the Admin to hand over.
    pub initial_token: IssuedPersonalAccessToken,
}

/// A new account, its first Admin and that Admin's token.
#[derive(Debug)]
pub struct Bootstrapped {
    pub account: Account,
    pub admin: UserId,
    pub token: Secret,
}

/// What recovering an Admin's access gave.
#[derive(Debug)]
pub struct Recovered {
    pub account: Account,
    pub admin: UserId,
    /// How many of the Admin's tokens were revoked.
    pub revoked: u64,
    pub token: Secret,
}

/// What the first start on an empty database makes: an account, its first
/// Admin, and that Admin's token, given by the operator or made anew.
#[derive(Clone, Debug)]
pub struct FirstStart {
    pub account: AccountName,
    pub admin: Username,
    pub token: Option<Secret>,
}

pub(crate) async fn load_member<C: ConnectionTrait>(
    conn: &C,
    account: AccountId,
    user: UserId,
) -> DomainResult<(membership::Model, user::Model)> {
    match membership::Entity::find()
        .filter(membership::Column::AccountId.eq(account.0))
        .filter(membership::Column::UserId.eq(user.0))
        .one(conn)
        .await?
    {
        Some(m) => {
            let u = user::Entity::find_by_id(m.user_id)
                .one(conn)
                .await?
                .ok_or(DomainError::NotFound(kinds::USER))?;
            Ok((m, u))
        }
        None => Err(DomainError::NotFound(kinds::USER)),
    }
}

async fn admin_count<C: ConnectionTrait>(conn: &C, account: AccountId) -> DomainResult<u64> {
    Ok(membership::Entity::find()
        .filter(membership::Column::AccountId.eq(account.0))
        .filter(membership::Column::Role.eq(Role::Admin.code()))
        .count(conn)
        .await?)
}

/// Refuses a username that a member of the account already has. Only the
/// account's own members are read: whether the name exists elsewhere is none
/// of this account's business.
pub(crate) async fn ensure_username_free<C: ConnectionTrait>(
    conn: &C,
    account: AccountId,
    username: &str,
) -> DomainResult<()> {
    let taken = membership::Entity::find()
        .filter(membership::Column::AccountId.eq(account.0))
        .inner_join(user::Entity)
        .filter(user::Column::Username.eq(username))
        .count(conn)
        .await?;
    if taken > 0 {
        return Err(DomainError::Conflict(format!(
            "a member of this account is already named {username}"
        )));
    }
    Ok(())
}

pub(crate) async fn insert_membership<C: ConnectionTrait>(
    conn: &C,
    account: AccountId,
    user: UserId,
    role: Role,
    now: DateTime<Utc>,
) -> DomainResult<membership::Model> {
    Ok(membership::ActiveModel {
        account_id: Set(account.0),
        user_id: Set(user.0),
        role: Set(role.code().to_owned()),
        created_at: Set(to_millis(now)),
        ..Default::default()
    }
    .insert(conn)
    .await?)
}

async fn insert_user<C: ConnectionTrait>(
    conn: &C,
    username: &Username,
    email: Option<Email>,
    now: DateTime<Utc>,
) -> DomainResult<user::Model> {
    Ok(user::ActiveModel {
        username: Set(username.as_str().to_owned()),
        email: Set(email.map(Email::into_inner)),
        created_at: Set(to_millis(now)),
        ..Default::default()
    }
    .insert(conn)
    .await?)
}

impl Keywarden {
    pub async fn account(&self, caller: &Principal, id: AccountId) -> DomainResult<Account> {
        authorize(caller, id, Action::ReadAccount, kinds::ACCOUNT)?;
        account::Entity::find_by_id(id.0)
            .one(&self.db)
            .await?
            .ok_or(DomainError::NotFound(kinds::ACCOUNT))?
            .try_into()
    }

    /// The accounts a user belongs to, with their role in each: the first
    /// [`MAX_PAGE`] by account id.
    pub async fn accounts_of(&self, user: UserId) -> DomainResult<Vec<(Account, Role)>> {
        let rows = membership::Entity::find()
            .filter(membership::Column::UserId.eq(user.0))
            .order_by_asc(membership::Column::AccountId)
            .limit(MAX_PAGE)
            .all(&self.db)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for m in rows {
            let a = account::Entity::find_by_id(m.account_id)
                .one(&self.db)
                .await?
                .ok_or(DomainError::NotFound(kinds::ACCOUNT))?;
            out.push((a.try_into()?, Role::from_stored(&m.role)?));
        }
        Ok(out)
    }

    /// One membership, for an Admin of its account.
    pub async fn member(&self, caller: &Principal, id: MemberId) -> DomainResult<Member> {
        let (m, u) = membership::Entity::find_by_id(id.0)
            .find_also_related(user::Entity)
            .one(&self.db)
            .await?
            .ok_or(DomainError::NotFound("AccountMember"))?;
        authorize(
            caller,
            AccountId(m.account_id),
            Action::ManageMembers,
            "AccountMember",
        )?;
        member(m, u.ok_or(DomainError::NotFound("AccountMember"))?)
    }

    /// A page of the account's members, in the order they joined (by
    /// membership id). `page.after` is a membership id.
    pub async fn members(
        &self,
        caller: &Principal,
        id: AccountId,
        page: Page,
    ) -> DomainResult<Vec<Member>> {
        authorize(caller, id, Action::ManageMembers, kinds::ACCOUNT)?;
        let mut select = membership::Entity::find().filter(membership::Column::AccountId.eq(id.0));
        if let Some(after) = page.after {
            select = select.filter(membership::Column::Id.gt(after));
        }
        select
            .order_by_asc(membership::Column::Id)
            .limit(page.rows())
            .find_also_related(user::Entity)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|(m, u)| member(m, u.ok_or(DomainError::NotFound(kinds::USER))?))
            .collect()
    }

    /// Creates a user as a member of the account and issues their first token,
    /// for the Admin to hand over. The token is issued only when
    /// `deliver_initial_token` says the caller will receive it; otherwise
    /// nothing is written. A username is unique among the account's members
    /// only, so nothing here depends on, or reveals, users of other accounts;
    /// a user who exists already joins by accepting an invitation.
    pub async fn add_member(
        &self,
        caller: &Principal,
        input: AddMember,
        deliver_initial_token: bool,
        now: DateTime<Utc>,
    ) -> DomainResult<AddedMember> {
        authorize(
            caller,
            input.account_id,
            Action::ManageMembers,
            kinds::ACCOUNT,
        )?;
        if !deliver_initial_token {
            return Err(DomainError::invalid(
                "The 'initialToken' field must be requested when adding a member: it is shown only once.",
            ));
        }
        let change = self.change(caller, now).await?;
        let txn = change.txn();
        lock_account(txn, input.account_id).await?;
        ensure_username_free(txn, input.account_id, input.username.as_str()).await?;
        let user_row = insert_user(txn, &input.username, input.email, now).await?;
        let (initial_token, issued_scope) = personal_tokens::issue(
            txn,
            &self.keyring,
            UserId(user_row.id),
            Some("initial token".to_owned()),
            None,
            now,
        )
        .await?;
        let m =
            insert_membership(txn, input.account_id, UserId(user_row.id), input.role, now).await?;
        let event = Event::new(
            Some(input.account_id),
            AuditAction::MemberAdd,
            Target::new(kinds::USER, user_row.id, Some(&user_row.username)),
        );
        change.commit(event, &[issued_scope]).await?;
        Ok(AddedMember {
            member: member(m, user_row)?,
            initial_token,
        })
    }

    pub async fn update_member(
        &self,
        caller: &Principal,
        account: AccountId,
        user: UserId,
        role: Role,
        now: DateTime<Utc>,
    ) -> DomainResult<Member> {
        authorize(caller, account, Action::ManageMembers, kinds::ACCOUNT)?;
        let change = self.change(caller, now).await?;
        let txn = change.txn();
        lock_account(txn, account).await?;
        let (m, u) = load_member(txn, account, user).await?;
        let was_admin = Role::from_stored(&m.role)? == Role::Admin;
        if was_admin && role != Role::Admin && admin_count(txn, account).await? <= 1 {
            return Err(DomainError::Conflict(
                "The last Admin of an account cannot be demoted: make another member Admin first"
                    .to_owned(),
            ));
        }
        let mut active: membership::ActiveModel = m.into();
        active.role = Set(role.code().to_owned());
        let m = active.update(txn).await?;
        let event = Event::new(
            Some(account),
            AuditAction::MemberUpdate,
            Target::new(kinds::USER, u.id, Some(&u.username)),
        );
        // Every token of the user carries its memberships.
        change.commit(event, &[Scope::User(user)]).await?;
        member(m, u)
    }

    pub async fn remove_member(
        &self,
        caller: &Principal,
        account: AccountId,
        user: UserId,
        now: DateTime<Utc>,
    ) -> DomainResult<Member> {
        authorize(caller, account, Action::ManageMembers, kinds::ACCOUNT)?;
        let change = self.change(caller, now).await?;
        let txn = change.txn();
        lock_account(txn, account).await?;
        let (m, u) = load_member(txn, account, user).await?;
        if Role::from_stored(&m.role)? == Role::Admin && admin_count(txn, account).await? <= 1 {
            return Err(DomainError::Conflict(
                "The last Admin of an account cannot be removed: make another member Admin first"
                    .to_owned(),
            ));
        }
        let removed = member(m.clone(), u.clone())?;
        membership::Entity::delete_by_id(m.id).exec(txn).await?;
        // Their places in the account's groups go with the membership.
        crate::access::groups::leave_account(txn, account, user).await?;
        let event = Event::new(
            Some(account),
            AuditAction::MemberRemove,
            Target::new(kinds::USER, u.id, Some(&u.username)),
        );
        change.commit(event, &[Scope::User(user)]).await?;
        Ok(removed)
    }

    pub async fn audit_events(
        &self,
        caller: &Principal,
        account: AccountId,
        query: &AuditQuery,
    ) -> DomainResult<AuditPage> {
        authorize(caller, account, Action::ReadAuditLog, kinds::ACCOUNT)?;
        audit::list(&self.db, audit::Log::Account(account), query).await
    }

    /// Creates an account with a new user `admin` as its first Admin and issues
    /// that Admin a personal access token. This is the operator's door in, so it
    /// takes no caller. (An existing user joins the new account by invitation.)
    pub async fn bootstrap(
        &self,
        name: AccountName,
        admin: Username,
        email: Option<Email>,
        now: DateTime<Utc>,
    ) -> DomainResult<Bootstrapped> {
        let change = self.system_change(now).await?;
        let (created, event, scope) = self
            .bootstrap_in(change.txn(), name, admin, email, None, now)
            .await?;
        change.commit(event, &[scope]).await?;
        Ok(created)
    }

    /// On a database with no account at all, creates `first`'s account, Admin
    /// and token. Returns `None` when any account exists, including one made
    /// at the same moment by another process.
    pub async fn bootstrap_if_empty(
        &self,
        first: FirstStart,
        now: DateTime<Utc>,
    ) -> DomainResult<Option<Bootstrapped>> {
        let change = self.system_change(now).await?;
        if account::Entity::find().count(change.txn()).await? > 0 {
            return Ok(None);
        }
        match self
            .bootstrap_in(
                change.txn(),
                first.account,
                first.admin,
                None,
                first.token,
                now,
            )
            .await
        {
            Ok((created, event, scope)) => {
                change.commit(event, &[scope]).await?;
                Ok(Some(created))
            }
            Err(DomainError::Conflict(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// For the operator of the server, who lost an Admin's token: revokes
    /// every token of `admin`, an Admin of the account named `account`, and
    /// issues one new token, shown once. Only someone who can run keywarden
    /// against its database with its pepper can do this; the account's audit
    /// log records it as keywarden's own action.
    pub async fn recover_admin(
        &self,
        account: AccountName,
        admin: Username,
        now: DateTime<Utc>,
    ) -> DomainResult<Recovered> {
        let change = self.system_change(now).await?;
        let txn = change.txn();
        let account_row = account::Entity::find()
            .filter(account::Column::NameKey.eq(name_key(account.as_str())))
            .one(txn)
            .await?
            .ok_or(DomainError::NotFound(kinds::ACCOUNT))?;
        let (membership_row, user_row) = membership::Entity::find()
            .filter(membership::Column::AccountId.eq(account_row.id))
            .find_also_related(user::Entity)
            .filter(user::Column::Username.eq(admin.as_str()))
            .one(txn)
            .await?
            .and_then(|(m, u)| Some((m, u?)))
            .ok_or(DomainError::NotFound("User"))?;
        if Role::from_stored(&membership_row.role)? != Role::Admin {
            return Err(DomainError::Conflict(format!(
                "{} is not an Admin of {}: recover an Admin's access, who can then manage the others",
                admin.as_str(),
                account.as_str()
            )));
        }
        let user = UserId(user_row.id);
        let revoked = personal_tokens::revoke_all(txn, user, now).await?;
        let (issued, issued_scope) = personal_tokens::issue(
            txn,
            &self.keyring,
            user,
            Some("recovery token".to_owned()),
            None,
            now,
        )
        .await?;
        let event = Event::new(
            Some(AccountId(account_row.id)),
            AuditAction::TokenRecover,
            Target::new("User", user.0, Some(admin.as_str())),
        );
        change
            .commit(event, &[Scope::User(user), issued_scope])
            .await?;
        Ok(Recovered {
            account: account_row.try_into()?,
            admin: user,
            revoked,
            token: issued.secret,
        })
    }

    async fn bootstrap_in<C: ConnectionTrait>(
        &self,
        txn: &C,
        name: AccountName,
        admin: Username,
        email: Option<Email>,
        token: Option<Secret>,
        now: DateTime<Utc>,
    ) -> DomainResult<(Bootstrapped, Event, Scope)> {
        let account_row = account::ActiveModel {
            name: Set(name.as_str().to_owned()),
            name_key: Set(Some(name_key(name.as_str()))),
            created_at: Set(to_millis(now)),
            ..Default::default()
        }
        .insert(txn)
        .await
        .map_err(duplicate_is_conflict(format!(
            "an account named {} already exists{SAME_NAME}",
            name.as_str()
        )))?;
        let account = AccountId(account_row.id);
        let user_row = insert_user(txn, &admin, email, now).await?;
        insert_membership(txn, account, UserId(user_row.id), Role::Admin, now).await?;
        let (token, issued_scope) = personal_tokens::install(
            txn,
            &self.keyring,
            UserId(user_row.id),
            Some("bootstrap token".to_owned()),
            None,
            token.unwrap_or_else(issue_personal_access_token),
            now,
        )
        .await?;
        let event = Event::new(
            Some(account),
            AuditAction::AccountCreate,
            Target::new(kinds::ACCOUNT, account.0, Some(name.as_str())),
        );
        let created = Bootstrapped {
            account: account_row.try_into()?,
            admin: UserId(user_row.id),
            token: token.secret,
        };
        Ok((created, event, issued_scope))
    }
}
