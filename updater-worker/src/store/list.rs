//! The update statements a list result turns into: one upsert per listed variant, which
//! replaces the sort order on the first touch of a run and keeps the max on later ones.

use bson::{doc, Bson, DateTime, Document};
use common::messages::{ListPageResult, ListedProduct};
use common::parts::{sort_order, split_title, PartName};

use super::touched::Touched;

/// Statements for the `update` command, in list order; `touched` says which parts this run
/// has not touched yet and learns the ones these statements touch.
pub(super) fn statements(list: &ListPageResult, now: DateTime, touched: &mut Touched) -> Vec<Document> {
    let run_started = DateTime::from_chrono(list.job.run_started_at);
    // A part touched in this run must read `updatedAt >= run start`, even when this host's
    // clock lags the producer's; otherwise a second filter would reset instead of max.
    let touched_at = now.max(run_started);
    let mut out = Vec::new();
    for product in &list.products {
        product_statements(list, product, Touch { run_started, at: touched_at }, touched, &mut out);
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
    out: &mut Vec<Document>,
) {
    let title = split_title(&product.name, list.job.category == "cpu");
    let variants: Vec<Bson> = product.variants.iter().map(|v| Bson::String(v.pcode.clone())).collect();
    let rank = sort_order(product.page, product.position);
    for (index, variant) in product.variants.iter().enumerate() {
        let name =
            PartName { full_name: title.full_name.clone(), tag: variant.tag.clone().or_else(|| title.tag.clone()) };
        let fields =
            Fields { name: name_doc(&name), stock: variant.price.is_some(), variants: variants.clone(), index };
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
        "isUpdating": false,
        "createdAt": touched,
    };
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
