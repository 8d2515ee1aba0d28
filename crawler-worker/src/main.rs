//! crawler-worker: the binary. `run` is the worker; `parse` prints a saved answer's typed
//! result (what an operator runs when Danawa changes its markup).

use clap::{Parser, Subcommand};
use crawler_worker::capture::{self, CaptureArgs};
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
    /// Parse a saved Danawa answer (or a captured directory) and print the typed result.
    Parse(ParseArgs),
    /// Fetch a category page, list page 1 and one product's page, spec table and shop list
    /// through the configured proxy; save each answer with its request and report what the
    /// parsers found.
    Capture(Box<CaptureArgs>),
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
        Command::Capture(args) => run_capture(&args),
    }
}

#[tokio::main]
async fn run_capture(args: &CaptureArgs) -> anyhow::Result<()> {
    common::telemetry::init(common::settings::LogFormat::Text);
    let reports = capture::capture(args).await?;
    print!("{}", capture::render(&reports));
    println!("answers and manifest in {}", args.out.display());
    Ok(())
}

#[tokio::main]
async fn run(settings: CrawlerSettings) -> anyhow::Result<()> {
    common::telemetry::init(settings.common.log_format);
    let shutdown = common::shutdown::on_signal();
    crawler_worker::run::run_crawler(settings, shutdown).await
}
