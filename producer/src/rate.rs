//! Progress samples (time, finished count per kind) and the rate and ETA computed from them.
//! The `run` loop keeps a small ring of samples in the run hash (field `samples`), so
//! `producer status` can show the rate of the last minute without watching itself.

use serde::{Deserialize, Serialize};

use crate::counters::{RunCounters, KINDS};

/// The window the rate is computed over.
pub(crate) const WINDOW_MS: i64 = 60_000;
/// Samples kept: at one sample every 2 s, a little more than the window.
pub(crate) const RING_LEN: usize = 40;

/// Finished entries (done + dead) per kind at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sample {
    /// Unix time, milliseconds.
    pub t: i64,
    /// Per kind, in [`KINDS`] order.
    pub finished: [i64; 4],
}

impl Sample {
    pub fn of(t: i64, counters: &RunCounters) -> Self {
        Self { t, finished: counters.kinds.map(|k| k.finished()) }
    }
}

/// Decodes the ring as stored; a damaged ring is an empty one (it only feeds a rate).
pub(crate) fn decode(text: Option<&str>) -> Vec<Sample> {
    text.and_then(|t| serde_json::from_str(t).ok()).unwrap_or_default()
}

/// Appends a sample, keeping the newest [`RING_LEN`] in time order.
pub(crate) fn push(ring: &mut Vec<Sample>, sample: Sample) {
    ring.retain(|s| s.t < sample.t);
    ring.push(sample);
    if ring.len() > RING_LEN {
        ring.drain(..ring.len() - RING_LEN);
    }
}

pub(crate) fn encode(ring: &[Sample]) -> String {
    serde_json::to_string(ring).unwrap_or_else(|_| "[]".into())
}

/// Finished entries per second over the last minute, per kind and in total.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rate {
    /// Seconds between the oldest sample used and now (0: no rate yet).
    pub window_secs: f64,
    pub list: f64,
    pub item: f64,
    pub list_result: f64,
    pub item_result: f64,
    pub total: f64,
}

/// The rate between the oldest sample inside the window and `now` (the current counters).
pub(crate) fn rate(ring: &[Sample], now: Sample) -> Rate {
    let Some(oldest) = ring.iter().filter(|s| s.t >= now.t - WINDOW_MS && s.t < now.t).min_by_key(|s| s.t) else {
        return Rate::default();
    };
    let secs = (now.t - oldest.t) as f64 / 1000.0;
    let per_kind: Vec<f64> =
        (0..KINDS.len()).map(|i| ((now.finished[i] - oldest.finished[i]).max(0)) as f64 / secs).collect();
    Rate {
        window_secs: secs,
        list: per_kind[0],
        item: per_kind[1],
        list_result: per_kind[2],
        item_result: per_kind[3],
        total: per_kind.iter().sum(),
    }
}

/// Seconds until everything known now is finished, at the current rate; `None` without a
/// rate. The work still to be discovered (pages past the first, item jobs) is not known, so
/// this is a lower bound while the run is still fanning out.
pub(crate) fn eta_secs(counters: &RunCounters, rate: &Rate) -> Option<f64> {
    let left = counters.total().in_flight;
    if left == 0 {
        return Some(0.0);
    }
    (rate.total > 0.0).then(|| left as f64 / rate.total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::counters::KindCounts;

    #[test]
    fn rate_uses_the_last_minute_only() {
        let mut ring = Vec::new();
        push(&mut ring, Sample { t: 0, finished: [0, 0, 0, 0] });
        push(&mut ring, Sample { t: 30_000, finished: [100, 0, 0, 0] });
        push(&mut ring, Sample { t: 70_000, finished: [200, 40, 0, 0] });
        let r = rate(&ring, Sample { t: 90_000, finished: [300, 100, 0, 0] });
        assert!((r.window_secs - 60.0).abs() < 1e-9);
        assert!((r.list - 200.0 / 60.0).abs() < 1e-9);
        assert!((r.total - 300.0 / 60.0).abs() < 1e-9);
    }

    #[test]
    fn eta_is_the_work_left_at_the_current_rate() {
        let mut counters = RunCounters::default();
        counters.kinds[0] = KindCounts::new(130, 8, 2, 0);
        let rate = Rate { total: 4.0, ..Rate::default() };
        assert_eq!(eta_secs(&counters, &rate), Some(30.0), "120 left at 4 per second");
        assert_eq!(eta_secs(&counters, &Rate::default()), None, "no rate yet: no ETA");
        counters.kinds[0] = KindCounts::new(130, 128, 2, 0);
        assert_eq!(eta_secs(&counters, &Rate::default()), Some(0.0), "nothing left");
    }

    #[test]
    fn the_ring_stays_bounded_and_ordered() {
        let mut ring = Vec::new();
        for t in 0..100 {
            push(&mut ring, Sample { t, finished: [t; 4] });
        }
        assert_eq!(ring.len(), RING_LEN);
        assert_eq!(ring[0].t, 60);
        assert_eq!(decode(Some(&encode(&ring))), ring);
        assert!(decode(Some("not json")).is_empty());
    }
}
