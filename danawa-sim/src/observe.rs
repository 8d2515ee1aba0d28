//! Observation: counters and a bounded request log, so tests can assert request counts, peak
//! concurrency, request rate, the headers crawlers send and the peer address (proxy proof).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use serde::Serialize;

/// Distinct header values kept per header; more are counted under `"(other)"`.
const MAX_DISTINCT: usize = 1_000;

/// One logged request.
#[derive(Debug, Clone, Serialize)]
pub struct LogEntry {
    pub seq: u64,
    /// Milliseconds since the last reset.
    pub at_ms: u64,
    pub method: String,
    pub path: String,
    pub endpoint: &'static str,
    pub status: u16,
    pub fault: Option<&'static str>,
    pub peer: String,
    pub connection: u64,
    pub user_agent: Option<String>,
    pub referer: Option<String>,
    pub x_requested_with: Option<String>,
    pub origin: Option<String>,
    pub bytes: usize,
    pub duration_ms: f64,
    /// Where a truncated answer was cut (only on truncated answers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncation: Option<crate::truncation::TruncationLog>,
    /// The form fields of a list request, in order, as `[name, value]` pairs (list AJAX only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub form: Option<Vec<(String, String)>>,
}

/// Header values seen, with counts.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HeadersSeen {
    pub user_agent: BTreeMap<String, u64>,
    pub referer: BTreeMap<String, u64>,
    pub x_requested_with: BTreeMap<String, u64>,
    pub origin: BTreeMap<String, u64>,
}

/// The counters `/_sim/stats` returns.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    pub requests: u64,
    pub connections: u64,
    pub bytes_sent: u64,
    pub by_endpoint: BTreeMap<&'static str, u64>,
    pub by_status: BTreeMap<u16, u64>,
    pub by_fault: BTreeMap<&'static str, u64>,
    pub in_flight: u64,
    pub peak_concurrency: u64,
    pub elapsed_secs: f64,
    /// Requests over the time from the first to the last request since reset.
    pub requests_per_second: f64,
    /// The busiest whole second.
    pub peak_requests_per_second: u64,
    pub headers: HeadersSeen,
    /// Peer IP addresses with request counts.
    pub peers: BTreeMap<String, u64>,
}

#[derive(Default)]
struct Inner {
    stats: Stats,
    first: Option<Instant>,
    last: Option<Instant>,
    window: (u64, u64),
    log: VecDeque<LogEntry>,
    seq: u64,
    distinct: HashMap<&'static str, usize>,
}

/// Shared observer; cheap to clone.
#[derive(Clone)]
pub struct Observer {
    inner: Arc<Mutex<Inner>>,
    started: Arc<Mutex<Instant>>,
    in_flight: Arc<AtomicU64>,
    peak: Arc<AtomicU64>,
    capacity: usize,
}

/// Decrements the in-flight gauge when the request ends.
pub struct InFlight {
    gauge: Arc<AtomicU64>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.gauge.fetch_sub(1, Ordering::SeqCst);
    }
}

fn bump(map: &mut BTreeMap<String, u64>, value: Option<&str>, distinct: &mut usize) {
    let Some(value) = value else { return };
    if let Some(n) = map.get_mut(value) {
        *n += 1;
    } else if *distinct < MAX_DISTINCT {
        *distinct += 1;
        map.insert(value.to_owned(), 1);
    } else {
        *map.entry("(other)".to_owned()).or_insert(0) += 1;
    }
}

impl Observer {
    /// An observer keeping the last `capacity` requests in its log.
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Arc::default(),
            started: Arc::new(Mutex::new(Instant::now())),
            in_flight: Arc::default(),
            peak: Arc::default(),
            capacity,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves counters usable; keep serving.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn started(&self) -> Instant {
        *self.started.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts a request in flight until the guard drops.
    pub fn begin(&self) -> InFlight {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        InFlight { gauge: self.in_flight.clone() }
    }

    /// Counts an accepted connection.
    pub fn connection(&self) {
        self.lock().stats.connections += 1;
    }

    /// Milliseconds since the last reset.
    pub fn now_ms(&self) -> u64 {
        self.started().elapsed().as_millis() as u64
    }

    /// Records a finished request.
    pub fn record(&self, mut entry: LogEntry) {
        let now = Instant::now();
        let second = now.duration_since(self.started()).as_secs();
        let mut inner = self.lock();
        let inner = &mut *inner;
        inner.seq += 1;
        entry.seq = inner.seq;
        let s = &mut inner.stats;
        s.requests += 1;
        s.bytes_sent += entry.bytes as u64;
        *s.by_endpoint.entry(entry.endpoint).or_insert(0) += 1;
        *s.by_status.entry(entry.status).or_insert(0) += 1;
        if let Some(f) = entry.fault {
            *s.by_fault.entry(f).or_insert(0) += 1;
        }
        let ip = entry.peer.rsplit_once(':').map_or(entry.peer.as_str(), |(ip, _)| ip);
        bump(&mut s.peers, Some(ip), inner.distinct.entry("peer").or_insert(0));
        bump(&mut s.headers.user_agent, entry.user_agent.as_deref(), inner.distinct.entry("ua").or_insert(0));
        bump(&mut s.headers.referer, entry.referer.as_deref(), inner.distinct.entry("referer").or_insert(0));
        bump(
            &mut s.headers.x_requested_with,
            entry.x_requested_with.as_deref(),
            inner.distinct.entry("xrw").or_insert(0),
        );
        bump(&mut s.headers.origin, entry.origin.as_deref(), inner.distinct.entry("origin").or_insert(0));
        inner.first.get_or_insert(now);
        inner.last = Some(now);
        if inner.window.0 == second {
            inner.window.1 += 1;
        } else {
            inner.window = (second, 1);
        }
        inner.stats.peak_requests_per_second = inner.stats.peak_requests_per_second.max(inner.window.1);
        if self.capacity > 0 {
            if inner.log.len() == self.capacity {
                inner.log.pop_front();
            }
            inner.log.push_back(entry);
        }
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        let inner = self.lock();
        let mut stats = inner.stats.clone();
        stats.in_flight = self.in_flight.load(Ordering::SeqCst);
        stats.peak_concurrency = self.peak.load(Ordering::SeqCst);
        stats.elapsed_secs = self.started().elapsed().as_secs_f64();
        if let (Some(first), Some(last)) = (inner.first, inner.last) {
            let span = last.duration_since(first).as_secs_f64();
            stats.requests_per_second = if span > 0.0 { stats.requests as f64 / span } else { stats.requests as f64 };
        }
        stats
    }

    /// The logged requests with `seq > since`, oldest first, at most `limit`.
    pub fn log(&self, since: u64, limit: usize) -> Vec<LogEntry> {
        self.lock().log.iter().filter(|e| e.seq > since).take(limit).cloned().collect()
    }

    /// Clears counters and log; the peak concurrency restarts from what is in flight now.
    pub fn reset(&self) {
        *self.lock() = Inner::default();
        *self.started.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        self.peak.store(self.in_flight.load(Ordering::SeqCst), Ordering::SeqCst);
    }
}
