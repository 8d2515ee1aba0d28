//! The simulator's settings: every flag also an environment variable (`SIM_*`), defaults in
//! one place, and the conversions into [`SimConfig`], [`CatalogueParams`] and [`FaultConfig`].

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use common::config::ScrapeConfig;

use crate::{CatalogueParams, FaultConfig, Latency, Scope, SimConfig};

/// Where `danawa-sim serve` listens unless told otherwise: loopback, exposing it is a choice.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8088";

/// Size and seed of the generated catalogue.
#[derive(Debug, Clone, Args)]
pub struct CatalogueArgs {
    /// Catalogue seed: the same seed gives the same catalogue and the same bytes.
    #[arg(long, env = "SIM_SEED", default_value_t = 1)]
    pub seed: u64,
    /// Number of built-in categories served (scrapConfig.json order: cpu, motherboard, memory,
    /// graphics, ssd, hdd, case, power, cooler), 1 to 9.
    #[arg(long, env = "SIM_CATEGORIES", default_value_t = 9)]
    pub categories: usize,
    /// List entries (products) per category.
    #[arg(long, env = "SIM_PRODUCTS", default_value_t = 240)]
    pub products: usize,
    /// Most variants (pcodes) per list entry, 1 to 8.
    #[arg(long, env = "SIM_MAX_VARIANTS", default_value_t = 4)]
    pub max_variants: usize,
}

impl CatalogueArgs {
    pub fn params(&self) -> CatalogueParams {
        CatalogueParams {
            seed: self.seed,
            categories: self.categories,
            products_per_category: self.products,
            max_variants: self.max_variants,
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on (loopback unless told otherwise).
    #[arg(long, env = "SIM_ADDR", default_value = DEFAULT_ADDR)]
    pub addr: SocketAddr,
    #[command(flatten)]
    pub catalogue: CatalogueArgs,
    /// Scrape config used by GET /_sim/truth (default: the embedded scrapConfig.json).
    #[arg(long, env = "SIM_CONFIG")]
    pub config: Option<PathBuf>,
    /// Share of connections (0..1) whose category pages (/list/?cate= and /list/index.php?cate=) are the Next.js page, sticky per connection.
    #[arg(long, env = "SIM_NEXT_SHARE", default_value_t = 0.0)]
    pub next_share: f64,
    /// Share (0..1) of list entries, spec tables and shop lists in the shapes of DANAWA.md's "Newer evidence" (bare-text variant tags, one-pcode prod_top5 entries, classless spec cells, #defaultMallList shop lists).
    #[arg(long, env = "SIM_NEW_MARKUP_SHARE", default_value_t = 0.5)]
    pub new_markup_share: f64,
    /// Require X-Requested-With: XMLHttpRequest and a Referer on AJAX calls (else an empty 200).
    #[arg(long, env = "SIM_STRICT_AJAX", default_value_t = true, action = clap::ArgAction::Set)]
    pub strict_ajax: bool,
    /// Requests kept in the /_sim/log ring.
    #[arg(long, env = "SIM_LOG_CAPACITY", default_value_t = 20_000)]
    pub log_capacity: usize,
    #[command(flatten)]
    pub faults: FaultArgs,
}

impl ServeArgs {
    /// The server's configuration; loads `--config` when given.
    ///
    /// # Errors
    /// A `--config` that cannot be loaded.
    pub fn sim_config(&self) -> anyhow::Result<SimConfig> {
        Ok(SimConfig {
            catalogue: self.catalogue.params(),
            faults: self.faults.config(),
            fault_seed: self.faults.fault_seed,
            next_share: self.next_share,
            new_markup_share: self.new_markup_share,
            strict_ajax: self.strict_ajax,
            log_capacity: self.log_capacity,
            truth_config: self.config.as_deref().map(load_config).transpose()?,
        })
    }
}

/// Faults; all rates are per-request probabilities and must add up to at most 1 (the throttle
/// is separate).
#[derive(Debug, Clone, Args)]
pub struct FaultArgs {
    /// Seed of the fault draws.
    #[arg(long, env = "SIM_FAULT_SEED", default_value_t = 7)]
    pub fault_seed: u64,
    /// Which requests faults hit: all, list, ajax or pages.
    #[arg(long, env = "SIM_FAULT_SCOPE", default_value = "all", value_parser = parse_scope)]
    pub fault_scope: Scope,
    /// Latency: none, fixed:MS, uniform:MIN_MS-MAX_MS or longtail:MEDIAN_MS:SIGMA:MAX_MS.
    #[arg(long, env = "SIM_LATENCY", default_value = "none", value_parser = parse_latency)]
    pub latency: Latency,
    /// Rate of 500/502/503 answers.
    #[arg(long, env = "SIM_ERROR_5XX", default_value_t = 0.0)]
    pub error_5xx: f64,
    /// Rate of 403 answers.
    #[arg(long, env = "SIM_STATUS_403", default_value_t = 0.0)]
    pub status_403: f64,
    /// Rate of 429 answers.
    #[arg(long, env = "SIM_STATUS_429", default_value_t = 0.0)]
    pub status_429: f64,
    /// Retry-After seconds on 403/429/5xx answers (absent: no header).
    #[arg(long, env = "SIM_RETRY_AFTER")]
    pub retry_after: Option<u64>,
    /// Share of those answers that carry Retry-After.
    #[arg(long, env = "SIM_RETRY_AFTER_SHARE", default_value_t = 1.0)]
    pub retry_after_share: f64,
    /// Rate of empty 200 answers (soft block).
    #[arg(long, env = "SIM_EMPTY_200", default_value_t = 0.0)]
    pub empty_200: f64,
    /// Rate of list answers that repeat another page of the same listing (soft block).
    #[arg(long, env = "SIM_REPEAT_PAGE", default_value_t = 0.0)]
    pub repeat_page: f64,
    /// Rate of block pages carrying 비정상적인 접근.
    #[arg(long, env = "SIM_BLOCK_PAGE", default_value_t = 0.0)]
    pub block_page: f64,
    /// Rate of truncated HTML bodies.
    #[arg(long, env = "SIM_TRUNCATE", default_value_t = 0.0)]
    pub truncate: f64,
    /// Rate of slow bodies.
    #[arg(long, env = "SIM_SLOW_BODY", default_value_t = 0.0)]
    pub slow_body: f64,
    /// Pace of slow bodies in bytes per second.
    #[arg(long, env = "SIM_SLOW_BODY_BPS", default_value_t = 16_384)]
    pub slow_body_bps: u64,
    /// Rate of connection resets (RST instead of an answer).
    #[arg(long, env = "SIM_RESET", default_value_t = 0.0)]
    pub reset: f64,
    /// Throttle BURST:WINDOW_MS:PENALTY_MS: a peer IP sending more than BURST requests within WINDOW_MS gets empty 200 answers (list requests: the previous page) for PENALTY_MS. Off unless set.
    #[arg(long, env = "SIM_THROTTLE")]
    pub throttle: Option<crate::Throttle>,
}

impl FaultArgs {
    pub fn config(&self) -> FaultConfig {
        FaultConfig {
            latency: self.latency,
            scope: self.fault_scope,
            error_5xx: self.error_5xx,
            status_403: self.status_403,
            status_429: self.status_429,
            retry_after_secs: self.retry_after,
            retry_after_share: self.retry_after_share,
            empty_200: self.empty_200,
            repeat_page: self.repeat_page,
            block_page: self.block_page,
            truncate: self.truncate,
            slow_body: self.slow_body,
            slow_body_bytes_per_sec: self.slow_body_bps,
            reset: self.reset,
            throttle: self.throttle,
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct TruthArgs {
    /// The scrape config (scrapConfig.json format).
    #[arg(long, env = "SIM_CONFIG")]
    pub config: PathBuf,
    #[command(flatten)]
    pub catalogue: CatalogueArgs,
}

fn parse_scope(text: &str) -> Result<Scope, String> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|_| format!("unknown scope {text:?}: all, list, ajax or pages"))
}

fn number(text: &str) -> Result<u64, String> {
    text.trim().parse().map_err(|_| format!("not a number of milliseconds: {text:?}"))
}

fn parse_latency(text: &str) -> Result<Latency, String> {
    let (kind, rest) = text.split_once(':').unwrap_or((text, ""));
    match kind {
        "none" => Ok(Latency::None),
        "fixed" => Ok(Latency::Fixed { ms: number(rest)? }),
        "uniform" => {
            let (min, max) = rest.split_once('-').ok_or("uniform:MIN_MS-MAX_MS")?;
            Ok(Latency::Uniform { min_ms: number(min)?, max_ms: number(max)? })
        }
        "longtail" => {
            let parts: Vec<&str> = rest.split(':').collect();
            let [median, sigma, max] = parts.as_slice() else {
                return Err("longtail:MEDIAN_MS:SIGMA:MAX_MS".to_owned());
            };
            let sigma: f64 = sigma.parse().map_err(|_| format!("bad sigma {sigma:?}"))?;
            Ok(Latency::LongTail { median_ms: number(median)?, sigma, max_ms: number(max)? })
        }
        _ => Err(format!("unknown latency {text:?}")),
    }
}

/// A scrape config file, its path named in the error.
///
/// # Errors
/// The file cannot be read or is not a valid config.
pub fn load_config(path: &std::path::Path) -> anyhow::Result<ScrapeConfig> {
    ScrapeConfig::load(path).with_context(|| format!("loading {}", path.display()))
}
