//! `producer`: the operator's entry point. Parses the command line and hands over to the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(version, about = "Starts and watches scrape runs of the Danawa PC-parts catalogue")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check a scrape config: prints "ok" and a line per category, or every problem (exit 2).
    ValidateConfig {
        /// The config file (the original scrapConfig.json format).
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::ValidateConfig { file } => {
            let (report, code) = producer::validate::validate_config(&file);
            if code == 0 {
                print!("{report}");
            } else {
                eprint!("{report}");
            }
            ExitCode::from(code)
        }
    }
}
