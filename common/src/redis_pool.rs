//! The Redis connection pool every process uses (deadpool-redis over one URL).

use deadpool_redis::{Config, Pool, Runtime};

use crate::secret::SecretUrl;

/// Builds a pool; it connects lazily, so an unreachable Redis is reported by the first use
/// (and retried by the caller), never by a crash here.
///
/// # Errors
/// When the URL is not a Redis URL.
pub fn pool(url: &SecretUrl, max_size: usize) -> Result<Pool, deadpool_redis::CreatePoolError> {
    let mut config = Config::from_url(url.expose());
    config.pool = Some(deadpool_redis::PoolConfig::new(max_size));
    config.create_pool(Some(Runtime::Tokio1))
}
