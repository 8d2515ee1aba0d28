//! The updater's batch handler: decodes the results, writes them in one MongoDB transaction
//! (a batch of many list results in several, of at most [`MAX_STATEMENTS`] statements each),
//! then — only after the commit — acks each entry in one atomic Redis step with its item jobs,
//! or moves it to the dead-letter stream with the reason (a list result together with the item
//! jobs of the pcodes it still has claimed, so no part loses its item job to a dead letter).

use common::consumer::{BatchHandler, Delivery};
use common::dead_letter::{self, Failure};
use common::keys::{Keys, UPDATERS_GROUP};
use common::messages::{CrawlResult, DeadReason, Job, ListPageResult, MessageKind};
use common::metrics::Outcome;
use common::queue::{self, counter, Add, Step, StepOutcome};
use common::redis_pool::Pool;
use std::collections::HashSet;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

use crate::metrics::UpdaterMetrics;
use crate::store::{self, BatchOutcome, Entry, EntryOutcome, Store};

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
    /// Goes to the dead-letter stream without touching MongoDB; with its result when it
    /// decoded (over-delivered).
    Dead(Delivery, Failure, &'static str, Option<Box<CrawlResult>>),
}

/// A step to run after the commit, with what it is for: the entry, its kind and outcome label.
struct Planned {
    step: Step,
    label: Label,
}

impl Planned {
    fn new(step: Step, id: &str, kind: &'static str, outcome: Outcome) -> Self {
        Self { step, label: Label { id: id.to_owned(), kind, outcome } }
    }
}

/// What a step was for, kept for logging and metrics once it ran.
struct Label {
    id: String,
    kind: &'static str,
    outcome: Outcome,
}

/// Statements one transaction carries at most (a listed variant or an item result is one):
/// a batch read when results pile up — at scale, dozens of list results of 90 products
/// each — is written in several transactions of about this size, each acked after its
/// commit. One transaction of thousands of statements took SecantusDB minutes, and a write
/// conflict with another updater threw all of it away to start again. An entry is never split.
pub(crate) const MAX_STATEMENTS: usize = 256;

impl BatchHandler for UpdateHandler {
    async fn handle(self: Arc<Self>, batch: Vec<Delivery>) {
        let decoded: Vec<Decoded> = batch.into_iter().map(|d| self.decode(d)).collect();
        for part in by_weight(decoded, MAX_STATEMENTS, Decoded::statements) {
            if self.write_and_ack(part).await.is_none() {
                return; // shutting down: the entries stay pending and are written by whoever takes them
            }
        }
    }
}

/// Splits `items`, in order, into runs whose `weight` adds up to at most `limit` (an item
/// that alone weighs more makes a run of its own).
fn by_weight<T>(items: Vec<T>, limit: usize, weight: impl Fn(&T) -> usize) -> Vec<Vec<T>> {
    let mut runs: Vec<Vec<T>> = Vec::new();
    let mut size = 0;
    for item in items {
        let w = weight(&item);
        match runs.last_mut() {
            Some(run) if size + w <= limit => run.push(item),
            _ => {
                size = 0;
                runs.push(vec![item]);
            }
        }
        size += w;
    }
    runs
}

impl Decoded {
    /// Statements this entry adds to a transaction: one per listed variant of a list result,
    /// one for an item result, none for a dead letter.
    fn statements(&self) -> usize {
        match self {
            Decoded::Result(_, result) => match &**result {
                CrawlResult::List(list) => list.products.iter().map(|p| p.variants.len()).sum::<usize>().max(1),
                CrawlResult::Item(_) => 1,
            },
            Decoded::Dead(..) => 0,
        }
    }
}

impl UpdateHandler {
    /// Writes the results of `decoded` in one transaction, then acks every entry (with its
    /// item jobs, or as a dead letter). `None`: shutting down before the commit.
    async fn write_and_ack(&self, decoded: Vec<Decoded>) -> Option<()> {
        let results: Vec<(&Delivery, &CrawlResult)> = decoded
            .iter()
            .filter_map(|d| match d {
                Decoded::Result(delivery, result) => Some((delivery, &**result)),
                Decoded::Dead(..) => None,
            })
            .collect();
        let entries: Vec<Entry> = results.iter().map(|(d, r)| Entry { id: &d.id, result: r }).collect();
        let outcome = self.write(&entries).await?;
        common::failpoint::hit("updater-after-commit");
        let mut steps = Vec::new();
        let mut outcomes = outcome.entries.into_iter();
        for entry in &decoded {
            steps.push(match entry {
                Decoded::Dead(delivery, failure, kind, result) => {
                    let step = self.dead_step(delivery, failure.clone(), result.as_deref());
                    Planned::new(step, &delivery.id, kind, Outcome::Dead)
                }
                Decoded::Result(delivery, result) => match outcomes.next() {
                    Some(outcome) => self.outcome_step(delivery, result, outcome),
                    None => continue, // one outcome per entry: unreachable
                },
            });
        }
        self.finish(steps).await;
        Some(())
    }

    fn decode(&self, delivery: Delivery) -> Decoded {
        let result = match CrawlResult::from_fields(&delivery.fields) {
            Ok(result) => result,
            Err(error) => {
                tracing::warn!(id = %delivery.id, %error, "undecodable result: dead-lettered");
                let failure = failure(DeadReason::Undecodable, error.to_string());
                return Decoded::Dead(delivery, failure, "unknown", None);
            }
        };
        if delivery.deliveries > self.max_deliveries {
            let reason = format!("delivered {} times; its consumers kept stopping", delivery.deliveries);
            let kind = result.kind().as_str();
            return Decoded::Dead(delivery, failure(DeadReason::MaxDeliveries, reason), kind, Some(Box::new(result)));
        }
        Decoded::Result(delivery, Box::new(result))
    }

    /// Writes the batch until it commits (`None`: shutting down first).
    async fn write(&self, entries: &[Entry<'_>]) -> Option<BatchOutcome> {
        let outcome = self.store.write_batch(entries, &self.shutdown).await?;
        self.metrics.transactions.inc();
        self.metrics.transaction_retries.inc_by(u64::from(outcome.attempts.saturating_sub(1)));
        Some(outcome)
    }

    fn outcome_step(&self, delivery: &Delivery, result: &CrawlResult, outcome: EntryOutcome) -> Planned {
        let kind = result.kind().as_str();
        match outcome {
            EntryOutcome::Rejected { reason } => {
                tracing::warn!(id = %delivery.id, %reason, "result rejected: dead-lettered");
                let step = self.dead_step(delivery, failure(DeadReason::Invalid, reason), Some(result));
                Planned::new(step, &delivery.id, kind, Outcome::Dead)
            }
            EntryOutcome::Applied { item_jobs, inserted, updated } => {
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
                Planned::new(step, &delivery.id, kind, Outcome::Done)
            }
        }
    }

    /// The dead-letter step of an entry. A list result may hold claims in its run's claim hash
    /// (made by an earlier delivery, or by an attempt before MongoDB refused it), and a claim
    /// keeps every other list result of the run from claiming that pcode: so the same atomic
    /// step also enqueues the item job of every pcode the entry still owns — each add guarded
    /// by `HGET claims pcode == entry id` — counted as enqueued item jobs.
    fn dead_step(&self, delivery: &Delivery, failure: Failure, result: Option<&CrawlResult>) -> Step {
        let mut step = dead_letter::step(&self.keys, &self.keys.results(), delivery, failure);
        if let Some(CrawlResult::List(list)) = result {
            let owned = self.owned_item_jobs(&delivery.id, list);
            if !owned.is_empty() {
                step.counters = Some(self.keys.run_counters(&list.job.run_id));
                step.adds.extend(owned);
            }
        }
        step
    }

    /// One guarded item-job add per distinct pcode of an item category's list result.
    fn owned_item_jobs(&self, entry_id: &str, list: &ListPageResult) -> Vec<Add> {
        if list.job.items.is_none() {
            return Vec::new();
        }
        let claims = self.keys.run_items_seen(&list.job.run_id);
        let mut seen = HashSet::new();
        let pcodes: Vec<&str> = list
            .products
            .iter()
            .flat_map(|p| &p.variants)
            .map(|v| v.pcode.as_str())
            .filter(|p| seen.insert(*p))
            .collect();
        store::item_jobs(&list.job, &pcodes)
            .into_iter()
            .map(|job| Add {
                stream: self.keys.jobs(),
                guard: Some((claims.clone(), job.pcode.clone(), entry_id.to_owned())),
                counter: Some(counter::enqueued(MessageKind::ItemJob.as_str())),
                fields: Job::Item(job).to_fields(),
                ..Add::default()
            })
            .collect()
    }

    /// Acks the committed batch; see [`queue::apply_until_done`].
    async fn finish(&self, planned: Vec<Planned>) {
        let (steps, labels): (Vec<Step>, Vec<Label>) = planned.into_iter().map(|p| (p.step, p.label)).unzip();
        let Some(results) = queue::apply_until_done(&self.pool, UPDATERS_GROUP, &steps, &self.shutdown).await else {
            return;
        };
        for (plan, result) in labels.iter().zip(results) {
            match result {
                StepOutcome::AlreadyAcked => {
                    tracing::info!(id = %plan.id, kind = plan.kind, "entry already acknowledged by another consumer: nothing added");
                    self.metrics.worker.count(plan.kind, Outcome::Duplicate);
                }
                StepOutcome::Applied { added } => {
                    // A dead step's first add is its dead letter; every other add is an item job.
                    let item_jobs = if plan.outcome == Outcome::Dead { added.saturating_sub(1) } else { added };
                    if plan.outcome == Outcome::Dead && item_jobs > 0 {
                        tracing::info!(id = %plan.id, item_jobs, "dead-lettered list result: the item jobs of the pcodes it had claimed are enqueued");
                    }
                    self.metrics.item_jobs.inc_by(item_jobs as u64);
                    self.metrics.worker.count(plan.kind, plan.outcome);
                }
            }
        }
    }
}

fn failure(reason: DeadReason, last_error: String) -> Failure {
    Failure::new(reason, 0, last_error)
}

#[cfg(test)]
mod tests {
    use super::by_weight;

    #[test]
    fn a_batch_splits_into_runs_of_at_most_the_limit_and_keeps_its_order() {
        let runs = by_weight(vec![90, 90, 90, 1, 1, 300, 0, 5], 256, |w| *w);
        assert_eq!(runs, [vec![90, 90], vec![90, 1, 1], vec![300], vec![0, 5]]);
        assert_eq!(by_weight(vec![1; 64], 256, |w| *w).len(), 1, "64 item results stay one transaction");
        assert!(by_weight(Vec::<usize>::new(), 256, |w| *w).is_empty());
    }
}
