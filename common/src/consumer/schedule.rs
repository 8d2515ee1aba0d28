//! The consumer loop's timing decisions, kept apart from its Redis calls so that they are
//! tested with paused tokio time: when the next reclaim scan is due, how long a batch may still
//! wait to fill, and how often a batch in progress is kept alive.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// The cursor XAUTOCLAIM answers when its scan of the pending entries is complete.
pub(super) const SCAN_COMPLETE: &str = "0-0";

/// When the next XAUTOCLAIM is due. The first is due at once (a consumer that starts may find
/// entries of one that died meanwhile); a scan cut short by its COUNT goes on at the next
/// chance; a complete scan waits `claim_interval` before the next one starts over.
#[derive(Debug)]
pub(super) struct ClaimSchedule {
    interval: Duration,
    next: Instant,
}

impl ClaimSchedule {
    pub(super) fn new(interval: Duration) -> Self {
        Self { interval, next: Instant::now() }
    }

    pub(super) fn is_due(&self) -> bool {
        Instant::now() >= self.next
    }

    /// Records a scan that answered `next_cursor`.
    pub(super) fn scanned(&mut self, next_cursor: &str) {
        self.next = if next_cursor == SCAN_COMPLETE { Instant::now() + self.interval } else { Instant::now() };
    }
}

/// The end of a batch's wait to fill: `batch_wait` after its first entries arrived.
#[derive(Debug, Clone, Copy)]
pub(super) struct BatchDeadline(Instant);

impl BatchDeadline {
    pub(super) fn after(wait: Duration) -> Self {
        Self(Instant::now() + wait)
    }

    /// What is left of the wait, or `None` when less than a millisecond is: XREADGROUP blocks
    /// in whole milliseconds, and a block of 0 would wait forever.
    pub(super) fn left(&self) -> Option<Duration> {
        let left = self.0.saturating_duration_since(Instant::now());
        (left >= Duration::from_millis(1)).then_some(left)
    }
}

/// How often a batch in progress resets its entries' idle time: a third of `claim_idle`, so
/// two keep-alives missed in a row (Redis briefly down) still leave a third before another
/// consumer may take the entries; at least 10 ms, so a tiny `claim_idle` in tests does not
/// spin.
pub(super) fn keep_alive_every(claim_idle: Duration) -> Duration {
    (claim_idle / 3).max(Duration::from_millis(10))
}

/// Calls `claim` every `every`, the first a period after the start, until dropped. A failed
/// claim goes to `failed`; the next still comes a period after it.
pub(super) async fn keep_alive<E, Fut>(every: Duration, mut claim: impl FnMut() -> Fut, mut failed: impl FnMut(E))
where
    Fut: Future<Output = Result<(), E>>,
{
    loop {
        tokio::time::sleep(every).await;
        if let Err(error) = claim().await {
            failed(error);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    use tokio::time::advance;

    use super::*;

    const MS: Duration = Duration::from_millis(1);

    /// Lets spawned tasks whose timers fired run (the test runtime has one thread).
    async fn settle() {
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_first_claim_is_due_at_once_and_a_complete_scan_waits_the_interval() {
        let mut schedule = ClaimSchedule::new(Duration::from_secs(30));
        assert!(schedule.is_due(), "a starting consumer looks for dead consumers' entries first");
        schedule.scanned(SCAN_COMPLETE);
        assert!(!schedule.is_due());
        advance(Duration::from_secs(30) - MS).await;
        assert!(!schedule.is_due());
        advance(MS).await;
        assert!(schedule.is_due(), "due again a whole interval after the complete scan");
    }

    #[tokio::test(start_paused = true)]
    async fn a_scan_cut_short_goes_on_at_once() {
        let mut schedule = ClaimSchedule::new(Duration::from_secs(30));
        schedule.scanned("1700000000000-5");
        assert!(schedule.is_due(), "more pending entries past the cursor");
        schedule.scanned(SCAN_COMPLETE);
        advance(Duration::from_secs(29)).await;
        assert!(!schedule.is_due());
    }

    #[tokio::test(start_paused = true)]
    async fn a_batch_waits_to_fill_until_its_deadline() {
        let deadline = BatchDeadline::after(50 * MS);
        assert_eq!(deadline.left(), Some(50 * MS));
        advance(30 * MS).await;
        assert_eq!(deadline.left(), Some(20 * MS));
        advance(19 * MS + Duration::from_micros(500)).await;
        assert_eq!(deadline.left(), None, "under a millisecond left: send what there is");
        advance(Duration::from_secs(1)).await;
        assert_eq!(deadline.left(), None);
        assert_eq!(BatchDeadline::after(Duration::ZERO).left(), None, "--batch-wait 0 sends at once");
    }

    #[test]
    fn three_keep_alives_fit_in_claim_idle() {
        let idle = Duration::from_secs(60);
        assert_eq!(keep_alive_every(idle), Duration::from_secs(20));
        assert!(keep_alive_every(idle) * 3 <= idle);
        assert_eq!(keep_alive_every(Duration::from_millis(3)), Duration::from_millis(10), "floor of 10 ms");
    }

    #[tokio::test(start_paused = true)]
    async fn keep_alive_claims_once_a_period_and_goes_on_after_a_failure() {
        let every = Duration::from_secs(20);
        let (calls, failures) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU32::new(0)));
        let task = tokio::spawn({
            let (calls, failures) = (calls.clone(), failures.clone());
            keep_alive(
                every,
                move || {
                    // The second claim fails (Redis briefly down).
                    let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
                    async move {
                        if n == 2 {
                            Err("down")
                        } else {
                            Ok(())
                        }
                    }
                },
                move |_: &str| {
                    failures.fetch_add(1, Ordering::SeqCst);
                },
            )
        });
        settle().await;
        advance(every - MS).await;
        settle().await;
        assert_eq!(calls.load(Ordering::SeqCst), 0, "nothing before the first period is over");
        advance(MS).await;
        settle().await;
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        advance(every).await;
        settle().await;
        assert_eq!((calls.load(Ordering::SeqCst), failures.load(Ordering::SeqCst)), (2, 1));
        advance(every).await;
        settle().await;
        assert_eq!(calls.load(Ordering::SeqCst), 3, "the next claim a period after the failed one");
        task.abort();
    }
}
