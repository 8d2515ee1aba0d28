//! `producer status`: the current run's counters (done, dead, in flight per kind; they balance
//! by construction and are read in one atomic snapshot with the stream lengths), each stream's
//! length, groups (lag, pending) and consumers (pending, idle) from XINFO and XPENDING, the rate
//! over the last minute and an ETA.

use std::collections::{BTreeMap, HashMap};
use std::fmt::{self, Write as _};
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::keys::Keys;
use common::redis_pool::{Pool, Target};
use redis::aio::ConnectionLike;
use redis::streams::{StreamInfoConsumersReply, StreamInfoGroupsReply, StreamPendingCountReply, StreamRangeReply};
use serde::Serialize;

use crate::counters::{KindCounts, RunCounters, KINDS};
use crate::rate::{self, Rate, Sample};
use crate::run_state::{self, field, RunInfo};
use crate::Error;

/// Everything `status` shows, as `--json` prints it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// Redis's own clock when the snapshot was read (entry ids and `progress:at` use it too).
    pub at: DateTime<Utc>,
    pub run: Option<RunView>,
    /// Per kind (`list`, `item`, `list-result`, `item-result`): enqueued = done + dead + inFlight.
    pub kinds: BTreeMap<&'static str, KindCounts>,
    pub total: KindCounts,
    /// Every kind balances and nothing is negative.
    pub balanced: bool,
    pub requests: i64,
    pub parts_inserted: i64,
    pub parts_updated: i64,
    pub streams: Vec<StreamStatus>,
    /// Entries in the dead-letter stream (every run; `producer dead-letters list`).
    pub dead_letter_entries: u64,
    pub rate: Rate,
    /// Seconds until the work known now is finished at the current rate.
    pub eta_secs: Option<f64>,
    /// When the run last finished an entry (done or dead); `None` before the first.
    pub last_progress_at: Option<DateTime<Utc>>,
    /// The run this one replaced (`--fresh`), with its counters: its entries left in the
    /// streams were counted as superseded, so it balances too.
    pub replaced: Option<ReplacedView>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplacedView {
    pub id: String,
    pub kinds: BTreeMap<&'static str, KindCounts>,
    pub total: KindCounts,
    /// Every kind balances: enqueued = done + dead + superseded + in flight.
    pub balanced: bool,
    /// Entries moved out of the streams when the new run started and not counted yet.
    pub uncounted: u64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunView {
    pub id: String,
    pub state: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub config_hash: String,
    pub elapsed_secs: f64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamStatus {
    pub name: String,
    /// Entries in the stream: acknowledged entries are deleted, so these are the undelivered
    /// and pending ones.
    pub length: u64,
    /// What the run's counters say is in flight in this stream (its kinds' sum).
    pub in_flight_by_counters: i64,
    /// `length == inFlightByCounters` (a new run starts with both streams emptied of older
    /// runs' entries).
    pub matches_counters: bool,
    pub groups: Vec<GroupStatus>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupStatus {
    pub name: String,
    /// Entries not yet delivered to any consumer of the group.
    pub lag: Option<u64>,
    /// Delivered, not yet acknowledged.
    pub pending: u64,
    pub last_delivered_id: String,
    /// The first entry not yet delivered to the group, and how long it has waited.
    pub oldest_undelivered: Option<EntryAge>,
    pub oldest_pending: Option<PendingEntry>,
    pub consumers: Vec<ConsumerStatus>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingEntry {
    pub id: String,
    pub consumer: String,
    /// Since the entry was added (its id's time).
    pub age_ms: u64,
    /// Since it was last delivered or kept alive by its consumer.
    pub idle_ms: u64,
    pub deliveries: u64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EntryAge {
    pub id: String,
    /// Since the entry was added (its id's time).
    pub age_ms: u64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerStatus {
    pub name: String,
    pub pending: u64,
    pub idle_ms: u64,
}

/// The counters and stream lengths, read in one MULTI so they agree with each other.
struct Snapshot {
    run: Option<RunInfo>,
    samples: Vec<Sample>,
    counters: RunCounters,
    lengths: [u64; 3],
    /// Redis's clock, Unix ms.
    now_ms: i64,
}

/// Reads the status. `local` keeps this process's own samples (for `--watch`), merged with the
/// ones the producer's `run` loop writes, so a rate shows even when no producer is running.
///
/// # Errors
/// Redis errors.
pub async fn collect<C: ConnectionLike>(conn: &mut C, keys: &Keys, local: &mut Vec<Sample>) -> Result<Status, Error> {
    let snap = snapshot(conn, keys).await?;
    let now = Sample::of(crate::progress::now_ms(), &snap.counters);
    let mut ring = snap.samples.clone();
    for sample in local.iter() {
        rate::push(&mut ring, *sample);
    }
    ring.sort_by_key(|s| s.t);
    let rate = rate::rate(&ring, now);
    if snap.run.as_ref().is_some_and(RunInfo::is_running) {
        rate::push(local, now);
    }
    let streams = vec![
        stream_status(conn, &keys.jobs(), snap.lengths[0], in_flight(&snap.counters, 0..2), snap.now_ms).await?,
        stream_status(conn, &keys.results(), snap.lengths[1], in_flight(&snap.counters, 2..4), snap.now_ms).await?,
    ];
    let replaced = replaced(conn, keys).await?;
    Ok(Status {
        replaced,
        at: DateTime::from_timestamp_millis(snap.now_ms).unwrap_or_else(Utc::now),
        last_progress_at: snap.counters.progress_at_ms.and_then(DateTime::from_timestamp_millis),
        run: snap.run.as_ref().map(run_view),
        kinds: KINDS.iter().zip(snap.counters.kinds).map(|(k, c)| (*k, c)).collect(),
        total: snap.counters.total(),
        balanced: snap.counters.balances(),
        requests: snap.counters.requests,
        parts_inserted: snap.counters.parts_inserted,
        parts_updated: snap.counters.parts_updated,
        streams,
        dead_letter_entries: snap.lengths[2],
        eta_secs: snap.run.as_ref().filter(|r| r.is_running()).and_then(|_| rate::eta_secs(&snap.counters, &rate)),
        rate,
    })
}

/// The replaced run's counters and the superseded entries not counted yet.
async fn replaced<C: ConnectionLike>(conn: &mut C, keys: &Keys) -> Result<Option<ReplacedView>, Error> {
    let id: Option<String> = redis::cmd("HGET").arg(keys.run()).arg(field::REPLACED_RUN).query_async(conn).await?;
    let Some(id) = id.filter(|id| !id.is_empty()) else { return Ok(None) };
    let (hash, jobs, results): (HashMap<String, String>, u64, u64) = redis::pipe()
        .hgetall(keys.run_counters(&id))
        .xlen(keys.superseded(&keys.jobs()))
        .xlen(keys.superseded(&keys.results()))
        .query_async(conn)
        .await?;
    let counters = RunCounters::from_hash(&hash);
    Ok(Some(ReplacedView {
        id,
        kinds: KINDS.iter().zip(counters.kinds).map(|(k, c)| (*k, c)).collect(),
        total: counters.total(),
        balanced: counters.balances(),
        uncounted: jobs + results,
    }))
}

fn in_flight(counters: &RunCounters, kinds: std::ops::Range<usize>) -> i64 {
    counters.kinds[kinds].iter().map(|k| k.in_flight).sum()
}

fn run_view(run: &RunInfo) -> RunView {
    let end = run.finished_at.unwrap_or_else(Utc::now);
    RunView {
        id: run.id.clone(),
        state: run.state.clone(),
        started_at: run.started_at,
        finished_at: run.finished_at,
        config_hash: run.config_hash.clone(),
        elapsed_secs: (end - run.started_at).num_milliseconds() as f64 / 1000.0,
    }
}

/// The run hash, the counters, XLEN of jobs, results and dead letters, and Redis's `TIME`.
type SnapshotReply = (HashMap<String, String>, HashMap<String, String>, u64, u64, u64, (i64, i64));

async fn snapshot<C: ConnectionLike>(conn: &mut C, keys: &Keys) -> Result<Snapshot, Error> {
    // The run id names the counters key, so it is read first; the MULTI then checks it again
    // and the read is repeated in the rare case a new run started in between.
    let mut id: Option<String> = redis::cmd("HGET").arg(keys.run()).arg(field::ID).query_async(conn).await?;
    loop {
        let counters_key = keys.run_counters(id.as_deref().unwrap_or("-"));
        let (hash, counters, jobs, results, dead, time): SnapshotReply = redis::pipe()
            .atomic()
            .hgetall(keys.run())
            .hgetall(counters_key)
            .xlen(keys.jobs())
            .xlen(keys.results())
            .xlen(keys.dead())
            .cmd("TIME")
            .query_async(conn)
            .await?;
        let seen = hash.get(field::ID).cloned();
        if seen != id {
            id = seen;
            continue;
        }
        return Ok(Snapshot {
            run: RunInfo::from_hash(&hash),
            samples: rate::decode(hash.get(field::SAMPLES).map(String::as_str)),
            counters: if id.is_some() { RunCounters::from_hash(&counters) } else { RunCounters::default() },
            lengths: [jobs, results, dead],
            now_ms: time.0 * 1000 + time.1 / 1000,
        });
    }
}

async fn stream_status<C: ConnectionLike>(
    conn: &mut C,
    stream: &str,
    length: u64,
    in_flight_by_counters: i64,
    now_ms: i64,
) -> Result<StreamStatus, Error> {
    let groups = match redis::cmd("XINFO").arg("GROUPS").arg(stream).query_async::<StreamInfoGroupsReply>(conn).await {
        Ok(reply) => reply.groups,
        // No stream yet: no groups either.
        Err(e) if e.to_string().contains("no such key") => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    let mut out = Vec::new();
    for g in groups {
        // One round trip per group: its consumers, its oldest pending entry, and the first
        // entry after its last delivered one (the undelivered entry that has waited longest).
        let (consumers, oldest, next): (StreamInfoConsumersReply, StreamPendingCountReply, StreamRangeReply) =
            redis::pipe()
                .cmd("XINFO")
                .arg("CONSUMERS")
                .arg(stream)
                .arg(&g.name)
                .cmd("XPENDING")
                .arg(stream)
                .arg(&g.name)
                .arg("-")
                .arg("+")
                .arg(1)
                .cmd("XRANGE")
                .arg(stream)
                .arg(format!("({}", g.last_delivered_id))
                .arg("+")
                .arg("COUNT")
                .arg(1)
                .query_async(conn)
                .await?;
        let pending = g.pending as u64;
        out.push(GroupStatus {
            oldest_undelivered: next
                .ids
                .into_iter()
                .next()
                .map(|e| EntryAge { age_ms: age_ms(&e.id, now_ms), id: e.id }),
            // Redis reports no lag once entries were deleted (every ack deletes); then every
            // entry not pending is undelivered, since acknowledged entries are gone.
            lag: g.lag.map(|l| l as u64).or_else(|| Some(length.saturating_sub(pending))),
            pending,
            last_delivered_id: g.last_delivered_id,
            oldest_pending: oldest.ids.into_iter().next().map(|p| PendingEntry {
                age_ms: age_ms(&p.id, now_ms),
                id: p.id,
                consumer: p.consumer,
                idle_ms: p.last_delivered_ms as u64,
                deliveries: p.times_delivered as u64,
            }),
            consumers: consumers
                .consumers
                .into_iter()
                .map(|c| ConsumerStatus { name: c.name, pending: c.pending as u64, idle_ms: c.idle as u64 })
                .collect(),
            name: g.name,
        });
    }
    Ok(StreamStatus {
        name: stream.to_owned(),
        length,
        in_flight_by_counters,
        matches_counters: i64::try_from(length).is_ok_and(|l| l == in_flight_by_counters),
        groups: out,
    })
}

/// Milliseconds between an entry id's time (`<ms>-<seq>`) and `now_ms`.
pub fn age_ms(id: &str, now_ms: i64) -> u64 {
    let added = id.split('-').next().and_then(|t| t.parse::<i64>().ok()).unwrap_or(now_ms);
    u64::try_from(now_ms - added).unwrap_or(0)
}

impl Status {
    /// Entries of the run still undelivered or pending (every kind).
    pub fn outstanding(&self) -> i64 {
        self.total.in_flight
    }

    /// How long the running run has had outstanding work and finished nothing, when that is
    /// at least `stall_after`; `None` for a healthy, finished or absent run. Progress counts
    /// from the run's start until the first entry finishes.
    pub fn stalled_for(&self, stall_after: Duration) -> Option<Duration> {
        let run = self.run.as_ref().filter(|r| r.state == run_state::STATE_RUNNING)?;
        if self.outstanding() <= 0 {
            return None;
        }
        let since = self.last_progress_at.map_or(run.started_at, |p| p.max(run.started_at));
        let quiet = (self.at - since).to_std().unwrap_or_default();
        (quiet >= stall_after).then_some(quiet)
    }
}

/// Reads the status every `interval` until `shutdown` and hands each reading to `show` (the
/// binary prints it: the library writes nothing to stdout).
///
/// # Errors
/// Redis errors.
pub async fn watch<C: ConnectionLike>(
    conn: &mut C,
    keys: &Keys,
    interval: Duration,
    shutdown: &tokio_util::sync::CancellationToken,
    mut show: impl FnMut(&Status),
) -> Result<(), Error> {
    let mut local = Vec::new();
    loop {
        show(&collect(conn, keys, &mut local).await?);
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            () = tokio::time::sleep(interval) => {}
        }
    }
}

/// Why a one-off `status` could not be read, in the words `status` prints (exit 5).
#[derive(Debug, thiserror::Error)]
pub enum Unreadable {
    #[error("cannot read the status from Redis ({redis}): {source}")]
    Failed { redis: Target, source: Error },
    #[error("Redis ({redis}) did not answer within {timeout:?}")]
    TimedOut { redis: Target, timeout: Duration },
}

/// One reading, given up after `timeout` (a probe or cron job must not hang on Redis).
///
/// # Errors
/// [`Unreadable`]: Redis failed or did not answer in time.
pub async fn read_within(pool: &Pool, redis: &Target, keys: &Keys, timeout: Duration) -> Result<Status, Unreadable> {
    let read = async {
        let mut conn = pool.get().await?;
        collect(&mut conn, keys, &mut Vec::new()).await
    };
    match tokio::time::timeout(timeout, read).await {
        Ok(Ok(status)) => Ok(status),
        Ok(Err(source)) => Err(Unreadable::Failed { redis: redis.clone(), source }),
        Err(_) => Err(Unreadable::TimedOut { redis: redis.clone(), timeout }),
    }
}

/// What `status` prints for one reading: the text table, or one line of JSON.
pub fn render(status: &Status, json: bool) -> String {
    if json {
        format!("{}\n", to_json(status))
    } else {
        status.to_string()
    }
}

/// Clears a terminal and puts the cursor home: `status --watch` redraws in place.
pub const CLEAR_SCREEN: &str = "\x1b[2J\x1b[H";

/// The line `status` prints when the run is stalled (exit 4), if it is.
pub fn stall_report(status: &Status, stall_after: Duration) -> Option<String> {
    let quiet = status.stalled_for(stall_after)?;
    Some(format!(
        "STALLED: {} entries outstanding and nothing finished for {} (--stall-after {})",
        status.outstanding(),
        humantime::format_duration(Duration::from_secs(quiet.as_secs())),
        humantime::format_duration(stall_after)
    ))
}

pub fn to_json(status: &Status) -> String {
    serde_json::to_string(status).unwrap_or_else(|e| format!("{{\"error\":{:?}}}", e.to_string()))
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.run {
            Some(run) => writeln!(
                f,
                "run {}  {}  started {}  elapsed {}  config {}",
                run.id,
                run.state,
                run_state::rfc3339(run.started_at),
                secs(run.elapsed_secs),
                run.config_hash.get(..12).unwrap_or(&run.config_hash)
            )?,
            None => writeln!(f, "no run yet (producer run --config FILE starts one)")?,
        }
        writeln!(
            f,
            "\n{:<12} {:>9} {:>9} {:>7} {:>10} {:>8}",
            "kind", "enqueued", "done", "dead", "in flight", "per sec"
        )?;
        let per_sec = [self.rate.list, self.rate.item, self.rate.list_result, self.rate.item_result];
        for (kind, rate) in KINDS.iter().zip(per_sec) {
            let c = self.kinds.get(kind).copied().unwrap_or_default();
            writeln!(f, "{kind:<12} {:>9} {:>9} {:>7} {:>10} {rate:>8.1}", c.enqueued, c.done, c.dead, c.in_flight)?;
        }
        let t = self.total;
        writeln!(
            f,
            "{:<12} {:>9} {:>9} {:>7} {:>10} {:>8.1}",
            "total", t.enqueued, t.done, t.dead, t.in_flight, self.rate.total
        )?;
        writeln!(f, "{}", if self.balanced { "balanced: enqueued = done + dead + in flight" } else { "NOT BALANCED" })?;
        if let Some(r) = &self.replaced {
            let balance =
                if r.balanced { "balanced: enqueued = done + dead + superseded + in flight" } else { "NOT BALANCED" };
            let uncounted =
                if r.uncounted > 0 { format!(" ({} still being counted)", r.uncounted) } else { String::new() };
            writeln!(
                f,
                "replaced run {}: {} done, {} dead, {} superseded{uncounted}, {} in flight; {balance}",
                r.id, r.total.done, r.total.dead, r.total.superseded, r.total.in_flight
            )?;
        }
        writeln!(
            f,
            "requests {}  parts {} inserted, {} updated  dead-letter stream {} entries",
            self.requests, self.parts_inserted, self.parts_updated, self.dead_letter_entries
        )?;
        let eta = self.eta_secs.map_or_else(|| "unknown".to_owned(), |s| format!("{} (work known now)", secs(s)));
        writeln!(f, "rate {:.1}/s over the last {:.0}s  eta {eta}", self.rate.total, self.rate.window_secs)?;
        if let Some(p) = self.last_progress_at {
            let ago = (self.at - p).num_milliseconds().max(0).unsigned_abs();
            writeln!(f, "last progress {} ago ({})", ms(ago), run_state::rfc3339(p))?;
        }
        for stream in &self.streams {
            write!(f, "\n{stream}")?;
        }
        Ok(())
    }
}

impl fmt::Display for StreamStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let note = if self.matches_counters {
            String::new()
        } else {
            format!(" (counters: {} in flight)", self.in_flight_by_counters)
        };
        writeln!(f, "stream {}  length {}{note}", self.name, self.length)?;
        for g in &self.groups {
            let mut line = format!(
                "  group {}  lag {}  pending {}  last delivered {}",
                g.name,
                g.lag.map_or_else(|| "?".to_owned(), |l| l.to_string()),
                g.pending,
                g.last_delivered_id
            );
            if let Some(u) = &g.oldest_undelivered {
                let _ = write!(line, "  oldest undelivered {} (waiting {})", u.id, ms(u.age_ms));
            }
            if let Some(p) = &g.oldest_pending {
                let _ = write!(
                    line,
                    "  oldest pending {} ({}, idle {}, delivered {}x)",
                    p.id,
                    p.consumer,
                    ms(p.idle_ms),
                    p.deliveries
                );
            }
            writeln!(f, "{line}")?;
            for c in &g.consumers {
                writeln!(f, "    consumer {:<32} pending {:>4}  idle {}", c.name, c.pending, ms(c.idle_ms))?;
            }
        }
        Ok(())
    }
}

fn secs(s: f64) -> String {
    humantime::format_duration(Duration::from_secs(s.max(0.0).round() as u64)).to_string()
}

fn ms(ms: u64) -> String {
    humantime::format_duration(Duration::from_millis(ms)).to_string()
}
