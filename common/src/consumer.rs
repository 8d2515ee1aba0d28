//! The consumer-group loop both workers run: at most `slots` batches in flight, a new read
//! only when a slot is free (so idle replicas get the rest of the work), the consumer's own
//! pending entries first (a restarted pod resumes its own work), entries of dead consumers
//! reclaimed with XAUTOCLAIM, Redis outages ridden out with backoff, and a drain with a time
//! limit on shutdown. No timer paces the work: reads block on Redis until work arrives.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use deadpool_redis::Pool;
use prometheus_client::metrics::gauge::Gauge;
use redis::Value;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::backoff::Backoff;

/// An entry as read: its id and fields.
type RawEntry = (String, HashMap<String, Value>);

/// How long one blocking read waits for new entries before the loop looks at reclaiming.
const IDLE_BLOCK: Duration = Duration::from_secs(2);
/// Consumers with nothing pending and idle this long are removed from the group's list.
const FORGET_CONSUMER_AFTER: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone)]
pub struct ConsumerSettings {
    pub stream: String,
    pub group: String,
    /// This process's consumer name (host name and pid, or set by the operator).
    pub consumer: String,
    /// Batches in flight at once.
    pub slots: usize,
    /// Entries per batch (1 for the crawler).
    pub batch_size: usize,
    /// How long to wait for a batch to fill once its first entry arrived.
    pub batch_wait: Duration,
    pub claim_interval: Duration,
    /// Entries idle longer than this are taken from their (presumably dead) consumer.
    pub claim_idle: Duration,
    pub shutdown_grace: Duration,
}

/// One stream entry handed to a handler.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: String,
    pub fields: HashMap<String, Value>,
    /// How many times the entry has been delivered, this time included.
    pub deliveries: u64,
}

/// Processes one batch; it acknowledges what it finished (see [`crate::queue`]) and leaves
/// the rest pending, to be retried or reclaimed.
pub trait BatchHandler: Send + Sync + 'static {
    fn handle(&self, batch: Vec<Delivery>) -> impl Future<Output = ()> + Send;
}

/// Runs until `shutdown` is cancelled, then drains in-flight batches for at most
/// `shutdown_grace`; what is still unfinished stays pending for other consumers.
pub async fn run<H: BatchHandler>(
    pool: Pool,
    settings: ConsumerSettings,
    handler: Arc<H>,
    slots_in_use: Gauge,
    shutdown: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(settings.slots));
    let mut tasks = JoinSet::new();
    let mut source = EntrySource::new(pool, settings.clone());
    let mut health = ConnectionHealth::new(&settings.stream);
    loop {
        let permit = tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        while tasks.try_join_next().is_some() {}
        let free_slots = slots.available_permits();
        // Not raced against shutdown: a blocking read dropped half-way would leave the entries
        // it was given pending here, unprocessed until reclaimed. It returns within IDLE_BLOCK.
        let batch = source.next_batch(free_slots).await;
        match batch {
            Ok(batch) if batch.is_empty() => {
                health.ok();
                if shutdown.is_cancelled() {
                    break;
                }
            }
            Ok(batch) => {
                health.ok();
                let handler = handler.clone();
                let gauge = slots_in_use.clone();
                let keep_alive = KeepAlive::new(&source, &batch);
                gauge.inc();
                tasks.spawn(async move {
                    tokio::select! {
                        () = handler.handle(batch) => {}
                        () = keep_alive.run() => {}
                    }
                    gauge.dec();
                    drop(permit);
                });
            }
            Err(error) => {
                drop(permit);
                let delay = health.failed(&error);
                if error.to_string().contains("NOGROUP") {
                    source.group_ready = false;
                }
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
    drain(tasks, settings.shutdown_grace).await;
}

async fn drain(mut tasks: JoinSet<()>, grace: Duration) {
    let in_flight = tasks.len();
    if in_flight == 0 {
        return;
    }
    tracing::info!(in_flight, grace_secs = grace.as_secs_f64(), "draining in-flight work");
    let finished = tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await;
    if finished.is_err() {
        tracing::warn!(unfinished = tasks.len(), "grace period over: unfinished entries stay pending for others");
        tasks.abort_all();
    }
}

/// Keeps a batch's entries looking alive while they are worked on (XCLAIM to ourselves with
/// JUSTID resets their idle time), so a slow job is not reclaimed by another consumer; only
/// the entries of a dead consumer go idle.
struct KeepAlive {
    pool: Pool,
    stream: String,
    group: String,
    consumer: String,
    ids: Vec<String>,
    every: Duration,
}

impl KeepAlive {
    fn new(source: &EntrySource, batch: &[Delivery]) -> Self {
        let s = &source.settings;
        Self {
            pool: source.pool.clone(),
            stream: s.stream.clone(),
            group: s.group.clone(),
            consumer: s.consumer.clone(),
            ids: batch.iter().map(|d| d.id.clone()).collect(),
            every: (s.claim_idle / 3).max(Duration::from_millis(10)),
        }
    }

    /// Never returns; dropped when the batch is done.
    async fn run(self) {
        loop {
            tokio::time::sleep(self.every).await;
            let Ok(mut conn) = self.pool.get().await else { continue };
            let mut cmd = redis::cmd("XCLAIM");
            cmd.arg(&self.stream).arg(&self.group).arg(&self.consumer).arg(0).arg(&self.ids).arg("JUSTID");
            let _: redis::RedisResult<Value> = cmd.query_async(&mut conn).await;
        }
    }
}

/// Logs a Redis outage once when it starts and once when it ends, not at every retry.
struct ConnectionHealth {
    stream: String,
    backoff: Backoff,
    failing_since: Option<Instant>,
}

impl ConnectionHealth {
    fn new(stream: &str) -> Self {
        let backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(10));
        Self { stream: stream.to_owned(), backoff, failing_since: None }
    }

    fn ok(&mut self) {
        if let Some(since) = self.failing_since.take() {
            tracing::info!(stream = %self.stream, down_secs = since.elapsed().as_secs_f64(), "Redis reachable again");
        }
        self.backoff.reset();
    }

    fn failed(&mut self, error: &redis::RedisError) -> Duration {
        if self.failing_since.is_none() {
            self.failing_since = Some(Instant::now());
            tracing::warn!(stream = %self.stream, %error, "Redis unreachable: retrying with backoff");
        }
        self.backoff.next_delay()
    }
}

/// Where the next batch comes from: own pending entries first, then reclaimed ones, then new.
struct EntrySource {
    pool: Pool,
    settings: ConsumerSettings,
    group_ready: bool,
    /// Cursor into this consumer's own pending entries; `None` once they are all handed out.
    own_cursor: Option<String>,
    claim_cursor: String,
    next_claim: Instant,
    /// Claimed entries not yet handed to a slot.
    claimed: VecDeque<Delivery>,
}

impl EntrySource {
    fn new(pool: Pool, settings: ConsumerSettings) -> Self {
        Self {
            pool,
            settings,
            group_ready: false,
            own_cursor: Some("0-0".into()),
            claim_cursor: "0-0".into(),
            next_claim: Instant::now(),
            claimed: VecDeque::new(),
        }
    }

    async fn next_batch(&mut self, free_slots: usize) -> redis::RedisResult<Vec<Delivery>> {
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
        if Instant::now() >= self.next_claim {
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
        conn: &mut deadpool_redis::Connection,
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
    async fn claim(&mut self, conn: &mut deadpool_redis::Connection, slots: usize) -> redis::RedisResult<()> {
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
        // A full scan ends at cursor 0-0; until then keep going at the next chance.
        self.next_claim =
            if next_cursor == "0-0" { Instant::now() + self.settings.claim_interval } else { Instant::now() };
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

    async fn read_new(&mut self, conn: &mut deadpool_redis::Connection) -> redis::RedisResult<Vec<Delivery>> {
        let size = self.settings.batch_size;
        let mut batch = self.read_group(conn, ">", size, Some(IDLE_BLOCK)).await?;
        if batch.is_empty() || batch.len() >= size {
            return Ok(with_counts(batch, &HashMap::new()));
        }
        // Fill the batch for at most `batch_wait`; each read returns as soon as entries arrive.
        let deadline = Instant::now() + self.settings.batch_wait;
        while batch.len() < size {
            let left = deadline.saturating_duration_since(Instant::now());
            if left < Duration::from_millis(1) {
                break;
            }
            batch.extend(self.read_group(conn, ">", size - batch.len(), Some(left)).await?);
        }
        Ok(with_counts(batch, &HashMap::new()))
    }

    /// `XREADGROUP` from `cursor`: `>` for new entries (blocking up to `block`), an id for
    /// this consumer's own pending ones (never blocks).
    async fn read_group(
        &self,
        conn: &mut deadpool_redis::Connection,
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
        conn: &mut deadpool_redis::Connection,
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
    async fn forget_idle_consumers(&self, conn: &mut deadpool_redis::Connection) -> redis::RedisResult<()> {
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

/// Creates the group (and the stream) if missing; an existing group is left as it is.
///
/// # Errors
/// Redis errors other than "the group exists".
pub async fn ensure_group<C: redis::aio::ConnectionLike>(
    conn: &mut C,
    stream: &str,
    group: &str,
) -> redis::RedisResult<()> {
    let created: redis::RedisResult<()> =
        redis::cmd("XGROUP").arg("CREATE").arg(stream).arg(group).arg("0").arg("MKSTREAM").query_async(conn).await;
    match created {
        Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
        other => other,
    }
}

/// The consumer name of this process: `HOSTNAME-PID` (a pod name in Kubernetes).
pub fn default_consumer_name() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok().map(|h| h.trim().to_owned()))
        .unwrap_or_else(|| "worker".into());
    format!("{host}-{}", std::process::id())
}

pub fn pool_error(e: deadpool_redis::PoolError) -> redis::RedisError {
    match e {
        deadpool_redis::PoolError::Backend(e) => e,
        other => redis::RedisError::from((redis::ErrorKind::Io, "connection pool", other.to_string())),
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

/// `XREADGROUP` reply: `[[stream, [[id, [f, v, ...] | nil], ...]]]` or nil. An entry deleted
/// while pending comes back with nil fields; it is kept, with no fields, so it is dead-lettered
/// (as undecodable) rather than left pending forever.
fn parse_read_reply(reply: Value) -> Vec<RawEntry> {
    let mut out = Vec::new();
    for stream in into_items(reply) {
        let mut parts = into_items(stream).into_iter();
        let _name = parts.next();
        if let Some(entries) = parts.next() {
            out.extend(into_items(entries).into_iter().filter_map(parse_entry));
        }
    }
    out
}

/// `XAUTOCLAIM` reply: `[next-cursor, [[id, fields], ...], [deleted ids]]`.
fn parse_autoclaim_reply(reply: Value) -> (String, Vec<RawEntry>) {
    let mut parts = into_items(reply).into_iter();
    let cursor = parts.next().and_then(as_text).unwrap_or_else(|| "0-0".into());
    let entries = parts.next().map(into_items).unwrap_or_default().into_iter().filter_map(parse_entry).collect();
    (cursor, entries)
}

fn parse_entry(entry: Value) -> Option<RawEntry> {
    let mut parts = into_items(entry).into_iter();
    let id = parts.next().and_then(as_text)?;
    let mut fields = HashMap::new();
    let mut flat = parts.next().map(into_items).unwrap_or_default().into_iter();
    while let (Some(key), Some(value)) = (flat.next(), flat.next()) {
        if let Some(key) = as_text(key) {
            fields.insert(key, value);
        }
    }
    Some((id, fields))
}

fn into_items(value: Value) -> Vec<Value> {
    match value {
        Value::Array(items) | Value::Set(items) => items,
        Value::Map(pairs) => pairs.into_iter().flat_map(|(k, v)| [k, v]).collect(),
        _ => Vec::new(),
    }
}

fn as_text(value: Value) -> Option<String> {
    match value {
        Value::BulkString(bytes) => String::from_utf8(bytes).ok(),
        Value::SimpleString(s) => Some(s),
        _ => None,
    }
}
