//! Waiting for a run to finish: the counters hash is polled (a cheap `HGETALL`, state read
//! from Redis — never a sleep sized by a guess), progress is shown, samples are kept for
//! `status`, and the run is marked done by the atomic check in `lua/finish_run.lua`.

use std::time::Duration;

use common::keys::Keys;
use common::redis_pool::Pool;
use common::retry::{Always, Retrier, RetryPolicy};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::counters::{KindCounts, RunCounters};
use crate::rate::{self, Sample};
use crate::run_state::{self, field, Finish};
use crate::Error;

/// How the producer shows progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Display {
    /// Progress bars redrawn in place (a terminal).
    Bars,
    /// A log line every so often (logs collected by a machine).
    Log { every: Duration },
    /// Nothing (tests).
    Quiet,
}

#[derive(Debug, Clone, Copy)]
pub struct WatchSettings {
    /// How often the counters are read.
    pub poll: Duration,
    /// How often a sample goes to the run hash.
    pub sample_every: Duration,
    /// How long the run's keys are kept once it is done.
    pub keep_for: Duration,
    pub display: Display,
}

/// How waiting ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Waited {
    /// The run is done; these are its final counters.
    Done(RunCounters),
    /// Shutdown was requested; the run goes on and a new producer resumes it.
    Interrupted(RunCounters),
}

/// Waits until the run is done (or `shutdown`), riding out Redis outages with backoff.
///
/// # Errors
/// [`Error::RunReplaced`] when another producer replaced the run with `--fresh`.
pub async fn wait_until_done(
    pool: &Pool,
    keys: &Keys,
    run_id: &str,
    settings: WatchSettings,
    shutdown: &CancellationToken,
) -> Result<Waited, Error> {
    let mut reporter = Reporter::new(settings.display);
    let mut sampler = Sampler::new(settings.sample_every);
    let mut outage = Retrier::new("read the run counters (the run goes on)", READ_RETRY);
    let mut last = RunCounters::default();
    loop {
        match poll_once(pool, keys, run_id, &mut sampler).await {
            Ok(counters) => {
                outage.succeeded();
                reporter.show(&counters, &sampler.rate(&counters));
                if counters.is_complete() && finish(pool, keys, run_id, settings.keep_for).await? {
                    reporter.clear();
                    return Ok(Waited::Done(counters));
                }
                last = counters;
            }
            Err(Error::RunReplaced) => return Err(Error::RunReplaced),
            Err(e) => match outage.wait(Always(e), shutdown).await {
                Ok(()) => continue,
                Err(_) => break,
            },
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(settings.poll) => {}
        }
    }
    reporter.clear();
    Ok(Waited::Interrupted(last))
}

/// Reads the counters (and checks the run is still the current one) in one atomic read.
async fn poll_once(pool: &Pool, keys: &Keys, run_id: &str, sampler: &mut Sampler) -> Result<RunCounters, Error> {
    let mut conn = pool.get().await?;
    let (current, counters): (Option<String>, std::collections::HashMap<String, String>) = redis::pipe()
        .atomic()
        .hget(keys.run(), field::ID)
        .hgetall(keys.run_counters(run_id))
        .query_async(&mut conn)
        .await?;
    if current.as_deref() != Some(run_id) {
        return Err(Error::RunReplaced);
    }
    let counters = RunCounters::from_hash(&counters);
    sampler.record(&mut conn, keys, &counters).await?;
    Ok(counters)
}

/// Tries to mark the run done; true when it is done.
async fn finish(pool: &Pool, keys: &Keys, run_id: &str, keep_for: Duration) -> Result<bool, Error> {
    let mut conn = pool.get().await?;
    match run_state::finish(&mut conn, keys, run_id, chrono::Utc::now(), keep_for).await? {
        Finish::Done | Finish::AlreadyDone => Ok(true),
        Finish::NotYet => Ok(false),
        Finish::Replaced => Err(Error::RunReplaced),
    }
}

/// Something done at most once every `every`: the first time at once, then again once
/// `every` has passed since it was last done. The samples and the log lines both go by it.
#[derive(Debug)]
struct Every {
    every: Duration,
    last: Option<Instant>,
}

impl Every {
    fn new(every: Duration) -> Self {
        Self { every, last: None }
    }

    fn is_due(&self) -> bool {
        self.last.is_none_or(|t| t.elapsed() >= self.every)
    }

    /// Done now: due again `every` from now.
    fn done(&mut self) {
        self.last = Some(Instant::now());
    }

    fn never_done(&self) -> bool {
        self.last.is_none()
    }
}

/// Keeps the ring of samples and writes it to the run hash every `every`.
struct Sampler {
    write: Every,
    ring: Vec<Sample>,
}

impl Sampler {
    fn new(every: Duration) -> Self {
        Self { write: Every::new(every), ring: Vec::new() }
    }

    async fn record<C: redis::aio::ConnectionLike>(
        &mut self,
        conn: &mut C,
        keys: &Keys,
        counters: &RunCounters,
    ) -> Result<(), Error> {
        if !self.write.is_due() {
            return Ok(());
        }
        if self.write.never_done() {
            // A restarted producer continues the ring its predecessor left.
            let kept: Option<String> = redis::cmd("HGET").arg(keys.run()).arg(field::SAMPLES).query_async(conn).await?;
            self.ring = rate::decode(kept.as_deref());
        }
        rate::push(&mut self.ring, Sample::of(now_ms(), counters));
        let () = redis::cmd("HSET")
            .arg(keys.run())
            .arg(field::SAMPLES)
            .arg(rate::encode(&self.ring))
            .query_async(conn)
            .await?;
        // Only a written sample counts: after a failed write the next poll tries again.
        self.write.done();
        Ok(())
    }

    fn rate(&self, counters: &RunCounters) -> rate::Rate {
        rate::rate(&self.ring, Sample::of(now_ms(), counters))
    }
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Reads of the run counters are retried until they work: the run goes on meanwhile.
const READ_RETRY: RetryPolicy = RetryPolicy::forever(Duration::from_millis(100), Duration::from_secs(5));

/// Shows progress as bars or log lines.
enum Reporter {
    // indicatif: it redraws several bars in place on a terminal (MultiProgress), computes the
    // rate and ETA of each bar itself, limits its redraw rate, and is already a workspace
    // dependency; on a non-terminal we log instead, since bars there would be noise.
    Bars { _multi: MultiProgress, list: ProgressBar, items: ProgressBar, results: ProgressBar },
    Log(Every),
    Quiet,
}

impl Reporter {
    fn new(display: Display) -> Self {
        match display {
            Display::Bars => {
                let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
                let bar = |name: &str| {
                    let bar = multi.add(ProgressBar::new(0));
                    bar.set_style(bar_style());
                    bar.set_prefix(name.to_owned());
                    bar
                };
                let (list, items, results) = (bar("list pages"), bar("items"), bar("results"));
                Reporter::Bars { _multi: multi, list, items, results }
            }
            Display::Log { every } => Reporter::Log(Every::new(every)),
            Display::Quiet => Reporter::Quiet,
        }
    }

    fn show(&mut self, counters: &RunCounters, rate: &rate::Rate) {
        match self {
            Reporter::Bars { list, items, results, .. } => {
                set_bar(list, counters.list());
                set_bar(items, counters.item());
                set_bar(results, counters.results());
            }
            Reporter::Log(lines) => {
                if lines.is_due() {
                    lines.done();
                    log_line(counters, rate);
                }
            }
            Reporter::Quiet => {}
        }
    }

    fn clear(&mut self) {
        if let Reporter::Bars { list, items, results, .. } = self {
            for bar in [list, items, results] {
                bar.finish();
            }
        }
    }
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix:>10} [{bar:32}] {pos:>6}/{len:<6} {per_sec:>9} eta {eta:<4} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

fn set_bar(bar: &ProgressBar, counts: KindCounts) {
    bar.set_length(u64::try_from(counts.enqueued).unwrap_or(0));
    bar.set_position(u64::try_from(counts.finished()).unwrap_or(0));
    if counts.dead > 0 {
        bar.set_message(format!("{} dead", counts.dead));
    }
}

fn log_line(counters: &RunCounters, rate: &rate::Rate) {
    let (list, item, results) = (counters.list(), counters.item(), counters.results());
    let eta = rate::eta_secs(counters, rate).map_or_else(|| "unknown".to_owned(), |s| format!("{s:.0}s"));
    tracing::info!(
        list = %format!("{}/{}", list.finished(), list.enqueued),
        items = %format!("{}/{}", item.finished(), item.enqueued),
        results = %format!("{}/{}", results.finished(), results.enqueued),
        dead = counters.dead_letters(),
        per_sec = %format!("{:.1}", rate.total),
        eta = %eta,
        "progress"
    );
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use redis::{Cmd, Pipeline, RedisFuture, Value};
    use tokio::time::advance;

    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[tokio::test(start_paused = true)]
    async fn every_is_due_at_once_then_once_a_period() {
        let mut lines = Every::new(Duration::from_secs(5));
        assert!(lines.is_due() && lines.never_done());
        lines.done();
        assert!(!lines.is_due());
        advance(Duration::from_secs(5) - MS).await;
        assert!(!lines.is_due());
        advance(MS).await;
        assert!(lines.is_due());
        lines.done();
        advance(Duration::from_secs(60)).await;
        lines.done();
        assert!(!lines.is_due(), "a late one does not make the next one come sooner");
    }

    /// Answers HGET with nil and anything else with OK; keeps the name of every command.
    #[derive(Clone, Default)]
    struct Recorder(Arc<Mutex<Vec<String>>>);

    impl Recorder {
        fn take(&self) -> Vec<String> {
            std::mem::take(&mut *self.0.lock().expect("lock"))
        }
    }

    impl redis::aio::ConnectionLike for Recorder {
        fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
            let name = match cmd.args_iter().next() {
                Some(redis::Arg::Simple(name)) => String::from_utf8_lossy(name).into_owned(),
                _ => String::new(),
            };
            let answer = if name == "HGET" { Value::Nil } else { Value::Okay };
            self.0.lock().expect("lock").push(name);
            Box::pin(async move { Ok(answer) })
        }

        fn req_packed_commands<'a>(&'a mut self, _: &'a Pipeline, _: usize, _: usize) -> RedisFuture<'a, Vec<Value>> {
            Box::pin(async { Ok(Vec::new()) })
        }

        fn get_db(&self) -> i64 {
            0
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_sampler_writes_a_sample_every_period_and_reads_the_ring_once() {
        let (keys, counters) = (Keys::new("ek"), RunCounters::default());
        let mut conn = Recorder::default();
        let mut sampler = Sampler::new(Duration::from_secs(2));
        sampler.record(&mut conn, &keys, &counters).await.expect("record");
        assert_eq!(conn.take(), ["HGET", "HSET"], "the ring a predecessor left, then the first sample");
        advance(Duration::from_secs(2) - MS).await;
        sampler.record(&mut conn, &keys, &counters).await.expect("record");
        assert!(conn.take().is_empty(), "polls in between write nothing");
        advance(MS).await;
        sampler.record(&mut conn, &keys, &counters).await.expect("record");
        assert_eq!(conn.take(), ["HSET"]);
        // The samples themselves carry wall-clock times (other processes read them from the
        // run hash), which paused time does not move: only when they are written is tested here.
    }
}
