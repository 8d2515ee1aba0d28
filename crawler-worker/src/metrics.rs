//! The crawler's Prometheus metrics, on top of the ones every worker has.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use common::metrics::WorkerMetrics;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BlockLabels {
    pub cause: String,
}

#[derive(Clone)]
pub struct CrawlerMetrics {
    pub worker: WorkerMetrics,
    pub request_seconds: Histogram,
    pub bytes: Counter,
    pub retries: Counter,
    pub blocks: Family<BlockLabels, Counter>,
    pub newnym: Counter,
}

impl CrawlerMetrics {
    pub fn register(registry: &mut Registry, slots: usize) -> Self {
        let worker = WorkerMetrics::register(registry, slots);
        let metrics = Self {
            worker,
            // 10 ms .. ~160 s: loopback answers to Tor's slowest circuits.
            request_seconds: Histogram::new(exponential_buckets(0.01, 2.0, 15)),
            bytes: Counter::default(),
            retries: Counter::default(),
            blocks: Family::default(),
            newnym: Counter::default(),
        };
        let ek = registry.sub_registry_with_prefix("ek_crawler");
        ek.register("request_seconds", "HTTP request latency, body included", metrics.request_seconds.clone());
        ek.register("response_bytes", "Bytes of answer bodies", metrics.bytes.clone());
        ek.register("retries", "Job attempts retried after a failure or a block", metrics.retries.clone());
        ek.register("blocks", "Answers that counted as a block, by cause", metrics.blocks.clone());
        ek.register("newnym", "New Tor circuits asked for", metrics.newnym.clone());
        metrics
    }

    /// Metrics that go nowhere, for tools and tests.
    pub fn unregistered() -> Self {
        Self::register(&mut Registry::default(), 0)
    }
}
