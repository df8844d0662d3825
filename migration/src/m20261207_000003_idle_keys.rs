//! Keys nobody uses, disabled: an account's policy may name the days without
//! use after which its keys are disabled; a key keeps when and why it was
//! disabled, and when it was last enabled again (its idle time counts from
//! then).
//!
//! The columns are new and may be empty, so a release from before this
//! migration reads and writes its rows as it did; it does not know that a key
//! is disabled and accepts it (docs/upgrading.md).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer_null, integer_null, text_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Accounts {
    Table,
    DisableUnusedAfterDays,
}

#[derive(DeriveIden, Clone, Copy)]
enum ServiceAccountKeys {
    Table,
    DisabledAt,
    DisabledReason,
    EnabledAt,
}

/// Every column this migration adds: SQLite alters one column at a time.
fn columns() -> Vec<(DynIden, ColumnDef)> {
    let keys = || ServiceAccountKeys::Table.into_iden();
    vec![
        (
            Accounts::Table.into_iden(),
            integer_null(Accounts::DisableUnusedAfterDays),
        ),
        (keys(), big_integer_null(ServiceAccountKeys::DisabledAt)),
        (keys(), text_null(ServiceAccountKeys::DisabledReason)),
        (keys(), big_integer_null(ServiceAccountKeys::EnabledAt)),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, mut column) in columns() {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, column) in columns() {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .drop_column(column.get_column_name())
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
