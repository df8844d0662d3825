//! The start of each key, kept in clear so that lists can tell keys apart:
//! its kind, its service account and the first characters of its random
//! part (`lmr_sa_12_AbCd`), far too few to guess the rest. Keys made before
//! this have none.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::string_len_null;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ServiceAccountKeys {
    Table,
    Prefix,
}

/// `lmr_sa_`, a service account id of at most 19 digits, `_`, four characters.
const PREFIX_LEN: u32 = 64;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ServiceAccountKeys::Table)
                    .add_column(string_len_null(ServiceAccountKeys::Prefix, PREFIX_LEN))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ServiceAccountKeys::Table)
                    .drop_column(ServiceAccountKeys::Prefix)
                    .to_owned(),
            )
            .await
    }
}
