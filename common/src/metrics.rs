//! Prometheus metrics both workers export: jobs by kind and outcome, slots in use, retries.
//! Each worker registers its own extra families on the same registry.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobLabels {
    /// `list`, `item`, `list-result`, `item-result`.
    pub kind: String,
    /// `done`, `retried`, `dead`, `duplicate` (acknowledged by someone else first).
    pub outcome: String,
}

/// The metrics every worker has.
#[derive(Clone, Default)]
pub struct WorkerMetrics {
    pub jobs: Family<JobLabels, Counter>,
    pub slots_in_use: Gauge,
    pub slots: Gauge,
}

impl WorkerMetrics {
    /// Registers the families under the `ek_` prefix, with `ek_build_info` and the
    /// `process_*` families beside them.
    pub fn register(registry: &mut Registry, slots: usize) -> Self {
        crate::process_metrics::register(registry, &crate::process_metrics::binary_name());
        let metrics = Self::default();
        metrics.slots.set(i64::try_from(slots).unwrap_or(i64::MAX));
        let ek = registry.sub_registry_with_prefix("ek");
        ek.register("jobs", "Entries processed, by kind and outcome", metrics.jobs.clone());
        ek.register("slots_in_use", "Batches in flight in this process", metrics.slots_in_use.clone());
        ek.register("slots", "Batches this process may have in flight", metrics.slots.clone());
        metrics
    }

    pub fn count(&self, kind: &str, outcome: &str) {
        self.jobs.get_or_create(&JobLabels { kind: kind.to_owned(), outcome: outcome.to_owned() }).inc();
    }
}
