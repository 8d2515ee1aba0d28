//! What the electrokerot processes share: the scrape config, the stream messages, the Redis
//! key layout, the `parts` contract, settings and tracing set-up.

pub mod config;
pub mod keys;
pub mod messages;
pub mod parts;
pub mod redis_pool;
pub mod secret;
pub mod settings;
pub mod telemetry;
