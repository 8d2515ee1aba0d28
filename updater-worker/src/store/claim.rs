//! Claims stale pcodes in Redis so each gets at most one item job per run, in one Lua call per
//! batch. A claim is keyed by the stream entry that made it, so a redelivered entry (its
//! transaction committed but its ack was lost) finds its claim again and re-emits the job.

use std::time::Duration;

use common::keys::Keys;

const SCRIPT: &str = include_str!("../../lua/claim_items.lua");

/// A pcode one entry wants to claim in one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRequest<'a> {
    pub run_id: &'a str,
    pub pcode: &'a str,
    pub entry_id: &'a str,
}

#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    #[error("no Redis connection: {0}")]
    Pool(#[from] common::redis_pool::PoolError),
    #[error("claim script failed: {0}")]
    Script(#[from] redis::RedisError),
    #[error("claim script answered {got} flags for {asked} claims")]
    Answer { asked: usize, got: usize },
}

/// Runs `claim_items.lua` against the deployment's Redis.
#[derive(Clone)]
pub struct Claimer {
    pool: common::redis_pool::Pool,
    keys: Keys,
    script: redis::Script,
    /// How long a run's claim hash is kept after its last claim (`--keep-for`).
    ttl: Duration,
}

impl Claimer {
    pub fn new(pool: common::redis_pool::Pool, keys: Keys, ttl: Duration) -> Self {
        Self { pool, keys, script: redis::Script::new(SCRIPT), ttl }
    }

    /// One flag per request: true when the pcode is (or already was) claimed by that entry.
    ///
    /// # Errors
    /// Redis unreachable or the script failing; nothing is claimed on a script error.
    pub async fn claim(&self, requests: &[ClaimRequest<'_>]) -> Result<Vec<bool>, ClaimError> {
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        let mut runs: Vec<&str> = Vec::new();
        let mut invocation = self.script.prepare_invoke();
        invocation.arg(self.ttl.as_secs().max(1));
        for request in requests {
            let index = match runs.iter().position(|r| *r == request.run_id) {
                Some(at) => at,
                None => {
                    runs.push(request.run_id);
                    invocation.key(self.keys.run_items_seen(request.run_id));
                    runs.len() - 1
                }
            };
            invocation.arg(index + 1).arg(request.pcode).arg(request.entry_id);
        }
        let mut conn = self.pool.get().await?;
        let flags: Vec<i64> = invocation.invoke_async(&mut conn).await?;
        if flags.len() != requests.len() {
            return Err(ClaimError::Answer { asked: requests.len(), got: flags.len() });
        }
        Ok(flags.into_iter().map(|f| f == 1).collect())
    }
}
