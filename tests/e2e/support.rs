//! Starting and stopping the real binary.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_keywarden");

/// A command for the binary, run in `dir`, with no `KEYWARDEN_*` setting
/// inherited from whoever runs the tests.
pub fn keywarden(dir: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir);
    for (name, _) in std::env::vars() {
        if name.starts_with("KEYWARDEN_") {
            cmd.env_remove(name);
        }
    }
    cmd
}

/// Runs a command to completion.
pub fn run(dir: &Path, args: &[&str]) -> Output {
    keywarden(dir).args(args).output().expect("run keywarden")
}

/// A running server.
pub struct Server {
    child: Child,
    pub base: String,
    log: Arc<Mutex<String>>,
}

impl Server {
    /// Starts `keywarden serve` on a free port in `dir` and waits until it listens.
    pub fn start(dir: &Path, args: &[&str]) -> Server {
        let mut child = keywarden(dir)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start keywarden");
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().expect("stderr");
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let started = Instant::now();
        let base = loop {
            let text = log.lock().unwrap().clone();
            if let Some(at) = text.find("listening on http://") {
                let rest = &text[at + "listening on ".len()..];
                break rest.lines().next().unwrap().trim().to_owned();
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("keywarden exited with {status} before listening:\n{text}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "no listening line:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        Server { child, base, log }
    }

    /// Everything the server wrote to stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// The first Admin's token from the first-start banner, if one was shown.
    pub fn banner_token(&self) -> Option<String> {
        let log = self.log();
        let at = log.find("lmr_pat_")?;
        Some(
            log[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect(),
        )
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub fn terminate(mut self) -> (ExitStatus, String) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(sent.success());
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "no exit after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        // Let the reader thread drain the pipe.
        std::thread::sleep(Duration::from_millis(100));
        (status, self.log())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether `s` is exactly one personal access token.
pub fn is_personal_access_token(s: &str) -> bool {
    s.strip_prefix("lmr_pat_")
        .is_some_and(|rest| rest.len() == 38 && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

pub fn client() -> reqwest::Client {
    reqwest::Client::new()
}
