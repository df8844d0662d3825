//! Where each audited change came from: the client's address (behind trusted
//! proxies, the client they forwarded for) and the request's id, so that an
//! audit event can be matched with the access log line of its request. Both
//! are empty for events written before this, and for changes keywarden makes
//! itself.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::string_len_null;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    ClientAddress,
    RequestId,
}

/// The longest IPv6 address in text, with room to spare.
const ADDRESS_LEN: u32 = 64;
/// Request ids are kept to 128 characters by the HTTP layer.
const REQUEST_ID_LEN: u32 = 128;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        manager
            .alter_table(
                Table::alter()
                    .table(AuditEvents::Table)
                    .add_column(string_len_null(AuditEvents::ClientAddress, ADDRESS_LEN))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(AuditEvents::Table)
                    .add_column(string_len_null(AuditEvents::RequestId, REQUEST_ID_LEN))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(AuditEvents::Table)
                    .drop_column(AuditEvents::RequestId)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(AuditEvents::Table)
                    .drop_column(AuditEvents::ClientAddress)
                    .to_owned(),
            )
            .await
    }
}
