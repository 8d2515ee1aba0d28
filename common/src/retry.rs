//! The one way to retry after an error: a [`RetryPolicy`] (backoff with full jitter, capped;
//! optionally a limit on attempts or on the time since the first failure), an error that says
//! whether it is worth retrying ([`Retryable`]), the process's shutdown, and an outage that is
//! logged once when it starts and once when it ends, not at every attempt. Every loop that
//! waits on a failing Redis, MongoDB or site goes through [`Retrier`] or [`retry`].

use std::future::Future;
use std::time::Duration;

use rand::Rng;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::backoff::Backoff;

/// How a failing operation is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The first delay; it doubles each attempt (full jitter) up to `max`.
    pub base: Duration,
    pub max: Duration,
    /// Attempts in all (the first one included) before giving up; `None`: no limit.
    pub max_attempts: Option<u32>,
    /// Time since the first failure after which the next failure gives up; `None`: no limit.
    pub give_up_after: Option<Duration>,
}

impl RetryPolicy {
    /// Retries until it succeeds or the process shuts down: for work that must not be lost
    /// (an ack, a batch of results) while a server is down.
    pub const fn forever(base: Duration, max: Duration) -> Self {
        Self { base, max, max_attempts: None, give_up_after: None }
    }

    /// At most `attempts` attempts in all.
    pub const fn attempts(base: Duration, max: Duration, attempts: u32) -> Self {
        Self { base, max, max_attempts: Some(attempts), give_up_after: None }
    }
}

/// What an error says about trying again.
pub trait Retryable {
    /// `false` for an error no retry can change (a bad request, a refused write).
    fn is_retryable(&self) -> bool {
        true
    }

    /// A delay the other side asked for (`Retry-After`), if any: it wins over a shorter backoff.
    fn retry_after(&self) -> Option<Duration> {
        None
    }

    /// `true` for a conflict with another worker's concurrent write (a MongoDB write
    /// conflict), not an outage: retried after at most [`CONTENTION_PAUSE`], without growing
    /// the backoff or logging an outage.
    fn is_contention(&self) -> bool {
        false
    }
}

/// The longest pause before retrying after contention (full jitter below it). The other
/// writer's transaction ends within milliseconds; an outage's backoff, which doubles towards
/// seconds, only left the batch's results waiting (a refresh run lost up to 4 s to one batch
/// that lost six conflicts in a row).
pub const CONTENTION_PAUSE: Duration = Duration::from_millis(20);

/// Consecutive contention failures after which the retry backs off as for an outage (and
/// says so): past this, something other than a passing transaction holds the write.
const CONTENTION_RETRIES: u32 = 16;

impl Retryable for redis::RedisError {
    fn is_retryable(&self) -> bool {
        // The client's own judgement (connection trouble, LOADING, a failover, a busy script
        // pass; a bad command does not), and UNBLOCKED: a blocked read whose stream was
        // replaced (`producer run --fresh --force`).
        !matches!(self.retry_method(), redis::RetryMethod::NoRetry) || self.code() == Some("UNBLOCKED")
    }
}

/// An error retried whatever it is: for work that must not be given up (reading the stream,
/// recording finished work), where only shutdown ends the wait.
#[derive(Debug)]
pub struct Always<E>(pub E);

impl<E: std::fmt::Display> std::fmt::Display for Always<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<E: std::error::Error> std::error::Error for Always<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl<E> Retryable for Always<E> {}

/// Why retrying stopped without a success.
#[derive(Debug, PartialEq, Eq)]
pub enum Stopped<E> {
    /// The error is not retryable, or the policy's limits are reached: the last error.
    GaveUp(E),
    /// The process is shutting down.
    Shutdown,
}

/// The state of one retried operation: its backoff, attempts and outage.
#[derive(Debug)]
pub struct Retrier {
    what: &'static str,
    policy: RetryPolicy,
    backoff: Backoff,
    /// Failures since the last success.
    failures: u32,
    failing_since: Option<Instant>,
    /// Logs the outage's start and end (off where the caller logs every attempt itself).
    log: bool,
    /// The start of the current outage was logged (so its end is).
    logged: bool,
}

impl Retrier {
    /// `what` names the operation in the outage's log lines (`read the jobs stream`).
    pub fn new(what: &'static str, policy: RetryPolicy) -> Self {
        Self {
            what,
            policy,
            backoff: Backoff::new(policy.base, policy.max),
            failures: 0,
            failing_since: None,
            log: true,
            logged: false,
        }
    }

    /// Without the outage's log lines: for a caller that logs each attempt with its context.
    pub fn quiet(mut self) -> Self {
        self.log = false;
        self
    }

    /// Failures since the last success.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Records a success: the end of an outage is logged, the backoff starts over.
    pub fn succeeded(&mut self) {
        if let Some(since) = self.failing_since.take().filter(|_| std::mem::take(&mut self.logged)) {
            tracing::info!(
                what = self.what,
                down_secs = since.elapsed().as_secs_f64(),
                failures = self.failures,
                "works again"
            );
        }
        self.failures = 0;
        self.backoff.reset();
    }

    /// Records a failure: the delay before the next attempt, or `None` when the error is not
    /// retryable or the policy gives up. The start of an outage is logged once.
    pub fn failed<E: Retryable + std::error::Error + 'static>(&mut self, error: &E) -> Option<Duration> {
        self.failures += 1;
        let since = *self.failing_since.get_or_insert_with(Instant::now);
        let contention = error.is_retryable() && error.is_contention() && self.failures <= CONTENTION_RETRIES;
        if contention {
            tracing::debug!(what = self.what, error = crate::error_text::chain(error), "contention: retrying at once");
        } else if self.log && !self.logged && error.is_retryable() {
            self.logged = true;
            tracing::warn!(
                what = self.what,
                failures = self.failures,
                error = crate::error_text::chain(error),
                "failed: retrying with backoff"
            );
        }
        let out_of_attempts = self.policy.max_attempts.is_some_and(|max| self.failures >= max.max(1));
        let out_of_time = self.policy.give_up_after.is_some_and(|limit| since.elapsed() >= limit);
        if !error.is_retryable() || out_of_attempts || out_of_time {
            return None;
        }
        let delay = if contention {
            CONTENTION_PAUSE.mul_f64(rand::thread_rng().gen_range(0.05..=1.0))
        } else {
            self.backoff.next_delay()
        };
        Some(delay.max(error.retry_after().unwrap_or_default()))
    }

    /// [`Retrier::failed`], then the wait before the next attempt, cut short by shutdown.
    ///
    /// # Errors
    /// [`Stopped::GaveUp`] with the error, or [`Stopped::Shutdown`].
    pub async fn wait<E: Retryable + std::error::Error + 'static>(
        &mut self,
        error: E,
        shutdown: &CancellationToken,
    ) -> Result<(), Stopped<E>> {
        let Some(delay) = self.failed(&error) else { return Err(Stopped::GaveUp(error)) };
        tokio::select! {
            () = shutdown.cancelled() => Err(Stopped::Shutdown),
            () = tokio::time::sleep(delay) => Ok(()),
        }
    }
}

/// Runs `op` until it succeeds, its error is not retryable, the policy gives up or `shutdown`
/// comes. Shutdown ends the waits between attempts, never an attempt itself: recording work
/// that is done (an ack during the drain) must still go through. An `op` that may be cut short
/// races the shutdown itself.
///
/// # Errors
/// [`Stopped`] with the last error, or shutdown.
pub async fn retry<T, E, Fut>(
    what: &'static str,
    policy: RetryPolicy,
    shutdown: &CancellationToken,
    mut op: impl FnMut() -> Fut,
) -> Result<T, Stopped<E>>
where
    E: Retryable + std::error::Error + 'static,
    Fut: Future<Output = Result<T, E>>,
{
    let mut retrier = Retrier::new(what, policy);
    loop {
        match op().await {
            Ok(value) => {
                retrier.succeeded();
                return Ok(value);
            }
            Err(error) => retrier.wait(error, shutdown).await?,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[derive(Debug, PartialEq)]
    struct Flaky {
        retryable: bool,
        after: Option<Duration>,
        contention: bool,
    }

    impl std::fmt::Display for Flaky {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("flaky")
        }
    }

    impl std::error::Error for Flaky {}

    impl Retryable for Flaky {
        fn is_retryable(&self) -> bool {
            self.retryable
        }
        fn retry_after(&self) -> Option<Duration> {
            self.after
        }
        fn is_contention(&self) -> bool {
            self.contention
        }
    }

    const MS: Duration = Duration::from_millis(1);

    /// Fails `failures` times, then succeeds; counts its calls.
    fn flaky(calls: &AtomicU32, failures: u32, error: fn() -> Flaky) -> impl Future<Output = Result<u32, Flaky>> + '_ {
        let n = calls.fetch_add(1, Ordering::SeqCst);
        async move {
            if n < failures {
                Err(error())
            } else {
                Ok(n)
            }
        }
    }

    fn retryable() -> Flaky {
        Flaky { retryable: true, after: None, contention: false }
    }

    #[tokio::test(start_paused = true)]
    async fn retries_with_growing_capped_delays_until_it_works() {
        let calls = AtomicU32::new(0);
        let started = Instant::now();
        let policy = RetryPolicy::forever(100 * MS, 400 * MS);
        let done = retry("t", policy, &CancellationToken::new(), || flaky(&calls, 5, retryable)).await;
        assert_eq!(done, Ok(5));
        // Full jitter: each delay in (0, min(max, base × 2^n)], five of them.
        let ceiling = Duration::from_millis(100 + 200 + 400 + 400 + 400);
        assert!(started.elapsed() <= ceiling, "{:?}", started.elapsed());
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_after_its_attempts_or_on_a_permanent_error() {
        let calls = AtomicU32::new(0);
        let policy = RetryPolicy::attempts(10 * MS, 10 * MS, 3);
        let stopped = retry("t", policy, &CancellationToken::new(), || flaky(&calls, 9, retryable)).await;
        assert!(matches!(stopped, Err(Stopped::GaveUp(_))));
        assert_eq!(calls.load(Ordering::SeqCst), 3, "three attempts in all");

        let calls = AtomicU32::new(0);
        let permanent = || Flaky { retryable: false, after: None, contention: false };
        let stopped =
            retry("t", RetryPolicy::forever(MS, MS), &CancellationToken::new(), || flaky(&calls, 9, permanent)).await;
        assert!(matches!(stopped, Err(Stopped::GaveUp(_))));
        assert_eq!(calls.load(Ordering::SeqCst), 1, "no retry of a permanent error");
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_after_its_time_window() {
        let calls = AtomicU32::new(0);
        let policy =
            RetryPolicy { give_up_after: Some(Duration::from_secs(1)), ..RetryPolicy::forever(100 * MS, 100 * MS) };
        let started = Instant::now();
        let stopped = retry("t", policy, &CancellationToken::new(), || flaky(&calls, 1000, retryable)).await;
        assert!(matches!(stopped, Err(Stopped::GaveUp(_))));
        assert!(started.elapsed() >= Duration::from_millis(900) && started.elapsed() <= Duration::from_millis(1100));
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_wins_over_a_shorter_backoff() {
        let calls = AtomicU32::new(0);
        let asked = || Flaky { retryable: true, after: Some(Duration::from_secs(7)), contention: false };
        let started = Instant::now();
        let done =
            retry("t", RetryPolicy::forever(MS, MS), &CancellationToken::new(), || flaky(&calls, 2, asked)).await;
        assert_eq!(done, Ok(2));
        assert_eq!(started.elapsed(), Duration::from_secs(14));
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_stops_the_wait() {
        let calls = AtomicU32::new(0);
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(5)).await;
            stop.cancel();
        });
        let started = Instant::now();
        let stopped =
            retry("t", RetryPolicy::forever(Duration::from_secs(1), Duration::from_secs(1)), &shutdown, || {
                flaky(&calls, u32::MAX, retryable)
            })
            .await;
        assert_eq!(stopped, Err(Stopped::Shutdown));
        assert!(started.elapsed() <= Duration::from_secs(5), "{:?}", started.elapsed());
    }

    #[tokio::test(start_paused = true)]
    async fn contention_is_retried_at_once_and_backs_off_only_when_it_persists() {
        let conflict = || Flaky { retryable: true, after: None, contention: true };
        let policy = RetryPolicy::forever(Duration::from_secs(1), Duration::from_secs(10));
        let calls = AtomicU32::new(0);
        let started = Instant::now();
        let done = retry("t", policy, &CancellationToken::new(), || flaky(&calls, CONTENTION_RETRIES, conflict)).await;
        assert_eq!(done, Ok(CONTENTION_RETRIES));
        // Sixteen pauses of at most 20 ms, where the outage backoff would have waited seconds.
        assert!(started.elapsed() <= CONTENTION_PAUSE * CONTENTION_RETRIES, "{:?}", started.elapsed());

        // Past the limit, the outage backoff takes over: its delays are drawn from (0, 1 s].
        let mut retrier = Retrier::new("t", policy);
        let pauses: Vec<Duration> = (0..CONTENTION_RETRIES + 40).filter_map(|_| retrier.failed(&conflict())).collect();
        assert!(pauses[..CONTENTION_RETRIES as usize].iter().all(|p| *p <= CONTENTION_PAUSE));
        assert!(pauses[CONTENTION_RETRIES as usize..].iter().any(|p| *p > CONTENTION_PAUSE * 2), "{pauses:?}");
    }

    #[test]
    fn a_retrier_counts_failures_and_starts_over_after_a_success() {
        let mut retrier = Retrier::new("t", RetryPolicy::attempts(MS, MS, 2));
        assert!(retrier.failed(&retryable()).is_some());
        assert_eq!(retrier.failures(), 1);
        assert!(retrier.failed(&retryable()).is_none(), "second attempt of two failed: give up");
        retrier.succeeded();
        assert_eq!(retrier.failures(), 0);
        assert!(retrier.failed(&retryable()).is_some());
    }
}
