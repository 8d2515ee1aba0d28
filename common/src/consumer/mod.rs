//! The consumer-group loop both workers run: at most `slots` batches in flight, a new read
//! only when a slot is free and the handler wants more (so idle replicas get the rest of the
//! work), the consumer's own pending entries first (a restarted pod resumes its own work),
//! entries of dead consumers reclaimed with XAUTOCLAIM, Redis outages ridden out with
//! backoff, and a drain with a time limit on shutdown. No timer paces the work: reads block
//! on Redis until work arrives.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::redis_pool::{pool_error, Pool};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use redis::Value;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::metrics::WorkerMetrics;
use crate::retry::{Always, Retrier, RetryPolicy};

mod reply;
mod schedule;
mod source;

use source::EntrySource;

/// An entry as read: its id and fields.
pub(crate) type RawEntry = (String, HashMap<String, Value>);

/// How long one blocking read waits for new entries before the loop looks at reclaiming.
const IDLE_BLOCK: Duration = Duration::from_secs(2);
/// Retries of a failed read: forever (a worker waits out a Redis outage), 100 ms to 10 s.
const READ_RETRY: RetryPolicy = RetryPolicy::forever(Duration::from_millis(100), Duration::from_secs(10));
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
    /// Called by the loop as it takes `batch`, before the returned future is spawned: what
    /// the handler does before its first `.await` happens at once (the crawler counts the job
    /// as demand on its request slots there, see [`BatchHandler::wants_more`]).
    fn handle(self: Arc<Self>, batch: Vec<Delivery>) -> impl Future<Output = ()> + Send + 'static;

    /// Resolves when the handler could start one more batch without leaving it waiting; the
    /// loop reads the next batch only then (and only when a batch slot is free). By default
    /// at once: the batch slots alone limit the work.
    fn wants_more(&self) -> impl Future<Output = ()> + Send {
        std::future::ready(())
    }
}

/// Runs until `shutdown` is cancelled, then drains in-flight batches for at most
/// `shutdown_grace`; what is still unfinished stays pending for other consumers.
pub async fn run<H: BatchHandler>(
    pool: Pool,
    settings: ConsumerSettings,
    handler: Arc<H>,
    metrics: WorkerMetrics,
    shutdown: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(settings.slots));
    let mut tasks = JoinSet::new();
    let mut source = EntrySource::new(pool, settings.clone());
    let mut health = Retrier::new("read the stream", READ_RETRY);
    loop {
        let permit = tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            () = handler.wants_more() => {}
        }
        while let Some(joined) = tasks.try_join_next() {
            report_panic(joined, &metrics);
        }
        let free_slots = slots.available_permits();
        // Not raced against shutdown: a blocking read dropped half-way would leave the entries
        // it was given pending here, unprocessed until reclaimed. It returns within IDLE_BLOCK.
        let batch = source.next_batch(free_slots).await;
        match batch {
            Ok(batch) if batch.is_empty() => {
                health.succeeded();
                if shutdown.is_cancelled() {
                    break;
                }
            }
            Ok(batch) => {
                health.succeeded();
                let in_use = SlotInUse::new(&metrics.slots_in_use);
                let keep_alive = KeepAlive::new(&source, &batch, metrics.keep_alive_failures.clone());
                let work = handler.clone().handle(batch);
                tasks.spawn(async move {
                    // Both guards are dropped when the task ends, a panic included.
                    let _slot = (in_use, permit);
                    tokio::select! {
                        () = work => {}
                        () = keep_alive.run() => {}
                    }
                });
            }
            Err(error) => {
                drop(permit);
                if error.code() == Some("NOGROUP") {
                    source.group_ready = false;
                }
                if health.wait(Always(error), &shutdown).await.is_err() {
                    break;
                }
            }
        }
    }
    drain(tasks, settings.shutdown_grace, &metrics).await;
}

/// A slot's share of the in-use gauge, given back on drop: a handler that panics does not
/// leave the gauge counting a slot that is free again.
struct SlotInUse(Gauge);

impl SlotInUse {
    fn new(gauge: &Gauge) -> Self {
        gauge.inc();
        Self(gauge.clone())
    }
}

impl Drop for SlotInUse {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// A panicking handler is logged and counted; its entries stay pending and are reclaimed.
fn report_panic(joined: Result<(), tokio::task::JoinError>, metrics: &WorkerMetrics) {
    if let Err(error) = joined {
        if error.is_panic() {
            metrics.handler_panics.inc();
            tracing::error!(%error, "a batch handler panicked: its entries stay pending until reclaimed");
        }
    }
}

async fn drain(mut tasks: JoinSet<()>, grace: Duration, metrics: &WorkerMetrics) {
    let in_flight = tasks.len();
    if in_flight == 0 {
        return;
    }
    tracing::info!(in_flight, grace_secs = grace.as_secs_f64(), "draining in-flight work");
    let finished = tokio::time::timeout(grace, async {
        while let Some(joined) = tasks.join_next().await {
            report_panic(joined, metrics);
        }
    })
    .await;
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
    failures: Counter,
}

impl KeepAlive {
    fn new(source: &EntrySource, batch: &[Delivery], failures: Counter) -> Self {
        let s = &source.settings;
        Self {
            pool: source.pool.clone(),
            stream: s.stream.clone(),
            group: s.group.clone(),
            consumer: s.consumer.clone(),
            ids: batch.iter().map(|d| d.id.clone()).collect(),
            every: schedule::keep_alive_every(s.claim_idle),
            failures,
        }
    }

    /// Never returns; dropped when the batch is done. A failed claim is counted and logged;
    /// the next one comes a period later (see [`schedule::keep_alive_every`]).
    async fn run(self) {
        schedule::keep_alive(
            self.every,
            || self.claim(),
            |error| {
                self.failures.inc();
                tracing::warn!(
                    entries = self.ids.len(),
                    error = crate::error_text::chain(&error),
                    "could not keep in-flight entries alive: they may be reclaimed by another consumer"
                );
            },
        )
        .await;
    }

    async fn claim(&self) -> redis::RedisResult<()> {
        let mut conn = self.pool.get().await.map_err(pool_error)?;
        let mut cmd = redis::cmd("XCLAIM");
        cmd.arg(&self.stream).arg(&self.group).arg(&self.consumer).arg(0).arg(&self.ids).arg("JUSTID");
        cmd.query_async::<Value>(&mut conn).await.map(drop)
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
