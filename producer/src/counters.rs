//! A run's counters as read from its counters hash (see `common::queue::counter`), and the
//! arithmetic on them: in flight per kind (`enqueued - done - dead - superseded`), completion
//! (DESIGN.md §4, 5).

use std::collections::HashMap;

use common::queue::counter;
use serde::Serialize;

/// The counted message kinds, in the order they are shown.
pub const KINDS: [&str; 4] = ["list", "item", "list-result", "item-result"];

/// Counts of one message kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KindCounts {
    pub enqueued: i64,
    pub done: i64,
    pub dead: i64,
    /// Removed from the streams unprocessed because a newer run started (`--fresh --force`);
    /// only a replaced run has any.
    pub superseded: i64,
    /// `enqueued - done - dead - superseded`: undelivered or pending entries of this kind.
    pub in_flight: i64,
}

impl KindCounts {
    pub(crate) fn new(enqueued: i64, done: i64, dead: i64, superseded: i64) -> Self {
        Self { enqueued, done, dead, superseded, in_flight: enqueued - done - dead - superseded }
    }

    /// Entries that left the streams for good (done, dead or superseded).
    pub fn finished(&self) -> i64 {
        self.done + self.dead + self.superseded
    }

    /// Whether the counts are possible: nothing finished that was not enqueued.
    pub fn balances(&self) -> bool {
        self.in_flight >= 0 && self.enqueued == self.done + self.dead + self.superseded + self.in_flight
    }
}

/// Every counter of one run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunCounters {
    /// Per kind, in [`KINDS`] order.
    pub kinds: [KindCounts; 4],
    pub requests: i64,
    pub parts_inserted: i64,
    pub parts_updated: i64,
    /// Server time (Unix ms) of the last step that finished work; `None` before the first.
    pub progress_at_ms: Option<i64>,
}

impl RunCounters {
    /// Reads the fields of an `HGETALL` of the counters hash; missing or non-numeric fields
    /// count 0 (a hash that does not exist yet is an empty run).
    pub fn from_hash(hash: &HashMap<String, String>) -> Self {
        let get = |field: &str| hash.get(field).and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
        let kinds = KINDS.map(|k| {
            KindCounts::new(
                get(&counter::enqueued(k)),
                get(&counter::done(k)),
                get(&counter::dead(k)),
                get(&counter::superseded(k)),
            )
        });
        Self {
            kinds,
            requests: get(counter::REQUESTS),
            parts_inserted: get(counter::PARTS_INSERTED),
            parts_updated: get(counter::PARTS_UPDATED),
            progress_at_ms: hash.get(counter::PROGRESS_AT).and_then(|v| v.parse().ok()),
        }
    }

    pub fn kind(&self, kind: &str) -> KindCounts {
        KINDS.iter().position(|k| *k == kind).map(|i| self.kinds[i]).unwrap_or_default()
    }

    pub fn list(&self) -> KindCounts {
        self.kinds[0]
    }

    pub fn item(&self) -> KindCounts {
        self.kinds[1]
    }

    /// Both result kinds together.
    pub fn results(&self) -> KindCounts {
        let (a, b) = (self.kinds[2], self.kinds[3]);
        KindCounts::new(a.enqueued + b.enqueued, a.done + b.done, a.dead + b.dead, a.superseded + b.superseded)
    }

    pub fn total(&self) -> KindCounts {
        self.kinds.iter().fold(KindCounts::default(), |acc, k| {
            KindCounts::new(
                acc.enqueued + k.enqueued,
                acc.done + k.done,
                acc.dead + k.dead,
                acc.superseded + k.superseded,
            )
        })
    }

    pub fn dead_letters(&self) -> i64 {
        self.total().dead
    }

    /// The run is done: something was enqueued and nothing is undelivered or pending. The same
    /// test runs atomically in `lua/finish_run.lua` before the run is marked done.
    pub fn is_complete(&self) -> bool {
        self.list().enqueued > 0 && self.kinds.iter().all(|k| k.in_flight == 0)
    }

    pub fn balances(&self) -> bool {
        self.kinds.iter().all(KindCounts::balances)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(pairs: &[(&str, i64)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), v.to_string())).collect()
    }

    #[test]
    fn complete_only_when_every_kind_is_finished() {
        assert!(!RunCounters::from_hash(&HashMap::new()).is_complete(), "nothing enqueued yet");
        let mut h = hash(&[("enqueued:list", 3), ("done:list", 2), ("dead:list", 1)]);
        assert!(RunCounters::from_hash(&h).is_complete());
        h.insert("enqueued:list-result".into(), "2".into());
        let c = RunCounters::from_hash(&h);
        assert!(!c.is_complete());
        assert_eq!(c.kind("list-result").in_flight, 2);
        assert_eq!(c.total().in_flight, 2);
        assert!(c.balances());
    }

    #[test]
    fn garbage_counts_as_zero() {
        let mut h = hash(&[("parts:inserted", 7)]);
        h.insert("done:item".into(), "x".into());
        let c = RunCounters::from_hash(&h);
        assert_eq!(c.parts_inserted, 7);
        assert_eq!(c.item().done, 0);
    }
}
