//! The queue and run gauges: one reading of Redis (the `producer status` snapshot plus
//! `INFO memory`), cached for a few seconds and encoded as Prometheus families at each scrape.
//!
//! Undelivered entries are `XLEN - pending`, never Redis's `lag`: every ack deletes its entry,
//! and once a deleted entry lies between the group's last-delivered id and the stream's end
//! Redis reports `lag` as nil (the state that kept KEDA's lag trigger from waking a fleet).
//! Acknowledged entries being gone, every entry not pending is undelivered.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use common::keys::Keys;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::gauge::ConstGauge;

use crate::counters::KINDS;
use crate::status::{self, Status};

/// Longest one reading may take; past it the scrape reports `ek_redis_up 0`.
const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// A consumer that touched the group this recently is live: an idle worker reads every 2 s,
/// a busy one keeps its entries alive every `claim-idle / 3` (20 s by default).
pub const ACTIVE_WITHIN: Duration = Duration::from_secs(60);

/// Redis's memory as `INFO memory` reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RedisMemory {
    pub used_bytes: u64,
    /// `maxmemory`; 0 means no limit.
    pub max_bytes: u64,
}

impl RedisMemory {
    pub fn parse(info: &str) -> Self {
        let field = |key: &str| {
            info.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix(':')).and_then(|v| v.trim().parse().ok())
        };
        Self { used_bytes: field("used_memory").unwrap_or(0), max_bytes: field("maxmemory").unwrap_or(0) }
    }
}

/// One reading of Redis, or why there is none.
#[derive(Debug, Clone)]
pub struct Reading {
    pub status: Option<Status>,
    pub memory: RedisMemory,
    pub error: Option<String>,
    pub took: Duration,
}

impl Reading {
    fn empty() -> Self {
        Self { status: None, memory: RedisMemory::default(), error: Some("not read yet".into()), took: Duration::ZERO }
    }
}

/// The cached reading and how to renew it.
#[derive(Debug)]
pub struct QueueGauges {
    pool: common::redis_pool::Pool,
    keys: Keys,
    ttl: Duration,
    /// When the reading in `current` was taken; held across a refresh, so concurrent scrapes
    /// wait for one reading instead of each making their own.
    taken: tokio::sync::Mutex<Option<Instant>>,
    current: Arc<RwLock<Arc<Reading>>>,
}

impl QueueGauges {
    pub fn new(pool: common::redis_pool::Pool, keys: Keys, ttl: Duration) -> Self {
        Self {
            pool,
            keys,
            ttl,
            taken: tokio::sync::Mutex::new(None),
            current: Arc::new(RwLock::new(Arc::new(Reading::empty()))),
        }
    }

    /// The current reading, renewed first when older than the TTL.
    pub async fn refresh(&self) -> Arc<Reading> {
        let mut taken = self.taken.lock().await;
        if taken.is_some_and(|t| t.elapsed() < self.ttl) {
            return self.reading();
        }
        let started = Instant::now();
        let reading = match tokio::time::timeout(READ_TIMEOUT, self.read()).await {
            Ok(Ok((status, memory))) => Reading { status: Some(status), memory, error: None, took: started.elapsed() },
            Ok(Err(e)) => Reading { error: Some(e.to_string()), ..Reading::empty() },
            Err(_) => Reading { error: Some(format!("no answer within {READ_TIMEOUT:?}")), ..Reading::empty() },
        };
        if let Some(error) = &reading.error {
            tracing::warn!(%error, "cannot read the queue gauges from Redis");
        }
        let reading = Arc::new(reading);
        *self.current.write().unwrap_or_else(std::sync::PoisonError::into_inner) = reading.clone();
        *taken = Some(Instant::now());
        reading
    }

    /// The last reading, without touching Redis.
    pub fn reading(&self) -> Arc<Reading> {
        self.current.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    async fn read(&self) -> Result<(Status, RedisMemory), crate::Error> {
        let mut conn = self.pool.get().await?;
        let status = status::collect(&mut conn, &self.keys, &mut Vec::new()).await?;
        // The memory of the node holding the keys (on a Cluster, the primary of their slot).
        let info: String = conn.query_on_owner_of(&self.keys.jobs(), redis::cmd("INFO").arg("memory")).await?;
        Ok((status, RedisMemory::parse(&info)))
    }

    /// A collector that encodes the current reading.
    pub fn collector(&self) -> Box<dyn Collector> {
        Box::new(GaugeCollector { current: self.current.clone() })
    }
}

#[derive(Debug)]
struct GaugeCollector {
    current: Arc<RwLock<Arc<Reading>>>,
}

type Labels = Vec<(&'static str, String)>;

/// Writes one gauge family.
fn family(enc: &mut DescriptorEncoder, name: &str, help: &str, samples: &[(Labels, f64)]) -> std::fmt::Result {
    let probe = ConstGauge::new(0.0);
    let mut metric = enc.encode_descriptor(name, help, None, probe.metric_type())?;
    if let [(labels, value)] = samples {
        if labels.is_empty() {
            // One unlabelled sample: `encode_family` of no labels would write `name{}`.
            return ConstGauge::new(*value).encode(metric);
        }
    }
    for (labels, value) in samples {
        ConstGauge::new(*value).encode(metric.encode_family(labels)?)?;
    }
    Ok(())
}

fn single(enc: &mut DescriptorEncoder, name: &str, help: &str, value: f64) -> std::fmt::Result {
    let g = ConstGauge::new(value);
    g.encode(enc.encode_descriptor(name, help, None, g.metric_type())?)
}

fn secs(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

impl Collector for GaugeCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> std::fmt::Result {
        let reading = self.current.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        single(
            &mut enc,
            "ek_redis_up",
            "1 when the last reading of Redis succeeded",
            f64::from(u8::from(reading.error.is_none())),
        )?;
        single(
            &mut enc,
            "ek_queue_read_seconds",
            "How long the last reading of Redis took",
            reading.took.as_secs_f64(),
        )?;
        let Some(s) = &reading.status else { return Ok(()) };
        single(
            &mut enc,
            "ek_redis_memory_used_bytes",
            "Memory Redis uses (INFO used_memory)",
            reading.memory.used_bytes as f64,
        )?;
        single(
            &mut enc,
            "ek_redis_memory_max_bytes",
            "Redis maxmemory; 0 means no limit (with noeviction a full Redis refuses every write)",
            reading.memory.max_bytes as f64,
        )?;
        encode_streams(&mut enc, s)?;
        encode_run(&mut enc, s)
    }
}

fn encode_streams(enc: &mut DescriptorEncoder, s: &Status) -> std::fmt::Result {
    let mut length = vec![];
    let (mut pending, mut undelivered, mut consumers, mut active) = (vec![], vec![], vec![], vec![]);
    let (mut oldest_undelivered, mut oldest_pending, mut pending_idle) = (vec![], vec![], vec![]);
    for stream in &s.streams {
        length.push((vec![("stream", stream.name.clone())], stream.length as f64));
        for g in &stream.groups {
            let labels: Labels = vec![("stream", stream.name.clone()), ("group", g.name.clone())];
            pending.push((labels.clone(), g.pending as f64));
            undelivered.push((labels.clone(), stream.length.saturating_sub(g.pending) as f64));
            consumers.push((labels.clone(), g.consumers.len() as f64));
            let live = g.consumers.iter().filter(|c| Duration::from_millis(c.idle_ms) < ACTIVE_WITHIN).count();
            active.push((labels.clone(), live as f64));
            oldest_undelivered.push((labels.clone(), g.oldest_undelivered.as_ref().map_or(0.0, |e| secs(e.age_ms))));
            oldest_pending.push((labels.clone(), g.oldest_pending.as_ref().map_or(0.0, |p| secs(p.age_ms))));
            pending_idle.push((labels, g.oldest_pending.as_ref().map_or(0.0, |p| secs(p.idle_ms))));
        }
    }
    family(
        enc,
        "ek_stream_length",
        "Entries in the stream (acked entries are deleted: undelivered + pending)",
        &length,
    )?;
    family(enc, "ek_stream_pending", "Entries delivered to the group and not yet acknowledged", &pending)?;
    family(
        enc,
        "ek_stream_undelivered",
        "Entries not yet delivered to the group (length - pending; never nil)",
        &undelivered,
    )?;
    family(enc, "ek_stream_consumers", "Consumers registered in the group, live or not", &consumers)?;
    family(enc, "ek_stream_consumers_active", "Consumers that touched the group in the last 60 s", &active)?;
    family(
        enc,
        "ek_stream_oldest_undelivered_age_seconds",
        "How long the next entry to deliver has waited since it was added (0: none waiting)",
        &oldest_undelivered,
    )?;
    family(
        enc,
        "ek_stream_oldest_pending_age_seconds",
        "Age of the oldest pending entry since it was added (0: none pending)",
        &oldest_pending,
    )?;
    family(
        enc,
        "ek_stream_oldest_pending_idle_seconds",
        "Time since the oldest pending entry was delivered or kept alive (grows only when its consumer is gone)",
        &pending_idle,
    )?;
    single(enc, "ek_dead_letters", "Entries in the dead-letter stream (every run)", s.dead_letter_entries as f64)
}

/// The run families are always described; a family has no sample while its value is unknown
/// (no run yet, not finished yet, no item crawled yet).
fn encode_run(enc: &mut DescriptorEncoder, s: &Status) -> std::fmt::Result {
    let running = s.run.as_ref().is_some_and(|r| r.state == crate::run_state::STATE_RUNNING);
    single(enc, "ek_run_running", "1 while a run is in progress", f64::from(u8::from(running)))?;
    let run = s.run.as_ref();
    let ts = |t: chrono::DateTime<chrono::Utc>| t.timestamp_millis() as f64 / 1000.0;
    let one = |v: Option<f64>| v.map(|v| vec![(Labels::new(), v)]).unwrap_or_default();
    let info: Vec<(Labels, f64)> =
        run.map(|r| vec![(vec![("run", r.id.clone()), ("state", r.state.clone())], 1.0)]).unwrap_or_default();
    family(enc, "ek_run_info", "The current run: its id and state", &info)?;
    family(
        enc,
        "ek_run_started_timestamp_seconds",
        "When the current run started, Unix seconds",
        &one(run.map(|r| ts(r.started_at))),
    )?;
    family(
        enc,
        "ek_run_finished_timestamp_seconds",
        "When the current run finished, Unix seconds",
        &one(run.and_then(|r| r.finished_at).map(ts)),
    )?;
    let progress = run.map(|r| ts(s.last_progress_at.unwrap_or(r.started_at).max(r.started_at)));
    family(
        enc,
        "ek_run_last_progress_timestamp_seconds",
        "When the run last finished an entry (its start before the first), Unix seconds",
        &one(progress),
    )?;
    let mut entries = vec![];
    if run.is_some() {
        for kind in KINDS {
            let c = s.kinds.get(kind).copied().unwrap_or_default();
            for (state, v) in [("enqueued", c.enqueued), ("done", c.done), ("dead", c.dead), ("in_flight", c.in_flight)]
            {
                entries.push((vec![("kind", kind.to_owned()), ("state", state.to_owned())], v as f64));
            }
        }
    }
    family(
        enc,
        "ek_run_entries",
        "The run's entries by kind and state (enqueued = done + dead + in_flight)",
        &entries,
    )?;
    let known = |v: f64| one(run.map(|_| v));
    family(enc, "ek_run_balanced", "1 while every kind's counters balance", &known(f64::from(u8::from(s.balanced))))?;
    family(enc, "ek_run_requests", "HTTP requests made by the run's finished jobs", &known(s.requests as f64))?;
    let items = s.kinds.get("item").map_or(0, |c| c.done);
    family(
        enc,
        "ek_run_requests_per_product",
        "Requests per product crawled in this run",
        &one((run.is_some() && items > 0).then(|| s.requests as f64 / items as f64)),
    )?;
    let parts = if run.is_some() {
        vec![
            (vec![("outcome", "inserted".to_owned())], s.parts_inserted as f64),
            (vec![("outcome", "updated".to_owned())], s.parts_updated as f64),
        ]
    } else {
        vec![]
    };
    family(enc, "ek_run_parts", "Parts documents the run inserted or updated", &parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_fields_are_read_from_info() {
        let info = "# Memory\r\nused_memory:1048576\r\nused_memory_human:1.00M\r\nmaxmemory:536870912\r\nmaxmemory_policy:noeviction\r\n";
        assert_eq!(RedisMemory::parse(info), RedisMemory { used_bytes: 1_048_576, max_bytes: 536_870_912 });
        assert_eq!(RedisMemory::parse(""), RedisMemory::default());
    }
}
