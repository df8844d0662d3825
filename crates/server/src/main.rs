//! `keywarden`: serve, migrate, bootstrap.

use std::io::IsTerminal;
use std::process::ExitCode;

use keywarden_server::config::{Cli, LogFormat};
use tracing_subscriber::EnvFilter;

// Requests make many small, short-lived allocations (the GraphQL layer above
// all); mimalloc serves them faster than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse_checked();
    let filter = EnvFilter::try_new(&cli.common.log).unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.common.log_format {
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => logs
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .init(),
    }
    match keywarden_server::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("keywarden: {e:#}");
            ExitCode::FAILURE
        }
    }
}
