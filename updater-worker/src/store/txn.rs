//! One transaction attempt: one read of the parts the batch names, the stale check, the Redis
//! claim, then every entry's statements (the `isUpdating` marks riding on them) in one `update`
//! command, and the commit. Any failure aborts the whole attempt.

use std::collections::{BTreeMap, HashSet};

use bson::{doc, Bson, DateTime, Document};
use common::messages::{CrawlResult, ListPageResult};
use common::parts::COLLECTION;
use futures::TryStreamExt;
use mongodb::error::UNKNOWN_TRANSACTION_COMMIT_RESULT;
use mongodb::options::{Acknowledgment, ReadConcern, TransactionOptions, WriteConcern};
use mongodb::ClientSession;

use super::error::{classify, write_error, AttemptError};
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

    /// Reads the parts the batch names, claims the stale ones for item jobs, then writes every
    /// statement — marks included — in one `update` command.
    async fn write_all(
        &self,
        session: &mut ClientSession,
        batch: &[Entry<'_>],
        live: &[usize],
        jobs: &mut [Written],
    ) -> Result<(), AttemptError> {
        let mut touched = self.touched(session, batch, live).await?;
        let claimed = self.claim_stale(batch, live, &touched).await?;
        for &index in live {
            let CrawlResult::List(list) = batch[index].result else { continue };
            let stale: Vec<&str> = claimed.iter().filter(|c| c.index == index).map(|c| c.pcode).collect();
            jobs[index].item_jobs.extend(item_jobs(&list.job, &stale));
        }
        let claimed: HashSet<(&str, &str)> = claimed.iter().map(|c| (c.list.job.run_id.as_str(), c.pcode)).collect();
        self.write_entries(session, batch, live, &mut touched, &claimed, jobs).await
    }

    /// The candidates that are stale (`touched` knows no price point at or after their
    /// policy's cut-off) and whose claim this batch's entries own, in candidate order.
    async fn claim_stale<'a>(
        &self,
        batch: &[Entry<'a>],
        live: &[usize],
        touched: &Touched,
    ) -> Result<Vec<Candidate<'a>>, AttemptError> {
        let stale: Vec<Candidate> = candidates(batch, live)
            .into_iter()
            .filter(|c| !cutoff(c.list).is_some_and(|cutoff| touched.priced_since(c.pcode, cutoff)))
            .collect();
        if stale.is_empty() {
            return Ok(Vec::new());
        }
        let requests: Vec<ClaimRequest> = stale
            .iter()
            .map(|c| ClaimRequest { run_id: &c.list.job.run_id, pcode: c.pcode, entry_id: batch[c.index].id })
            .collect();
        let owned = self.claimer.claim(&requests).await.map_err(|e| AttemptError::Retry(Retry::Redis(e)))?;
        Ok(stale.into_iter().zip(owned).filter_map(|(c, own)| own.then_some(c)).collect())
    }

    /// Every live entry's statements in one `update` command, planned from one read of the
    /// parts they name (`touched`): one `find` per [`IN_CHUNK`] named pcodes, then one `update`
    /// round trip, however many entries.
    async fn write_entries(
        &self,
        session: &mut ClientSession,
        batch: &[Entry<'_>],
        live: &[usize],
        touched: &mut Touched,
        claimed: &HashSet<(&str, &str)>,
        jobs: &mut [Written],
    ) -> Result<(), AttemptError> {
        let now = DateTime::now();
        let (mut statements, mut owners) = (Vec::new(), Vec::new());
        for &index in live {
            let entry = &batch[index];
            let entry_statements = match entry.result {
                // Planned as if each entry were its own command: an item result later in the
                // batch finds the parts a list result created, a list result sees the parts
                // touched before it.
                CrawlResult::List(result) => list::statements(result, now, touched, claimed),
                CrawlResult::Item(result) if !touched.exists(result.job.pcode.as_str()) => {
                    // Item jobs are only made for parts a list result created; a missing one
                    // was deleted by hand meanwhile. Nothing to write, nothing worth a dead letter.
                    tracing::warn!(entry = entry.id, pcode = %result.job.pcode, "item result for a part that does not exist; skipped");
                    continue;
                }
                CrawlResult::Item(result) => {
                    jobs[index].updated = 1;
                    let statement = item::statement(result, now, touched)
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

    /// The parts the live entries name (listed variants, item pcodes), read in the transaction
    /// in one `find` per [`IN_CHUNK`] pcodes; the stale check rides on the read: a pcode listed
    /// by a result with an item policy is read with a projection of its first price point at or
    /// after the policy's cut-off. The item results' own price points are added after the read.
    async fn touched(
        &self,
        session: &mut ClientSession,
        batch: &[Entry<'_>],
        live: &[usize],
    ) -> Result<Touched, AttemptError> {
        // Pcodes by the cut-off they are checked against (`None`: only read).
        let mut groups: BTreeMap<Option<DateTime>, Vec<&str>> = BTreeMap::new();
        let mut seen = HashSet::new();
        for &index in live {
            let (cutoff, named): (_, Vec<&str>) = match batch[index].result {
                CrawlResult::List(list) => {
                    (cutoff(list), list.products.iter().flat_map(|p| &p.variants).map(|v| v.pcode.as_str()).collect())
                }
                CrawlResult::Item(item) => (None, vec![item.job.pcode.as_str()]),
            };
            for pcode in named {
                if seen.insert((cutoff, pcode)) {
                    groups.entry(cutoff).or_default().push(pcode);
                }
            }
        }
        // A pcode read against a cut-off needs no plain read.
        let checked: HashSet<&str> = groups.range(Some(DateTime::MIN)..).flat_map(|(_, p)| p.iter().copied()).collect();
        if let Some(plain) = groups.get_mut(&None) {
            plain.retain(|pcode| !checked.contains(pcode));
        }
        let mut touched = Touched::default();
        for (cutoff, pcodes) in &groups {
            let mut projection = doc! {"_id": 0, "pcode": 1, "updatedAt": 1, item::ITEM_CHECKED_RUN: 1};
            if let Some(cutoff) = cutoff {
                projection.insert("prices", doc! {"$elemMatch": {"timestamp": {"$gte": cutoff}}});
            }
            for chunk in pcodes.chunks(IN_CHUNK) {
                let mut found = self
                    .parts
                    .find(doc! {"pcode": {"$in": chunk}})
                    .projection(projection.clone())
                    .session(&mut *session)
                    .await
                    .map_err(classify)?;
                while let Some(part) = found.stream(&mut *session).try_next().await.map_err(classify)? {
                    let Ok(pcode) = part.get_str("pcode") else { continue };
                    let checked_run = part.get_str(item::ITEM_CHECKED_RUN).ok().map(str::to_owned);
                    touched.insert(pcode.to_owned(), part.get_datetime("updatedAt").ok().copied(), checked_run);
                    // The projection keeps `prices` only when an element matched.
                    let priced = part.get_array("prices").is_ok_and(|prices| !prices.is_empty());
                    if let (Some(cutoff), true) = (cutoff, priced) {
                        touched.insert_priced_since(pcode, *cutoff);
                    }
                }
            }
        }
        for &index in live {
            if let CrawlResult::Item(result) = batch[index].result {
                if let Some((at, _)) = item::price_point(result) {
                    touched.insert_batch_price(&result.job.pcode, at);
                }
            }
        }
        Ok(touched)
    }

    /// Runs one `update` command; `owners[i]` is the batch index of the entry statement `i`
    /// belongs to. Returns the indexes of the statements that inserted.
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
                let owner = statement.and_then(|i| owners.get(i).copied());
                return Err(write_error(owner, code, first.get_str("errmsg").unwrap_or("no message")));
            }
        }
        let upserted = reply.get_array("upserted").map(Vec::as_slice).unwrap_or_default();
        Ok(upserted.iter().filter_map(|u| usize::try_from(number(u.as_document()?, "index")).ok()).collect())
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

/// The stale check's cut-off of a list result's item policy (`None`: no item jobs).
fn cutoff(list: &ListPageResult) -> Option<DateTime> {
    list.job.items.as_ref().map(|policy| DateTime::from_chrono(policy.stale_before))
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
