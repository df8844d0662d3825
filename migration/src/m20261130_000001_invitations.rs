//! Membership by consent.
//!
//! - A username names a user inside the accounts they belong to, not across
//!   every account: the unique constraint on `users.username` goes, so that
//!   creating a user in one account can never collide with, and so reveal, a
//!   user of another. Each account keeps its members' usernames distinct.
//! - `account_invitations`: an Admin's invitation to join an account, redeemed
//!   by the invitee with their own credential. Only the secret's digest is kept.
//!
//! SQLite drops a constraint only by rebuilding the table. `db::migrate` runs
//! SQLite migrations on a connection with foreign keys off, as SQLite's own
//! procedure for such changes asks, and checks every foreign key before commit.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, big_integer_null, big_pk_auto, binary_len, string_len,
};
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum AccountInvitations {
    Table,
    Id,
    AccountId,
    Role,
    Digest,
    PepperId,
    CreatedByUserId,
    CreatedAt,
    ExpiresAt,
    AcceptedAt,
    AcceptedByUserId,
    RevokedAt,
}

const DIGEST_LEN: u32 = 32;
const ROLE_LEN: u32 = 16;
const PEPPER_ID_LEN: u32 = 16;

/// `users` as it was, without the unique constraint on `username`.
const SQLITE_USERS: &str = r#"CREATE TABLE "users_rebuilt" (
    "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT,
    "username" varchar(255) NOT NULL,
    "email" varchar NULL,
    "created_at" bigint NOT NULL
)"#;

async fn usernames_not_unique(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    match manager.get_database_backend() {
        DbBackend::Sqlite => {
            // The highest id ever given, so that no id of a deleted user comes back.
            let seq = db
                .query_one_raw(Statement::from_string(
                    DbBackend::Sqlite,
                    "SELECT seq FROM sqlite_sequence WHERE name = 'users'",
                ))
                .await?
                .map(|row| row.try_get_by_index::<i64>(0))
                .transpose()?;
            db.execute_unprepared(SQLITE_USERS).await?;
            db.execute_unprepared(
                r#"INSERT INTO "users_rebuilt" ("id", "username", "email", "created_at")
                   SELECT "id", "username", "email", "created_at" FROM "users""#,
            )
            .await?;
            db.execute_unprepared(r#"DROP TABLE "users""#).await?;
            db.execute_unprepared(r#"ALTER TABLE "users_rebuilt" RENAME TO "users""#)
                .await?;
            if let Some(seq) = seq {
                db.execute_raw(Statement::from_sql_and_values(
                    DbBackend::Sqlite,
                    "UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = 'users'",
                    [seq.into()],
                ))
                .await?;
            }
        }
        _ => {
            db.execute_unprepared(
                r#"ALTER TABLE "users" DROP CONSTRAINT IF EXISTS "users_username_key""#,
            )
            .await?;
        }
    }
    manager
        .create_index(
            Index::create()
                .name("users_username")
                .table(Users::Table)
                .col(Alias::new("username"))
                .to_owned(),
        )
        .await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        usernames_not_unique(manager).await?;
        manager
            .create_table(
                Table::create()
                    .table(AccountInvitations::Table)
                    .col(big_pk_auto(AccountInvitations::Id))
                    .col(big_integer(AccountInvitations::AccountId))
                    .col(string_len(AccountInvitations::Role, ROLE_LEN))
                    .col(binary_len(AccountInvitations::Digest, DIGEST_LEN))
                    .col(string_len(AccountInvitations::PepperId, PEPPER_ID_LEN))
                    .col(big_integer_null(AccountInvitations::CreatedByUserId))
                    .col(big_integer(AccountInvitations::CreatedAt))
                    .col(big_integer(AccountInvitations::ExpiresAt))
                    .col(big_integer_null(AccountInvitations::AcceptedAt))
                    .col(big_integer_null(AccountInvitations::AcceptedByUserId))
                    .col(big_integer_null(AccountInvitations::RevokedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(AccountInvitations::Table, AccountInvitations::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(
                                AccountInvitations::Table,
                                AccountInvitations::CreatedByUserId,
                            )
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(
                                AccountInvitations::Table,
                                AccountInvitations::AcceptedByUserId,
                            )
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("account_invitations_digest")
                    .table(AccountInvitations::Table)
                    .col(AccountInvitations::Digest)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("account_invitations_account")
                    .table(AccountInvitations::Table)
                    .col(AccountInvitations::AccountId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AccountInvitations::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
