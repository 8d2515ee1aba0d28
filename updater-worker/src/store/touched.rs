//! What a batch reads before it writes: the `updatedAt` and `itemCheckedRun` of every part its
//! entries name and whether it has a price point since a stale check's cut-off, kept current
//! while the batch's statements are planned, so that each statement is planned as if the ones
//! before it in the batch had already run.

use std::collections::HashMap;

use bson::DateTime;

/// A part as the batch's statements so far leave it.
#[derive(Debug, Clone)]
struct Part {
    updated_at: DateTime,
    /// The run whose item job of the part finished last.
    checked_run: Option<String>,
    /// Cut-offs the part has a price point at or after, as read.
    priced_since: Vec<DateTime>,
    /// The newest price point the batch's item results add.
    batch_price: Option<DateTime>,
}

impl Part {
    fn new(updated_at: DateTime, checked_run: Option<String>) -> Self {
        Self { updated_at, checked_run, priced_since: Vec::new(), batch_price: None }
    }
}

/// Parts by pcode; a pcode missing here has no part.
#[derive(Debug, Default)]
pub(super) struct Touched(HashMap<String, Part>);

impl Touched {
    /// A part as read; one without `updatedAt` (not written by us) counts as never touched. A
    /// part read twice (against two cut-offs) keeps what both reads found.
    pub(super) fn insert(&mut self, pcode: String, updated_at: Option<DateTime>, checked_run: Option<String>) {
        let updated_at = updated_at.unwrap_or(DateTime::MIN);
        self.0
            .entry(pcode)
            .and_modify(|part| (part.updated_at, part.checked_run) = (updated_at, checked_run.clone()))
            .or_insert_with(|| Part::new(updated_at, checked_run));
    }

    /// The read found a price point of the part at or after `cutoff`.
    pub(super) fn insert_priced_since(&mut self, pcode: &str, cutoff: DateTime) {
        if let Some(part) = self.0.get_mut(pcode) {
            part.priced_since.push(cutoff);
        }
    }

    /// An item result of the batch adds a price point at `at`, whatever its place in the batch:
    /// the stale check answers for the state the whole batch leaves.
    pub(super) fn insert_batch_price(&mut self, pcode: &str, at: DateTime) {
        if let Some(part) = self.0.get_mut(pcode) {
            part.batch_price = part.batch_price.max(Some(at));
        }
    }

    /// Whether the part has a price point at or after `cutoff`, read or added by the batch.
    pub(super) fn priced_since(&self, pcode: &str, cutoff: DateTime) -> bool {
        self.0
            .get(pcode)
            .is_some_and(|part| part.priced_since.contains(&cutoff) || part.batch_price.is_some_and(|at| at >= cutoff))
    }

    /// Whether the part exists, before the batch or made by an earlier statement of it.
    pub(super) fn exists(&self, pcode: &str) -> bool {
        self.0.contains_key(pcode)
    }

    /// Whether the part was last touched before `since` (true when there is no part yet).
    pub(super) fn before(&self, pcode: &str, since: DateTime) -> bool {
        self.0.get(pcode).is_none_or(|part| part.updated_at < since)
    }

    /// Whether an item job of `run` has finished for the part.
    pub(super) fn checked_in(&self, pcode: &str, run: &str) -> bool {
        self.0.get(pcode).and_then(|part| part.checked_run.as_deref()) == Some(run)
    }

    /// A statement of the batch writes `updatedAt: at` (creating the part if needed).
    pub(super) fn record(&mut self, pcode: &str, at: DateTime) {
        self.0.entry(pcode.to_owned()).and_modify(|part| part.updated_at = at).or_insert_with(|| Part::new(at, None));
    }

    /// A statement of the batch writes `itemCheckedRun: run`.
    pub(super) fn record_checked(&mut self, pcode: &str, run: &str) {
        if let Some(part) = self.0.get_mut(pcode) {
            part.checked_run = Some(run.to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_part_counts_as_touched_from_its_updated_at_on() {
        let (early, start, late) =
            (DateTime::from_millis(1_000), DateTime::from_millis(2_000), DateTime::from_millis(3_000));
        let mut touched = Touched::default();
        touched.insert("old".into(), Some(early), None);
        touched.insert("fresh".into(), Some(start), None);
        touched.insert("unstamped".into(), None, None);
        assert!(touched.before("old", start));
        assert!(!touched.before("fresh", start), "updatedAt equal to the run's start is this run's");
        assert!(touched.before("unstamped", start));
        assert!(touched.before("new", start) && !touched.exists("new"));

        touched.record("new", late);
        touched.record("old", late);
        assert!(touched.exists("new"));
        assert!(!touched.before("new", start) && !touched.before("old", start));
    }

    #[test]
    fn a_part_knows_the_run_of_its_last_finished_item_job() {
        let mut touched = Touched::default();
        touched.insert("read".into(), None, Some("r1".into()));
        touched.insert("never".into(), None, None);
        assert!(touched.checked_in("read", "r1") && !touched.checked_in("read", "r2"));
        assert!(!touched.checked_in("never", "r1") && !touched.checked_in("missing", "r1"));

        touched.record_checked("never", "r2");
        touched.record("read", DateTime::from_millis(5));
        assert!(touched.checked_in("never", "r2"));
        assert!(touched.checked_in("read", "r1"), "a later touch keeps the checked run");
    }

    #[test]
    fn a_part_is_priced_since_a_cut_off_when_read_so_or_when_the_batch_adds_a_later_point() {
        let (early, cutoff, late) =
            (DateTime::from_millis(1_000), DateTime::from_millis(2_000), DateTime::from_millis(3_000));
        let mut touched = Touched::default();
        for pcode in ["read", "added", "old"] {
            touched.insert(pcode.into(), None, None);
        }
        touched.insert_priced_since("read", cutoff);
        touched.insert("read".into(), None, None);
        touched.insert_batch_price("added", late);
        touched.insert_batch_price("added", early);
        touched.insert_batch_price("old", early);
        touched.insert_batch_price("missing", late);
        assert!(touched.priced_since("read", cutoff), "a second read of the part keeps the first's finding");
        assert!(!touched.priced_since("read", late));
        assert!(touched.priced_since("added", cutoff), "the newest point counts");
        assert!(touched.priced_since("added", late), "a point at the cut-off counts");
        assert!(!touched.priced_since("old", cutoff));
        assert!(!touched.priced_since("missing", early), "no part, no price");
    }
}
