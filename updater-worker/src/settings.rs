//! The updater's settings: every flag also an environment variable, defaults in one place.

use std::time::Duration;

use clap::Args;
use common::settings::{CommonSettings, WorkerSettings};

#[derive(Debug, Clone, Args)]
pub struct UpdaterSettings {
    #[command(flatten)]
    pub common: CommonSettings,

    #[command(flatten)]
    pub worker: WorkerSettings,

    /// Results written per MongoDB transaction.
    #[arg(long, env = "EK_BATCH_SIZE", default_value_t = 10)]
    pub batch_size: usize,

    /// How long to wait for a batch to fill once its first result arrived.
    #[arg(long, env = "EK_BATCH_WAIT", value_parser = humantime::parse_duration, default_value = "200ms")]
    pub batch_wait: Duration,

    /// Batches in flight in this process.
    #[arg(long, env = "EK_CONCURRENCY", default_value_t = 1)]
    pub concurrency: usize,
}
