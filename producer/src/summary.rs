//! The summary a finished run prints: list pages, items, parts inserted and updated, dead
//! letters, duration and requests per second.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::counters::{KindCounts, RunCounters};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub run_id: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub list_pages: KindCounts,
    pub items: KindCounts,
    /// List and item results together.
    pub results: KindCounts,
    pub parts_inserted: i64,
    pub parts_updated: i64,
    /// Dead letters of every kind.
    pub dead_letters: i64,
    pub requests: i64,
    pub duration_secs: f64,
    pub requests_per_sec: f64,
}

impl Summary {
    pub fn new(run_id: &str, started_at: DateTime<Utc>, finished_at: DateTime<Utc>, counters: &RunCounters) -> Self {
        let duration_secs = (finished_at - started_at).to_std().unwrap_or(Duration::ZERO).as_secs_f64();
        let requests_per_sec = if duration_secs > 0.0 { counters.requests as f64 / duration_secs } else { 0.0 };
        Self {
            run_id: run_id.to_owned(),
            started_at,
            finished_at,
            list_pages: counters.list(),
            items: counters.item(),
            results: counters.results(),
            parts_inserted: counters.parts_inserted,
            parts_updated: counters.parts_updated,
            dead_letters: counters.dead_letters(),
            requests: counters.requests,
            duration_secs,
            requests_per_sec,
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Whole seconds: milliseconds of a run that took minutes are noise.
        let duration = humantime::format_duration(Duration::from_secs(self.duration_secs.round() as u64));
        writeln!(f, "run {} done in {duration}", self.run_id)?;
        writeln!(f, "  list pages    {:>7} done, {} dead", self.list_pages.done, self.list_pages.dead)?;
        writeln!(f, "  items         {:>7} done, {} dead", self.items.done, self.items.dead)?;
        writeln!(f, "  results       {:>7} written, {} dead", self.results.done, self.results.dead)?;
        writeln!(f, "  parts         {:>7} inserted, {} updated", self.parts_inserted, self.parts_updated)?;
        let hint = if self.dead_letters > 0 { "  (see: producer dead-letters list)" } else { "" };
        writeln!(f, "  dead letters  {:>7}{hint}", self.dead_letters)?;
        writeln!(f, "  requests      {:>7} ({:.1}/s)", self.requests, self.requests_per_sec)
    }
}
