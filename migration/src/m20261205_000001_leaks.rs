//! Leaked credentials. A key, a personal access token or an invitation reported as found in
//! public (by GitHub's secret scanning, an organisation's own scanner, or
//! whoever holds it) keeps when it was first reported, where it was found and
//! who said so; each account says what a leak of its credentials does.
//!
//! Every column is new and may be empty, so a release from before this
//! migration reads and writes these tables as it did.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer_null, string_len_null};

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
enum AccountInvitations {
    Table,
}

#[derive(DeriveIden, Clone, Copy)]
enum Accounts {
    Table,
    LeakResponse,
}

#[derive(DeriveIden, Clone, Copy)]
enum LeakColumns {
    LeakedAt,
    LeakUrl,
    LeakSource,
    LeakReporter,
}

/// The longest stored `url` of a leak; a longer one is cut.
const URL_LEN: u32 = 2048;
/// GitHub's `source` values are short words (`pull_request_comment`).
const SOURCE_LEN: u32 = 64;
/// `github`, `holder`, or `scanner:` and the name of the scanner's key.
const REPORTER_LEN: u32 = 160;
/// `revoke`, `disable`, `record`.
const RESPONSE_LEN: u32 = 16;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite alters one column a statement.
        for table in [
            ServiceAccountKeys::Table.into_iden(),
            PersonalAccessTokens::Table.into_iden(),
            AccountInvitations::Table.into_iden(),
        ] {
            for column in [
                LeakColumns::LeakedAt,
                LeakColumns::LeakUrl,
                LeakColumns::LeakSource,
                LeakColumns::LeakReporter,
            ] {
                let mut alter = Table::alter().table(table.clone()).to_owned();
                match column {
                    LeakColumns::LeakedAt => alter.add_column(big_integer_null(column)),
                    LeakColumns::LeakUrl => alter.add_column(string_len_null(column, URL_LEN)),
                    LeakColumns::LeakSource => {
                        alter.add_column(string_len_null(column, SOURCE_LEN))
                    }
                    LeakColumns::LeakReporter => {
                        alter.add_column(string_len_null(column, REPORTER_LEN))
                    }
                };
                manager.alter_table(alter).await?;
            }
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Accounts::Table)
                    .add_column(string_len_null(Accounts::LeakResponse, RESPONSE_LEN))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Accounts::Table)
                    .drop_column(Accounts::LeakResponse)
                    .to_owned(),
            )
            .await?;
        for table in [
            ServiceAccountKeys::Table.into_iden(),
            PersonalAccessTokens::Table.into_iden(),
            AccountInvitations::Table.into_iden(),
        ] {
            for column in [
                LeakColumns::LeakedAt,
                LeakColumns::LeakUrl,
                LeakColumns::LeakSource,
                LeakColumns::LeakReporter,
            ] {
                manager
                    .alter_table(
                        Table::alter()
                            .table(table.clone())
                            .drop_column(column)
                            .to_owned(),
                    )
                    .await?;
            }
        }
        Ok(())
    }
}
