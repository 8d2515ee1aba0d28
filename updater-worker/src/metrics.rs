//! The updater's Prometheus metrics, on top of the ones every worker has.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use common::metrics::WorkerMetrics;

#[derive(Clone)]
pub struct UpdaterMetrics {
    pub worker: WorkerMetrics,
    pub transactions: Counter,
    /// Transaction attempts beyond the first (conflicts, outages).
    pub transaction_retries: Counter,
    pub item_jobs: Counter,
    /// 1 while MongoDB does not answer.
    pub mongo_down: Gauge,
}

impl UpdaterMetrics {
    pub fn register(registry: &mut Registry, slots: usize) -> Self {
        let metrics = Self {
            worker: WorkerMetrics::register(registry, slots),
            transactions: Counter::default(),
            transaction_retries: Counter::default(),
            item_jobs: Counter::default(),
            mongo_down: Gauge::default(),
        };
        let ek = registry.sub_registry_with_prefix("ek_updater");
        ek.register("transactions", "Batches committed", metrics.transactions.clone());
        ek.register("transaction_retries", "Transaction attempts retried", metrics.transaction_retries.clone());
        ek.register("item_jobs", "Item jobs enqueued by the fan-out", metrics.item_jobs.clone());
        ek.register("mongo_down", "1 while MongoDB does not answer", metrics.mongo_down.clone());
        metrics
    }

    /// Metrics that go nowhere, for tests.
    pub fn unregistered() -> Self {
        Self::register(&mut Registry::default(), 0)
    }
}
