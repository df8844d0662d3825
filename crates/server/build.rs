//! Builds the web console and the GraphQL explorer (`console/` at the
//! repository's root) into `OUT_DIR`, where `src/pages.rs` embeds them, and
//! names the commit the binary is built from (`KEYWARDEN_COMMIT`).
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
    commit(&manifest);
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

/// Sets `KEYWARDEN_COMMIT` for the crate: the setting of that name when the
/// build has one (a build from a source archive), else the checkout's commit
/// (twelve hex digits, `-modified` when tracked files differ from it), else
/// `unknown`.
fn commit(manifest: &Path) {
    println!("cargo:rerun-if-env-changed=KEYWARDEN_COMMIT");
    if let Some(given) = std::env::var_os("KEYWARDEN_COMMIT") {
        println!(
            "cargo:rustc-env=KEYWARDEN_COMMIT={}",
            given.to_string_lossy()
        );
        return;
    }
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(manifest)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let Some(head) = git(&["rev-parse", "--short=12", "HEAD"]) else {
        println!("cargo:rustc-env=KEYWARDEN_COMMIT=unknown");
        return;
    };
    // Built again when HEAD moves: what it names, and the branch it is on.
    for name in ["HEAD", "packed-refs"] {
        if let Some(path) = git(&["rev-parse", "--git-path", name]) {
            println!("cargo:rerun-if-changed={}", manifest.join(path).display());
        }
    }
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"])
        && let Some(path) = git(&["rev-parse", "--git-path", &branch])
    {
        println!("cargo:rerun-if-changed={}", manifest.join(path).display());
    }
    let modified =
        git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    let suffix = if modified { "-modified" } else { "" };
    println!("cargo:rustc-env=KEYWARDEN_COMMIT={head}{suffix}");
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
