//! keywarden's schema migrations.
//!
//! Each migration names its own tables and columns and never imports the entity
//! crate, so that a migration, once released, stays exactly as it was. A rule a
//! migration stored (how a name's key is computed) is exported from it, for the
//! domain to keep to.

pub use sea_orm_migration::prelude::*;

mod m20261122_000001_initial;
mod m20261130_000001_invitations;
mod m20261201_000001_audit_origin;
mod m20261202_000001_access;
mod m20261203_000001_key_prefix;
mod m20261204_000001_name_keys;
mod m20261205_000001_leaks;
mod m20261206_000001_credential_policy;
mod m20261207_000001_address_ranges;
mod m20261207_000002_last_use;
mod m20261207_000003_idle_keys;

pub use m20261204_000001_name_keys::{is_invisible, name_key};

#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_initial::Migration),
            Box::new(m20261130_000001_invitations::Migration),
            Box::new(m20261201_000001_audit_origin::Migration),
            Box::new(m20261202_000001_access::Migration),
            Box::new(m20261203_000001_key_prefix::Migration),
            Box::new(m20261204_000001_name_keys::Migration),
            Box::new(m20261205_000001_leaks::Migration),
            Box::new(m20261206_000001_credential_policy::Migration),
            Box::new(m20261207_000001_address_ranges::Migration),
            Box::new(m20261207_000002_last_use::Migration),
            Box::new(m20261207_000003_idle_keys::Migration),
        ]
    }
}
