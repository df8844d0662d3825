//! The handle every transport holds: the database, the peppers and the usage
//! tracker. Its methods are the domain operations, spread over the modules that
//! own each concept.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::token::Keyring;
use crate::usage::UsageTracker;

#[derive(Clone, Debug)]
pub struct Keywarden {
    pub(crate) db: DatabaseConnection,
    pub(crate) keyring: Arc<Keyring>,
    pub(crate) usage: Arc<UsageTracker>,
}

impl Keywarden {
    pub fn new(db: DatabaseConnection, keyring: Keyring) -> Self {
        Self {
            db,
            keyring: Arc::new(keyring),
            usage: Arc::new(UsageTracker::default()),
        }
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Writes the `lastUsedAt` times noted since the last flush; returns how many
    /// rows it changed.
    pub async fn flush_usage(&self) -> Result<u64, sea_orm::DbErr> {
        self.usage.flush(&self.db).await
    }
}
