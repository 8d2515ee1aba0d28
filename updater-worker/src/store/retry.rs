//! How long and how often a failing batch is retried, and the reachability state that is
//! logged once per change rather than once per retry.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;

/// Retry schedule of one batch: exponential backoff with jitter, capped, within a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// After this long without a commit the batch is handed back with a [`super::StoreError`].
    pub give_up_after: Duration,
    /// Extra commit attempts when the outcome of a commit is unknown.
    pub commit_retries: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(5),
            // Long enough to ride out a MongoDB restart or election without giving the batch
            // back, short enough that a stuck batch surfaces to the caller.
            give_up_after: Duration::from_secs(60),
            commit_retries: 3,
        }
    }
}

impl RetryPolicy {
    /// No retry at all: the first failure is returned (tests step through attempts this way).
    pub fn no_retry() -> Self {
        Self { give_up_after: Duration::ZERO, commit_retries: 0, ..Self::default() }
    }
}

/// Successive delays: doubling from `initial_backoff` up to `max_backoff`, each drawn in
/// [half, full] so that updaters failing together do not retry together.
#[derive(Debug)]
pub(crate) struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    pub(crate) fn new(policy: &RetryPolicy) -> Self {
        Self { next: policy.initial_backoff, max: policy.max_backoff }
    }

    pub(crate) fn next_delay(&mut self) -> Duration {
        let full = self.next.min(self.max);
        self.next = full.saturating_mul(2);
        let half = full / 2;
        half + rand::thread_rng().gen_range(Duration::ZERO..=full - half)
    }
}

/// Whether MongoDB answered last time; shared by every clone of the store so that a
/// readiness probe can read it and the log gets one line per change.
#[derive(Debug, Clone, Default)]
pub struct Reachability(Arc<AtomicBool>);

impl Reachability {
    pub fn is_down(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    pub(crate) fn mark_down(&self, cause: &dyn std::fmt::Display) {
        if !self.0.swap(true, Ordering::Relaxed) {
            tracing::warn!(error = %cause, "MongoDB unreachable; batches are retried and nothing is acked until it answers");
        }
    }

    pub(crate) fn mark_up(&self) {
        if self.0.swap(false, Ordering::Relaxed) {
            tracing::info!("MongoDB answers again");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_with_jitter_up_to_the_cap() {
        let policy = RetryPolicy {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(400),
            ..RetryPolicy::default()
        };
        let mut backoff = Backoff::new(&policy);
        for full in [100, 200, 400, 400] {
            let delay = backoff.next_delay();
            assert!(delay >= Duration::from_millis(full / 2) && delay <= Duration::from_millis(full), "{delay:?}");
        }
    }
}
