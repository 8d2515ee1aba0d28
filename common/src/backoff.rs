//! Exponential backoff with full jitter, for retries after errors (never for pacing work).

use std::time::Duration;

use rand::Rng;

#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    base: Duration,
    max: Duration,
    attempt: u32,
}

impl Backoff {
    pub(crate) fn new(base: Duration, max: Duration) -> Self {
        Self { base, max, attempt: 0 }
    }

    /// The delay before the next try: random in `[0, min(max, base × 2^attempt)]`, at least 1 ms.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let ceiling = delay_ceiling(self.base, self.max, self.attempt);
        self.attempt = self.attempt.saturating_add(1);
        let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX).max(1);
        Duration::from_millis(rand::thread_rng().gen_range(1..=millis))
    }

    pub(crate) fn reset(&mut self) {
        self.attempt = 0;
    }

    #[cfg(test)]
    fn attempts(&self) -> u32 {
        self.attempt
    }
}

/// `min(max, base × 2^attempt)`, without overflow.
pub(crate) fn delay_ceiling(base: Duration, max: Duration, attempt: u32) -> Duration {
    base.checked_mul(1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX)).unwrap_or(max).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_then_caps() {
        let base = Duration::from_millis(100);
        let max = Duration::from_secs(5);
        assert_eq!(delay_ceiling(base, max, 0), base);
        assert_eq!(delay_ceiling(base, max, 3), Duration::from_millis(800));
        assert_eq!(delay_ceiling(base, max, 40), max);
        let mut backoff = Backoff::new(base, max);
        for _ in 0..50 {
            assert!(backoff.next_delay() <= max);
        }
        assert_eq!(backoff.attempts(), 50);
    }
}
