//! Which release this is, and the commit it was built from.

/// This release's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The commit it was built from (see `build.rs`).
pub const COMMIT: &str = env!("KEYWARDEN_COMMIT");
/// What `--version` says after the name.
pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("KEYWARDEN_COMMIT"),
    ")"
);
