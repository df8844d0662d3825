//! Where the database is: one setting, `KEYWARDEN_DATABASE_URL`
//! (`--database-url`), the same for every subcommand from any directory.
//!
//! Unset, it is the SQLite file `keywarden.db` in keywarden's data directory,
//! `$XDG_DATA_HOME/keywarden` (`~/.local/share/keywarden` when that is unset),
//! not the directory keywarden happens to run in: `keywarden bootstrap` run
//! from elsewhere finds the database the server uses. A relative SQLite path
//! given explicitly is taken from the directory keywarden runs in, and made
//! absolute once, so that every message names the file itself.
//!
//! Releases before 2026-11-30 kept the default database in the directory they
//! ran in, `./keywarden.db`. When no database is named, the data directory
//! holds none yet, and such a file is where keywarden runs, keywarden refuses
//! to start rather than make a new, empty database beside the old one: the
//! message names both files and how to choose (see docs/upgrading.md).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::bail;

/// The SQLite database file named by a URL, if it names one.
pub fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path.contains(":memory:") || url.contains("mode=memory") {
        return None;
    }
    Some(PathBuf::from(path))
}

/// The database keywarden uses when none is named.
pub fn data_dir(env: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let set = |name: &str| env(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    set("XDG_DATA_HOME")
        .filter(|p| p.is_absolute())
        .or_else(|| set("HOME").map(|home| home.join(".local").join("share")))
        .map(|base| base.join("keywarden"))
}

/// The database URL to use: the one given, with a relative SQLite path made
/// absolute from `cwd`, or the default file in the data directory.
pub fn resolve(
    given: Option<&str>,
    cwd: &Path,
    env: impl Fn(&str) -> Option<OsString>,
) -> anyhow::Result<String> {
    let Some(url) = given.filter(|u| !u.trim().is_empty()) else {
        let Some(dir) = data_dir(env) else {
            bail!(
                "neither XDG_DATA_HOME nor HOME is set, so keywarden has no data directory: \
                 set KEYWARDEN_DATABASE_URL (or --database-url)"
            );
        };
        let default = dir.join("keywarden.db");
        let old = cwd.join(OLD_DEFAULT);
        if !default.exists() && is_sqlite(&old) {
            bail!(
                "no database is named, and keywarden would make a new one at {new}, but a \
                 database of an earlier release is at {old} (where releases before 2026-11-30 \
                 kept it when none was named). To keep using it, name it: \
                 KEYWARDEN_DATABASE_URL=sqlite://{old} (or --database-url), or move it and its \
                 {old}.pepper file to {new} and {new}.pepper. To start afresh instead, name the \
                 new one: KEYWARDEN_DATABASE_URL=sqlite://{new}?mode=rwc",
                new = default.display(),
                old = old.display(),
            );
        }
        return Ok(format!("sqlite://{}?mode=rwc", default.display()));
    };
    match sqlite_file(url) {
        Some(path) if path.is_relative() => {
            let query = url.split_once('?').map(|(_, q)| q);
            let absolute = cwd.join(path);
            Ok(match query {
                Some(q) => format!("sqlite://{}?{q}", absolute.display()),
                None => format!("sqlite://{}", absolute.display()),
            })
        }
        _ => Ok(url.to_owned()),
    }
}

/// Where releases before 2026-11-30 kept the database when none was named,
/// from the directory they ran in.
const OLD_DEFAULT: &str = "keywarden.db";

/// Whether `path` is a SQLite database file (by its header).
fn is_sqlite(path: &Path) -> bool {
    use std::io::Read;
    let mut header = [0u8; 16];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut header))
        .is_ok_and(|()| &header == b"SQLite format 3\0")
}

/// Makes the directory a new SQLite database goes in (0700), if it is missing.
pub fn prepare(url: &str) -> anyhow::Result<()> {
    let Some(dir) = sqlite_file(url).and_then(|f| f.parent().map(Path::to_path_buf)) else {
        return Ok(());
    };
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(&dir)
        .map_err(|e| anyhow::anyhow!("making the data directory {}: {e}", dir.display()))
}

/// For a subcommand other than `serve`: refuses to make a SQLite database that
/// does not exist yet, unless asked to, because the operator most likely
/// meant the one a server already uses.
pub fn require_existing(url: &str, create: bool) -> anyhow::Result<()> {
    match sqlite_file(url) {
        Some(path) if !create && !path.exists() => bail!(
            "there is no database at {}: the server's database is likely elsewhere. Name it \
             with KEYWARDEN_DATABASE_URL (or --database-url), or pass --create-database to \
             make a new one there",
            path.display()
        ),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn the_sqlite_file_is_found_in_the_url() {
        assert_eq!(
            sqlite_file("sqlite://keywarden.db?mode=rwc"),
            Some("keywarden.db".into())
        );
        assert_eq!(
            sqlite_file("sqlite:///var/lib/k.db"),
            Some("/var/lib/k.db".into())
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://localhost/k"), None);
    }

    #[test]
    fn the_default_is_in_the_data_directory_wherever_keywarden_runs() {
        let cwd = Path::new("/somewhere/else");
        let home = [("HOME", "/home/op")];
        assert_eq!(
            resolve(None, cwd, env(&home)).ok().as_deref(),
            Some("sqlite:///home/op/.local/share/keywarden/keywarden.db?mode=rwc")
        );
        let xdg = [("HOME", "/home/op"), ("XDG_DATA_HOME", "/data")];
        assert_eq!(
            resolve(None, cwd, env(&xdg)).ok().as_deref(),
            Some("sqlite:///data/keywarden/keywarden.db?mode=rwc")
        );
        // A relative XDG_DATA_HOME is invalid by its specification: ignored.
        let relative = [("HOME", "/home/op"), ("XDG_DATA_HOME", "data")];
        assert_eq!(
            resolve(None, cwd, env(&relative)).ok().as_deref(),
            Some("sqlite:///home/op/.local/share/keywarden/keywarden.db?mode=rwc")
        );
        assert!(resolve(None, cwd, env(&[])).is_err());
        assert!(resolve(Some(" "), cwd, env(&[])).is_err(), "empty is unset");
    }

    #[test]
    fn an_earlier_releases_database_where_keywarden_runs_is_not_passed_over() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let (cwd, home) = (dir.path().join("srv"), dir.path().join("home"));
        std::fs::create_dir_all(&cwd).unwrap_or_default();
        let home_var = home.display().to_string();
        let vars = [("HOME", home_var.as_str())];
        let default = home.join(".local/share/keywarden/keywarden.db");
        // Nothing anywhere: the new default.
        assert!(resolve(None, &cwd, env(&vars)).is_ok());
        // A file of that name that is not a database is no database.
        std::fs::write(cwd.join("keywarden.db"), b"notes").unwrap_or_default();
        assert!(resolve(None, &cwd, env(&vars)).is_ok());
        // An earlier release's database: refused, naming both and the choices.
        let mut sqlite = b"SQLite format 3\0".to_vec();
        sqlite.resize(4096, 0);
        std::fs::write(cwd.join("keywarden.db"), &sqlite).unwrap_or_default();
        let refused = resolve(None, &cwd, env(&vars)).err().map(|e| e.to_string());
        let message = refused.unwrap_or_default();
        let old = cwd.join("keywarden.db").display().to_string();
        for part in [
            old.as_str(),
            &default.display().to_string(),
            &format!("KEYWARDEN_DATABASE_URL=sqlite://{old}"),
            ".pepper",
            "start afresh",
        ] {
            assert!(message.contains(part), "{part:?} not in {message}");
        }
        // Named, either one is used as named.
        let named = format!("sqlite://{old}");
        assert_eq!(
            resolve(Some(&named), &cwd, env(&vars)).ok(),
            Some(named.clone())
        );
        // Once the data directory holds a database, that one is the default.
        std::fs::create_dir_all(default.parent().unwrap_or(&home)).unwrap_or_default();
        std::fs::write(&default, &sqlite).unwrap_or_default();
        assert_eq!(
            resolve(None, &cwd, env(&vars)).ok(),
            Some(format!("sqlite://{}?mode=rwc", default.display()))
        );
    }

    #[test]
    fn a_relative_sqlite_path_is_made_absolute_and_others_kept() {
        let cwd = Path::new("/srv/kw");
        let none = env(&[]);
        assert_eq!(
            resolve(Some("sqlite://k.db?mode=rwc"), cwd, &none)
                .ok()
                .as_deref(),
            Some("sqlite:///srv/kw/k.db?mode=rwc")
        );
        assert_eq!(
            resolve(Some("sqlite:k.db"), cwd, &none).ok().as_deref(),
            Some("sqlite:///srv/kw/k.db")
        );
        for kept in [
            "sqlite:///var/lib/k.db?mode=rwc",
            "sqlite::memory:",
            "postgres://kw@db/kw",
        ] {
            assert_eq!(resolve(Some(kept), cwd, &none).ok().as_deref(), Some(kept));
        }
    }

    #[test]
    fn only_an_existing_database_is_used_unless_asked() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let file = dir.path().join("k.db");
        let url = format!("sqlite://{}?mode=rwc", file.display());
        let refused = require_existing(&url, false).err().map(|e| e.to_string());
        assert!(
            refused
                .as_deref()
                .is_some_and(|m| m.contains("no database at")),
            "{refused:?}"
        );
        assert!(require_existing(&url, true).is_ok());
        std::fs::write(&file, b"").unwrap_or_default();
        assert!(require_existing(&url, false).is_ok());
        assert!(require_existing("postgres://kw@db/kw", false).is_ok());
    }

    #[test]
    fn the_data_directory_is_made_for_its_owner() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let data = dir.path().join("share").join("keywarden");
        let url = format!("sqlite://{}?mode=rwc", data.join("keywarden.db").display());
        assert!(prepare(&url).is_ok());
        let mode = std::fs::metadata(&data).map(|m| m.permissions().mode() & 0o777);
        assert_eq!(mode.ok(), Some(0o700));
        assert!(prepare(&url).is_ok(), "twice is fine");
    }
}
