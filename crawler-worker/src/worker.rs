//! The crawler's batch handler: decodes a job, runs it (each request with its own retries,
//! [`crate::fetch`]) and finishes it in one atomic Redis step — result, follow-up list jobs,
//! ack and counters together — or moves it to the dead-letter stream naming the request that
//! used up its attempts.

use std::future::Future;
use std::sync::Arc;

use common::consumer::{BatchHandler, Delivery};
use common::dead_letter::{self, Failure};
use common::keys::{Keys, CRAWLERS_GROUP};
use common::messages::{
    CrawlResult, DeadReason, ItemJob, ItemOutcome, ItemResult, Job, ListPageJob, ListPageResult, MessageKind,
};
use common::metrics::Outcome;
use common::plan::{next_jobs, Event};
use common::queue::{self, counter, Add, Step, StepOutcome};
use common::redis_pool::Pool;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::crawl::Crawler;
use crate::error::CrawlError;
use crate::fetch::{JobError, RequestFailure};
use crate::metrics::CrawlerMetrics;
use crate::parse::list::ListPage;
use crate::slots::Arrival;

pub(crate) struct CrawlHandler {
    pub pool: Pool,
    pub keys: Keys,
    pub crawler: Crawler,
    /// Deliveries of one entry before it is dead-lettered (its consumers kept dying).
    pub max_deliveries: u64,
    pub metrics: CrawlerMetrics,
    pub shutdown: CancellationToken,
}

/// What a finished job produced.
enum Finished {
    List(ListPageJob, ListPage),
    Item(ItemJob, ItemOutcome),
}

impl BatchHandler for CrawlHandler {
    fn handle(self: Arc<Self>, batch: Vec<Delivery>) -> impl Future<Output = ()> + Send + 'static {
        // Counted as demand on the request slots now, before the task first runs: the loop
        // must not read the next job on the strength of one that has not asked for a slot yet.
        let taken: Vec<(Delivery, Arrival)> = batch.into_iter().map(|d| (d, self.crawler.job_taken())).collect();
        async move {
            for (delivery, arrival) in taken {
                let span = tracing::info_span!("job", id = %delivery.id);
                self.handle_one(delivery, arrival).instrument(span).await;
            }
        }
    }

    async fn wants_more(&self) {
        self.crawler.wants_more().await;
    }
}

impl CrawlHandler {
    async fn handle_one(&self, delivery: Delivery, arrival: Arrival) {
        let job = match Job::from_fields(&delivery.fields) {
            Ok(job) => job,
            Err(error) => {
                tracing::warn!(%error, "undecodable job: dead-lettered");
                let failure = Failure::new(DeadReason::Undecodable, 0, error.to_string());
                return self
                    .finish(vec![self.dead_letter_step(&delivery, None, failure, 0)], "unknown", Outcome::Dead)
                    .await;
            }
        };
        let kind = job.kind().as_str();
        if delivery.deliveries > self.max_deliveries {
            let last_error = format!("delivered {} times; its consumers kept stopping", delivery.deliveries);
            tracing::warn!(kind, deliveries = delivery.deliveries, "over-delivered job: dead-lettered");
            let failure = Failure::new(DeadReason::MaxDeliveries, 0, last_error);
            let step = self.dead_letter_step(&delivery, Some(&job), failure, 0);
            return self.finish(vec![step], kind, Outcome::Dead).await;
        }
        let started = std::time::Instant::now();
        let mut session = self.crawler.session(arrival);
        let result = match &job {
            Job::List(j) => self.crawler.list_page(j, &mut session).await.map(|p| Finished::List(j.clone(), p)),
            Job::Item(j) => self.crawler.item(j, &mut session).await.map(|o| Finished::Item(j.clone(), o)),
        };
        let requests = session.requests;
        let (step, outcome) = match result {
            Ok(finished) => (self.done_step(&delivery, finished, requests), Outcome::Done),
            // Shutting down: the entry stays pending for whoever takes it.
            Err(JobError::Shutdown) => return,
            Err(JobError::Rejected(reason)) => {
                tracing::warn!(kind, %reason, "job rejected: dead-lettered");
                let failure = Failure::new(DeadReason::Rejected, 1, reason);
                (self.dead_letter_step(&delivery, Some(&job), failure, requests), Outcome::Dead)
            }
            Err(JobError::Failed(failure)) => {
                tracing::warn!(
                    kind,
                    endpoint = %failure.request.endpoint,
                    target = %failure.request.target,
                    attempts = failure.attempts,
                    error = %failure.error.chain(),
                    "request used up its attempts: job dead-lettered"
                );
                (self.dead_letter_step(&delivery, Some(&job), request_failure(*failure), requests), Outcome::Dead)
            }
        };
        self.finish(vec![step], kind, outcome).await;
        // One line per job: the benchmark's job-overhead figure (time beyond the HTTP requests).
        tracing::debug!(
            target: "ek::job",
            kind,
            outcome = outcome.as_str(),
            job_ms = started.elapsed().as_secs_f64() * 1e3,
            http_ms = session.http_time.as_secs_f64() * 1e3,
            "job finished"
        );
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

    /// What the planner says follows from a read list page (the first page of a listing: the
    /// jobs of the others), each added once per run through the run's page set.
    fn follow_up_jobs(&self, job: &ListPageJob, page: &ListPage) -> Vec<Add> {
        next_jobs(Event::ListRead { job, total_count: page.total_count })
            .into_iter()
            .filter_map(|next| match next {
                Job::List(next) => Some(Add {
                    stream: self.keys.jobs(),
                    dedupe: Some((self.keys.run_pages_seen(&job.run_id), next.page_member())),
                    counter: Some(counter::enqueued(MessageKind::ListJob.as_str())),
                    fields: Job::List(next).to_fields(),
                    ..Add::default()
                }),
                Job::Item(_) => None,
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

    /// Dead-letters the entry, counting the requests it cost; an item job also gets a `Failed`
    /// result, so the updater clears the part's `isUpdating` flag.
    fn dead_letter_step(&self, delivery: &Delivery, job: Option<&Job>, failure: Failure, requests: u32) -> Step {
        let reason = failure.last_error.clone();
        let mut step = dead_letter::step(&self.keys, &self.keys.jobs(), delivery, failure);
        if requests > 0 && step.counters.is_some() {
            step.increments.push((counter::REQUESTS.to_owned(), i64::from(requests)));
        }
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
    async fn finish(&self, steps: Vec<Step>, kind: &'static str, outcome: Outcome) {
        if let Some(results) = queue::apply_until_done(&self.pool, CRAWLERS_GROUP, &steps, &self.shutdown).await {
            let duplicate = results.contains(&StepOutcome::AlreadyAcked);
            self.metrics.worker.count(kind, if duplicate { Outcome::Duplicate } else { outcome });
        }
    }
}

/// The dead letter of a job whose request used up its attempts; a whole answer that kept
/// failing to parse keeps its page.
fn request_failure(failure: RequestFailure) -> Failure {
    let RequestFailure { request, attempts, error } = failure;
    let last_error = error.chain();
    let (reason, page) = match error {
        CrawlError::Unparseable { page, .. } => (DeadReason::Parse, Some(page)),
        _ => (DeadReason::MaxAttempts, None),
    };
    Failure { reason, attempts, last_error, request: Some(request), page }
}
