//! Prometheus metrics both workers export: jobs by kind and outcome, slots in use, retries.
//! Each worker registers its own extra families on the same registry.

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobLabels {
    /// `list`, `item`, `list-result`, `item-result` (`unknown` for an undecodable entry).
    pub kind: &'static str,
    pub outcome: Outcome,
}

/// How an entry left the stream.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Outcome {
    /// Its work is recorded and it is acknowledged.
    Done,
    /// It went to the dead-letter stream.
    Dead,
    /// Another consumer acknowledged it first: nothing was added.
    Duplicate,
}

impl Outcome {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Done => "done",
            Self::Dead => "dead",
            Self::Duplicate => "duplicate",
        }
    }
}

impl EncodeLabelValue for Outcome {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> std::fmt::Result {
        EncodeLabelValue::encode(&self.as_str(), encoder)
    }
}

/// The metrics every worker has.
#[derive(Clone, Default)]
pub struct WorkerMetrics {
    pub jobs: Family<JobLabels, Counter>,
    pub slots_in_use: Gauge,
    pub slots: Gauge,
    /// Keep-alive claims (XCLAIM JUSTID) that failed: each one lets a slow batch's entries go
    /// idle towards reclaim by another consumer.
    pub keep_alive_failures: Counter,
    /// Handlers that panicked; their entries stay pending and are reclaimed.
    pub handler_panics: Counter,
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
        ek.register(
            "keep_alive_failures",
            "Keep-alive claims of in-flight entries that failed",
            metrics.keep_alive_failures.clone(),
        );
        ek.register("handler_panics", "Batch handlers that panicked", metrics.handler_panics.clone());
        metrics
    }

    pub fn count(&self, kind: &'static str, outcome: Outcome) {
        self.jobs.get_or_create(&JobLabels { kind, outcome }).inc();
    }
}
