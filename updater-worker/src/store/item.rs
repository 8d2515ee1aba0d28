//! The update statement an item result turns into. Item results never insert: a part exists
//! because a list result created it; a missing one is logged and skipped.

use bson::{doc, DateTime, Document};
use common::messages::{ItemOutcome, ItemResult, ProductInfo};

use super::list::name_doc;
use super::touched::Touched;

/// When the last item job of a part finished, whatever its outcome (optional in the contract).
pub(super) const ITEM_CHECKED_AT: &str = "itemCheckedAt";
/// The run whose item job of the part finished last (optional in the contract).
pub(super) const ITEM_CHECKED_RUN: &str = "itemCheckedRun";

/// A result field BSON cannot hold (e.g. an integer beyond i64): this entry is refused, the
/// rest of the batch is written.
#[derive(Debug, thiserror::Error)]
#[error("{field} cannot be stored as BSON")]
pub(super) struct Unstorable {
    field: &'static str,
    #[source]
    source: Box<bson::ser::Error>,
}

/// The one statement of the `update` command for this result, matching the part when it
/// exists; `touched` learns the `updatedAt` and `itemCheckedRun` it writes.
///
/// Whatever the outcome, the part records that this run's item job for it finished
/// (`itemCheckedRun`, `itemCheckedAt`): a list result of the same run then never marks it
/// `isUpdating` again (see `list.rs`), even when the outcome left it without a fresh price point
/// and the stale check still says "stale".
///
/// # Errors
/// When the spec table or the vendors cannot be encoded as BSON (the entry is rejected).
pub(super) fn statement(item: &ItemResult, now: DateTime, touched: &mut Touched) -> Result<Document, Unstorable> {
    let pcode = item.job.pcode.as_str();
    touched.record_checked(pcode, &item.job.run_id);
    let mut set = match &item.outcome {
        ItemOutcome::Product(info) => {
            let statement = product(pcode, info, item, now)?;
            touched.record(pcode, now);
            return Ok(statement);
        }
        ItemOutcome::Discontinued => {
            touched.record(pcode, now);
            doc! {"stock": false, "isUpdating": false, "updatedAt": now}
        }
        // The job is dead: only release the part, its data stays as it was.
        ItemOutcome::Failed { .. } => doc! {"isUpdating": false},
    };
    set.extend(checked(item));
    Ok(doc! {"q": {"pcode": pcode}, "u": {"$set": set}})
}

/// `itemCheckedAt` (the crawl time: a redelivered result writes the same value) and
/// `itemCheckedRun`, the run the finished item job belonged to.
fn checked(item: &ItemResult) -> Document {
    doc! {
        ITEM_CHECKED_AT: DateTime::from_chrono(item.fetched_at),
        ITEM_CHECKED_RUN: &item.job.run_id,
    }
}

fn product(pcode: &str, info: &ProductInfo, item: &ItemResult, now: DateTime) -> Result<Document, Unstorable> {
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
    let mut update = doc! {"$set": set};
    if let Some((timestamp, price)) = price_point(item) {
        update.insert("$addToSet", doc! {"prices": {"timestamp": timestamp, "price": price}});
    }
    Ok(doc! {"q": {"pcode": pcode}, "u": update})
}

/// The price point the result adds, when the product is in stock with a price. The point is
/// the crawl time and the price, both taken from the result: a redelivered result carries the
/// same point, which `$addToSet` finds and does not add again.
pub(super) fn price_point(item: &ItemResult) -> Option<(DateTime, i64)> {
    match &item.outcome {
        ItemOutcome::Product(ProductInfo { stock: true, lowest_price: Some(price), .. }) => {
            Some((DateTime::from_chrono(item.fetched_at), *price))
        }
        _ => None,
    }
}
