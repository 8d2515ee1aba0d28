//! The update statements an item result turns into. Item results never insert: a part exists
//! because a list result created it; a missing one is logged and skipped.

use bson::{doc, DateTime, Document};
use common::messages::{ItemOutcome, ItemResult, ProductInfo};

use super::list::name_doc;

/// When the last item job of a part finished, whatever its outcome (optional in the contract).
pub(super) const ITEM_CHECKED_AT: &str = "itemCheckedAt";
/// The run whose item job of the part finished last (optional in the contract).
pub(super) const ITEM_CHECKED_RUN: &str = "itemCheckedRun";

/// Statements for the `update` command; the first one matches the part when it exists.
///
/// Whatever the outcome, the part records that this run's item job for it finished
/// (`itemCheckedRun`, `itemCheckedAt`): a list result of the same run then never marks it
/// `isUpdating` again (see `txn.rs`), even when the outcome left it without a fresh price point
/// and the stale check still says "stale".
///
/// # Errors
/// When the spec table or the vendors cannot be encoded as BSON (the entry is rejected).
/// A result field BSON cannot hold (e.g. an integer beyond i64): this entry is refused, the
/// rest of the batch is written.
#[derive(Debug, thiserror::Error)]
#[error("{field} cannot be stored as BSON")]
pub(super) struct Unstorable {
    field: &'static str,
    #[source]
    source: Box<bson::ser::Error>,
}

pub(super) fn statements(item: &ItemResult, now: DateTime) -> Result<Vec<Document>, Unstorable> {
    let pcode = item.job.pcode.as_str();
    let mut set = match &item.outcome {
        ItemOutcome::Product(info) => return product(pcode, info, item, now),
        ItemOutcome::Discontinued => doc! {"stock": false, "isUpdating": false, "updatedAt": now},
        // The job is dead: only release the part, its data stays as it was.
        ItemOutcome::Failed { .. } => doc! {"isUpdating": false},
    };
    set.extend(checked(item));
    Ok(vec![doc! {"q": {"pcode": pcode}, "u": {"$set": set}}])
}

/// `itemCheckedAt` (the crawl time: a redelivered result writes the same value) and
/// `itemCheckedRun`, the run the finished item job belonged to.
fn checked(item: &ItemResult) -> Document {
    doc! {
        ITEM_CHECKED_AT: DateTime::from_chrono(item.fetched_at),
        ITEM_CHECKED_RUN: &item.job.run_id,
    }
}

fn product(pcode: &str, info: &ProductInfo, item: &ItemResult, now: DateTime) -> Result<Vec<Document>, Unstorable> {
    let details = bson::to_document(&info.details).map_err(|e| Unstorable { field: "details", source: Box::new(e) })?;
    let vendors = bson::to_document(&info.vendors).map_err(|e| Unstorable { field: "vendors", source: Box::new(e) })?;
    let mut set = doc! {
        "name": name_doc(&info.name),
        "details": details,
        "vendors": vendors,
        "stock": info.stock,
        "isUpdating": false,
        "updatedAt": now,
    };
    set.extend(checked(item));
    let mut out = vec![doc! {"q": {"pcode": pcode}, "u": {"$set": set}}];
    if let (true, Some(price)) = (info.stock, info.lowest_price) {
        let timestamp = DateTime::from_chrono(item.fetched_at);
        // The crawl time identifies the point: a redelivered result finds it and adds none.
        out.push(doc! {
            "q": {"pcode": pcode, "prices.timestamp": {"$ne": timestamp}},
            "u": {"$push": {"prices": {"timestamp": timestamp, "price": price}}},
        });
    }
    Ok(out)
}
