//! The command line and its `KEYWARDEN_*` environment variables.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Every option may come before or after the subcommand. `serve` is the
/// default; its options belong to it alone, and another subcommand given one
/// on the command line refuses it (see [`Cli::parse_checked`]).
#[derive(Debug, Parser)]
#[command(
    name = "keywarden",
    version = crate::version::LONG_VERSION,
    about = "Service accounts, their API keys and the check that lets a request in"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub serve: ServeArgs,

    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate(CreateArgs),
    /// Create an account and its first Admin; print the Admin's token alone on stdout.
    Bootstrap(BootstrapArgs),
    /// Copy the SQLite database, consistently and while servers run, to a new
    /// file, with its pepper file beside the copy; print the copy's path. On
    /// PostgreSQL, use `pg_dump` (docs/upgrading.md).
    Backup(BackupArgs),
    /// Give an Admin who lost their token a new one, revoking all their
    /// others; print it alone on stdout. Needs the database and its pepper.
    RecoverAdmin(RecoverArgs),
    /// Print a new personal access token, alone on stdout, for
    /// `--initial-admin-token`: it is nobody's until a first start installs it.
    NewToken,
    /// Print the GraphQL schema (SDL) on stdout.
    PrintSchema,
}

impl Cli {
    /// Parses the command line, or prints why not and exits, as clap does;
    /// also refuses `serve`'s options given on the command line to another
    /// subcommand, which would otherwise be silently ignored.
    pub fn parse_checked() -> Self {
        use clap::{CommandFactory, FromArgMatches};
        let mut command = Self::command();
        let matches = command.get_matches_mut();
        let cli = Self::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
        if !matches!(cli.command, None | Some(Command::Serve)) {
            let serve_only = ServeArgs::augment_args(clap::Command::new("serve"));
            let given = serve_only.get_arguments().find(|arg| {
                matches.value_source(arg.get_id().as_str())
                    == Some(clap::parser::ValueSource::CommandLine)
            });
            if let Some(arg) = given {
                let name = arg.get_long().unwrap_or(arg.get_id().as_str());
                command
                    .error(
                        clap::error::ErrorKind::ArgumentConflict,
                        format!("--{name} is an option of `serve`, not of this subcommand"),
                    )
                    .exit();
            }
        }
        cli
    }
}

#[derive(Clone, Debug, Args)]
pub struct CommonArgs {
    /// Database URL: `sqlite://PATH?mode=rwc` or `postgres://USER@HOST/DB`.
    /// Unset: the SQLite file `keywarden.db` in `$XDG_DATA_HOME/keywarden`
    /// (`~/.local/share/keywarden`), the same from any directory. A relative
    /// SQLite path is taken from the directory keywarden runs in.
    #[arg(long, env = "KEYWARDEN_DATABASE_URL", global = true)]
    pub database_url: Option<String>,

    /// The pepper (at least 32 bytes) keyed into every credential digest.
    #[arg(long, env = "KEYWARDEN_PEPPER", hide_env_values = true, global = true)]
    pub pepper: Option<String>,

    /// A file holding the pepper; made with a new random pepper if missing. By
    /// default, on SQLite, `<database file>.pepper` beside the database.
    #[arg(long, env = "KEYWARDEN_PEPPER_FILE", global = true)]
    pub pepper_file: Option<PathBuf>,

    /// Earlier peppers, comma-separated: digests they made still verify, new ones use the current pepper.
    #[arg(
        long,
        env = "KEYWARDEN_RETIRED_PEPPERS",
        value_delimiter = ',',
        hide_env_values = true,
        global = true
    )]
    pub retired_peppers: Vec<String>,

    /// Most pooled database connections.
    #[arg(
        long,
        env = "KEYWARDEN_DB_MAX_CONNECTIONS",
        default_value_t = 16,
        global = true
    )]
    pub db_max_connections: u32,

    /// Pooled database connections kept apart for verification's reads, so
    /// that a credential that misses the cache never waits behind writers. On
    /// PostgreSQL, also the most connections of verification's own, which it
    /// reads on first.
    #[arg(
        long,
        env = "KEYWARDEN_DB_VERIFICATION_CONNECTIONS",
        default_value_t = domain::db::VERIFICATION_CONNECTIONS,
        value_parser = clap::value_parser!(u32).range(1..=1000),
        global = true
    )]
    pub db_verification_connections: u32,

    /// Seconds to wait for a pooled connection, and for a new one to connect.
    #[arg(
        long,
        env = "KEYWARDEN_DB_ACQUIRE_TIMEOUT",
        default_value_t = 10,
        global = true
    )]
    pub db_acquire_timeout: u64,

    /// Seconds an unused pooled connection is kept open.
    #[arg(
        long,
        env = "KEYWARDEN_DB_IDLE_TIMEOUT",
        default_value_t = 600,
        global = true
    )]
    pub db_idle_timeout: u64,

    /// How many verified credentials to keep in memory (0: none; every request
    /// then reads the database). Any change, in any process, makes them stale.
    #[arg(
        long,
        env = "KEYWARDEN_AUTH_CACHE_CAPACITY",
        default_value_t = domain::DEFAULT_CACHE_CAPACITY,
        global = true
    )]
    pub auth_cache_capacity: u64,

    /// Log filter, as in `info` or `keywarden=debug,info`.
    #[arg(long, env = "KEYWARDEN_LOG", default_value = "info", global = true)]
    pub log: String,

    /// How log lines are written on stderr: `text` for people, `json` (one
    /// object per line) for a log pipeline.
    #[arg(long, env = "KEYWARDEN_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(
        long,
        env = "KEYWARDEN_LISTEN",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub listen: SocketAddr,

    /// Largest request body, in bytes; a larger one is answered 413.
    #[arg(long, env = "KEYWARDEN_MAX_BODY_BYTES", default_value_t = 1024 * 1024, global = true)]
    pub max_body_bytes: usize,

    /// Deepest nesting of fields in one GraphQL document.
    #[arg(long, env = "KEYWARDEN_MAX_DEPTH", default_value_t = graphql::Limits::default().max_depth, global = true)]
    pub max_depth: usize,

    /// The highest cost one request may have: every field counts 1, a field that
    /// reads the database 10 more, and a list counts its selection once per item
    /// it can return (see docs/limits.md). A batch's operations share it.
    #[arg(long, alias = "max-complexity", env = "KEYWARDEN_MAX_COST", default_value_t = graphql::Limits::default().max_cost, global = true)]
    pub max_cost: usize,

    /// Most aliases in one GraphQL document.
    #[arg(long, env = "KEYWARDEN_MAX_ALIASES", default_value_t = graphql::Limits::default().max_aliases, global = true)]
    pub max_aliases: usize,

    /// Most directives on one field.
    #[arg(long, env = "KEYWARDEN_MAX_DIRECTIVES", default_value_t = graphql::Limits::default().max_directives, global = true)]
    pub max_directives: usize,

    /// Most operations in one batched GraphQL request.
    #[arg(long, env = "KEYWARDEN_MAX_BATCH", default_value_t = 10, global = true)]
    pub max_batch: usize,

    /// Milliseconds one GraphQL request may run before it is stopped (503).
    #[arg(
        long,
        env = "KEYWARDEN_REQUEST_TIMEOUT_MS",
        default_value_t = 10_000,
        global = true
    )]
    pub request_timeout_ms: u64,

    /// Milliseconds requests in flight may take to finish after SIGTERM or
    /// Ctrl-C; then the connections still open are closed and the server exits.
    #[arg(long, env = "KEYWARDEN_SHUTDOWN_GRACE_MS", default_value_t = crate::listener::DEFAULT_SHUTDOWN_GRACE_MS, global = true)]
    pub shutdown_grace_ms: u64,

    /// Milliseconds a request head may take to arrive, from its first byte (from
    /// the connection's opening, for the first); then the connection is closed.
    #[arg(long, env = "KEYWARDEN_HEADER_READ_TIMEOUT_MS", default_value_t = crate::listener::DEFAULT_HEADER_READ_TIMEOUT_MS, global = true)]
    pub header_read_timeout_ms: u64,

    /// Milliseconds a request body may take to arrive, from its head (408).
    #[arg(
        long,
        env = "KEYWARDEN_BODY_READ_TIMEOUT_MS",
        default_value_t = 10_000,
        global = true
    )]
    pub body_read_timeout_ms: u64,

    /// Milliseconds a connection may stay open between requests.
    #[arg(long, env = "KEYWARDEN_KEEP_ALIVE_TIMEOUT_MS", default_value_t = crate::listener::DEFAULT_KEEP_ALIVE_TIMEOUT_MS, global = true)]
    pub keep_alive_timeout_ms: u64,

    /// Most connections open at once; more wait in the kernel's backlog.
    #[arg(long, env = "KEYWARDEN_MAX_CONNECTIONS", default_value_t = crate::listener::DEFAULT_MAX_CONNECTIONS, value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub max_connections: u32,

    /// Refused credentials allowed per client address per minute before 429
    /// (0: no limit).
    #[arg(
        long,
        env = "KEYWARDEN_AUTH_FAILURES_PER_MINUTE",
        default_value_t = 30,
        global = true
    )]
    pub auth_failures_per_minute: u32,

    /// Proxies whose forwarding header names the client: addresses or networks
    /// (`10.0.0.0/8`), comma-separated. A request from anywhere else is its
    /// connection's peer, whatever headers it sends.
    #[arg(
        long,
        env = "KEYWARDEN_TRUSTED_PROXIES",
        value_delimiter = ',',
        num_args = 1.., global = true)]
    pub trusted_proxies: Vec<crate::client::TrustedNet>,

    /// Web origins whose pages may call the API from a browser
    /// (`https://app.example.com`), comma-separated. Unset: none but
    /// keywarden's own pages; a browser's request from any other origin is
    /// refused (403).
    #[arg(
        long,
        env = "KEYWARDEN_ALLOWED_ORIGINS",
        value_delimiter = ',',
        num_args = 1.., global = true)]
    pub allowed_origins: Vec<crate::origins::AllowedOrigin>,

    /// The header trusted proxies name the client in: `x-forwarded-for` or
    /// `forwarded` (RFC 7239). Only that one is read.
    #[arg(long, env = "KEYWARDEN_FORWARDED_HEADER", value_enum, default_value_t = crate::client::ForwardedHeader::XForwardedFor, global = true)]
    pub forwarded_header: crate::client::ForwardedHeader,

    /// At the first start, write the first Admin's token to this file
    /// (created 0600) instead of showing it on stdout.
    #[arg(long, env = "KEYWARDEN_ADMIN_TOKEN_FILE", global = true)]
    pub admin_token_file: Option<PathBuf>,

    /// The first start's account (on an empty database).
    #[arg(
        long,
        env = "KEYWARDEN_INITIAL_ACCOUNT",
        default_value = "Default",
        global = true
    )]
    pub initial_account: String,

    /// The first start's Admin, by username.
    #[arg(
        long,
        env = "KEYWARDEN_INITIAL_ADMIN",
        default_value = "admin",
        global = true
    )]
    pub initial_admin: String,

    /// The first start's Admin's token, made beforehand with `keywarden
    /// new-token`: installed at the first start, instead of a new one being
    /// shown; ignored once the database has an account.
    #[arg(
        long,
        env = "KEYWARDEN_INITIAL_ADMIN_TOKEN",
        hide_env_values = true,
        conflicts_with = "initial_admin_token_file",
        global = true
    )]
    pub initial_admin_token: Option<String>,

    /// A file holding the first start's Admin's token (as
    /// `--initial-admin-token`), such as a mounted secret.
    #[arg(long, env = "KEYWARDEN_INITIAL_ADMIN_TOKEN_FILE", global = true)]
    pub initial_admin_token_file: Option<PathBuf>,

    /// GitHub's secret-scanning public keys, as GitHub publishes them
    /// (`https://api.github.com/meta/public_keys/secret_scanning`): the
    /// document itself. Unset (and no file): `/v1/secret-scanning/github`
    /// takes no reports.
    #[arg(
        long,
        env = "KEYWARDEN_GITHUB_SCANNING_KEYS",
        conflicts_with = "github_scanning_keys_file",
        global = true
    )]
    pub github_scanning_keys: Option<String>,

    /// A file holding GitHub's secret-scanning public keys (as
    /// `--github-scanning-keys`), read again whenever it changes.
    #[arg(long, env = "KEYWARDEN_GITHUB_SCANNING_KEYS_FILE", global = true)]
    pub github_scanning_keys_file: Option<PathBuf>,

    /// The public keys of the organisation's own scanners, in the document
    /// GitHub's are in; each key's identifier names its scanner. Unset (and
    /// no file): `/v1/secret-scanning/scanner` takes no reports.
    #[arg(
        long,
        env = "KEYWARDEN_SCANNER_KEYS",
        conflicts_with = "scanner_keys_file",
        global = true
    )]
    pub scanner_keys: Option<String>,

    /// A file holding the scanners' public keys (as `--scanner-keys`), read
    /// again whenever it changes.
    #[arg(long, env = "KEYWARDEN_SCANNER_KEYS_FILE", global = true)]
    pub scanner_keys_file: Option<PathBuf>,

    /// A file holding the secret of GitHub's `secret_scanning_alert`
    /// webhook (custom patterns). Unset: `/v1/secret-scanning/github-webhook`
    /// takes no deliveries.
    #[arg(long, env = "KEYWARDEN_GITHUB_WEBHOOK_SECRET_FILE", global = true)]
    pub github_webhook_secret_file: Option<PathBuf>,

    /// A file holding a GitHub token that may read the organisation's
    /// secret-scanning alerts: a webhook's alert does not carry its secret,
    /// so keywarden reads it from GitHub's API.
    #[arg(long, env = "KEYWARDEN_GITHUB_API_TOKEN_FILE", global = true)]
    pub github_api_token_file: Option<PathBuf>,

    /// GitHub's API, where alerts are read (GitHub Enterprise Server:
    /// `https://HOST/api/v3`). Only alerts under it are read.
    #[arg(
        long,
        env = "KEYWARDEN_GITHUB_API_URL",
        default_value = crate::config::GITHUB_API,
        global = true
    )]
    pub github_api_url: String,

    /// Seconds between writes of `lastUsedAt` times.
    #[arg(
        long,
        env = "KEYWARDEN_USAGE_FLUSH_INTERVAL",
        default_value_t = 10,
        global = true
    )]
    pub usage_flush_interval: u64,

    /// Seconds between looks for keys unused past their account's
    /// `disableUnusedAfterDays`.
    #[arg(
        long,
        env = "KEYWARDEN_IDLE_CHECK_INTERVAL",
        default_value_t = 60,
        global = true
    )]
    pub idle_check_interval: u64,
}

#[derive(Clone, Debug, Args)]
pub struct RecoverArgs {
    /// The account's name.
    #[arg(long)]
    pub account: String,
    /// The Admin's username in that account.
    #[arg(long)]
    pub admin: String,
}

#[derive(Clone, Debug, Args)]
pub struct BackupArgs {
    /// Where the copy goes: a file that does not exist yet (its directory
    /// must). The pepper file, when the pepper is kept beside the database,
    /// goes beside it as `<file>.pepper`.
    #[arg(long)]
    pub to: PathBuf,
}

/// For a subcommand that would make a database where there is none.
#[derive(Clone, Debug, Args)]
pub struct CreateArgs {
    /// Make a new SQLite database if there is none at the location (without
    /// it, a missing database is an error: the one the server uses is likely
    /// somewhere else).
    #[arg(long)]
    pub create_database: bool,
}

#[derive(Clone, Debug, Args)]
pub struct BootstrapArgs {
    /// Name of the new account.
    #[arg(long)]
    pub account: String,
    /// Username of its first Admin; an existing user is reused.
    #[arg(long)]
    pub admin: String,
    /// Email of the Admin, if the user is new.
    #[arg(long)]
    pub email: Option<String>,
    #[command(flatten)]
    pub create: CreateArgs,
}

/// GitHub's public API.
pub const GITHUB_API: &str = "https://api.github.com";
