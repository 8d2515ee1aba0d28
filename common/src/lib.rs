//! What the electrokerot processes share, in two layers.
//!
//! **The model** (no I/O, always built): the scrape [`config`], the stream [`messages`], the
//! [`parts`] contract, the Redis [`keys`] layout, the job [`plan`]ner and [`error_text`].
//!
//! **The runtime** (feature `runtime`, on for the processes, off for danawa-sim): the
//! [`consumer`] loop, the atomic [`queue`] steps and their [`dead_letter`]s, [`retry`] with
//! its `backoff`, the [`redis_pool`], [`endpoints`] (`/metrics`, probes), [`metrics`] and
//! [`process_metrics`], the MongoDB client ([`mongo`]), [`telemetry`], [`settings`] with [`secret`]s and [`secret_files`],
//! [`shutdown`] and test [`failpoint`]s.

pub mod config;
pub mod error_text;
pub mod keys;
pub mod messages;
pub mod parts;
pub mod plan;

#[cfg(feature = "runtime")]
pub(crate) mod backoff;
#[cfg(feature = "runtime")]
pub mod consumer;
#[cfg(feature = "runtime")]
pub mod dead_letter;
#[cfg(feature = "runtime")]
pub mod endpoints;
#[cfg(feature = "runtime")]
pub mod failpoint;
#[cfg(feature = "runtime")]
pub mod metrics;
#[cfg(feature = "runtime")]
pub mod mongo;
#[cfg(feature = "runtime")]
pub mod process_metrics;
#[cfg(feature = "runtime")]
pub mod queue;
#[cfg(feature = "runtime")]
pub mod redis_pool;
#[cfg(feature = "runtime")]
pub mod retry;
#[cfg(feature = "runtime")]
pub mod secret;
#[cfg(feature = "runtime")]
pub mod secret_files;
#[cfg(feature = "runtime")]
pub mod settings;
#[cfg(feature = "runtime")]
pub mod shutdown;
#[cfg(feature = "runtime")]
pub mod telemetry;
