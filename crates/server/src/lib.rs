//! The keywarden server: configuration, the commands, and the HTTP app.

pub mod auth;
pub mod client;
pub mod config;
mod error_body;
mod gateway;
mod graphql_http;
pub mod http;
mod leaks;
mod listener;
pub mod location;
pub mod observe;
pub mod origins;
pub mod pages;
mod pepper;
mod question;
mod request;
pub mod scanning;
mod secret_file;
mod state;
pub mod telemetry;
pub mod throttle;
mod version;

pub use version::{COMMIT, LONG_VERSION, VERSION};

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use domain::db::{DbOptions, connect, migrate};
use domain::{AccountName, Email, FirstStart, Keywarden, Secret, Username};

use crate::client::ClientResolver;
use crate::config::{BackupArgs, BootstrapArgs, Cli, Command, CommonArgs, RecoverArgs, ServeArgs};
use crate::http::app;
use crate::listener::ConnectionLimits;
use crate::state::{AppState, HttpLimits};
use crate::telemetry::Telemetry;
use crate::throttle::FailedAuthLimiter;

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let database = || {
        let cwd = std::env::current_dir().context("reading the current directory")?;
        location::resolve(cli.common.database_url.as_deref(), &cwd, |name: &str| {
            std::env::var_os(name)
        })
    };
    match &cli.command {
        None | Some(Command::Serve) => serve(&cli.common, &database()?, &cli.serve).await,
        Some(Command::Migrate(create)) => {
            let url = database()?;
            location::require_existing(&url, create.create_database)?;
            location::prepare(&url)?;
            let db = open_db(&cli.common, &url).await?;
            migrate(&db).await.context("applying migrations")?;
            tracing::info!(database = %shown(&url), "migrations applied");
            Ok(())
        }
        Some(Command::Bootstrap(args)) => bootstrap(&cli.common, &database()?, args).await,
        Some(Command::Backup(args)) => backup(&cli.common, &database()?, args).await,
        Some(Command::RecoverAdmin(args)) => recover_admin(&cli.common, &database()?, args).await,
        Some(Command::NewToken) => {
            print_line(domain::token::issue_personal_access_token().expose())
        }
        Some(Command::PrintSchema) => {
            print!("{}", graphql::sdl());
            Ok(())
        }
    }
}

/// `line` alone on stdout.
fn print_line(line: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}")?;
    stdout.flush()?;
    Ok(())
}

/// A database URL as the log may show it: a SQLite file's path, or a server
/// URL without its password.
fn shown(url: &str) -> String {
    if let Some(file) = location::sqlite_file(url) {
        return file.display().to_string();
    }
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((credentials, host)) => {
                let user = credentials.split(':').next().unwrap_or_default();
                format!("{scheme}://{user}@{host}")
            }
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

async fn open_db(common: &CommonArgs, url: &str) -> anyhow::Result<sea_orm::DatabaseConnection> {
    let options = DbOptions {
        max_connections: common.db_max_connections,
        acquire_timeout: Duration::from_secs(common.db_acquire_timeout),
        idle_timeout: Duration::from_secs(common.db_idle_timeout),
        ..DbOptions::default()
    };
    connect(url, &options).await.with_context(|| {
        format!(
            "connecting to the database {} (is --database-url / KEYWARDEN_DATABASE_URL right?)",
            shown(url)
        )
    })
}

/// Connects, migrates and loads the pepper.
async fn open(common: &CommonArgs, url: &str) -> anyhow::Result<Keywarden> {
    location::prepare(url)?;
    let keyring = pepper::keyring(common, url)?;
    let db = open_db(common, url).await?;
    tracing::info!(database = %shown(url), "database opened");
    migrate(&db).await.context("applying migrations")?;
    Keywarden::open_with(
        db,
        keyring,
        common.auth_cache_capacity,
        common.db_verification_connections,
    )
    .await
    .context("starting the verification cache")
}

/// `keywarden backup`: SQLite's `VACUUM INTO`, a consistent copy taken in one
/// read transaction while writers go on, and the pepper file beside it.
async fn backup(common: &CommonArgs, url: &str, args: &BackupArgs) -> anyhow::Result<()> {
    let Some(file) = location::sqlite_file(url) else {
        bail!(
            "keywarden backup copies a SQLite database; for PostgreSQL take the copy with \
             `pg_dump --format=custom` and keep the pepper with it (docs/upgrading.md)"
        );
    };
    location::require_existing(url, false)?;
    let to = &args.to;
    if to.exists() {
        bail!(
            "--to {}: there is a file there already; name a new one",
            to.display()
        );
    }
    let Some(target) = to.to_str() else {
        bail!("--to {}: the path is not UTF-8", to.display());
    };
    let mut pepper_to = to.clone().into_os_string();
    pepper_to.push(".pepper");
    let pepper_to = std::path::PathBuf::from(pepper_to);
    let mut pepper_from = file.clone().into_os_string();
    pepper_from.push(".pepper");
    let pepper_from = std::path::PathBuf::from(pepper_from);
    // The pepper travels with the copy only when it lives beside the database.
    let beside = common.pepper.is_none() && common.pepper_file.is_none() && pepper_from.is_file();
    if beside && pepper_to.exists() {
        bail!(
            "{}: there is a file there already; name a new --to",
            pepper_to.display()
        );
    }
    let db = open_db(common, url).await?;
    sea_orm::ConnectionTrait::execute_raw(
        &db,
        sea_orm::Statement::from_sql_and_values(
            sea_orm::DbBackend::Sqlite,
            "VACUUM INTO ?",
            [target.into()],
        ),
    )
    .await
    .with_context(|| format!("copying {} to {}", file.display(), to.display()))?;
    db.close().await.ok();
    restrict(to)?;
    if beside {
        let pepper = std::fs::read_to_string(&pepper_from)
            .with_context(|| format!("reading {}", pepper_from.display()))?;
        secret_file::write(&pepper_to, pepper.trim_end_matches(['\r', '\n']))
            .with_context(|| format!("writing {}", pepper_to.display()))?;
        tracing::info!(copy = %to.display(), pepper = %pepper_to.display(), "database and pepper copied");
    } else {
        tracing::warn!(
            copy = %to.display(),
            "database copied; the pepper comes from KEYWARDEN_PEPPER or --pepper-file: keep it \
             with the copy, which refuses every credential without it"
        );
    }
    print_line(target)
}

/// Makes a copy of the database readable by its owner alone.
fn restrict(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("restricting {}", path.display()))
}

async fn bootstrap(common: &CommonArgs, url: &str, args: &BootstrapArgs) -> anyhow::Result<()> {
    let name = AccountName::parse(&args.account).context("--account")?;
    let admin = Username::parse(&args.admin).context("--admin")?;
    let email = args
        .email
        .as_deref()
        .map(Email::parse)
        .transpose()
        .context("--email")?;
    location::require_existing(url, args.create.create_database)?;
    let kw = open(common, url).await?;
    let made = kw
        .bootstrap(name, admin, email, domain::time::now())
        .await
        .context("bootstrapping the account")?;
    tracing::info!(account = %made.account.name, account_id = %made.account.id, "account created");
    print_line(made.token.expose())
}

async fn recover_admin(common: &CommonArgs, url: &str, args: &RecoverArgs) -> anyhow::Result<()> {
    let account = AccountName::parse(&args.account).context("--account")?;
    let admin = Username::parse(&args.admin).context("--admin")?;
    location::require_existing(url, false)?;
    let kw = open(common, url).await?;
    let recovered = kw
        .recover_admin(account, admin, domain::time::now())
        .await
        .context("recovering the Admin's access")?;
    tracing::info!(
        account = %recovered.account.name,
        admin = %args.admin,
        revoked = recovered.revoked,
        "revoked the Admin's tokens and made a new one"
    );
    print_line(recovered.token.expose())
}

/// What the first start makes, from the settings: checked before anything is
/// opened, so that a mistyped token stops the server at once.
fn first_start(args: &ServeArgs) -> anyhow::Result<FirstStart> {
    let account = AccountName::parse(&args.initial_account).context("--initial-account")?;
    let admin = Username::parse(&args.initial_admin).context("--initial-admin")?;
    let given = match (&args.initial_admin_token, &args.initial_admin_token_file) {
        (Some(token), _) => Some(("--initial-admin-token", token.clone())),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path).with_context(|| {
                format!("reading --initial-admin-token-file {}", path.display())
            })?;
            Some(("--initial-admin-token-file", text))
        }
        (None, None) => None,
    };
    let token = match given {
        None => None,
        Some((setting, text)) => Some(Secret::given_personal_access_token(&text).map_err(|e| {
            anyhow::anyhow!(
                "{setting}: not a personal access token keywarden could have made ({e}); \
                 make one with `keywarden new-token`"
            )
        })?),
    };
    Ok(FirstStart {
        account,
        admin,
        token,
    })
}

async fn serve(common: &CommonArgs, url: &str, args: &ServeArgs) -> anyhow::Result<()> {
    tracing::info!(version = VERSION, commit = COMMIT, "keywarden starting");
    let first = first_start(args)?;
    let given = first.token.clone();
    let kw = open(common, url).await?;
    match kw
        .bootstrap_if_empty(first, domain::time::now())
        .await
        .context("setting up the first account")?
    {
        Some(made) if given.is_some() => tracing::info!(
            account = %made.account.name,
            "made the first account and its Admin, with the token the settings give"
        ),
        Some(made) => show_first_token(&made, args.admin_token_file.as_deref())?,
        None if given.is_some() => tracing::info!(
            "the database already has accounts: the initial Admin token setting is left alone"
        ),
        None => {}
    }

    let shutdown = shutdown_signal();
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let address = listener.local_addr()?;
    tracing::info!("listening on http://{address}");

    let limits = graphql::Limits {
        max_depth: args.max_depth,
        max_cost: args.max_cost,
        max_aliases: args.max_aliases,
        max_directives: args.max_directives,
    };
    let metrics = telemetry::install();
    let state = AppState {
        kw: kw.clone(),
        metrics,
        schemas: graphql::schemas(kw.clone(), &limits),
        limits: HttpLimits {
            max_body_bytes: args.max_body_bytes,
            max_batch: args.max_batch,
            request_timeout: Duration::from_millis(args.request_timeout_ms),
            body_read_timeout: Duration::from_millis(args.body_read_timeout_ms),
        },
        throttle: Arc::new(FailedAuthLimiter::new(args.auth_failures_per_minute)),
        clients: ClientResolver::new(&args.trusted_proxies, args.forwarded_header),
        telemetry: Telemetry::register(),
        origins: origins::Origins::new(&args.allowed_origins),
        scanning: scanning::ScanningKeys {
            github: scanning::KeySource::configure(
                args.github_scanning_keys.as_deref(),
                args.github_scanning_keys_file.clone(),
            )
            .map_err(|e| anyhow::anyhow!("GitHub's secret-scanning keys: {e}"))?,
            scanners: scanning::KeySource::configure(
                args.scanner_keys.as_deref(),
                args.scanner_keys_file.clone(),
            )
            .map_err(|e| anyhow::anyhow!("the scanners' keys: {e}"))?,
        },
        custom_patterns: scanning::CustomPatterns::from_files(
            args.github_webhook_secret_file.as_deref(),
            &args.github_api_url,
            args.github_api_token_file.as_deref(),
        )
        .map_err(|e| anyhow::anyhow!("the custom-pattern webhook: {e}"))?,
    };
    let background = tokio::spawn(housekeeping(
        kw.clone(),
        state.throttle.clone(),
        state.metrics.clone(),
        Duration::from_secs(args.usage_flush_interval.max(1)),
        Duration::from_secs(args.idle_check_interval.max(1)),
    ));
    let connections = ConnectionLimits {
        header_read_timeout: Duration::from_millis(args.header_read_timeout_ms),
        keep_alive_timeout: Duration::from_millis(args.keep_alive_timeout_ms),
        max_connections: args.max_connections,
        shutdown_grace: Duration::from_millis(args.shutdown_grace_ms),
    };
    listener::serve(listener, app(state), connections, shutdown).await;
    background.abort();
    if let Err(e) = kw.flush_usage().await.map(telemetry::last_used_written) {
        tracing::warn!(error = %e, "could not write the last lastUsedAt times");
    }
    tracing::info!("stopped");
    Ok(())
}

/// The one time the first Admin's token is shown, at first start: written to
/// `file` (created 0600) when the operator gave one, otherwise on stdout, apart
/// from the log lines on stderr, so that a log pipeline never receives it.
fn show_first_token(made: &domain::Bootstrapped, file: Option<&Path>) -> anyhow::Result<()> {
    if let Some(path) = file {
        secret_file::write(path, made.token.expose())
            .with_context(|| format!("writing the first Admin's token to {}", path.display()))?;
        tracing::info!(
            account = %made.account.name,
            path = %path.display(),
            "made the first account and its Admin \"admin\"; the Admin's token is in the file"
        );
        return Ok(());
    }
    let rule = "=".repeat(72);
    let mut stdout = std::io::stdout().lock();
    writeln!(
        stdout,
        "\n{rule}\n keywarden made the account \"{}\" and its Admin \"admin\".\n \
         The Admin's token, shown this once:\n\n    {}\n\n \
         Send it as `x-api-key: <token>`. Lost it? See \"Lost the admin token\" in the README.\n{rule}\n",
        made.account.name,
        made.token.expose()
    )?;
    stdout.flush()?;
    tracing::info!(
        account = %made.account.name,
        "made the first account and its Admin \"admin\"; the Admin's token is shown on stdout"
    );
    Ok(())
}

/// Off the request path: writes `lastUsedAt` times, disables keys unused
/// past their account's policy (every `idle_every`, after this process's
/// uses are written), forgets addresses whose failed-authentication quota
/// has refilled, and lets the metrics recorder tidy its histograms.
async fn housekeeping(
    kw: Keywarden,
    throttle: Arc<FailedAuthLimiter>,
    metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    every: Duration,
    idle_every: Duration,
) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut idle_checked: Option<tokio::time::Instant> = None;
    loop {
        ticker.tick().await;
        match kw.flush_usage().await {
            Ok(written) => telemetry::last_used_written(written),
            Err(e) => tracing::warn!(error = %e, "writing lastUsedAt times failed; will retry"),
        }
        if idle_checked.is_none_or(|at| at.elapsed() >= idle_every) {
            idle_checked = Some(tokio::time::Instant::now());
            disable_idle_keys(&kw).await;
        }
        throttle.prune();
        kw.prune_holder_reports();
        if let Some(handle) = &metrics {
            handle.run_upkeep();
        }
    }
}

/// Disables the keys unused past their account's policy, a turn at a time,
/// at most [`IDLE_TURNS`] turns: what is left waits for the next look.
async fn disable_idle_keys(kw: &Keywarden) {
    for _ in 0..IDLE_TURNS {
        match kw.disable_idle_keys(domain::time::now()).await {
            Ok(disabled) => {
                telemetry::idle_keys_disabled(disabled);
                if disabled > 0 {
                    tracing::info!(disabled, "disabled keys unused past their account's policy");
                }
                if disabled < domain::IDLE_KEYS_PER_TURN {
                    return;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "disabling unused keys failed; will retry");
                return;
            }
        }
    }
}

/// The most turns one look for unused keys takes.
const IDLE_TURNS: usize = 10;

/// Resolves on SIGTERM or Ctrl-C (SIGINT). The handlers are installed when this
/// is called, not when the future is first polled: a signal that arrives as soon
/// as the server says it is listening must start a clean shutdown, not meet the
/// default action, which kills the process.
#[cfg(unix)]
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let terminate = signal(SignalKind::terminate());
    let interrupt = signal(SignalKind::interrupt());
    async move {
        match (terminate, interrupt) {
            (Ok(mut terminate), Ok(mut interrupt)) => {
                tokio::select! {
                    _ = terminate.recv() => {},
                    _ = interrupt.recv() => {},
                }
            }
            (Err(e), _) | (_, Err(e)) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM or SIGINT");
                std::future::pending::<()>().await;
            }
        }
        tracing::info!("shutting down: finishing requests in flight");
    }
}

#[cfg(not(unix))]
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
        tracing::info!("shutting down: finishing requests in flight");
    }
}
