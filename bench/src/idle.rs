//! Where the idle slot-time is: before all slots were first busy (the run filling up), while
//! the run was in full swing, and after the last moment all slots were busy (draining).

use serde::Serialize;

use crate::sim::LogEntry;

/// Idle slot-seconds (slots x time with no request at the sim) in three phases.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IdleSlots {
    /// Seconds from the start until every slot was first busy.
    pub fill_secs: f64,
    pub fill_idle_slot_secs: f64,
    pub steady_idle_slot_secs: f64,
    /// Seconds from the last moment every slot was busy to the end.
    pub drain_secs: f64,
    pub drain_idle_slot_secs: f64,
}

/// Sweeps the requests' start and end times (sim clock, from the reset) over `[0, wall]`.
pub(crate) fn idle_slots(log: &[LogEntry], slots: usize, wall_secs: f64) -> IdleSlots {
    let mut events: Vec<(f64, i64)> = log
        .iter()
        .flat_map(|e| {
            let start = e.at_ms as f64 / 1e3;
            [(start, 1), (start + e.duration_ms / 1e3, -1)]
        })
        .collect();
    events.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let slots = slots as i64;
    // Idle slot-seconds of each interval between events, with the interval's end time.
    let (mut busy, mut last_t) = (0i64, 0.0f64);
    let mut intervals: Vec<(f64, f64, bool)> = Vec::new(); // (end, idle slot-secs, all busy)
    for (t, delta) in events {
        let t = t.min(wall_secs);
        intervals.push((t, (slots - busy).max(0) as f64 * (t - last_t).max(0.0), busy >= slots));
        busy += delta;
        last_t = t;
    }
    intervals.push((wall_secs, (slots - busy).max(0) as f64 * (wall_secs - last_t).max(0.0), busy >= slots));
    split(&intervals, wall_secs)
}

fn split(intervals: &[(f64, f64, bool)], wall_secs: f64) -> IdleSlots {
    let first_full = intervals.iter().position(|i| i.2);
    let last_full = intervals.iter().rposition(|i| i.2);
    let (Some(first), Some(last)) = (first_full, last_full) else {
        let idle = intervals.iter().map(|i| i.1).sum();
        return IdleSlots { fill_secs: wall_secs, fill_idle_slot_secs: idle, ..IdleSlots::default() };
    };
    let sum = |range: &[(f64, f64, bool)]| range.iter().map(|i| i.1).sum::<f64>();
    let fill_end = if first == 0 { 0.0 } else { intervals[first - 1].0 };
    IdleSlots {
        fill_secs: fill_end,
        fill_idle_slot_secs: sum(&intervals[..first]),
        steady_idle_slot_secs: sum(&intervals[first..=last]),
        drain_secs: wall_secs - intervals[last].0,
        drain_idle_slot_secs: sum(&intervals[last + 1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(at_ms: u64, duration_ms: f64) -> LogEntry {
        LogEntry { seq: 0, at_ms, duration_ms }
    }

    #[test]
    fn fill_steady_and_drain() {
        // Two slots: one busy from 0 s, the other from 1 s; both to 3 s, then one to 4 s; wall 5 s.
        let log = [entry(0, 3000.0), entry(1000, 2000.0), entry(3000, 1000.0)];
        let idle = idle_slots(&log, 2, 5.0);
        assert!((idle.fill_secs - 1.0).abs() < 1e-9);
        assert!((idle.fill_idle_slot_secs - 1.0).abs() < 1e-9);
        assert!(idle.steady_idle_slot_secs.abs() < 1e-9);
        assert!((idle.drain_secs - 2.0).abs() < 1e-9);
        // 3..4 s: one slot idle; 4..5 s: both idle.
        assert!((idle.drain_idle_slot_secs - 3.0).abs() < 1e-9);
    }

    #[test]
    fn never_full() {
        let idle = idle_slots(&[entry(0, 1000.0)], 2, 2.0);
        assert!((idle.fill_idle_slot_secs - 3.0).abs() < 1e-9);
    }
}
