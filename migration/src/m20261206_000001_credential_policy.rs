//! An account's credential policy, its first rules: the longest lifetime of
//! its service-account keys, and whether every key must expire.
//!
//! Both columns are new and may be empty (no rule), so a release from before
//! this migration reads and writes accounts as it did; it does not keep the
//! rules (docs/upgrading.md).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{boolean_null, integer_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Accounts {
    Table,
    KeyMaxLifetimeDays,
    KeyExpiryRequired,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite alters one column a statement.
        manager
            .alter_table(
                Table::alter()
                    .table(Accounts::Table)
                    .add_column(integer_null(Accounts::KeyMaxLifetimeDays))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Accounts::Table)
                    .add_column(boolean_null(Accounts::KeyExpiryRequired))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Accounts::KeyExpiryRequired, Accounts::KeyMaxLifetimeDays] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Accounts::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
