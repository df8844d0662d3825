//! Where the pepper comes from: the configuration, a pepper file, or a new one
//! made at first start and kept beside the SQLite database.

use std::fs::OpenOptions;
use std::io::{ErrorKind, Write};
use std::path::Path;

use anyhow::{Context, bail};
use domain::{Keyring, Pepper};

use crate::config::CommonArgs;
use crate::location::sqlite_file;

/// Reads a pepper file, or makes it (mode 0600) with a new random pepper.
fn read_or_create(path: &Path) -> anyhow::Result<String> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            let pepper = Pepper::generate();
            file.write_all(format!("{pepper}\n").as_bytes())
                .and_then(|()| file.sync_all())
                .with_context(|| format!("writing the new pepper file {}", path.display()))?;
            tracing::warn!(
                path = %path.display(),
                "made a new pepper and kept it in this file: back it up with the database, \
                 every credential depends on it"
            );
            Ok(pepper)
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => read(path),
        Err(e) => Err(e).with_context(|| format!("creating the pepper file {}", path.display())),
    }
}

fn read(path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the pepper file {}", path.display()))?;
    let text = text.trim().to_owned();
    if text.is_empty() {
        // A file being written by a process that started at the same moment.
        std::thread::sleep(std::time::Duration::from_millis(200));
        let again = std::fs::read_to_string(path)?.trim().to_owned();
        if again.is_empty() {
            bail!("the pepper file {} is empty", path.display());
        }
        return Ok(again);
    }
    Ok(text)
}

fn pepper(text: &str) -> anyhow::Result<Pepper> {
    Pepper::new(text.as_bytes()).map_err(anyhow::Error::msg)
}

/// The keyring the configuration asks for, for the database at `database_url`.
pub fn keyring(args: &CommonArgs, database_url: &str) -> anyhow::Result<Keyring> {
    let current = if let Some(text) = &args.pepper {
        text.clone()
    } else if let Some(path) = &args.pepper_file {
        read_or_create(path)?
    } else if let Some(db) = sqlite_file(database_url) {
        let mut path = db.into_os_string();
        path.push(".pepper");
        read_or_create(Path::new(&path))?
    } else if database_url.starts_with("sqlite:") {
        tracing::warn!(
            "in-memory database: using a pepper that lives only as long as this process"
        );
        Pepper::generate()
    } else {
        bail!(
            "set KEYWARDEN_PEPPER or --pepper-file: every process sharing this database must use \
             the same pepper, so keywarden will not make one up"
        );
    };
    let retired = args
        .retired_peppers
        .iter()
        .filter(|p| !p.is_empty())
        .map(|p| pepper(p))
        .collect::<anyhow::Result<Vec<_>>>()
        .context("KEYWARDEN_RETIRED_PEPPERS")?;
    let keyring = Keyring::new(pepper(&current).context("the pepper")?, retired);
    tracing::info!(pepper_id = keyring.current_id(), "pepper loaded");
    Ok(keyring)
}
