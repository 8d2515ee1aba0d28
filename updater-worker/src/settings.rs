//! The updater's settings: every flag also an environment variable, defaults in one place.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, ValueEnum};
use common::settings::CommonSettings;

#[derive(Debug, Clone, Args)]
pub struct UpdaterSettings {
    #[command(flatten)]
    pub common: CommonSettings,

    /// Results written per MongoDB transaction.
    #[arg(long, env = "EK_BATCH_SIZE", default_value_t = 10)]
    pub batch_size: usize,

    /// How long to wait for a batch to fill once its first result arrived.
    #[arg(long, env = "EK_BATCH_WAIT", value_parser = humantime::parse_duration, default_value = "200ms")]
    pub batch_wait: Duration,

    /// Batches in flight in this process.
    #[arg(long, env = "EK_CONCURRENCY", default_value_t = 1)]
    pub concurrency: usize,

    /// `production` refuses a Redis URL without a password.
    #[arg(long = "env", env = "EK_ENV", value_enum, default_value_t = Environment::Development)]
    pub environment: Environment,

    /// Address of /healthz, /readyz and /metrics.
    #[arg(long, env = "EK_HTTP_ADDR", default_value = "0.0.0.0:9100")]
    pub http_addr: SocketAddr,

    /// Consumer name in the group; default HOSTNAME-PID (a pod name in Kubernetes).
    #[arg(long, env = "EK_CONSUMER_NAME")]
    pub consumer_name: Option<String>,

    /// How long one batch is retried inside the store before the worker reports it and tries
    /// again (the batch is never acked meanwhile).
    #[arg(long, env = "EK_MONGO_RETRY_WINDOW", value_parser = humantime::parse_duration, default_value = "60s")]
    pub mongo_retry_window: Duration,

    /// Deliveries of one entry (its consumers kept dying) before it is dead-lettered.
    #[arg(long, env = "EK_MAX_DELIVERIES", default_value_t = 5)]
    pub max_deliveries: u64,

    /// How often to look for entries abandoned by dead consumers.
    #[arg(long, env = "EK_CLAIM_INTERVAL", value_parser = humantime::parse_duration, default_value = "15s")]
    pub claim_interval: Duration,

    /// An entry idle this long is taken over; live workers refresh theirs.
    #[arg(long, env = "EK_CLAIM_IDLE", value_parser = humantime::parse_duration, default_value = "60s")]
    pub claim_idle: Duration,

    /// On SIGTERM, time allowed to finish in-flight batches.
    #[arg(long, env = "EK_SHUTDOWN_GRACE", value_parser = humantime::parse_duration, default_value = "30s")]
    pub shutdown_grace: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Environment {
    Development,
    Production,
}
