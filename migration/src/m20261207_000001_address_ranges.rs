//! Where credentials work: the address ranges of an account, of a service
//! account and of a key, each a list of networks in CIDR notation written
//! apart by spaces (`10.0.0.0/8 2001:db8::/32`); empty means anywhere.
//!
//! The columns are new and may be empty, so a release from before this
//! migration reads and writes its rows as it did; it does not enforce the
//! ranges (docs/upgrading.md).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::text_null;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Accounts {
    Table,
}

#[derive(DeriveIden, Clone, Copy)]
enum ServiceAccounts {
    Table,
}

#[derive(DeriveIden, Clone, Copy)]
enum ServiceAccountKeys {
    Table,
}

#[derive(DeriveIden, Clone, Copy)]
enum Column {
    AllowedRanges,
}

fn tables() -> [DynIden; 3] {
    [
        Accounts::Table.into_iden(),
        ServiceAccounts::Table.into_iden(),
        ServiceAccountKeys::Table.into_iden(),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in tables() {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .add_column(text_null(Column::AllowedRanges))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in tables() {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .drop_column(Column::AllowedRanges)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
