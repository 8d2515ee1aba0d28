//! updater-worker: the binary. `run` consumes the results stream and writes MongoDB.

use clap::{Parser, Subcommand};
use updater_worker::settings::UpdaterSettings;

#[derive(Debug, Parser)]
#[command(name = "updater-worker", version, about = "Writes crawl results to MongoDB's parts collection")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Consume the results stream until SIGTERM or SIGINT.
    Run(Box<UpdaterSettings>),
}

fn main() -> anyhow::Result<()> {
    // Secrets given as files (REDIS_URL_FILE, MONGODB_URI_FILE, ...) before clap reads the env.
    common::secret_files::load_secret_files()?;
    match Cli::parse().command {
        Command::Run(settings) => run(*settings),
    }
}

#[tokio::main]
async fn run(settings: UpdaterSettings) -> anyhow::Result<()> {
    common::telemetry::init(settings.common.log_format);
    let shutdown = common::shutdown::on_signal();
    updater_worker::run::run_updater(settings, shutdown).await
}
