//! What the electrokerot processes share: the scrape config, the stream messages, the Redis
//! key layout, the `parts` contract, settings and tracing set-up.

pub mod backoff;
pub mod config;
pub mod consumer;
pub mod dead_letter;
pub mod endpoints;
pub mod error_text;
pub mod failpoint;
pub mod keys;
pub mod messages;
pub mod metrics;
pub mod mongo;
pub mod parts;
pub mod plan;
pub mod process_metrics;
pub mod queue;
pub mod redis_pool;
pub mod retry;
pub mod secret;
pub mod secret_files;
pub mod settings;
pub mod shutdown;
pub mod telemetry;
