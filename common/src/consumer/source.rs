//! Where a consumer's next batch comes from: its own pending entries first (a restarted pod
//! resumes its own work), then entries reclaimed from dead consumers, then new ones.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use crate::redis_pool::{pool_error, Pool};
use redis::Value;

use super::reply::{parse_autoclaim_reply, parse_read_reply};
use super::schedule::{BatchDeadline, ClaimSchedule};
use super::{ensure_group, ConsumerSettings, Delivery, RawEntry, FORGET_CONSUMER_AFTER, IDLE_BLOCK};

/// Where the next batch comes from: own pending entries first, then reclaimed ones, then new.
pub(super) struct EntrySource {
    pub(super) pool: Pool,
    pub(super) settings: ConsumerSettings,
    pub(super) group_ready: bool,
    /// Cursor into this consumer's own pending entries; `None` once they are all handed out.
    own_cursor: Option<String>,
    claim_cursor: String,
    claims: ClaimSchedule,
    /// Claimed entries not yet handed to a slot.
    claimed: VecDeque<Delivery>,
}

impl EntrySource {
    pub(super) fn new(pool: Pool, settings: ConsumerSettings) -> Self {
        let claims = ClaimSchedule::new(settings.claim_interval);
        Self {
            pool,
            settings,
            group_ready: false,
            own_cursor: Some("0-0".into()),
            claim_cursor: super::schedule::SCAN_COMPLETE.into(),
            claims,
            claimed: VecDeque::new(),
        }
    }

    pub(super) async fn next_batch(&mut self, free_slots: usize) -> redis::RedisResult<Vec<Delivery>> {
        let mut conn = self.pool.get().await.map_err(pool_error)?;
        if !self.group_ready {
            ensure_group(&mut conn, &self.settings.stream, &self.settings.group).await?;
            self.group_ready = true;
        }
        let size = self.settings.batch_size;
        if !self.claimed.is_empty() {
            let n = size.min(self.claimed.len());
            return Ok(self.claimed.drain(..n).collect());
        }
        if let Some(cursor) = self.own_cursor.clone() {
            let own = self.read_own_pending(&mut conn, &cursor).await?;
            if !own.is_empty() {
                return Ok(own);
            }
        }
        if self.claims.is_due() {
            self.claim(&mut conn, free_slots + 1).await?;
            if !self.claimed.is_empty() {
                let n = size.min(self.claimed.len());
                return Ok(self.claimed.drain(..n).collect());
            }
        }
        self.read_new(&mut conn).await
    }

    async fn read_own_pending(
        &mut self,
        conn: &mut crate::redis_pool::Connection,
        cursor: &str,
    ) -> redis::RedisResult<Vec<Delivery>> {
        let entries = self.read_group(conn, cursor, self.settings.batch_size, None).await?;
        match entries.last() {
            None => {
                self.own_cursor = None;
                return Ok(Vec::new());
            }
            Some((last, _)) => self.own_cursor = Some(last.clone()),
        }
        let deliveries = self.delivery_counts(conn, &entries).await?;
        if !entries.is_empty() {
            tracing::info!(count = entries.len(), "resuming this consumer's own pending entries");
        }
        Ok(with_counts(entries, &deliveries))
    }

    /// Takes entries idle longer than `claim_idle` from other consumers, up to `slots` batches.
    async fn claim(&mut self, conn: &mut crate::redis_pool::Connection, slots: usize) -> redis::RedisResult<()> {
        let s = &self.settings;
        let idle_ms = u64::try_from(s.claim_idle.as_millis()).unwrap_or(u64::MAX);
        let reply: Value = redis::cmd("XAUTOCLAIM")
            .arg(&s.stream)
            .arg(&s.group)
            .arg(&s.consumer)
            .arg(idle_ms)
            .arg(&self.claim_cursor)
            .arg("COUNT")
            .arg(slots * s.batch_size)
            .query_async(&mut *conn)
            .await?;
        let (next_cursor, entries) = parse_autoclaim_reply(reply);
        self.claims.scanned(&next_cursor);
        self.claim_cursor = next_cursor;
        if !entries.is_empty() {
            tracing::info!(count = entries.len(), stream = %self.settings.stream, "reclaimed idle entries of another consumer");
            let deliveries = self.delivery_counts(conn, &entries).await?;
            self.claimed.extend(with_counts(entries, &deliveries));
        } else {
            self.forget_idle_consumers(conn).await?;
        }
        Ok(())
    }

    async fn read_new(&mut self, conn: &mut crate::redis_pool::Connection) -> redis::RedisResult<Vec<Delivery>> {
        let size = self.settings.batch_size;
        let mut batch = self.read_group(conn, ">", size, Some(IDLE_BLOCK)).await?;
        if batch.is_empty() || batch.len() >= size {
            return Ok(with_counts(batch, &HashMap::new()));
        }
        // Fill the batch for at most `batch_wait`; each read returns as soon as entries arrive.
        let deadline = BatchDeadline::after(self.settings.batch_wait);
        while batch.len() < size {
            let Some(left) = deadline.left() else { break };
            batch.extend(self.read_group(conn, ">", size - batch.len(), Some(left)).await?);
        }
        Ok(with_counts(batch, &HashMap::new()))
    }

    /// `XREADGROUP` from `cursor`: `>` for new entries (blocking up to `block`), an id for
    /// this consumer's own pending ones (never blocks).
    async fn read_group(
        &self,
        conn: &mut crate::redis_pool::Connection,
        cursor: &str,
        count: usize,
        block: Option<Duration>,
    ) -> redis::RedisResult<Vec<RawEntry>> {
        let s = &self.settings;
        let mut cmd = redis::cmd("XREADGROUP");
        cmd.arg("GROUP").arg(&s.group).arg(&s.consumer).arg("COUNT").arg(count);
        if let Some(block) = block {
            cmd.arg("BLOCK").arg(u64::try_from(block.as_millis()).unwrap_or(u64::MAX).max(1));
        }
        let reply: Value = cmd.arg("STREAMS").arg(&s.stream).arg(cursor).query_async(conn).await?;
        Ok(parse_read_reply(reply))
    }

    /// Delivery counts of this consumer's pending entries in the range of `entries`.
    async fn delivery_counts(
        &self,
        conn: &mut crate::redis_pool::Connection,
        entries: &[RawEntry],
    ) -> redis::RedisResult<HashMap<String, u64>> {
        let (Some((first, _)), Some((last, _))) = (entries.first(), entries.last()) else {
            return Ok(HashMap::new());
        };
        let s = &self.settings;
        let reply: Vec<(String, String, u64, u64)> = redis::cmd("XPENDING")
            .arg(&s.stream)
            .arg(&s.group)
            .arg(first)
            .arg(last)
            .arg(entries.len())
            .arg(&s.consumer)
            .query_async(conn)
            .await?;
        Ok(reply.into_iter().map(|(id, _, _, count)| (id, count)).collect())
    }

    /// Removes consumers that hold nothing and have been idle for long: dead pods' names.
    async fn forget_idle_consumers(&self, conn: &mut crate::redis_pool::Connection) -> redis::RedisResult<()> {
        let s = &self.settings;
        let info: redis::streams::StreamInfoConsumersReply =
            redis::cmd("XINFO").arg("CONSUMERS").arg(&s.stream).arg(&s.group).query_async(&mut *conn).await?;
        let limit = u64::try_from(FORGET_CONSUMER_AFTER.as_millis()).unwrap_or(u64::MAX);
        for consumer in info.consumers {
            let idle = u64::try_from(consumer.idle).unwrap_or(0);
            if consumer.pending == 0 && idle > limit && consumer.name != s.consumer {
                let _: i64 = redis::cmd("XGROUP")
                    .arg("DELCONSUMER")
                    .arg(&s.stream)
                    .arg(&s.group)
                    .arg(&consumer.name)
                    .query_async(&mut *conn)
                    .await?;
            }
        }
        Ok(())
    }
}

fn with_counts(entries: Vec<RawEntry>, counts: &HashMap<String, u64>) -> Vec<Delivery> {
    entries
        .into_iter()
        .map(|(id, fields)| {
            let deliveries = counts.get(&id).copied().unwrap_or(1);
            Delivery { id, fields, deliveries }
        })
        .collect()
}
