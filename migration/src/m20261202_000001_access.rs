//! Finer access than one role per account: projects, the account's own
//! permissions, permission sets, and groups of users and service accounts
//! holding grants of a set on all projects or on listed ones. Also a key's
//! description, and the before and after of an audited change.
//!
//! Every row belongs to one account, directly or through its parent, and goes
//! with it. A set or a project that a grant uses, and a permission that a set
//! holds, cannot be deleted while they do: the domain refuses with the list,
//! and the foreign keys refuse too.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, big_integer_null, big_pk_auto, boolean, string_len, text_null,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Accounts {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum ServiceAccounts {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum ServiceAccountKeys {
    Table,
    Description,
}

#[derive(DeriveIden, Clone, Copy)]
enum AuditEvents {
    Table,
    Changes,
}

#[derive(DeriveIden, Clone, Copy)]
enum Projects {
    Table,
    Id,
    AccountId,
    Name,
    Description,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Permissions {
    Table,
    Id,
    AccountId,
    Name,
    Description,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum PermissionSets {
    Table,
    Id,
    AccountId,
    Name,
    Description,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum PermissionSetPermissions {
    Table,
    Id,
    PermissionSetId,
    PermissionId,
}

#[derive(DeriveIden, Clone, Copy)]
enum Groups {
    Table,
    Id,
    AccountId,
    Name,
    Description,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum GroupMembers {
    Table,
    Id,
    GroupId,
    UserId,
    ServiceAccountId,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum GroupGrants {
    Table,
    Id,
    GroupId,
    PermissionSetId,
    AllProjects,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum GroupGrantProjects {
    Table,
    Id,
    GrantId,
    ProjectId,
}

const NAME_LEN: u32 = 255;
/// `resource:action`, each part at most 64 characters.
const PERMISSION_LEN: u32 = 129;

fn account_fk(table: impl IntoIden + Clone, column: impl IntoIden) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, column)
        .to(Accounts::Table, Accounts::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

/// A table of named objects of one account: id, account, a name unique in
/// the account (by an index made beside it), optional description, times.
fn named<T: IntoIden + Copy + 'static>(
    table: T,
    [id, account, name, description, created, updated]: [T; 6],
    name_len: u32,
) -> TableCreateStatement {
    Table::create()
        .table(table)
        .col(big_pk_auto(id))
        .col(big_integer(account))
        .col(string_len(name, name_len))
        .col(text_null(description))
        .col(big_integer(created))
        .col(big_integer(updated))
        .foreign_key(&mut account_fk(table, account))
        .to_owned()
}

async fn unique(
    manager: &SchemaManager<'_>,
    name: &str,
    table: impl IntoIden + Clone,
    columns: &[&str],
    is_unique: bool,
) -> Result<(), DbErr> {
    let mut index = Index::create();
    index.name(name).table(table);
    for column in columns {
        index.col(Alias::new(*column));
    }
    if is_unique {
        index.unique();
    }
    manager.create_index(index.to_owned()).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ServiceAccountKeys::Table)
                    .add_column(text_null(ServiceAccountKeys::Description))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(AuditEvents::Table)
                    .add_column(text_null(AuditEvents::Changes))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(named(
                Projects::Table,
                [
                    Projects::Id,
                    Projects::AccountId,
                    Projects::Name,
                    Projects::Description,
                    Projects::CreatedAt,
                    Projects::UpdatedAt,
                ],
                NAME_LEN,
            ))
            .await?;
        unique(
            manager,
            "projects_account_name",
            Projects::Table,
            &["account_id", "name"],
            true,
        )
        .await?;

        manager
            .create_table(named(
                Permissions::Table,
                [
                    Permissions::Id,
                    Permissions::AccountId,
                    Permissions::Name,
                    Permissions::Description,
                    Permissions::CreatedAt,
                    Permissions::UpdatedAt,
                ],
                PERMISSION_LEN,
            ))
            .await?;
        unique(
            manager,
            "permissions_account_name",
            Permissions::Table,
            &["account_id", "name"],
            true,
        )
        .await?;

        manager
            .create_table(named(
                PermissionSets::Table,
                [
                    PermissionSets::Id,
                    PermissionSets::AccountId,
                    PermissionSets::Name,
                    PermissionSets::Description,
                    PermissionSets::CreatedAt,
                    PermissionSets::UpdatedAt,
                ],
                NAME_LEN,
            ))
            .await?;
        unique(
            manager,
            "permission_sets_account_name",
            PermissionSets::Table,
            &["account_id", "name"],
            true,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(PermissionSetPermissions::Table)
                    .col(big_pk_auto(PermissionSetPermissions::Id))
                    .col(big_integer(PermissionSetPermissions::PermissionSetId))
                    .col(big_integer(PermissionSetPermissions::PermissionId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(
                                PermissionSetPermissions::Table,
                                PermissionSetPermissions::PermissionSetId,
                            )
                            .to(PermissionSets::Table, PermissionSets::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(
                                PermissionSetPermissions::Table,
                                PermissionSetPermissions::PermissionId,
                            )
                            .to(Permissions::Table, Permissions::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        unique(
            manager,
            "permission_set_permissions_pair",
            PermissionSetPermissions::Table,
            &["permission_set_id", "permission_id"],
            true,
        )
        .await?;
        unique(
            manager,
            "permission_set_permissions_permission",
            PermissionSetPermissions::Table,
            &["permission_id"],
            false,
        )
        .await?;

        manager
            .create_table(named(
                Groups::Table,
                [
                    Groups::Id,
                    Groups::AccountId,
                    Groups::Name,
                    Groups::Description,
                    Groups::CreatedAt,
                    Groups::UpdatedAt,
                ],
                NAME_LEN,
            ))
            .await?;
        unique(
            manager,
            "groups_account_name",
            Groups::Table,
            &["account_id", "name"],
            true,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(GroupMembers::Table)
                    .col(big_pk_auto(GroupMembers::Id))
                    .col(big_integer(GroupMembers::GroupId))
                    .col(big_integer_null(GroupMembers::UserId))
                    .col(big_integer_null(GroupMembers::ServiceAccountId))
                    .col(big_integer(GroupMembers::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(GroupMembers::Table, GroupMembers::GroupId)
                            .to(Groups::Table, Groups::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(GroupMembers::Table, GroupMembers::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(GroupMembers::Table, GroupMembers::ServiceAccountId)
                            .to(ServiceAccounts::Table, ServiceAccounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // NULLs are distinct in a unique index on both databases, so each
        // index holds one kind of member.
        unique(
            manager,
            "group_members_user",
            GroupMembers::Table,
            &["user_id", "group_id"],
            true,
        )
        .await?;
        unique(
            manager,
            "group_members_service_account",
            GroupMembers::Table,
            &["service_account_id", "group_id"],
            true,
        )
        .await?;
        unique(
            manager,
            "group_members_group",
            GroupMembers::Table,
            &["group_id"],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(GroupGrants::Table)
                    .col(big_pk_auto(GroupGrants::Id))
                    .col(big_integer(GroupGrants::GroupId))
                    .col(big_integer(GroupGrants::PermissionSetId))
                    .col(boolean(GroupGrants::AllProjects))
                    .col(big_integer(GroupGrants::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(GroupGrants::Table, GroupGrants::GroupId)
                            .to(Groups::Table, Groups::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(GroupGrants::Table, GroupGrants::PermissionSetId)
                            .to(PermissionSets::Table, PermissionSets::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        unique(
            manager,
            "group_grants_group",
            GroupGrants::Table,
            &["group_id"],
            false,
        )
        .await?;
        unique(
            manager,
            "group_grants_permission_set",
            GroupGrants::Table,
            &["permission_set_id"],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(GroupGrantProjects::Table)
                    .col(big_pk_auto(GroupGrantProjects::Id))
                    .col(big_integer(GroupGrantProjects::GrantId))
                    .col(big_integer(GroupGrantProjects::ProjectId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(GroupGrantProjects::Table, GroupGrantProjects::GrantId)
                            .to(GroupGrants::Table, GroupGrants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(GroupGrantProjects::Table, GroupGrantProjects::ProjectId)
                            .to(Projects::Table, Projects::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        unique(
            manager,
            "group_grant_projects_pair",
            GroupGrantProjects::Table,
            &["grant_id", "project_id"],
            true,
        )
        .await?;
        unique(
            manager,
            "group_grant_projects_project",
            GroupGrantProjects::Table,
            &["project_id"],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            GroupGrantProjects::Table.into_iden(),
            GroupGrants::Table.into_iden(),
            GroupMembers::Table.into_iden(),
            Groups::Table.into_iden(),
            PermissionSetPermissions::Table.into_iden(),
            PermissionSets::Table.into_iden(),
            Permissions::Table.into_iden(),
            Projects::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(AuditEvents::Table)
                    .drop_column(AuditEvents::Changes)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ServiceAccountKeys::Table)
                    .drop_column(ServiceAccountKeys::Description)
                    .to_owned(),
            )
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
