//! What a batch reads before it writes: the `updatedAt` of every part its entries name, kept
//! current while the batch's statements are planned, so that each statement is planned as if
//! the ones before it in the batch had already run.

use std::collections::HashMap;

use bson::DateTime;

/// Parts by pcode with their `updatedAt`; a pcode missing here has no part.
#[derive(Debug, Default)]
pub(super) struct Touched(HashMap<String, DateTime>);

impl Touched {
    /// A part as read; one without `updatedAt` (not written by us) counts as never touched.
    pub(super) fn insert(&mut self, pcode: String, updated_at: Option<DateTime>) {
        self.0.insert(pcode, updated_at.unwrap_or(DateTime::MIN));
    }

    /// Whether the part exists, before the batch or made by an earlier statement of it.
    pub(super) fn exists(&self, pcode: &str) -> bool {
        self.0.contains_key(pcode)
    }

    /// Whether the part was last touched before `since` (true when there is no part yet).
    pub(super) fn before(&self, pcode: &str, since: DateTime) -> bool {
        self.0.get(pcode).is_none_or(|at| *at < since)
    }

    /// A statement of the batch writes `updatedAt: at` (creating the part if needed).
    pub(super) fn record(&mut self, pcode: &str, at: DateTime) {
        self.0.insert(pcode.to_owned(), at);
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
        touched.insert("old".into(), Some(early));
        touched.insert("fresh".into(), Some(start));
        touched.insert("unstamped".into(), None);
        assert!(touched.before("old", start));
        assert!(!touched.before("fresh", start), "updatedAt equal to the run's start is this run's");
        assert!(touched.before("unstamped", start));
        assert!(touched.before("new", start) && !touched.exists("new"));

        touched.record("new", late);
        touched.record("old", late);
        assert!(touched.exists("new"));
        assert!(!touched.before("new", start) && !touched.before("old", start));
    }
}
