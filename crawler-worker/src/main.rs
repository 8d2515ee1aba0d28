//! crawler-worker: the binary. `run` is the worker; `parse` prints a saved answer's typed
//! result (what an operator runs when Danawa changes its markup).

use clap::{Parser, Subcommand};
use crawler_worker::cli_parse::{self, ParseArgs};
use crawler_worker::settings::CrawlerSettings;

#[derive(Debug, Parser)]
#[command(name = "crawler-worker", version, about = "Fetches and parses Danawa pages for the jobs stream")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Consume list and item jobs until SIGTERM or SIGINT.
    Run(Box<CrawlerSettings>),
    /// Parse a saved Danawa answer and print the typed result as JSON.
    Parse(ParseArgs),
}

fn main() -> anyhow::Result<()> {
    // Secrets given as files (REDIS_URL_FILE, EK_TOR_PASSWORD_FILE, ...) before clap reads the env.
    common::secret_files::load_secret_files()?;
    match Cli::parse().command {
        Command::Run(settings) => run(*settings),
        Command::Parse(args) => {
            println!("{}", cli_parse::run(&args)?);
            Ok(())
        }
    }
}

#[tokio::main]
async fn run(settings: CrawlerSettings) -> anyhow::Result<()> {
    common::telemetry::init(settings.common.log_format);
    let shutdown = common::shutdown::on_signal();
    crawler_worker::run::run(settings, shutdown).await
}
