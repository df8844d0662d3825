//! Where a credential was last used from: beside `last_used_at`, the client's
//! address and `User-Agent` of the use written with it, on keys and on
//! personal access tokens.
//!
//! The columns are new and may be empty, so a release from before this
//! migration reads and writes its rows as it did: it writes the time of a use
//! and leaves the address and agent of the use before (docs/upgrading.md).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::text_null;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum ServiceAccountKeys {
    Table,
}

#[derive(DeriveIden, Clone, Copy)]
enum PersonalAccessTokens {
    Table,
}

#[derive(DeriveIden, Clone, Copy)]
enum Column {
    LastUsedFrom,
    LastUsedAgent,
}

/// Every (table, column) this migration adds: SQLite alters one column at a time.
fn columns() -> [(DynIden, Column); 4] {
    let keys = || ServiceAccountKeys::Table.into_iden();
    let tokens = || PersonalAccessTokens::Table.into_iden();
    [
        (keys(), Column::LastUsedFrom),
        (keys(), Column::LastUsedAgent),
        (tokens(), Column::LastUsedFrom),
        (tokens(), Column::LastUsedAgent),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, column) in columns() {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .add_column(text_null(column))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, column) in columns() {
            manager
                .alter_table(Table::alter().table(table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
