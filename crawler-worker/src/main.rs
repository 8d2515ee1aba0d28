//! crawler-worker: the binary. `parse` prints a saved answer's typed result; the worker loop
//! (`run`) is added by the lead.

use clap::{Parser, Subcommand};
use crawler_worker::cli_parse::{self, ParseArgs};

#[derive(Debug, Parser)]
#[command(name = "crawler-worker", version, about = "Fetches and parses Danawa pages")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Parse a saved Danawa answer and print the typed result as JSON.
    Parse(ParseArgs),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Parse(args) => {
            println!("{}", cli_parse::run(&args)?);
            Ok(())
        }
    }
}
