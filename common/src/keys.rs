//! Names of every Redis stream, group and key, in one place. All keys of a deployment share
//! the hash tag `{prefix}`, so multi-key scripts run unchanged on a Redis Cluster.

/// Consumer group of the crawler workers on the jobs stream.
pub const CRAWLERS_GROUP: &str = "crawlers";
/// Consumer group of the updater workers on the results stream.
pub const UPDATERS_GROUP: &str = "updaters";

/// The keys of one deployment, derived from its stream prefix (default `ek`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    tag: String,
}

impl Keys {
    pub fn new(prefix: &str) -> Self {
        Self { tag: format!("{{{prefix}}}") }
    }

    /// List and item jobs, read by the `crawlers` group.
    pub fn jobs(&self) -> String {
        format!("{}:jobs", self.tag)
    }

    /// Crawl results, read by the `updaters` group.
    pub fn results(&self) -> String {
        format!("{}:results", self.tag)
    }

    /// Where a new run moves what is left in `stream` (the jobs or results stream) when it
    /// starts: entries of older runs, out of the workers' reach until the producer has counted
    /// and deleted them.
    pub fn superseded(&self, stream: &str) -> String {
        format!("{stream}:superseded")
    }

    /// Jobs and results that could not be processed, with the reason.
    pub fn dead(&self) -> String {
        format!("{}:dead", self.tag)
    }

    /// Hash describing the current run (id, start, config hash, state).
    pub fn run(&self) -> String {
        format!("{}:run", self.tag)
    }

    /// List of the last finished runs, newest first (JSON `{id, startedAt, finishedAt}`; their
    /// counters stay under [`Keys::run_counters`] until they expire).
    pub fn runs(&self) -> String {
        format!("{}:runs", self.tag)
    }

    /// Hash of the counters of one run (enqueued, done, dead per job kind).
    pub fn run_counters(&self, run_id: &str) -> String {
        format!("{}:run:{run_id}:counters", self.tag)
    }

    /// Set of pcodes that already got an item job in one run.
    pub fn run_items_seen(&self, run_id: &str) -> String {
        format!("{}:run:{run_id}:items", self.tag)
    }

    /// Set of list pages (category, filter, page) already enqueued in one run.
    pub fn run_pages_seen(&self, run_id: &str) -> String {
        format!("{}:run:{run_id}:pages", self.tag)
    }

    /// Hash of list-answer fingerprints of one run: a listing's page served again for
    /// another page is a soft block.
    pub fn run_list_prints(&self, run_id: &str) -> String {
        format!("{}:run:{run_id}:listprints", self.tag)
    }

    /// A category page's list-request values, shared by every crawler for a while, so the
    /// fleet reads each category page once rather than once per process.
    pub fn bootstrap(&self, origin: &str, category_number: &str) -> String {
        format!("{}:bootstrap:{origin}|{category_number}", self.tag)
    }

    /// Held (`SET NX PX`) by the one crawler reading a category page for the fleet while
    /// the values are not shared yet; the others wait for them instead of reading it too.
    pub fn bootstrap_lease(&self, origin: &str, category_number: &str) -> String {
        format!("{}:bootstrap-lease:{origin}|{category_number}", self.tag)
    }

    /// A one-entry stream the lease holder adds to when it shares the values or gives up:
    /// the waiting crawlers block on it (`XREAD BLOCK`) rather than poll.
    pub fn bootstrap_ready(&self, origin: &str, category_number: &str) -> String {
        format!("{}:bootstrap-ready:{origin}|{category_number}", self.tag)
    }

    /// Shared request budget (GCRA state) of all crawler replicas.
    pub fn rate_limit(&self) -> String {
        format!("{}:ratelimit", self.tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_carries_the_same_hash_tag() {
        let keys = Keys::new("ek");
        for key in [
            keys.jobs(),
            keys.results(),
            keys.dead(),
            keys.superseded(&keys.jobs()),
            keys.run(),
            keys.runs(),
            keys.run_counters("r1"),
            keys.run_items_seen("r1"),
            keys.run_pages_seen("r1"),
            keys.rate_limit(),
        ] {
            assert!(key.starts_with("{ek}:"), "{key}");
        }
    }
}
