//! Reading the columns of a row by name, whichever driver read it.

use sea_orm::DbErr;

/// The columns of a row by name, whichever driver read it: a row of the
/// pool's ([`sea_orm::QueryResult`]), one of [`super::Direct`]'s or one of
/// [`super::PgDirect`]'s.
pub(crate) trait Columns {
    fn int(&self, name: &str) -> Result<i64, DbErr>;
    fn maybe_int(&self, name: &str) -> Result<Option<i64>, DbErr>;
    fn text(&self, name: &str) -> Result<String, DbErr>;
    fn maybe_text(&self, name: &str) -> Result<Option<String>, DbErr>;
    fn bytes(&self, name: &str) -> Result<Vec<u8>, DbErr>;
    fn flag(&self, name: &str) -> Result<bool, DbErr>;
}

impl Columns for sea_orm::QueryResult {
    fn int(&self, name: &str) -> Result<i64, DbErr> {
        self.try_get("", name)
    }
    fn maybe_int(&self, name: &str) -> Result<Option<i64>, DbErr> {
        self.try_get("", name)
    }
    fn text(&self, name: &str) -> Result<String, DbErr> {
        self.try_get("", name)
    }
    fn maybe_text(&self, name: &str) -> Result<Option<String>, DbErr> {
        self.try_get("", name)
    }
    fn bytes(&self, name: &str) -> Result<Vec<u8>, DbErr> {
        self.try_get("", name)
    }
    fn flag(&self, name: &str) -> Result<bool, DbErr> {
        self.try_get("", name)
    }
}

pub(super) fn direct_err(e: rusqlite::Error) -> DbErr {
    DbErr::Custom(format!("reading SQLite directly: {e}"))
}

impl Columns for rusqlite::Row<'_> {
    fn int(&self, name: &str) -> Result<i64, DbErr> {
        self.get(name).map_err(direct_err)
    }
    fn maybe_int(&self, name: &str) -> Result<Option<i64>, DbErr> {
        self.get(name).map_err(direct_err)
    }
    fn text(&self, name: &str) -> Result<String, DbErr> {
        self.get(name).map_err(direct_err)
    }
    fn maybe_text(&self, name: &str) -> Result<Option<String>, DbErr> {
        self.get(name).map_err(direct_err)
    }
    fn bytes(&self, name: &str) -> Result<Vec<u8>, DbErr> {
        self.get(name).map_err(direct_err)
    }
    fn flag(&self, name: &str) -> Result<bool, DbErr> {
        self.get(name).map_err(direct_err)
    }
}
