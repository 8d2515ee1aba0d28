//! The update statements a list result turns into: one upsert per listed variant, which
//! replaces the sort order on the first touch of a run and keeps the max on later ones, and
//! marks the part `isUpdating` when the batch claimed it for an item job.

use std::collections::HashSet;

use bson::{doc, Bson, DateTime, Document};
use common::messages::{ListPageResult, ListedProduct};
use common::parts::{sort_order, split_title, PartName};

use super::touched::Touched;

/// Statements for the `update` command, in list order; `touched` says which parts this run
/// has not touched yet and learns the ones these statements touch; `claimed` holds the
/// (run, pcode) pairs the batch claimed for item jobs.
pub(super) fn statements(
    list: &ListPageResult,
    now: DateTime,
    touched: &mut Touched,
    claimed: &HashSet<(&str, &str)>,
) -> Vec<Document> {
    let run_started = DateTime::from_chrono(list.job.run_started_at);
    // A part touched in this run must read `updatedAt >= run start`, even when this host's
    // clock lags the producer's; otherwise a second filter would reset instead of max.
    let touched_at = now.max(run_started);
    let mut out = Vec::new();
    for product in &list.products {
        product_statements(list, product, Touch { run_started, at: touched_at }, touched, claimed, &mut out);
    }
    out
}

/// When this run started and the `updatedAt` its statements write.
#[derive(Clone, Copy)]
struct Touch {
    run_started: DateTime,
    at: DateTime,
}

fn product_statements(
    list: &ListPageResult,
    product: &ListedProduct,
    touch: Touch,
    touched: &mut Touched,
    claimed: &HashSet<(&str, &str)>,
    out: &mut Vec<Document>,
) {
    let run = list.job.run_id.as_str();
    let title = split_title(&product.name, list.job.category == "cpu");
    let variants: Vec<Bson> = product.variants.iter().map(|v| Bson::String(v.pcode.clone())).collect();
    let rank = sort_order(product.page, product.position);
    for (index, variant) in product.variants.iter().enumerate() {
        let name =
            PartName { full_name: title.full_name.clone(), tag: variant.tag.clone().or_else(|| title.tag.clone()) };
        let fields = Fields {
            name: name_doc(&name),
            stock: variant.price.is_some(),
            variants: variants.clone(),
            index,
            updating: claimed.contains(&(run, variant.pcode.as_str())) && !touched.checked_in(&variant.pcode, run),
        };
        // First touch in a run (no part yet, or `updatedAt` before the run's start): the sort
        // order is replaced, so a product that fell in popularity falls in the next run.
        // Later touches keep the max.
        let rank =
            if touched.before(&variant.pcode, touch.run_started) { Rank::Replace(rank) } else { Rank::Max(rank) };
        out.push(upsert(list, &variant.pcode, fields, rank, touch.at));
        touched.record(&variant.pcode, touch.at);
    }
}

/// The sort order a statement writes: replacing the part's, or the max of the part's and this.
enum Rank {
    Replace(i64),
    Max(i64),
}

struct Fields {
    name: Document,
    stock: bool,
    variants: Vec<Bson>,
    index: usize,
    /// Marks the part `isUpdating: true`: the batch claimed it for an item job of this run, and
    /// no item job of this run has finished for it yet (`itemCheckedRun`, as read in the
    /// transaction and written by the batch's earlier statements). The exception matters when
    /// this transaction belongs to an updater that stalled past `--claim-idle`: another one
    /// took the entry over, acked it with the item jobs, and the item results came back before
    /// this commit; marking the part now would leave it `isUpdating` with no job in flight.
    /// The read is enough because a transaction that writes a part changed after its snapshot
    /// fails with a write conflict and is retried on a fresh snapshot (checked against
    /// SecantusDB in `tests/conflicts.rs`), so the mark is never planned from a stale
    /// `itemCheckedRun`. It rides on the part's upsert: a separate statement costs SecantusDB
    /// as much again (profiled, BENCHMARKS.md).
    updating: bool,
}

fn upsert(list: &ListPageResult, pcode: &str, fields: Fields, rank: Rank, touched: DateTime) -> Document {
    let mut set = doc! {
        "variants": fields.variants,
        "isVariant": fields.index > 0,
        "updatedAt": touched,
    };
    let mut on_insert = doc! {
        "category": &list.job.category,
        "details": {},
        "vendors": {"openMarket": [], "mall": [], "credit": [], "cash": []},
        "prices": [],
        "createdAt": touched,
    };
    if fields.updating {
        set.insert("isUpdating", true);
    } else {
        on_insert.insert("isUpdating", false);
    }
    // For item categories the item result owns name and stock: a late list result must not
    // undo a fresher product page.
    let owner = if list.job.items.is_none() { &mut set } else { &mut on_insert };
    owner.insert("name", fields.name);
    owner.insert("stock", fields.stock);
    let update = match rank {
        Rank::Replace(rank) => {
            set.insert("sortOrder", rank);
            doc! {"$set": set, "$setOnInsert": on_insert}
        }
        Rank::Max(rank) => doc! {"$set": set, "$setOnInsert": on_insert, "$max": {"sortOrder": rank}},
    };
    doc! {"q": {"pcode": pcode}, "u": update, "upsert": true}
}

pub(super) fn name_doc(name: &PartName) -> Document {
    let mut out = doc! {"fullName": &name.full_name};
    if let Some(tag) = &name.tag {
        out.insert("tag", tag);
    }
    out
}
