//! Builds the web console and the GraphQL explorer (`console/` at the
//! repository's root) into `OUT_DIR`, where `src/pages.rs` embeds them.
//!
//! Their third-party code comes from npm, at the versions `package-lock.json`
//! pins (`npm ci`, install scripts off); the packages are installed in
//! `OUT_DIR`, so that the source tree stays as it is and each build profile
//! has its own. They are installed again only when the lockfile changes.

use std::path::{Path, PathBuf};
use std::process::Command;

const NODE_MAJOR_AT_LEAST: u32 = 18;

fn main() {
    let manifest = PathBuf::from(env("CARGO_MANIFEST_DIR"));
    let console = manifest.join("../../console");
    let out = PathBuf::from(env("OUT_DIR"));
    for input in ["package.json", "package-lock.json", "build.mjs", "src"] {
        println!("cargo:rerun-if-changed={}", console.join(input).display());
    }

    check_node();
    let work = out.join("console-build");
    install(&console, &work);
    let dist = out.join("console");
    // Run from beside the packages, so that its imports find them.
    let script = work.join("build.mjs");
    std::fs::copy(console.join("build.mjs"), &script)
        .unwrap_or_else(|e| fail(&format!("copying console/build.mjs: {e}")));
    run(
        Command::new("node")
            .arg(&script)
            .arg(console.join("src"))
            .arg(&dist)
            .arg(work.join("node_modules")),
        "bundling the console (node console/build.mjs)",
    );
}

/// Fails the build with what to install when Node.js or npm is missing or
/// too old.
fn check_node() {
    let help = format!(
        "keywarden's web console is built with Node.js {NODE_MAJOR_AT_LEAST} or later and npm, \
         which this build could not run. Install both (on Debian or Ubuntu: \
         `apt-get install nodejs npm`) and build again."
    );
    let version = Command::new("node").arg("--version").output();
    let Ok(version) = version.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned()) else {
        fail(&format!("`node` was not found. {help}"));
    };
    let major = version
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse::<u32>().ok());
    if major.is_none_or(|m| m < NODE_MAJOR_AT_LEAST) {
        fail(&format!("`node --version` says {version:?}. {help}"));
    }
    if Command::new("npm").arg("--version").output().is_err() {
        fail(&format!("`npm` was not found. {help}"));
    }
}

/// `npm ci` into `work`, unless the packages of this very lockfile are there.
fn install(console: &Path, work: &Path) {
    let lock = read(&console.join("package-lock.json"));
    let stamp = work.join("installed-lock.json");
    if std::fs::read(&stamp).is_ok_and(|installed| installed == lock)
        && work.join("node_modules").is_dir()
    {
        return;
    }
    std::fs::create_dir_all(work).unwrap_or_else(|e| fail(&format!("creating {work:?}: {e}")));
    for file in ["package.json", "package-lock.json"] {
        std::fs::copy(console.join(file), work.join(file))
            .unwrap_or_else(|e| fail(&format!("copying console/{file}: {e}")));
    }
    run(
        Command::new("npm")
            .args([
                "ci",
                "--ignore-scripts",
                "--no-audit",
                "--no-fund",
                "--prefer-offline",
            ])
            .current_dir(work),
        "installing the console's packages (npm ci, from console/package-lock.json)",
    );
    std::fs::write(&stamp, lock).unwrap_or_else(|e| fail(&format!("writing {stamp:?}: {e}")));
}

/// A variable cargo sets for build scripts.
fn env(name: &str) -> std::ffi::OsString {
    std::env::var_os(name)
        .unwrap_or_else(|| fail(&format!("{name} is not set: run this through cargo")))
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| fail(&format!("reading {path:?}: {e}")))
}

fn run(command: &mut Command, what: &str) {
    match command.status() {
        Ok(status) if status.success() => {}
        Ok(status) => fail(&format!("{what} failed ({status}); its output is above")),
        Err(e) => fail(&format!("{what} could not start: {e}")),
    }
}

fn fail(message: &str) -> ! {
    // Shown by cargo under "error: failed to run custom build command".
    eprintln!("error: {message}");
    std::process::exit(1);
}
