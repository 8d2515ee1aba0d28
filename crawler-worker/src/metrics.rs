//! The crawler's Prometheus metrics, on top of the ones every worker has.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use common::metrics::WorkerMetrics;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct BlockLabels {
    /// [`crate::error::BlockCause::as_str`].
    pub cause: &'static str,
}

/// The answer a request was for: `category`, `list`, `product`, `spec`, `shops`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct AnswerLabels {
    /// [`crate::complete::AnswerKind::as_str`].
    pub kind: &'static str,
}

/// A shop-list group container the parser does not know (by its id).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ContainerLabels {
    pub container: String,
}

#[derive(Clone)]
pub(crate) struct CrawlerMetrics {
    pub worker: WorkerMetrics,
    pub request_seconds: Histogram,
    pub bytes: Counter,
    pub retries: Family<AnswerLabels, Counter>,
    pub blocks: Family<BlockLabels, Counter>,
    pub incomplete: Family<AnswerLabels, Counter>,
    pub unknown_shop_groups: Family<ContainerLabels, Counter>,
    pub newnym: Counter,
}

impl CrawlerMetrics {
    pub(crate) fn register(registry: &mut Registry, slots: usize) -> Self {
        let worker = WorkerMetrics::register(registry, slots);
        let metrics = Self {
            worker,
            // 10 ms .. ~160 s: loopback answers to Tor's slowest circuits.
            request_seconds: Histogram::new(exponential_buckets(0.01, 2.0, 15)),
            bytes: Counter::default(),
            retries: Family::default(),
            blocks: Family::default(),
            incomplete: Family::default(),
            unknown_shop_groups: Family::default(),
            newnym: Counter::default(),
        };
        let ek = registry.sub_registry_with_prefix("ek_crawler");
        ek.register("request_seconds", "HTTP request latency, body included", metrics.request_seconds.clone());
        ek.register("response_bytes", "Bytes of answer bodies", metrics.bytes.clone());
        ek.register(
            "retries",
            "Requests sent again after a failure or a block, by answer kind",
            metrics.retries.clone(),
        );
        ek.register("blocks", "Answers that counted as a block, by cause", metrics.blocks.clone());
        ek.register(
            "incomplete_answers",
            "Answers cut before their end marker (retried, never parsed), by answer kind",
            metrics.incomplete.clone(),
        );
        ek.register(
            "unknown_shop_groups",
            "Shop-list rows in a group container the parser does not know (not stored), by container id",
            metrics.unknown_shop_groups.clone(),
        );
        ek.register("newnym", "New Tor circuits asked for", metrics.newnym.clone());
        metrics
    }

    /// Metrics that go nowhere, for tools and tests.
    pub(crate) fn unregistered() -> Self {
        Self::register(&mut Registry::default(), 0)
    }
}
