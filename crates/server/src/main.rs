//! `keywarden`: serve, migrate, bootstrap.

use std::io::IsTerminal;

use keywarden_server::config::{Cli, LogFormat};
use tracing_subscriber::EnvFilter;

// Requests make many small, short-lived allocations (the GraphQL layer above
// all); mimalloc serves them faster than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
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
    let code = match keywarden_server::run(cli).await {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("keywarden: {e:#}");
            1
        }
    };
    // Exits here rather than by dropping the runtime, which would wait for
    // every task: the shutdown grace is the bound on how long stopping takes.
    std::process::exit(code);
}
