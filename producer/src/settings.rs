//! The producer's settings, one struct per command: every setting a flag and an environment
//! variable, defaults in one place, and the conversions into the library's own options.
//!
//! Three flags have no environment variable on purpose: `dead-letters list --json`,
//! `dead-letters purge --all` and `--id` choose what one command run by hand does; a value
//! left in the environment would silently widen the next purge.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use common::redis_pool::{Pool, Target};
use common::settings::CommonSettings;

use crate::dead_letter_admin::Selection;
use crate::progress::{Display, WatchSettings};
use crate::run::RunOptions;
use crate::serve::web::auth::Token;

/// Where `producer serve` listens unless told otherwise (loopback: exposing it is a choice;
/// compose and Kubernetes set `0.0.0.0:9300`).
pub const DEFAULT_HTTP_ADDR: &str = "127.0.0.1:9300";
/// How long one reading of Redis is reused: Prometheus, Grafana and a page may all scrape,
/// and each reading costs about a dozen Redis commands.
pub const DEFAULT_CACHE_TTL: &str = "5s";
/// How often the throughput chart gets a sample unless told otherwise.
pub const DEFAULT_SAMPLE_EVERY: &str = "10s";
/// How often `run` writes a progress sample to the run hash: the ring `status` computes the
/// rate of the last minute from keeps 40 of them, a little more than that minute.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(2);
/// Connections of a producer command's Redis pool: one command at a time, plus the serve
/// process's page and gauges side by side.
const POOL_SIZE: usize = 4;

/// `producer run`.
#[derive(Debug, Clone, Args)]
pub struct RunSettings {
    #[command(flatten)]
    pub common: CommonSettings,

    /// The scrape config (the original scrapConfig.json format).
    #[arg(long, env = "EK_CONFIG")]
    pub config: PathBuf,

    /// Abandon a running run and start a new one (refused while workers hold pending entries).
    #[arg(long, env = "EK_FRESH")]
    pub fresh: bool,

    /// With --fresh: abandon the running run even while workers hold pending entries.
    #[arg(long, env = "EK_FORCE", requires = "fresh")]
    pub force: bool,

    /// Parts whose last price point is older than this get item jobs (e.g. 12h, 3d);
    /// default: every part not updated since the run started.
    #[arg(long, env = "EK_ITEMS_STALE_AFTER", value_parser = humantime::parse_duration)]
    pub items_stale_after: Option<Duration>,

    /// How often the run counters are read while waiting.
    #[arg(long, env = "EK_POLL_INTERVAL", value_parser = humantime::parse_duration, default_value = "250ms")]
    pub poll_interval: Duration,

    /// Progress bars (a terminal), log lines, or automatic.
    #[arg(long, env = "EK_PROGRESS", value_enum, default_value_t = Progress::Auto)]
    pub progress: Progress,

    /// Interval of the progress log lines (when not showing bars).
    #[arg(long, env = "EK_LOG_EVERY", value_parser = humantime::parse_duration, default_value = "5s")]
    pub log_every: Duration,

    /// Print the summary as JSON instead of text.
    #[arg(long, env = "EK_SUMMARY_JSON")]
    pub json: bool,
}

impl RunSettings {
    /// What [`crate::run::run_to_end`] needs; `Auto` progress looks at stderr now.
    pub fn options(&self) -> RunOptions {
        RunOptions {
            config: self.config.clone(),
            fresh: self.fresh,
            force: self.force,
            items_stale_after: self.items_stale_after,
            watch: WatchSettings {
                poll: self.poll_interval,
                sample_every: SAMPLE_EVERY,
                keep_for: self.common.keep_for,
                display: self.progress.display(self.log_every),
            },
        }
    }
}

/// How `run` shows progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Progress {
    Auto,
    Bars,
    Log,
    None,
}

impl Progress {
    /// Bars on a terminal (stderr), log lines otherwise.
    pub fn display(self, log_every: Duration) -> Display {
        use std::io::IsTerminal;
        match self {
            Progress::Bars => Display::Bars,
            Progress::Log => Display::Log { every: log_every },
            Progress::None => Display::Quiet,
            Progress::Auto if std::io::stderr().is_terminal() => Display::Bars,
            Progress::Auto => Display::Log { every: log_every },
        }
    }
}

/// `producer status`.
#[derive(Debug, Clone, Args)]
pub struct StatusSettings {
    #[command(flatten)]
    pub common: CommonSettings,

    /// Print again every --interval until interrupted.
    #[arg(long, env = "EK_STATUS_WATCH")]
    pub watch: bool,

    /// JSON (one object per line with --watch).
    #[arg(long, env = "EK_STATUS_JSON")]
    pub json: bool,

    #[arg(long, env = "EK_STATUS_INTERVAL", value_parser = humantime::parse_duration, default_value = "2s")]
    pub interval: Duration,

    /// A running run with outstanding work that finished nothing for this long is stalled
    /// (exit 4).
    #[arg(long, env = "EK_STALL_AFTER", value_parser = humantime::parse_duration, default_value = "15m")]
    pub stall_after: Duration,

    /// Longest wait for Redis before giving up (exit 5).
    #[arg(long, env = "EK_STATUS_TIMEOUT", value_parser = humantime::parse_duration, default_value = "10s")]
    pub timeout: Duration,
}

/// `producer serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeSettings {
    #[command(flatten)]
    pub common: CommonSettings,

    /// Address of /metrics, /healthz, /readyz and the monitoring page (loopback by default).
    #[arg(long, env = "EK_HTTP_ADDR", default_value = DEFAULT_HTTP_ADDR)]
    pub http_addr: SocketAddr,

    #[command(flatten)]
    pub web: WebSettings,

    /// How long one reading of Redis is reused by the scrapes that follow.
    #[arg(long, env = "EK_METRICS_CACHE_TTL", value_parser = humantime::parse_duration,
          default_value = DEFAULT_CACHE_TTL)]
    pub cache_ttl: Duration,
}

/// The monitoring page's own settings (Redis and MongoDB come from the common settings).
#[derive(Debug, Clone, Args)]
pub struct WebSettings {
    /// Token of the read-only monitoring page (or EK_WEB_TOKEN_FILE: a file holding it). Without
    /// this and --web-admin-token the page answers 401 to everyone.
    #[arg(long, env = "EK_WEB_TOKEN", hide_env_values = true)]
    pub web_token: Option<Token>,

    /// Token that may also retry and purge dead letters (or EK_WEB_ADMIN_TOKEN_FILE).
    #[arg(long, env = "EK_WEB_ADMIN_TOKEN", hide_env_values = true)]
    pub web_admin_token: Option<Token>,

    /// How often the throughput chart (the last hour, kept in memory) gets a sample.
    #[arg(long, env = "EK_WEB_SAMPLE_EVERY", value_parser = humantime::parse_duration,
          default_value = DEFAULT_SAMPLE_EVERY)]
    pub web_sample_every: Duration,
}

/// `producer dead-letters`.
#[derive(Debug, Clone, Args)]
pub struct DeadLetterSettings {
    #[command(subcommand)]
    pub action: DeadLetterAction,
}

#[derive(Debug, Clone, Subcommand)]
pub enum DeadLetterAction {
    /// Show dead letters: id, kind, reason, attempts, failed at, last error.
    List {
        #[command(flatten)]
        select: SelectSettings,
        /// Every field of each dead letter as JSON, one per line.
        #[arg(long)]
        json: bool,
    },
    /// Send dead letters back to their stream (attempts reset), counted in flight again.
    Retry {
        #[command(flatten)]
        select: SelectSettings,
    },
    /// Delete dead letters (every one only with --all).
    Purge {
        #[command(flatten)]
        select: SelectSettings,
        /// Delete every dead letter when no --kind, --limit or --id narrows the selection.
        #[arg(long)]
        all: bool,
    },
}

impl DeadLetterAction {
    /// The selection every action starts from.
    pub fn select(&self) -> &SelectSettings {
        match self {
            DeadLetterAction::List { select, .. }
            | DeadLetterAction::Retry { select }
            | DeadLetterAction::Purge { select, .. } => select,
        }
    }

    /// A purge of every dead letter not asked for with `--all`: refused before connecting.
    pub fn is_unbounded_purge(&self) -> bool {
        matches!(self, DeadLetterAction::Purge { all: false, select } if !select.narrows())
    }
}

/// Which dead letters an action applies to.
#[derive(Debug, Clone, Args)]
pub struct SelectSettings {
    #[command(flatten)]
    pub common: CommonSettings,

    /// Only this kind: list, item, list-result, item-result (or unknown).
    #[arg(long, env = "EK_DEAD_KIND")]
    pub kind: Option<String>,

    /// At most this many, oldest first.
    #[arg(long, env = "EK_DEAD_LIMIT")]
    pub limit: Option<usize>,

    /// Only these dead-letter ids (repeatable).
    #[arg(long = "id")]
    pub ids: Vec<String>,
}

impl SelectSettings {
    pub fn selection(&self) -> Selection {
        Selection { kind: self.kind.clone(), limit: self.limit, ids: self.ids.clone() }
    }

    /// Whether `--kind`, `--limit` or `--id` narrows the selection.
    pub fn narrows(&self) -> bool {
        self.kind.is_some() || self.limit.is_some() || !self.ids.is_empty()
    }
}

/// Tracing set up as `common` says, and the Redis pool with where it points (redacted, for
/// messages). A Redis without a password is reached, with a warning.
///
/// # Errors
/// An invalid Redis setting, or a pool that cannot be built.
pub fn connect(common: &CommonSettings) -> anyhow::Result<(Pool, Target)> {
    use anyhow::Context as _;
    common::telemetry::init(common.log_format);
    let target = common.redis.target()?;
    if !target.has_credentials() {
        tracing::warn!(redis = %target, "Redis is reached without a password");
    }
    let pool = common::redis_pool::pool(&target, POOL_SIZE).with_context(|| format!("Redis {target}"))?;
    Ok((pool, target))
}
