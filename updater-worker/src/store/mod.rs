//! Writes a batch of crawl results to the `parts` collection in one MongoDB transaction, with
//! the item-job fan-out decided inside it; retries the whole transaction on transient errors.
//!
//! Every write is idempotent (upserts keyed by pcode, price points keyed by crawl time, claims
//! keyed by stream entry), so a batch applied twice leaves the same database: the caller may
//! ack after the commit and redeliver whatever was not acked.

mod claim;
mod error;
mod item;
mod list;
mod reachability;
mod touched;
mod txn;

use std::time::Duration;

use bson::Document;
use common::messages::{CrawlResult, ItemJob, Job, ListPageJob};
use common::parts::COLLECTION;
use common::plan::{next_jobs, Event};
use mongodb::{Client, Collection, Database};

pub use claim::{ClaimError, ClaimRequest, Claimer};
pub use error::{is_unreachable, StoreError};
pub use reachability::Reachability;

use common::retry::{retry, RetryPolicy};
use error::{AttemptError, Retry};
use tokio_util::sync::CancellationToken;

/// Retries of a batch that did not commit: forever, 50 ms doubling to 10 s.
const WRITE_RETRY: RetryPolicy = RetryPolicy::forever(Duration::from_millis(50), Duration::from_secs(10));

/// One stream entry of a batch: its id (claims are keyed by it) and its decoded result.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    pub id: &'a str,
    pub result: &'a CrawlResult,
}

/// What became of one entry of a committed batch.
#[derive(Debug, Clone, PartialEq)]
pub enum EntryOutcome {
    /// Written; the caller enqueues these item jobs in the same Redis step as the ack.
    Applied {
        item_jobs: Vec<ItemJob>,
        /// Parts this entry created.
        inserted: u32,
        /// Parts an item result refreshed.
        updated: u32,
    },
    /// Not written (invalid, or refused by MongoDB); the caller dead-letters it.
    Rejected { reason: String },
}

/// What one attempt wrote for one entry.
#[derive(Debug, Clone, Default)]
pub(crate) struct Written {
    pub(crate) item_jobs: Vec<ItemJob>,
    pub(crate) inserted: u32,
    pub(crate) updated: u32,
}

/// The outcome of [`Store::apply_batch`], one entry outcome per input entry, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchOutcome {
    pub entries: Vec<EntryOutcome>,
    /// Transactions started for this batch (1 when nothing had to be retried).
    pub attempts: u32,
}

/// The item jobs of a written list page's stale, claimed pcodes, as the planner says.
pub fn item_jobs(job: &ListPageJob, stale: &[&str]) -> Vec<ItemJob> {
    next_jobs(Event::ListWritten { job, stale })
        .into_iter()
        .filter_map(|next| match next {
            Job::Item(item) => Some(item),
            Job::List(_) => None,
        })
        .collect()
}

/// The only writer of `parts`. Cheap to clone; clones share connections and reachability.
#[derive(Clone)]
pub struct Store {
    client: Client,
    database: Database,
    parts: Collection<Document>,
    claimer: Claimer,
    reachability: Reachability,
}

impl Store {
    pub fn new(client: Client, database: &str, claimer: Claimer) -> Self {
        let database = client.database(database);
        let parts = database.collection(COLLECTION);
        Self { client, database, parts, claimer, reachability: Reachability::default() }
    }

    /// Shares the reachability state (a gauge mirroring it) with the caller.
    pub fn with_reachability(mut self, reachability: Reachability) -> Self {
        self.reachability = reachability;
        self
    }

    /// The collection written, for index creation and readers in tests.
    pub fn parts(&self) -> &Collection<Document> {
        &self.parts
    }

    /// Shared state for a readiness probe: down from the first unreachable error until the
    /// next commit.
    pub fn reachability(&self) -> &Reachability {
        &self.reachability
    }

    /// Asks MongoDB whether it answers, for the readiness probe.
    ///
    /// # Errors
    /// The driver's error.
    pub async fn ping(&self) -> mongodb::error::Result<()> {
        self.database.run_command(bson::doc! {"ping": 1}).await.map(drop)
    }

    /// Creates the indexes of `parts` when missing.
    ///
    /// # Errors
    /// See [`crate::indexes::ensure_indexes`].
    pub async fn ensure_indexes(&self) -> mongodb::error::Result<()> {
        crate::indexes::ensure_indexes(&self.parts).await
    }

    /// Writes the batch, retrying write conflicts at once and outages with backoff until it
    /// commits or `shutdown` comes (`None`): a batch is never given up on, since dead-lettering
    /// good results because MongoDB is down would lose them. Cancel-safe, like
    /// [`Store::apply_batch`].
    pub async fn write_batch(&self, batch: &[Entry<'_>], shutdown: &CancellationToken) -> Option<BatchOutcome> {
        let failures = std::sync::atomic::AtomicU32::new(0);
        let written = retry("write a batch to MongoDB", WRITE_RETRY, shutdown, || async {
            self.apply_batch(batch).await.inspect_err(|_| {
                failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            })
        });
        // Cut short on shutdown: an uncommitted transaction is simply delivered again.
        let outcome = tokio::select! {
            () = shutdown.cancelled() => return None,
            written = written => written.ok()?,
        };
        let failed = failures.into_inner();
        Some(BatchOutcome { attempts: outcome.attempts + failed, ..outcome })
    }

    /// Validates the entries, then writes the valid ones in one transaction, once. An entry
    /// whose write MongoDB refuses is rejected and the transaction is run again at once without
    /// it; any other failure is returned ([`Store::write_batch`] retries it).
    ///
    /// Cancel-safe: dropping the future leaves the transaction uncommitted, or committed with
    /// idempotent effects; either way the unacked entries can simply be delivered again.
    ///
    /// # Errors
    /// A [`StoreError`] when it did not commit; nothing may be acked.
    #[tracing::instrument(skip_all, fields(batch = batch.len()))]
    pub async fn apply_batch(&self, batch: &[Entry<'_>]) -> Result<BatchOutcome, StoreError> {
        let mut rejected: Vec<Option<String>> =
            batch.iter().map(|e| crate::validate::validate(e.result).err().map(|i| i.to_string())).collect();
        let mut attempts = 0;
        loop {
            let live: Vec<usize> = (0..batch.len()).filter(|i| rejected[*i].is_none()).collect();
            attempts += 1;
            let error = match self.attempt(batch, &live).await {
                Ok(mut jobs) => {
                    self.reachability.set_down(false);
                    let entries = rejected
                        .into_iter()
                        .enumerate()
                        .map(|(i, reason)| match reason {
                            Some(reason) => EntryOutcome::Rejected { reason },
                            None => {
                                let written = std::mem::take(&mut jobs[i]);
                                EntryOutcome::Applied {
                                    item_jobs: written.item_jobs,
                                    inserted: written.inserted,
                                    updated: written.updated,
                                }
                            }
                        })
                        .collect();
                    return Ok(BatchOutcome { entries, attempts });
                }
                Err(error) => error,
            };
            match error {
                AttemptError::Entry { index, reason } => {
                    tracing::warn!(entry = batch[index].id, %reason, "entry refused by MongoDB; retrying the batch without it");
                    rejected[index] = Some(reason);
                }
                AttemptError::Fatal(error) => return Err(StoreError::Refused(error)),
                AttemptError::Retry(cause) => {
                    if matches!(cause, Retry::Unreachable(_)) {
                        self.reachability.set_down(true);
                    }
                    return Err(cause.into());
                }
            }
        }
    }
}
