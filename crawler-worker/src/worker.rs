//! The crawler's batch handler: decodes a job, runs it with retries (a new Tor circuit after
//! a block), and finishes it in one atomic Redis step — result, follow-up list jobs, ack and
//! counters together — or moves it to the dead-letter stream with the reason.

use std::sync::Arc;
use std::time::Duration;

use common::backoff::Backoff;
use common::config::PageEnd;
use common::consumer::{BatchHandler, Delivery};
use common::dead_letter::{self, Failure};
use common::keys::{Keys, CRAWLERS_GROUP};
use common::messages::{
    CrawlResult, DeadReason, ItemJob, ItemOutcome, ItemResult, Job, ListPageJob, ListPageResult, MessageKind,
};
use common::queue::{self, counter, Add, Step, StepOutcome};
use deadpool_redis::Pool;
use tokio_util::sync::CancellationToken;

use crate::crawl::Crawler;
use crate::errors::CrawlError;
use crate::http::Fetcher;
use crate::metrics::{BlockLabels, CrawlerMetrics};
use crate::parse::list::ListPage;
use crate::tor::TorControl;

/// Longest pause between two attempts of a job.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub max_deliveries: u64,
    pub retry_base: Duration,
}

pub struct CrawlHandler {
    pub pool: Pool,
    pub keys: Keys,
    pub crawler: Crawler,
    pub fetcher: Arc<Fetcher>,
    pub tor: Option<TorControl>,
    pub policy: RetryPolicy,
    pub metrics: CrawlerMetrics,
    pub shutdown: CancellationToken,
}

/// What a job's attempts cost, all together.
#[derive(Debug, Default, Clone, Copy)]
struct JobRun {
    requests: u32,
    http_time: Duration,
}

/// What a finished job produced.
enum Finished {
    List(ListPageJob, ListPage),
    Item(ItemJob, ItemOutcome),
}

impl BatchHandler for CrawlHandler {
    async fn handle(&self, batch: Vec<Delivery>) {
        for delivery in batch {
            self.handle_one(delivery).await;
        }
    }
}

impl CrawlHandler {
    async fn handle_one(&self, delivery: Delivery) {
        let job = match Job::from_fields(&delivery.fields) {
            Ok(job) => job,
            Err(error) => {
                tracing::warn!(id = %delivery.id, %error, "undecodable job: dead-lettered");
                let failure =
                    Failure { reason: DeadReason::Undecodable, attempts: 0, last_error: error.to_string(), page: None };
                return self.finish(vec![self.dead_letter_step(&delivery, None, failure)], "unknown", "dead").await;
            }
        };
        let kind = job.kind().as_str();
        if delivery.deliveries > self.policy.max_deliveries {
            let failure = Failure {
                reason: DeadReason::MaxDeliveries,
                attempts: job.attempt(),
                last_error: format!("delivered {} times; its consumers kept stopping", delivery.deliveries),
                page: None,
            };
            let step = self.dead_letter_step(&delivery, Some(&job), failure);
            return self.finish(vec![step], kind, "dead").await;
        }
        let started = std::time::Instant::now();
        let Some(result) = self.run_with_retries(&job).await else {
            return; // shutting down: the entry stays pending for whoever takes it
        };
        let (step, outcome, http_time) = match result {
            Ok((finished, run)) => (self.done_step(&delivery, finished, run.requests), "done", run.http_time),
            Err(failure) => (self.dead_letter_step(&delivery, Some(&job), failure), "dead", Duration::ZERO),
        };
        self.finish(vec![step], kind, outcome).await;
        // One line per job: the benchmark's job-overhead figure (time beyond the HTTP requests).
        tracing::debug!(
            target: "ek::job",
            kind,
            outcome,
            job_ms = started.elapsed().as_secs_f64() * 1e3,
            http_ms = http_time.as_secs_f64() * 1e3,
            "job finished"
        );
    }

    /// Attempts the job until it succeeds, fails for good or the process shuts down (`None`).
    async fn run_with_retries(&self, job: &Job) -> Option<Result<(Finished, JobRun), Failure>> {
        let mut backoff = Backoff::new(self.policy.retry_base, MAX_RETRY_DELAY);
        let mut attempts = job.attempt();
        let mut run = JobRun::default();
        loop {
            let mut session = self.fetcher.session();
            let result = match job {
                Job::List(j) => self.crawler.list_page(j, &mut session).await.map(|p| Finished::List(j.clone(), p)),
                Job::Item(j) => self.crawler.item(j, &mut session).await.map(|o| Finished::Item(j.clone(), o)),
            };
            run.requests += session.requests;
            run.http_time += session.http_time;
            attempts += 1;
            let error = match result {
                Ok(finished) => return Some(Ok((finished, run))),
                Err(CrawlError::Rejected(reason)) => return Some(Err(rejected(reason, attempts))),
                Err(error) => error,
            };
            if attempts >= self.policy.max_attempts {
                return Some(Err(final_failure(error, attempts)));
            }
            let delay = self.before_retry(job, &error, attempts).await.max(backoff.next_delay());
            tokio::select! {
                () = self.shutdown.cancelled() => return None,
                () = tokio::time::sleep(delay) => {}
            }
        }
    }

    /// Counts the failure and, for a block, asks Tor for a new circuit; returns the delay the
    /// site asked for (`Retry-After`), if any.
    async fn before_retry(&self, job: &Job, error: &CrawlError, attempts: u32) -> Duration {
        self.metrics.retries.inc();
        tracing::info!(kind = job.kind().as_str(), attempt = attempts, %error, "job attempt failed: retrying");
        if let CrawlError::Blocked { cause, .. } = error {
            self.metrics.blocks.get_or_create(&BlockLabels { cause: cause.as_str().to_owned() }).inc();
            if let Some(tor) = &self.tor {
                match tor.new_circuit().await {
                    Ok(true) => {
                        self.metrics.newnym.inc();
                        tracing::info!("asked Tor for a new circuit after a block");
                    }
                    Ok(false) => {}
                    Err(error) => tracing::warn!(%error, "could not ask Tor for a new circuit"),
                }
            }
        }
        error.retry_after().unwrap_or_default()
    }

    fn done_step(&self, delivery: &Delivery, finished: Finished, requests: u32) -> Step {
        let (run_id, kind, adds) = match finished {
            Finished::List(job, page) => {
                let follow_ups = self.follow_up_jobs(&job, &page);
                let result = CrawlResult::List(ListPageResult {
                    total_count: page.total_count,
                    products: page.products,
                    job: job.clone(),
                });
                let mut adds = vec![self.result_add(&result)];
                adds.extend(follow_ups);
                (job.run_id, MessageKind::ListJob, adds)
            }
            Finished::Item(job, outcome) => {
                let result =
                    CrawlResult::Item(ItemResult { job: job.clone(), fetched_at: chrono::Utc::now(), outcome });
                (job.run_id, MessageKind::ItemJob, vec![self.result_add(&result)])
            }
        };
        Step {
            ack: Some((self.keys.jobs(), delivery.id.clone())),
            counters: Some(self.keys.run_counters(&run_id)),
            increments: vec![(counter::done(kind.as_str()), 1), (counter::REQUESTS.to_owned(), i64::from(requests))],
            adds,
        }
    }

    /// The first page of a listing learns the last page and adds the jobs of the others.
    fn follow_up_jobs(&self, job: &ListPageJob, page: &ListPage) -> Vec<Add> {
        if !job.fan_out {
            return Vec::new();
        }
        let last = match job.end_page {
            PageEnd::Last => page.last_page_default(),
            PageEnd::Page(end) => end.min(page.last_page_default()),
        };
        (job.page + 1..=last)
            .map(|n| {
                let next = job.for_page(n);
                Add {
                    stream: self.keys.jobs(),
                    dedupe: Some((self.keys.run_pages_seen(&job.run_id), next.page_member())),
                    counter: Some(counter::enqueued(MessageKind::ListJob.as_str())),
                    max_len: None,
                    fields: Job::List(next).to_fields(),
                }
            })
            .collect()
    }

    fn result_add(&self, result: &CrawlResult) -> Add {
        Add {
            stream: self.keys.results(),
            counter: Some(counter::enqueued(result.kind().as_str())),
            fields: result.to_fields(),
            ..Add::default()
        }
    }

    /// Dead-letters the entry; an item job also gets a `Failed` result, so the updater
    /// clears the part's `isUpdating` flag.
    fn dead_letter_step(&self, delivery: &Delivery, job: Option<&Job>, failure: Failure) -> Step {
        let reason = failure.last_error.clone();
        let mut step = dead_letter::step(&self.keys, &self.keys.jobs(), delivery, failure);
        if let Some(Job::Item(job)) = job {
            let result = CrawlResult::Item(ItemResult {
                job: job.clone(),
                fetched_at: chrono::Utc::now(),
                outcome: ItemOutcome::Failed { reason },
            });
            step.counters = Some(self.keys.run_counters(&job.run_id));
            step.adds.push(self.result_add(&result));
        }
        step
    }

    /// Records the finished job; see [`queue::apply_until_done`].
    async fn finish(&self, steps: Vec<Step>, kind: &str, outcome: &str) {
        if let Some(results) = queue::apply_until_done(&self.pool, CRAWLERS_GROUP, &steps, &self.shutdown).await {
            let duplicate = results.contains(&StepOutcome::AlreadyAcked);
            self.metrics.worker.count(kind, if duplicate { "duplicate" } else { outcome });
        }
    }
}

fn rejected(reason: String, attempts: u32) -> Failure {
    Failure { reason: DeadReason::Rejected, attempts, last_error: reason, page: None }
}

/// The dead letter of a job whose attempts ran out; a persistent parse error keeps its page.
fn final_failure(error: CrawlError, attempts: u32) -> Failure {
    match error {
        CrawlError::Blocked { parse: Some(parse), .. } => {
            Failure { reason: DeadReason::Parse, attempts, last_error: parse.error.to_string(), page: Some(parse.page) }
        }
        other => Failure { reason: DeadReason::MaxAttempts, attempts, last_error: other.to_string(), page: None },
    }
}
