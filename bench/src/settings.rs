//! The benchmark's settings: one clap struct, every flag with an environment variable.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::latency::LatencyArg;

/// List entries per category that give about 8,000 HTTP requests with the seed config.
pub const DEFAULT_PRODUCTS: usize = 268;

#[derive(Parser, Debug, Clone)]
#[command(
    name = "pipeline-bench",
    about = "Runs the whole pipeline (producer, crawlers, updaters, Redis, SecantusDB) against danawa-sim \
             with injected latency and reports efficiency, job overhead, CPU and memory"
)]
pub struct Settings {
    /// Crawler processes.
    #[arg(long, env = "BENCH_CRAWLERS", default_value_t = 10)]
    pub crawlers: usize,

    /// Jobs in flight per crawler process (EK_CONCURRENCY): slots = crawlers x concurrency.
    #[arg(long, env = "BENCH_CONCURRENCY", default_value_t = 3)]
    pub concurrency: usize,

    /// Updater processes.
    #[arg(long, env = "BENCH_UPDATERS", default_value_t = 2)]
    pub updaters: usize,

    /// List entries per category in the sim's catalogue; 268 gives about 8,000 requests with
    /// the seed config, 22 about 800.
    #[arg(long, env = "BENCH_PRODUCTS", default_value_t = DEFAULT_PRODUCTS)]
    pub products: usize,

    /// Most variants (pcodes) per list entry in the sim's catalogue.
    #[arg(long, env = "BENCH_MAX_VARIANTS", default_value_t = 4)]
    pub max_variants: u32,

    /// Latency the sim adds to each request: `fixed` (the mean), `long-tail` (log-normal with
    /// the same mean), `0` (none), or a danawa-sim spec such as `uniform:1000-2500`.
    #[arg(long, env = "BENCH_LATENCY", default_value = "fixed")]
    pub latency: LatencyArg,

    /// Mean latency per request: 1.75 s is 1/60 of the original's 1.75 min through Tor.
    #[arg(long, env = "BENCH_MEAN_LATENCY", value_parser = humantime::parse_duration, default_value = "1750ms")]
    pub mean_latency: Duration,

    /// Sigma of the long-tail (log-normal) latency.
    #[arg(long, env = "BENCH_LONGTAIL_SIGMA", default_value_t = 0.8)]
    pub longtail_sigma: f64,

    /// Cap of the long-tail latency, as a multiple of the mean.
    #[arg(long, env = "BENCH_LONGTAIL_CAP", default_value_t = 6.0)]
    pub longtail_cap: f64,

    /// Scrape config to point at the sim (default: deploy/scrapConfig.json).
    #[arg(long, env = "BENCH_CONFIG")]
    pub config: Option<PathBuf>,

    /// Extra flags for `danawa-sim serve`, space-separated (`--truncate 0.05 --next-share 1`).
    #[arg(long, env = "BENCH_SIM_ARGS", value_delimiter = ' ', allow_hyphen_values = true)]
    pub sim_args: Vec<String>,

    /// After the run, compare every `parts` document with the sim's ground truth and report
    /// the parts that differ (what a silently wrong crawl looks like).
    #[arg(long, env = "BENCH_CHECK_TRUTH")]
    pub check_truth: bool,

    /// Refresh runs: after the measured run, this many more `producer run`s over the same
    /// catalogue and database (the daily case); each one's wall time and its ratio to the first
    /// run are reported, so a slowdown as price history accumulates shows.
    #[arg(long, env = "BENCH_REFRESH_RUNS", default_value_t = 0)]
    pub refresh_runs: usize,

    /// Where the release binaries are (default: target/release of the workspace).
    #[arg(long, env = "BENCH_BIN_DIR")]
    pub bin_dir: Option<PathBuf>,

    /// Where the processes' logs go (default: target/bench/LABEL); kept after the run.
    #[arg(long, env = "BENCH_LOG_DIR")]
    pub log_dir: Option<PathBuf>,

    /// SecantusDB storage: on disk (WiredTiger files, as in production) or in memory.
    #[arg(long, env = "BENCH_MONGO_STORAGE", value_enum, default_value_t = MongoStorage::Disk)]
    pub mongo_storage: MongoStorage,

    /// Name of this setting in the output (default: derived from the settings).
    #[arg(long, env = "BENCH_LABEL")]
    pub label: Option<String>,

    /// Give up (and fail) when the run is not done after this long.
    #[arg(long, env = "BENCH_TIMEOUT", value_parser = humantime::parse_duration, default_value = "45m")]
    pub timeout: Duration,

    /// Print the report as one JSON object instead of a Markdown table.
    #[arg(long, env = "BENCH_JSON")]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MongoStorage {
    Disk,
    Memory,
}

impl Settings {
    pub fn slots(&self) -> usize {
        self.crawlers * self.concurrency
    }

    /// `n10-c3-fixed1750ms` unless set.
    pub fn label(&self) -> String {
        self.label.clone().unwrap_or_else(|| {
            let mean = self.mean_latency.as_millis();
            let latency = match &self.latency {
                LatencyArg::Zero => "zero".to_owned(),
                LatencyArg::Fixed => format!("fixed{mean}ms"),
                LatencyArg::LongTail => format!("longtail{mean}ms"),
                LatencyArg::Spec(spec) => spec.replace(':', "-"),
            };
            format!("n{}-c{}-u{}-p{}-{latency}", self.crawlers, self.concurrency, self.updaters, self.products)
        })
    }
}
