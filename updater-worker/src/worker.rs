//! The updater's batch handler: decodes the results, writes them in one MongoDB transaction,
//! then — only after the commit — acks each entry in one atomic Redis step with its item jobs,
//! or moves it to the dead-letter stream with the reason.

use std::time::Duration;

use common::backoff::Backoff;
use common::consumer::{BatchHandler, Delivery};
use common::dead_letter::{self, Failure};
use common::keys::{Keys, UPDATERS_GROUP};
use common::messages::{CrawlResult, DeadReason, Job, MessageKind};
use common::queue::{self, counter, Add, Step, StepOutcome};
use deadpool_redis::Pool;
use tokio_util::sync::CancellationToken;

use crate::metrics::UpdaterMetrics;
use crate::store::{BatchOutcome, Entry, EntryOutcome, Store, StoreError};

pub struct UpdateHandler {
    pub pool: Pool,
    pub keys: Keys,
    pub store: Store,
    pub max_deliveries: u64,
    pub metrics: UpdaterMetrics,
    pub shutdown: CancellationToken,
}

/// An entry of the batch after decoding.
enum Decoded {
    Result(Delivery, Box<CrawlResult>),
    /// Goes to the dead-letter stream without touching MongoDB.
    Dead(Delivery, Failure, &'static str),
}

impl BatchHandler for UpdateHandler {
    async fn handle(&self, batch: Vec<Delivery>) {
        let decoded: Vec<Decoded> = batch.into_iter().map(|d| self.decode(d)).collect();
        let results: Vec<(&Delivery, &CrawlResult)> = decoded
            .iter()
            .filter_map(|d| match d {
                Decoded::Result(delivery, result) => Some((delivery, &**result)),
                Decoded::Dead(..) => None,
            })
            .collect();
        let entries: Vec<Entry> = results.iter().map(|(d, r)| Entry { id: &d.id, result: r }).collect();
        let Some(outcome) = self.write(&entries).await else {
            return; // shutting down: the entries stay pending and are written by whoever takes them
        };
        common::failpoint::hit("updater-after-commit");
        let mut steps = Vec::new();
        let mut outcomes = outcome.entries.into_iter();
        for entry in &decoded {
            steps.push(match entry {
                Decoded::Dead(delivery, failure, kind) => (self.dead_step(delivery, failure.clone()), *kind, "dead"),
                Decoded::Result(delivery, result) => match outcomes.next() {
                    Some(outcome) => self.outcome_step(delivery, result, outcome),
                    None => continue, // one outcome per entry: unreachable
                },
            });
        }
        self.finish(steps).await;
    }
}

impl UpdateHandler {
    fn decode(&self, delivery: Delivery) -> Decoded {
        let result = match CrawlResult::from_fields(&delivery.fields) {
            Ok(result) => result,
            Err(error) => {
                tracing::warn!(id = %delivery.id, %error, "undecodable result: dead-lettered");
                let failure = failure(DeadReason::Undecodable, error.to_string());
                return Decoded::Dead(delivery, failure, "unknown");
            }
        };
        if delivery.deliveries > self.max_deliveries {
            let reason = format!("delivered {} times; its consumers kept stopping", delivery.deliveries);
            return Decoded::Dead(delivery, failure(DeadReason::MaxDeliveries, reason), result.kind().as_str());
        }
        Decoded::Result(delivery, Box::new(result))
    }

    /// Writes the batch, retrying until it commits or the process shuts down (`None`). A batch
    /// is never given up on: dead-lettering good results because MongoDB is down would lose them.
    async fn write(&self, entries: &[Entry<'_>]) -> Option<BatchOutcome> {
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
        let mut failing: Option<&'static str> = None;
        loop {
            let attempt = tokio::select! {
                () = self.shutdown.cancelled() => return None,
                outcome = self.store.apply_batch(entries) => outcome,
            };
            match attempt {
                Ok(outcome) => {
                    self.note_commit(&outcome, failing.is_some());
                    return Some(outcome);
                }
                Err(error) => self.note_failure(&error, &mut failing),
            }
            tokio::select! {
                () = self.shutdown.cancelled() => return None,
                () = tokio::time::sleep(backoff.next_delay()) => {}
            }
        }
    }

    fn note_commit(&self, outcome: &BatchOutcome, was_failing: bool) {
        if was_failing {
            tracing::info!("batches commit again");
        }
        self.metrics.mongo_down.set(0);
        self.metrics.transactions.inc();
        self.metrics.transaction_retries.inc_by(u64::from(outcome.attempts.saturating_sub(1)));
    }

    /// Logs once per change of state, not once per retry.
    fn note_failure(&self, error: &StoreError, failing: &mut Option<&'static str>) {
        if let StoreError::MongoUnreachable { .. } = error {
            self.metrics.mongo_down.set(1);
        }
        if *failing != Some(error.state()) {
            tracing::warn!(%error, "batch not written; it stays unacked and is retried");
            *failing = Some(error.state());
        }
    }

    fn outcome_step(
        &self,
        delivery: &Delivery,
        result: &CrawlResult,
        outcome: EntryOutcome,
    ) -> (Step, &'static str, &'static str) {
        let kind = result.kind().as_str();
        match outcome {
            EntryOutcome::Rejected { reason } => {
                tracing::warn!(id = %delivery.id, %reason, "result rejected: dead-lettered");
                (self.dead_step(delivery, failure(DeadReason::Invalid, reason)), kind, "dead")
            }
            EntryOutcome::Applied { item_jobs, inserted, updated } => {
                self.metrics.item_jobs.inc_by(item_jobs.len() as u64);
                let adds = item_jobs
                    .into_iter()
                    .map(|job| Add {
                        stream: self.keys.jobs(),
                        counter: Some(counter::enqueued(MessageKind::ItemJob.as_str())),
                        fields: Job::Item(job).to_fields(),
                        ..Add::default()
                    })
                    .collect();
                let step = Step {
                    ack: Some((self.keys.results(), delivery.id.clone())),
                    counters: Some(self.keys.run_counters(result.run_id())),
                    increments: vec![
                        (counter::done(kind), 1),
                        (counter::PARTS_INSERTED.to_owned(), i64::from(inserted)),
                        (counter::PARTS_UPDATED.to_owned(), i64::from(updated)),
                    ],
                    adds,
                };
                (step, kind, "done")
            }
        }
    }

    fn dead_step(&self, delivery: &Delivery, failure: Failure) -> Step {
        dead_letter::step(&self.keys, &self.keys.results(), delivery, failure)
    }

    /// Acks the committed batch; see [`queue::apply_until_done`].
    async fn finish(&self, steps: Vec<(Step, &'static str, &'static str)>) {
        let (steps, labels): (Vec<Step>, Vec<(&str, &str)>) = steps.into_iter().map(|(s, k, o)| (s, (k, o))).unzip();
        if let Some(results) = queue::apply_until_done(&self.pool, UPDATERS_GROUP, &steps, &self.shutdown).await {
            for ((kind, outcome), result) in labels.iter().zip(results) {
                let outcome = if result == StepOutcome::AlreadyAcked { "duplicate" } else { outcome };
                self.metrics.worker.count(kind, outcome);
            }
        }
    }
}

fn failure(reason: DeadReason, last_error: String) -> Failure {
    Failure::new(reason, 0, last_error)
}
