//! `producer`: the operator's entry point. Parses the command line and hands over to the library.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand, ValueEnum};
use common::redis_pool::Target;
use common::settings::CommonSettings;
use producer::dead_letter_admin::{self, Selection};
use producer::progress::{Display, WatchSettings};
use producer::run::{Outcome, RunOptions};
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
    Run(RunArgs),
    /// Show the run's progress: counters per kind, streams, groups, consumers, rate, ETA.
    /// Exits 4 when the run is stalled, 5 when Redis cannot be read (for cron jobs and probes).
    Status(StatusArgs),
    /// Serve the queue and run gauges (/metrics), /healthz, /readyz and the monitoring page
    /// (token needed): the one always-on view of what is in Redis, whatever the number of
    /// workers (none included).
    Serve(ServeArgs),
    /// Inspect, retry or delete dead letters.
    DeadLetters(DeadLettersArgs),
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    common: CommonSettings,

    /// The scrape config (the original scrapConfig.json format).
    #[arg(long, env = "EK_CONFIG")]
    config: PathBuf,

    /// Abandon a running run and start a new one (refused while workers hold pending entries).
    #[arg(long, env = "EK_FRESH")]
    fresh: bool,

    /// With --fresh: abandon the running run even while workers hold pending entries.
    #[arg(long, env = "EK_FORCE", requires = "fresh")]
    force: bool,

    /// Parts whose last price point is older than this get item jobs (e.g. 12h, 3d);
    /// default: every part not updated since the run started.
    #[arg(long, env = "EK_ITEMS_STALE_AFTER", value_parser = humantime::parse_duration)]
    items_stale_after: Option<Duration>,

    /// How often the run counters are read while waiting.
    #[arg(long, env = "EK_POLL_INTERVAL", value_parser = humantime::parse_duration, default_value = "250ms")]
    poll_interval: Duration,

    /// Progress bars (a terminal), log lines, or automatic.
    #[arg(long, env = "EK_PROGRESS", value_enum, default_value_t = ProgressArg::Auto)]
    progress: ProgressArg,

    /// Interval of the progress log lines (when not showing bars).
    #[arg(long, env = "EK_LOG_EVERY", value_parser = humantime::parse_duration, default_value = "5s")]
    log_every: Duration,

    /// Print the summary as JSON instead of text.
    #[arg(long, env = "EK_SUMMARY_JSON")]
    json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ProgressArg {
    Auto,
    Bars,
    Log,
    None,
}

#[derive(Args)]
struct StatusArgs {
    #[command(flatten)]
    common: CommonSettings,

    /// Print again every --interval until interrupted.
    #[arg(long, env = "EK_STATUS_WATCH")]
    watch: bool,

    /// JSON (one object per line with --watch).
    #[arg(long, env = "EK_STATUS_JSON")]
    json: bool,

    #[arg(long, env = "EK_STATUS_INTERVAL", value_parser = humantime::parse_duration, default_value = "2s")]
    interval: Duration,

    /// A running run with outstanding work that finished nothing for this long is stalled
    /// (exit 4).
    #[arg(long, env = "EK_STALL_AFTER", value_parser = humantime::parse_duration, default_value = "15m")]
    stall_after: Duration,

    /// Longest wait for Redis before giving up (exit 5).
    #[arg(long, env = "EK_STATUS_TIMEOUT", value_parser = humantime::parse_duration, default_value = "10s")]
    timeout: Duration,
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    common: CommonSettings,

    /// Address of /metrics, /healthz, /readyz and the monitoring page (loopback by default).
    #[arg(long, env = "EK_HTTP_ADDR", default_value = producer::serve::DEFAULT_HTTP_ADDR)]
    http_addr: std::net::SocketAddr,

    #[command(flatten)]
    web: producer::serve::web::WebSettings,

    /// How long one reading of Redis is reused by the scrapes that follow.
    #[arg(long, env = "EK_METRICS_CACHE_TTL", value_parser = humantime::parse_duration,
          default_value = producer::serve::DEFAULT_CACHE_TTL)]
    cache_ttl: Duration,
}

#[derive(Args)]
struct DeadLettersArgs {
    #[command(subcommand)]
    action: DeadLetterAction,
}

#[derive(Subcommand)]
enum DeadLetterAction {
    /// Show dead letters: id, kind, reason, attempts, failed at, last error.
    List {
        #[command(flatten)]
        select: SelectArgs,
        /// Every field of each dead letter as JSON, one per line.
        #[arg(long)]
        json: bool,
    },
    /// Send dead letters back to their stream (attempts reset), counted in flight again.
    Retry {
        #[command(flatten)]
        select: SelectArgs,
    },
    /// Delete dead letters (every one only with --all).
    Purge {
        #[command(flatten)]
        select: SelectArgs,
        /// Delete every dead letter when no --kind, --limit or --id narrows the selection.
        #[arg(long)]
        all: bool,
    },
}

#[derive(Args)]
struct SelectArgs {
    #[command(flatten)]
    common: CommonSettings,

    /// Only this kind: list, item, list-result, item-result (or unknown).
    #[arg(long, env = "EK_DEAD_KIND")]
    kind: Option<String>,

    /// At most this many, oldest first.
    #[arg(long, env = "EK_DEAD_LIMIT")]
    limit: Option<usize>,

    /// Only these dead-letter ids (repeatable).
    #[arg(long = "id")]
    ids: Vec<String>,
}

impl SelectArgs {
    fn selection(&self) -> Selection {
        Selection { kind: self.kind.clone(), limit: self.limit, ids: self.ids.clone() }
    }
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
        Online::Status(args) => status(args).await,
        Online::Serve(args) => serve(args).await,
        Online::DeadLetters(args) => dead_letter_command(args.action).await,
    }
}

/// The pool, and where it points (redacted) for messages.
fn connect(common: &CommonSettings) -> anyhow::Result<(common::redis_pool::Pool, Target)> {
    common::telemetry::init(common.log_format);
    let target = common.redis.target()?;
    if !target.has_credentials() {
        tracing::warn!(redis = %target, "Redis is reached without a password");
    }
    let pool = common::redis_pool::pool(&target, 4).with_context(|| format!("Redis {target}"))?;
    Ok((pool, target))
}

async fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let (pool, _) = connect(&args.common)?;
    let keys = args.common.keys();
    let options = RunOptions {
        config: args.config.clone(),
        fresh: args.fresh,
        force: args.force,
        items_stale_after: args.items_stale_after,
        watch: WatchSettings {
            poll: args.poll_interval,
            sample_every: Duration::from_secs(2),
            keep_for: args.common.keep_for,
            display: display(args.progress, args.log_every),
        },
    };
    let shutdown = common::shutdown::on_signal();
    match producer::run::run_to_end(&pool, &keys, &options, &shutdown).await {
        Ok(Outcome::Finished(summary)) => {
            if args.json {
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

/// Bars on a terminal, log lines otherwise.
fn display(arg: ProgressArg, log_every: Duration) -> Display {
    use std::io::IsTerminal;
    match arg {
        ProgressArg::Bars => Display::Bars,
        ProgressArg::Log => Display::Log { every: log_every },
        ProgressArg::None => Display::Quiet,
        ProgressArg::Auto if std::io::stderr().is_terminal() => Display::Bars,
        ProgressArg::Auto => Display::Log { every: log_every },
    }
}

async fn status(args: StatusArgs) -> anyhow::Result<ExitCode> {
    use std::io::IsTerminal;
    let (pool, redis) = connect(&args.common)?;
    let keys = args.common.keys();
    if args.watch {
        let mut conn = pool.get().await.context("connecting to Redis")?;
        let shutdown = common::shutdown::on_signal();
        let clear = std::io::stdout().is_terminal();
        producer::status::watch(&mut conn, &keys, args.interval, args.json, clear, &shutdown).await?;
        return Ok(ExitCode::SUCCESS);
    }
    let read = async {
        let mut conn = pool.get().await?;
        producer::status::collect(&mut conn, &keys, &mut Vec::new()).await
    };
    let status = match tokio::time::timeout(args.timeout, read).await {
        Ok(Ok(status)) => status,
        Ok(Err(e)) => {
            eprintln!("producer: cannot read the status from Redis ({redis}): {e}");
            return Ok(ExitCode::from(EXIT_UNREACHABLE));
        }
        Err(_) => {
            eprintln!("producer: Redis ({redis}) did not answer within {:?}", args.timeout);
            return Ok(ExitCode::from(EXIT_UNREACHABLE));
        }
    };
    if args.json {
        println!("{}", producer::status::to_json(&status));
    } else {
        print!("{status}");
    }
    if let Some(quiet) = status.stalled_for(args.stall_after) {
        eprintln!(
            "producer: STALLED: {} entries outstanding and nothing finished for {} (--stall-after {})",
            status.outstanding(),
            humantime::format_duration(Duration::from_secs(quiet.as_secs())),
            humantime::format_duration(args.stall_after)
        );
        return Ok(ExitCode::from(EXIT_STALLED));
    }
    Ok(ExitCode::SUCCESS)
}

async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    use producer::serve::web::{self, Web};
    let (pool, redis) = connect(&args.common)?;
    let state = producer::serve::AppState::new(pool, args.common.keys(), args.cache_ttl);
    let mongo = match &args.common.mongodb_uri {
        Some(uri) => Some(common::mongo::connect(uri.expose(), "producer-serve").await.context("MongoDB URI")?),
        None => None,
    };
    let page = Arc::new(Web::new(state.clone(), mongo.as_ref().map(|c| (c, args.common.mongodb_db.as_str()))));
    let shutdown = common::shutdown::on_signal();
    let sampler = web::spawn_sampler(page.clone(), args.web.web_sample_every, shutdown.clone());
    let router = producer::serve::router(state).merge(web::router(page, &args.web));
    producer::serve::serve(args.http_addr, router, shutdown, |addr| {
        tracing::info!(%addr, %redis, "producer serve: /metrics, /healthz, /readyz and the monitoring page");
    })
    .await
    .with_context(|| format!("cannot serve on {}", args.http_addr))?;
    sampler.abort();
    Ok(ExitCode::SUCCESS)
}

async fn dead_letter_command(action: DeadLetterAction) -> anyhow::Result<ExitCode> {
    let select = match &action {
        DeadLetterAction::List { select, .. }
        | DeadLetterAction::Retry { select }
        | DeadLetterAction::Purge { select, .. } => select,
    };
    if let DeadLetterAction::Purge { all: false, select } = &action {
        if select.kind.is_none() && select.limit.is_none() && select.ids.is_empty() {
            eprintln!(
                "producer: purge deletes dead letters for good: narrow it with --kind, --limit or --id, or say --all"
            );
            return Ok(ExitCode::from(EXIT_INVALID));
        }
    }
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
            println!(
                "sent back {} dead letter(s); {} already gone, {} skipped",
                retried.sent_back.len(),
                retried.gone.len(),
                retried.skipped.len()
            );
        }
        DeadLetterAction::Purge { .. } => {
            let deleted = dead_letter_admin::purge(&mut conn, &keys, &entries).await?;
            println!("deleted {deleted} dead letter(s) {:?}", dead_letter_admin::per_kind(&entries));
        }
    }
    Ok(ExitCode::SUCCESS)
}
