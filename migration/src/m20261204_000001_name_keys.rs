//! Names compared as people read them. Two names of one kind in one account
//! (of accounts: anywhere) are the same name when they differ only in case, in
//! how Unicode writes a character (`é` as one code point or as `e` and a
//! combining accent), in compatibility forms (fullwidth `Ｃａｆé`), or in
//! invisible formatting characters. Each account, group, permission set and
//! project gets `name_key`, the digest of its name so folded, unique where the
//! name was unique. (The indexes are named `..._folded_name`: PostgreSQL
//! already calls the constraint on `accounts.name` `accounts_name_key`.)
//!
//! Existing rows keep their names and keep working. Where two of them already
//! fold to the same name, the older keeps the name's key and each newer gets a
//! key of its own that no name can have, so nothing is renamed or lost; a new
//! name folding to theirs is refused.
//!
//! [`name_key`] is the rule this migration stored: the domain computes the key
//! of every new or changed name with it, so that the two never disagree. A
//! later change of the rule is a new migration with a new function.

use std::collections::HashSet;

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::binary_len_null;
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};
use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Accounts {
    Table,
    NameKey,
}

#[derive(DeriveIden, Clone, Copy)]
enum Groups {
    Table,
    NameKey,
}

#[derive(DeriveIden, Clone, Copy)]
enum PermissionSets {
    Table,
    NameKey,
}

#[derive(DeriveIden, Clone, Copy)]
enum Projects {
    Table,
    NameKey,
}

/// A SHA-256 digest.
const KEY_LEN: u32 = 32;

/// Characters that show nothing, or change the direction of what follows:
/// ignored when names are compared (and refused in new names).
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}'                // soft hyphen
        | '\u{034F}'              // combining grapheme joiner
        | '\u{061C}'              // Arabic letter mark
        | '\u{115F}' | '\u{1160}' // Hangul fillers
        | '\u{17B4}' | '\u{17B5}' // Khmer inherent vowels
        | '\u{180B}'..='\u{180F}' // Mongolian variation selectors and vowel separator
        | '\u{200B}'..='\u{200F}' // zero-width space, non-joiner, joiner; left-to-right and right-to-left marks
        | '\u{202A}'..='\u{202E}' // bidirectional embeddings and overrides
        | '\u{2060}'..='\u{206F}' // word joiner, invisible operators, bidirectional isolates, deprecated formats
        | '\u{3164}'              // Hangul filler
        | '\u{FE00}'..='\u{FE0F}' // variation selectors
        | '\u{FEFF}'              // zero-width no-break space
        | '\u{FFA0}'              // halfwidth Hangul filler
        | '\u{FFF0}'..='\u{FFF8}' // unassigned specials
        | '\u{1D173}'..='\u{1D17A}' // musical formatting
        | '\u{E0000}'..='\u{E0FFF}' // tags and variation selectors supplement
    )
}

/// The name as compared: compatibility forms composed (NFKC), lower-cased,
/// invisible characters dropped, and composed again.
fn folded(name: &str) -> String {
    let lowered: String = name
        .nfkc()
        .flat_map(char::to_lowercase)
        .filter(|&c| !is_invisible(c))
        .collect();
    lowered.nfkc().collect()
}

/// The key under which `name` is unique: the SHA-256 of the folded name.
pub fn name_key(name: &str) -> Vec<u8> {
    Sha256::digest(folded(name).as_bytes()).to_vec()
}

/// The key of an existing row whose name folds to an older row's: the folded
/// name with a control character (which no name may hold) and the row's id.
fn duplicate_key(name: &str, id: i64) -> Vec<u8> {
    Sha256::digest(format!("{}\u{1}{id}", folded(name)).as_bytes()).to_vec()
}

/// Gives every row of `table` its key, the older first; `scope` is the column
/// within which names are unique (none: the whole table).
async fn fill<C: ConnectionTrait>(db: &C, table: &str, scope: Option<&str>) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let scope_col = scope.unwrap_or("CAST(0 AS BIGINT)");
    let rows = db
        .query_all_raw(Statement::from_string(
            backend,
            format!("SELECT id, {scope_col} AS scope, name FROM {table} ORDER BY id"),
        ))
        .await?;
    let mut seen: HashSet<(i64, Vec<u8>)> = HashSet::new();
    let update = match backend {
        sea_orm_migration::sea_orm::DbBackend::Postgres => {
            format!("UPDATE {table} SET name_key = $1 WHERE id = $2")
        }
        _ => format!("UPDATE {table} SET name_key = ? WHERE id = ?"),
    };
    for row in rows {
        let id: i64 = row.try_get("", "id")?;
        let scope: i64 = row.try_get("", "scope")?;
        let name: String = row.try_get("", "name")?;
        let mut key = name_key(&name);
        if !seen.insert((scope, key.clone())) {
            key = duplicate_key(&name, id);
        }
        db.execute_raw(Statement::from_sql_and_values(
            backend,
            update.as_str(),
            [key.into(), id.into()],
        ))
        .await?;
    }
    Ok(())
}

async fn add_key(
    manager: &SchemaManager<'_>,
    table: impl IntoIden + Copy,
    key: impl IntoIden + Copy,
) -> Result<(), DbErr> {
    manager
        .alter_table(
            Table::alter()
                .table(table)
                .add_column(binary_len_null(key, KEY_LEN))
                .to_owned(),
        )
        .await
}

async fn unique(
    manager: &SchemaManager<'_>,
    name: &str,
    table: impl IntoIden,
    cols: &[&str],
) -> Result<(), DbErr> {
    let mut index = Index::create();
    index.name(name).table(table).unique();
    for col in cols {
        index.col(Alias::new(*col));
    }
    manager.create_index(index.to_owned()).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add_key(manager, Accounts::Table, Accounts::NameKey).await?;
        add_key(manager, Groups::Table, Groups::NameKey).await?;
        add_key(manager, PermissionSets::Table, PermissionSets::NameKey).await?;
        add_key(manager, Projects::Table, Projects::NameKey).await?;
        let db = manager.get_connection();
        fill(db, "accounts", None).await?;
        fill(db, "groups", Some("account_id")).await?;
        fill(db, "permission_sets", Some("account_id")).await?;
        fill(db, "projects", Some("account_id")).await?;
        unique(
            manager,
            "accounts_folded_name",
            Accounts::Table,
            &["name_key"],
        )
        .await?;
        unique(
            manager,
            "groups_account_folded_name",
            Groups::Table,
            &["account_id", "name_key"],
        )
        .await?;
        unique(
            manager,
            "permission_sets_account_folded_name",
            PermissionSets::Table,
            &["account_id", "name_key"],
        )
        .await?;
        unique(
            manager,
            "projects_account_folded_name",
            Projects::Table,
            &["account_id", "name_key"],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (index, table) in [
            ("accounts_folded_name", "accounts"),
            ("groups_account_folded_name", "groups"),
            ("permission_sets_account_folded_name", "permission_sets"),
            ("projects_account_folded_name", "projects"),
        ] {
            manager
                .drop_index(
                    Index::drop()
                        .name(index)
                        .table(Alias::new(table))
                        .to_owned(),
                )
                .await?;
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new(table))
                        .drop_column(Alias::new("name_key"))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
