//! The producer: validates the scrape config, starts or resumes a run, enqueues its list-page
//! jobs, waits for the run to finish, and reports progress (`status`, the `serve` gauges) and
//! dead letters.

pub mod counters;
pub mod dead_letter_admin;
pub(crate) mod enqueue;
pub mod progress;
pub(crate) mod rate;
pub mod run;
pub mod run_state;
pub mod serve;
pub mod settings;
pub mod status;
pub mod summary;
pub mod validate;

/// What can go wrong in the producer's library; each variant says what the operator does next.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The config is invalid: the report names every problem (exit 2, nothing enqueued).
    #[error("{}", crate::validate::report(.0))]
    InvalidConfig(#[source] common::config::ConfigError),
    /// A config without categories: a run without list pages could never be seen to finish.
    #[error("{}: no categories to crawl", .0.display())]
    NoCategories(std::path::PathBuf),
    #[error(
        "refusing to start a fresh run: run {run} still has {pending} pending entries \
         (crawlers {crawlers}, updaters {updaters}); wait for the workers, or add --force to \
         abandon that work"
    )]
    FreshRefused { run: String, pending: u64, crawlers: u64, updaters: u64 },
    #[error("the run hash changed while this producer was starting a run (another producer?); try again")]
    RunChanged,
    #[error("the run was replaced by another producer (--fresh); this producer stops watching it")]
    RunReplaced,
    #[error("Redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("Redis connection pool: {0}")]
    Pool(String),
}

impl From<common::redis_pool::PoolError> for Error {
    fn from(e: common::redis_pool::PoolError) -> Self {
        match e {
            common::redis_pool::PoolError::Backend(e) => Error::Redis(e),
            other => Error::Pool(other.to_string()),
        }
    }
}
