//! The first schema: accounts, users, memberships, service accounts, their keys,
//! personal access tokens and the audit log.
//!
//! Times are `BIGINT` milliseconds since the Unix epoch; digests are 32-byte binary.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, big_integer_null, big_pk_auto, binary_len, boolean, string, string_len,
    string_len_null, string_null, text_null,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
    Name,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Username,
    Email,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Memberships {
    Table,
    Id,
    AccountId,
    UserId,
    Role,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ServiceAccounts {
    Table,
    Id,
    AccountId,
    Name,
    Description,
    Role,
    Enabled,
    CreatedByUserId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ServiceAccountKeys {
    Table,
    Id,
    ServiceAccountId,
    Name,
    Digest,
    PepperId,
    RoleCeiling,
    ExpiresAt,
    LastUsedAt,
    RevokedAt,
    RotatedFromId,
    CreatedByUserId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PersonalAccessTokens {
    Table,
    Id,
    UserId,
    Name,
    Digest,
    PepperId,
    ExpiresAt,
    LastUsedAt,
    RevokedAt,
    RotatedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
    AccountId,
    Action,
    ActorType,
    ActorId,
    ActorName,
    AttributedUserId,
    TargetType,
    TargetId,
    TargetName,
    CreatedAt,
}

const DIGEST_LEN: u32 = 32;
const ROLE_LEN: u32 = 16;
const PEPPER_ID_LEN: u32 = 16;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Accounts::Table)
                    .col(big_pk_auto(Accounts::Id))
                    .col(string_len(Accounts::Name, 255).unique_key())
                    .col(big_integer(Accounts::CreatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(big_pk_auto(Users::Id))
                    .col(string_len(Users::Username, 255).unique_key())
                    .col(string_null(Users::Email))
                    .col(big_integer(Users::CreatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Memberships::Table)
                    .col(big_pk_auto(Memberships::Id))
                    .col(big_integer(Memberships::AccountId))
                    .col(big_integer(Memberships::UserId))
                    .col(string_len(Memberships::Role, ROLE_LEN))
                    .col(big_integer(Memberships::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Memberships::Table, Memberships::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Memberships::Table, Memberships::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("memberships_account_user")
                    .table(Memberships::Table)
                    .col(Memberships::AccountId)
                    .col(Memberships::UserId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("memberships_user")
                    .table(Memberships::Table)
                    .col(Memberships::UserId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ServiceAccounts::Table)
                    .col(big_pk_auto(ServiceAccounts::Id))
                    .col(big_integer(ServiceAccounts::AccountId))
                    .col(string_len(ServiceAccounts::Name, 255))
                    .col(text_null(ServiceAccounts::Description))
                    .col(string_len(ServiceAccounts::Role, ROLE_LEN))
                    .col(boolean(ServiceAccounts::Enabled))
                    .col(big_integer_null(ServiceAccounts::CreatedByUserId))
                    .col(big_integer(ServiceAccounts::CreatedAt))
                    .col(big_integer(ServiceAccounts::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ServiceAccounts::Table, ServiceAccounts::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ServiceAccounts::Table, ServiceAccounts::CreatedByUserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("service_accounts_account")
                    .table(ServiceAccounts::Table)
                    .col(ServiceAccounts::AccountId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ServiceAccountKeys::Table)
                    .col(big_pk_auto(ServiceAccountKeys::Id))
                    .col(big_integer(ServiceAccountKeys::ServiceAccountId))
                    .col(string_len_null(ServiceAccountKeys::Name, 255))
                    .col(binary_len(ServiceAccountKeys::Digest, DIGEST_LEN))
                    .col(string_len(ServiceAccountKeys::PepperId, PEPPER_ID_LEN))
                    .col(string_len_null(ServiceAccountKeys::RoleCeiling, ROLE_LEN))
                    .col(big_integer_null(ServiceAccountKeys::ExpiresAt))
                    .col(big_integer_null(ServiceAccountKeys::LastUsedAt))
                    .col(big_integer_null(ServiceAccountKeys::RevokedAt))
                    .col(big_integer_null(ServiceAccountKeys::RotatedFromId))
                    .col(big_integer_null(ServiceAccountKeys::CreatedByUserId))
                    .col(big_integer(ServiceAccountKeys::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(
                                ServiceAccountKeys::Table,
                                ServiceAccountKeys::ServiceAccountId,
                            )
                            .to(ServiceAccounts::Table, ServiceAccounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ServiceAccountKeys::Table, ServiceAccountKeys::RotatedFromId)
                            .to(ServiceAccountKeys::Table, ServiceAccountKeys::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(
                                ServiceAccountKeys::Table,
                                ServiceAccountKeys::CreatedByUserId,
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
                    .name("service_account_keys_digest")
                    .table(ServiceAccountKeys::Table)
                    .col(ServiceAccountKeys::Digest)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("service_account_keys_service_account")
                    .table(ServiceAccountKeys::Table)
                    .col(ServiceAccountKeys::ServiceAccountId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PersonalAccessTokens::Table)
                    .col(big_pk_auto(PersonalAccessTokens::Id))
                    .col(big_integer(PersonalAccessTokens::UserId))
                    .col(string_len_null(PersonalAccessTokens::Name, 255))
                    .col(binary_len(PersonalAccessTokens::Digest, DIGEST_LEN))
                    .col(string_len(PersonalAccessTokens::PepperId, PEPPER_ID_LEN))
                    .col(big_integer_null(PersonalAccessTokens::ExpiresAt))
                    .col(big_integer_null(PersonalAccessTokens::LastUsedAt))
                    .col(big_integer_null(PersonalAccessTokens::RevokedAt))
                    .col(big_integer_null(PersonalAccessTokens::RotatedAt))
                    .col(big_integer(PersonalAccessTokens::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(PersonalAccessTokens::Table, PersonalAccessTokens::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("personal_access_tokens_digest")
                    .table(PersonalAccessTokens::Table)
                    .col(PersonalAccessTokens::Digest)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("personal_access_tokens_user")
                    .table(PersonalAccessTokens::Table)
                    .col(PersonalAccessTokens::UserId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AuditEvents::Table)
                    .col(big_pk_auto(AuditEvents::Id))
                    .col(big_integer_null(AuditEvents::AccountId))
                    .col(string_len(AuditEvents::Action, 64))
                    .col(string_len(AuditEvents::ActorType, 32))
                    .col(big_integer(AuditEvents::ActorId))
                    .col(string(AuditEvents::ActorName))
                    .col(big_integer_null(AuditEvents::AttributedUserId))
                    .col(string_len(AuditEvents::TargetType, 32))
                    .col(big_integer(AuditEvents::TargetId))
                    .col(string_null(AuditEvents::TargetName))
                    .col(big_integer(AuditEvents::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("audit_events_account")
                    .table(AuditEvents::Table)
                    .col(AuditEvents::AccountId)
                    .col(AuditEvents::Id)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AuditEvents::Table.into_iden(),
            PersonalAccessTokens::Table.into_iden(),
            ServiceAccountKeys::Table.into_iden(),
            ServiceAccounts::Table.into_iden(),
            Memberships::Table.into_iden(),
            Users::Table.into_iden(),
            Accounts::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
