//! `producer`: the operator's entry point. Parses the command line (the settings are in
//! [`producer::settings`]), calls the library, prints what it returns and maps the outcome to
//! an exit status.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use producer::dead_letter_admin;
use producer::run::Outcome;
use producer::settings::{connect, DeadLetterAction, DeadLetterSettings, RunSettings, ServeSettings, StatusSettings};
use producer::status;
use producer::validate::EXIT_INVALID;

/// Exit status when `--fresh` is refused because workers still hold pending entries.
const EXIT_REFUSED: u8 = 3;
/// Exit status when stopped by SIGINT/SIGTERM before the run was done (it goes on).
const EXIT_INTERRUPTED: u8 = 130;
/// `status`: the run has outstanding work and finished nothing for `--stall-after`.
const EXIT_STALLED: u8 = 4;
/// `status`: Redis could not be reached or read within `--timeout`.
const EXIT_UNREACHABLE: u8 = 5;

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
    #[command(flatten)]
    Online(Box<Online>),
}

/// The commands that talk to Redis (and MongoDB), run on the async runtime.
#[derive(Subcommand)]
enum Online {
    /// Start (or resume) a run, enqueue its list pages, wait until it is done, print a summary.
    Run(RunSettings),
    /// Show the run's progress: counters per kind, streams, groups, consumers, rate, ETA.
    /// Exits 4 when the run is stalled, 5 when Redis cannot be read (for cron jobs and probes).
    Status(StatusSettings),
    /// Serve the queue and run gauges (/metrics), /healthz, /readyz and the monitoring page
    /// (token needed): the one always-on view of what is in Redis, whatever the number of
    /// workers (none included).
    Serve(ServeSettings),
    /// Inspect, retry or delete dead letters.
    DeadLetters(DeadLetterSettings),
}

fn main() -> ExitCode {
    // Secrets given as files (REDIS_URL_FILE, MONGODB_URI_FILE, ...) before clap reads the env.
    if let Err(e) = common::secret_files::load_secret_files() {
        eprintln!("producer: {e}");
        return ExitCode::FAILURE;
    }
    let cli = Cli::parse();
    // Needs no runtime: a config is checked before anything connects anywhere.
    let command = match cli.command {
        Command::ValidateConfig { file } => return validate(&file),
        Command::Online(command) => *command,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("producer: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(command)) {
        Ok(code) => code,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "producer failed");
            eprintln!("producer: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn validate(file: &std::path::Path) -> ExitCode {
    let (report, code) = producer::validate::validate_config(file);
    if code == 0 {
        print!("{report}");
    } else {
        eprint!("{report}");
    }
    ExitCode::from(code)
}

async fn dispatch(command: Online) -> anyhow::Result<ExitCode> {
    match command {
        Online::Run(args) => run(args).await,
        Online::Status(args) => show_status(args).await,
        Online::Serve(args) => serve(args).await,
        Online::DeadLetters(args) => dead_letter_command(args.action).await,
    }
}

async fn run(settings: RunSettings) -> anyhow::Result<ExitCode> {
    let (pool, _) = connect(&settings.common)?;
    let shutdown = common::shutdown::on_signal();
    match producer::run::run_to_end(&pool, &settings.common.keys(), &settings.options(), &shutdown).await {
        Ok(Outcome::Finished(summary)) => {
            if settings.json {
                println!("{}", serde_json::to_string(&summary).context("summary as JSON")?);
            } else {
                print!("{summary}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Ok(Outcome::Interrupted { run_id }) => {
            eprintln!("producer: stopped; run {run_id} goes on (`producer run` again resumes watching it)");
            Ok(ExitCode::from(EXIT_INTERRUPTED))
        }
        Err(producer::Error::InvalidConfig(error)) => {
            eprint!("{}", producer::validate::report(&error));
            Ok(ExitCode::from(EXIT_INVALID))
        }
        Err(error @ producer::Error::NoCategories(_)) => {
            eprintln!("{error}");
            Ok(ExitCode::from(EXIT_INVALID))
        }
        Err(e @ producer::Error::FreshRefused { .. }) => {
            eprintln!("producer: {e}");
            Ok(ExitCode::from(EXIT_REFUSED))
        }
        Err(e) => Err(e).context("producer run"),
    }
}

async fn show_status(settings: StatusSettings) -> anyhow::Result<ExitCode> {
    use std::io::IsTerminal;
    let (pool, redis) = connect(&settings.common)?;
    let keys = settings.common.keys();
    if settings.watch {
        let mut conn = pool.get().await.context("connecting to Redis")?;
        let shutdown = common::shutdown::on_signal();
        let clear = !settings.json && std::io::stdout().is_terminal();
        status::watch(&mut conn, &keys, settings.interval, &shutdown, |reading| {
            if clear {
                print!("{}", status::CLEAR_SCREEN);
            }
            print!("{}", status::render(reading, settings.json));
        })
        .await?;
        return Ok(ExitCode::SUCCESS);
    }
    let reading = match status::read_within(&pool, &redis, &keys, settings.timeout).await {
        Ok(reading) => reading,
        Err(e) => {
            eprintln!("producer: {e}");
            return Ok(ExitCode::from(EXIT_UNREACHABLE));
        }
    };
    print!("{}", status::render(&reading, settings.json));
    if let Some(stalled) = status::stall_report(&reading, settings.stall_after) {
        eprintln!("producer: {stalled}");
        return Ok(ExitCode::from(EXIT_STALLED));
    }
    Ok(ExitCode::SUCCESS)
}

async fn serve(settings: ServeSettings) -> anyhow::Result<ExitCode> {
    producer::serve::run(&settings, common::shutdown::on_signal()).await?;
    Ok(ExitCode::SUCCESS)
}

async fn dead_letter_command(action: DeadLetterAction) -> anyhow::Result<ExitCode> {
    if action.is_unbounded_purge() {
        eprintln!(
            "producer: purge deletes dead letters for good: narrow it with --kind, --limit or --id, or say --all"
        );
        return Ok(ExitCode::from(EXIT_INVALID));
    }
    let select = action.select();
    let (pool, _) = connect(&select.common)?;
    let keys = select.common.keys();
    let mut conn = pool.get().await.context("connecting to Redis")?;
    let entries = dead_letter_admin::select(&mut conn, &keys, &select.selection()).await?;
    match action {
        DeadLetterAction::List { json: true, .. } => {
            for entry in &entries {
                println!("{}", serde_json::to_string(entry).context("dead letter as JSON")?);
            }
        }
        DeadLetterAction::List { .. } => print!("{}", dead_letter_admin::table(&entries)),
        DeadLetterAction::Retry { .. } => {
            let retried = dead_letter_admin::retry(&mut conn, &keys, &entries).await?;
            for (id, reason) in &retried.skipped {
                eprintln!("skipped {id}: {reason}");
            }
            println!("{retried}");
        }
        DeadLetterAction::Purge { .. } => {
            let deleted = dead_letter_admin::purge(&mut conn, &keys, &entries).await?;
            println!("deleted {deleted} dead letter(s) {:?}", dead_letter_admin::per_kind(&entries));
        }
    }
    Ok(ExitCode::SUCCESS)
}
