//! The crawler's settings: every flag also an environment variable, defaults in one place.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use common::secret::Secret;
pub use common::settings::Environment;
use common::settings::{CommonSettings, WorkerSettings};

#[derive(Debug, Clone, Args)]
pub struct CrawlerSettings {
    #[command(flatten)]
    pub common: CommonSettings,

    #[command(flatten)]
    pub worker: WorkerSettings,

    /// Requests in flight to the site from this process, at most. Only the exchange itself
    /// holds a slot: parsing, Redis steps and waiting hold none.
    #[arg(long, env = "EK_CONCURRENCY", default_value_t = 3)]
    pub concurrency: usize,

    /// Jobs this process holds at most (default: 3 × --concurrency): more jobs than request
    /// slots, so a freed slot is taken at once by a job that was parsing or acking. A new job
    /// is read only while every request has a slot: a busy process holds one waiting job, not
    /// this many, and leaves the rest to replicas with free slots.
    #[arg(long, env = "EK_JOBS_IN_FLIGHT")]
    pub jobs_in_flight: Option<usize>,

    #[command(flatten)]
    pub http: HttpArgs,

    /// Tor control port (host:port): on a block the crawler asks Tor for a new circuit.
    #[arg(long, env = "EK_TOR_CONTROL")]
    pub tor_control: Option<String>,

    /// Tor control password (HashedControlPassword).
    #[arg(long, env = "EK_TOR_PASSWORD", hide_env_values = true)]
    pub tor_password: Option<Secret>,

    /// Tor control auth cookie file (CookieAuthentication), instead of a password.
    #[arg(long, env = "EK_TOR_COOKIE_FILE")]
    pub tor_cookie_file: Option<PathBuf>,

    /// Requests per second shared by every crawler replica (kept in Redis); unset: no budget.
    #[arg(long, env = "EK_GLOBAL_RPS")]
    pub global_rps: Option<f64>,

    /// Attempts of one request (a page, a spec table, a shop list) before its job goes to the
    /// dead-letter stream. A failed request is retried alone; what its job already fetched is
    /// kept. A whole answer that does not parse is tried at most 3 times.
    #[arg(long, env = "EK_MAX_ATTEMPTS", default_value_t = 8)]
    pub max_attempts: u32,

    /// First retry delay of a request; doubles each attempt (full jitter), capped at 60 s; a
    /// longer `Retry-After` wins.
    #[arg(long, env = "EK_RETRY_BASE", value_parser = humantime::parse_duration, default_value = "500ms")]
    pub retry_base: Duration,
}

/// Jobs held per request slot when `--jobs-in-flight` is not set: a job spends about as long
/// parsing, acking and claiming as waiting for one answer at zero latency, and an item job
/// may use two slots at once (spec table and shop list).
pub const JOBS_PER_SLOT: usize = 3;

impl CrawlerSettings {
    /// `--jobs-in-flight`, or [`JOBS_PER_SLOT`] per request slot.
    pub fn jobs(&self) -> usize {
        self.jobs_in_flight.unwrap_or(self.concurrency * JOBS_PER_SLOT).max(1)
    }
}

/// How the crawler talks to the site, shared by `run` and `capture`.
#[derive(Debug, Clone, Args)]
pub struct HttpArgs {
    /// SOCKS5 proxies (socks5h://host:port for remote DNS), comma-separated, used in turn.
    #[arg(long, env = "EK_PROXY", value_delimiter = ',')]
    pub proxy: Vec<String>,

    /// What to do about robots.txt: obey, warn (default) or ignore.
    #[arg(long, env = "EK_ROBOTS", value_enum, default_value_t = RobotsPolicy::Warn)]
    pub robots: RobotsPolicy,

    /// Extra pause before each request, with ±50% jitter; off by default.
    #[arg(long, env = "EK_REQUEST_DELAY", value_parser = humantime::parse_duration)]
    pub request_delay: Option<Duration>,

    #[arg(long, env = "EK_CONNECT_TIMEOUT", value_parser = humantime::parse_duration, default_value = "10s")]
    pub connect_timeout: Duration,

    /// Limit for one request, body included.
    #[arg(long, env = "EK_REQUEST_TIMEOUT", value_parser = humantime::parse_duration, default_value = "30s")]
    pub request_timeout: Duration,
}

impl HttpArgs {
    /// Proxies given, with empty items (an empty `EK_PROXY=`) left out.
    pub fn proxies(&self) -> Vec<String> {
        self.proxy.iter().map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()).collect()
    }

    /// The HTTP client's settings.
    pub fn client(&self) -> crate::http::HttpSettings {
        crate::http::HttpSettings {
            proxies: self.proxies(),
            connect_timeout: self.connect_timeout,
            request_timeout: self.request_timeout,
            request_delay: self.request_delay,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RobotsPolicy {
    Obey,
    Warn,
    Ignore,
}

impl CrawlerSettings {
    /// Proxies given, with empty items (an empty `EK_PROXY=`) left out.
    pub fn proxies(&self) -> Vec<String> {
        self.http.proxies()
    }
}
