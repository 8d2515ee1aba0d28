//! One transaction attempt: every entry's `update` command, the stale check, the Redis claim
//! and the `isUpdating` marks, then the commit. Any failure aborts the whole attempt.

use std::collections::{BTreeMap, HashSet};

use bson::{doc, Bson, DateTime, Document};
use common::messages::{CrawlResult, ListPageResult};
use common::parts::COLLECTION;
use futures::TryStreamExt;
use mongodb::error::UNKNOWN_TRANSACTION_COMMIT_RESULT;
use mongodb::options::{Acknowledgment, ReadConcern, TransactionOptions, WriteConcern};
use mongodb::ClientSession;

use super::error::{classify, write_error, AttemptError, TransientCause};
use super::touched::Touched;
use super::{item, item_jobs, list, ClaimRequest, Entry, Retry, Store, Written};

/// Extra commit attempts when the outcome of a commit is unknown (committing twice is a no-op).
const COMMIT_RETRIES: u32 = 3;

/// Most pcodes in one `$in`. SecantusDB matches every candidate document against an `$in`
/// list element by element, so one `$in` over a whole batch (thousands of pcodes) costs the
/// square of its length: measured, one stale check of 2,500 pcodes took 4.5 s in one `$in`
/// and 0.2–0.3 s in lists of 16–64. Short lists cost real MongoDB nothing either.
const IN_CHUNK: usize = 32;

/// A pcode an entry may want an item job for.
struct Candidate<'a> {
    index: usize,
    list: &'a ListPageResult,
    pcode: &'a str,
}

impl Store {
    /// Runs one attempt; on success, what was written for each entry (indexed like `batch`).
    pub(super) async fn attempt(&self, batch: &[Entry<'_>], live: &[usize]) -> Result<Vec<Written>, AttemptError> {
        let mut jobs = vec![Written::default(); batch.len()];
        if live.is_empty() {
            return Ok(jobs);
        }
        let mut session = self.client.start_session().await.map_err(classify)?;
        let options = TransactionOptions::builder()
            .read_concern(ReadConcern::snapshot())
            .write_concern(WriteConcern::builder().w(Acknowledgment::Majority).build())
            .build();
        session.start_transaction().with_options(options).await.map_err(classify)?;
        // A process that stalls here (SIGSTOP, a frozen VM) past `--claim-idle` has its batch
        // taken over by another updater; see `tests/stalled_transaction.rs`.
        common::failpoint::hit("updater-in-transaction");
        match self.write_all(&mut session, batch, live, &mut jobs).await {
            Ok(()) => self.commit(&mut session).await.map(|()| jobs),
            Err(error) => {
                // Best effort: the server also drops the transaction when the session ends.
                let _ = session.abort_transaction().await;
                Err(error)
            }
        }
    }

    async fn write_all(
        &self,
        session: &mut ClientSession,
        batch: &[Entry<'_>],
        live: &[usize],
        jobs: &mut [Written],
    ) -> Result<(), AttemptError> {
        self.write_entries(session, batch, live, jobs).await?;
        let candidates = candidates(batch, live);
        if candidates.is_empty() {
            return Ok(());
        }
        let stale = self.stale(session, &candidates).await?;
        let stale: Vec<&Candidate> = candidates.iter().filter(|c| stale.contains(c.pcode)).collect();
        let requests: Vec<ClaimRequest> = stale
            .iter()
            .map(|c| ClaimRequest { run_id: &c.list.job.run_id, pcode: c.pcode, entry_id: batch[c.index].id })
            .collect();
        let owned = self.claimer.claim(&requests).await.map_err(|e| AttemptError::Retry(Retry::Redis(e)))?;
        let claimed: Vec<&Candidate> = stale.into_iter().zip(owned).filter_map(|(c, own)| own.then_some(c)).collect();
        self.mark_updating(session, &claimed).await?;
        for &index in live {
            let stale: Vec<&str> = claimed.iter().filter(|c| c.index == index).map(|c| c.pcode).collect();
            let CrawlResult::List(list) = batch[index].result else { continue };
            jobs[index].item_jobs.extend(item_jobs(&list.job, &stale));
        }
        Ok(())
    }

    /// Every live entry's statements in one `update` command, planned from one read of the
    /// parts they name: one `find` per [`IN_CHUNK`] named pcodes, then one `update` round trip,
    /// however many entries.
    async fn write_entries(
        &self,
        session: &mut ClientSession,
        batch: &[Entry<'_>],
        live: &[usize],
        jobs: &mut [Written],
    ) -> Result<(), AttemptError> {
        let now = DateTime::now();
        let mut touched = self.touched(session, batch, live).await?;
        let (mut statements, mut owners) = (Vec::new(), Vec::new());
        for &index in live {
            let entry = &batch[index];
            let entry_statements = match entry.result {
                // Planned as if each entry were its own command: an item result later in the
                // batch finds the parts a list result created, a list result sees the parts
                // touched before it.
                CrawlResult::List(result) => list::statements(result, now, &mut touched),
                CrawlResult::Item(result) if !touched.exists(result.job.pcode.as_str()) => {
                    // Item jobs are only made for parts a list result created; a missing one
                    // was deleted by hand meanwhile. Nothing to write, nothing worth a dead letter.
                    tracing::warn!(entry = entry.id, pcode = %result.job.pcode, "item result for a part that does not exist; skipped");
                    continue;
                }
                CrawlResult::Item(result) => {
                    jobs[index].updated = 1;
                    let statement = item::statement(result, now, &mut touched)
                        .map_err(|error| AttemptError::Entry { index, reason: common::error_text::chain(&error) })?;
                    vec![statement]
                }
            };
            owners.extend(std::iter::repeat_n(index, entry_statements.len()));
            statements.extend(entry_statements);
        }
        for statement in self.update(session, &owners, statements).await? {
            jobs[owners[statement]].inserted += 1;
        }
        Ok(())
    }

    /// The parts the live entries name (listed variants, item pcodes), read in the transaction.
    async fn touched(
        &self,
        session: &mut ClientSession,
        batch: &[Entry<'_>],
        live: &[usize],
    ) -> Result<Touched, AttemptError> {
        let mut seen = HashSet::new();
        let mut pcodes = Vec::new();
        for &index in live {
            let named: Vec<&str> = match batch[index].result {
                CrawlResult::List(list) => {
                    list.products.iter().flat_map(|p| &p.variants).map(|v| v.pcode.as_str()).collect()
                }
                CrawlResult::Item(item) => vec![item.job.pcode.as_str()],
            };
            pcodes.extend(named.into_iter().filter(|pcode| seen.insert(*pcode)));
        }
        let mut touched = Touched::default();
        self.read_parts(session, &pcodes, Document::new(), |pcode, part| {
            touched.insert(pcode, part.get_datetime("updatedAt").ok().copied());
        })
        .await?;
        Ok(touched)
    }

    /// Reads the parts among `pcodes` that match `filter` (pcode and `updatedAt` only), in the
    /// transaction, in `$in` lists of at most [`IN_CHUNK`].
    async fn read_parts(
        &self,
        session: &mut ClientSession,
        pcodes: &[&str],
        filter: Document,
        mut each: impl FnMut(String, &Document),
    ) -> Result<(), AttemptError> {
        for chunk in pcodes.chunks(IN_CHUNK) {
            let mut chunk_filter = doc! {"pcode": {"$in": chunk}};
            chunk_filter.extend(filter.clone());
            let mut found = self
                .parts
                .find(chunk_filter)
                .projection(doc! {"_id": 0, "pcode": 1, "updatedAt": 1})
                .session(&mut *session)
                .await
                .map_err(classify)?;
            while let Some(part) = found.stream(&mut *session).try_next().await.map_err(classify)? {
                if let Ok(pcode) = part.get_str("pcode") {
                    each(pcode.to_owned(), &part);
                }
            }
        }
        Ok(())
    }

    /// Runs one `update` command; `owners[i]` is the batch index of the entry statement `i`
    /// belongs to (`usize::MAX`: none). Returns the indexes of the statements that inserted.
    async fn update(
        &self,
        session: &mut ClientSession,
        owners: &[usize],
        statements: Vec<Document>,
    ) -> Result<Vec<usize>, AttemptError> {
        if statements.is_empty() {
            return Ok(Vec::new());
        }
        let command = doc! {"update": COLLECTION, "updates": statements, "ordered": true};
        let reply = self.database.run_command(command).session(&mut *session).await.map_err(classify)?;
        if let Ok(errors) = reply.get_array("writeErrors") {
            if let Some(Bson::Document(first)) = errors.first() {
                let code = first.get_i32("code").unwrap_or_default();
                let statement = usize::try_from(number(first, "index")).ok();
                let owner = statement.and_then(|i| owners.get(i).copied()).unwrap_or(usize::MAX);
                return Err(write_error(owner, code, first.get_str("errmsg").unwrap_or("no message")));
            }
        }
        let upserted = reply.get_array("upserted").map(Vec::as_slice).unwrap_or_default();
        Ok(upserted.iter().filter_map(|u| usize::try_from(number(u.as_document()?, "index")).ok()).collect())
    }

    /// The candidates' pcodes that have no price point at or after their policy's cut-off.
    async fn stale<'a>(
        &self,
        session: &mut ClientSession,
        candidates: &[Candidate<'a>],
    ) -> Result<HashSet<&'a str>, AttemptError> {
        let mut by_cutoff: BTreeMap<DateTime, Vec<&str>> = BTreeMap::new();
        for candidate in candidates {
            if let Some(policy) = &candidate.list.job.items {
                by_cutoff.entry(DateTime::from_chrono(policy.stale_before)).or_default().push(candidate.pcode);
            }
        }
        let mut stale: HashSet<&str> = candidates.iter().map(|c| c.pcode).collect();
        for (cutoff, pcodes) in by_cutoff {
            let filter = doc! {"prices": {"$elemMatch": {"timestamp": {"$gte": cutoff}}}};
            self.read_parts(session, &pcodes, filter, |pcode, _| {
                stale.remove(pcode.as_str());
            })
            .await?;
        }
        Ok(stale)
    }

    /// Marks the claimed parts `isUpdating: true` — except a part whose item job of this run
    /// has already finished (`itemCheckedRun` is this run). That happens when this transaction
    /// belongs to an updater that stalled past `--claim-idle`: another one took the entry over,
    /// acked it with the item jobs, and the item results came back before this commit; marking
    /// the part now would leave it `isUpdating` with no job in flight. The filter is enough
    /// because a transaction that writes a part changed after its snapshot fails with a write
    /// conflict and is retried on a fresh snapshot (checked against SecantusDB in
    /// `tests/conflicts.rs`), so the filter never reads a stale `itemCheckedRun`.
    async fn mark_updating(&self, session: &mut ClientSession, claimed: &[&Candidate<'_>]) -> Result<(), AttemptError> {
        if claimed.is_empty() {
            return Ok(());
        }
        let mut by_run: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for candidate in claimed {
            by_run.entry(candidate.list.job.run_id.as_str()).or_default().push(candidate.pcode);
        }
        let statements: Vec<Document> = by_run
            .iter()
            .flat_map(|(run, pcodes)| {
                pcodes.chunks(IN_CHUNK).map(move |chunk| {
                    doc! {
                        "q": {"pcode": {"$in": chunk}, item::ITEM_CHECKED_RUN: {"$ne": *run}},
                        "u": {"$set": {"isUpdating": true}},
                        "multi": true,
                    }
                })
            })
            .collect();
        // Not attributable to one entry: a refusal here fails the batch rather than an entry.
        let owners = vec![usize::MAX; statements.len()];
        match self.update(session, &owners, statements).await {
            Err(AttemptError::Entry { reason, .. }) => {
                Err(AttemptError::Retry(Retry::Transient(TransientCause::MarkRefused(reason))))
            }
            other => other.map(drop),
        }
    }

    /// Commits; an unknown commit outcome is retried (committing twice is a no-op).
    async fn commit(&self, session: &mut ClientSession) -> Result<(), AttemptError> {
        let mut retries = 0;
        loop {
            match session.commit_transaction().await {
                Ok(()) => return Ok(()),
                Err(e) if e.contains_label(UNKNOWN_TRANSACTION_COMMIT_RESULT) && retries < COMMIT_RETRIES => {
                    retries += 1;
                    tracing::debug!(retries, error = %e, "commit outcome unknown; committing again");
                }
                Err(e) => return Err(classify(e)),
            }
        }
    }
}

/// Every kept variant of list results with an item policy, first entry first; a pcode listed
/// twice in one run within the batch is asked for once.
fn candidates<'a>(batch: &[Entry<'a>], live: &[usize]) -> Vec<Candidate<'a>> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for &index in live {
        let CrawlResult::List(list) = batch[index].result else { continue };
        if list.job.items.is_none() {
            continue;
        }
        for variant in list.products.iter().flat_map(|p| &p.variants) {
            if seen.insert((list.job.run_id.as_str(), variant.pcode.as_str())) {
                out.push(Candidate { index, list, pcode: &variant.pcode });
            }
        }
    }
    out
}

/// An integer field of a reply, whichever integer type the server chose.
fn number(reply: &Document, field: &str) -> i64 {
    match reply.get(field) {
        Some(Bson::Int32(n)) => i64::from(*n),
        Some(Bson::Int64(n)) => *n,
        Some(Bson::Double(n)) => *n as i64,
        _ => 0,
    }
}
