//! The optional requests-per-second budget shared by all crawler replicas: GCRA in a Redis
//! Lua script (`lua/gcra.lua`), so a fleet of any size stays under one rate.

use std::time::Duration;

use common::redis_pool::Pool;

static SCRIPT: std::sync::LazyLock<redis::Script> =
    std::sync::LazyLock::new(|| redis::Script::new(include_str!("../lua/gcra.lua")));

#[derive(Clone)]
pub(crate) struct RateLimiter {
    pool: Pool,
    key: String,
    interval_us: u64,
}

impl RateLimiter {
    /// A budget of `per_second` requests (no burst beyond one request).
    pub(crate) fn new(pool: Pool, key: String, per_second: f64) -> Self {
        let interval_us = if per_second > 0.0 { (1_000_000.0 / per_second).round() as u64 } else { u64::MAX / 4 };
        Self { pool, key, interval_us: interval_us.max(1) }
    }

    /// Waits until the budget allows one more request.
    ///
    /// # Errors
    /// Redis errors; the caller retries the job as it would a failed request.
    pub(crate) async fn acquire(&self) -> redis::RedisResult<()> {
        loop {
            let wait_us = {
                let mut conn = self.pool.get().await.map_err(common::redis_pool::pool_error)?;
                let wait: u64 = SCRIPT.key(&self.key).arg(self.interval_us).arg(0).invoke_async(&mut conn).await?;
                wait
            };
            if wait_us == 0 {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_micros(wait_us)).await;
        }
    }
}
