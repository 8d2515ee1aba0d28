//! The Redis connection pool every process uses (deadpool-redis over one URL).

use std::time::Duration;

use deadpool_redis::{Manager, Pool, Runtime};
use redis::AsyncConnectionConfig;

/// Longest wait for one answer. It must exceed the longest blocking read (`XREADGROUP BLOCK`
/// in the consumer loop): redis-rs's default of 500 ms would cut those reads off, and an
/// entry delivered to a read the client gave up on would sit pending until reclaimed.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

use crate::secret::SecretUrl;

/// Builds a pool; it connects lazily, so an unreachable Redis is reported by the first use
/// (and retried by the caller), never by a crash here.
///
/// # Errors
/// When the URL is not a Redis URL.
pub fn pool(url: &SecretUrl, max_size: usize) -> Result<Pool, redis::RedisError> {
    let config = AsyncConnectionConfig::new()
        .set_response_timeout(Some(RESPONSE_TIMEOUT))
        .set_connection_timeout(Some(CONNECT_TIMEOUT));
    let manager = Manager::new_with_config(url.expose(), config)?;
    Pool::builder(manager)
        .max_size(max_size)
        .runtime(Runtime::Tokio1)
        .build()
        .map_err(|e| redis::RedisError::from((redis::ErrorKind::InvalidClientConfig, "connection pool", e.to_string())))
}
