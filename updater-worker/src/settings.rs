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

    /// Most results written per MongoDB transaction. Batches adapt: a read takes every
    /// result waiting, up to this cap, so batches grow while results pile up during a write
    /// and shrink to one when the updater keeps up.
    #[arg(long, env = "EK_BATCH_SIZE", default_value_t = 64)]
    pub batch_size: usize,

    /// How long a batch may wait for more results once its first arrived; 0 (the default)
    /// sends what is waiting at once. A longer wait only adds latency at low load.
    #[arg(long, env = "EK_BATCH_WAIT", value_parser = humantime::parse_duration, default_value = "0s")]
    pub batch_wait: Duration,

    /// Batches in flight in this process.
    #[arg(long, env = "EK_CONCURRENCY", default_value_t = 1)]
    pub concurrency: usize,
}
