//! Whether MongoDB answered at the last attempt: shared by every clone of the store, for the
//! readiness probe and the `ek_updater_mongo_down` gauge.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use prometheus_client::metrics::gauge::Gauge;

#[derive(Debug, Clone, Default)]
pub struct Reachability {
    down: Arc<AtomicBool>,
    /// Mirrors the state (1 while down), when the worker registered one.
    gauge: Option<Gauge>,
}

impl Reachability {
    pub fn with_gauge(gauge: Gauge) -> Self {
        Self { down: Arc::default(), gauge: Some(gauge) }
    }

    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Relaxed)
    }

    pub(crate) fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::Relaxed);
        if let Some(gauge) = &self.gauge {
            gauge.set(i64::from(down));
        }
    }
}
