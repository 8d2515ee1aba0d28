//! The update statements a list result turns into: one upsert per listed variant, plus a
//! guarded reset of its sort order on the first touch of a run.

use bson::{doc, Bson, DateTime, Document};
use common::messages::{ListPageResult, ListedProduct};
use common::parts::{sort_order, split_title, PartName};

/// Statements for the `update` command, in list order.
pub(super) fn statements(list: &ListPageResult, now: DateTime) -> Vec<Document> {
    let run_started = DateTime::from_chrono(list.job.run_started_at);
    // A part touched in this run must read `updatedAt >= run start`, even when this host's
    // clock lags the producer's; otherwise a second filter would reset instead of max.
    let touched = now.max(run_started);
    let mut out = Vec::new();
    for product in &list.products {
        product_statements(list, product, run_started, touched, &mut out);
    }
    out
}

fn product_statements(
    list: &ListPageResult,
    product: &ListedProduct,
    run_started: DateTime,
    touched: DateTime,
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
        out.push(first_touch(&variant.pcode, run_started, rank));
        out.push(upsert(list, &variant.pcode, fields, rank, touched));
    }
}

struct Fields {
    name: Document,
    stock: bool,
    variants: Vec<Bson>,
    index: usize,
}

/// First touch in a run (`updatedAt` before the run's start): the sort order is replaced, so
/// a product that fell in popularity falls in the next run. Later touches keep the max.
fn first_touch(pcode: &str, run_started: DateTime, rank: i64) -> Document {
    doc! {
        "q": {"pcode": pcode, "updatedAt": {"$lt": run_started}},
        "u": {"$set": {"sortOrder": rank}},
    }
}

fn upsert(list: &ListPageResult, pcode: &str, fields: Fields, rank: i64, touched: DateTime) -> Document {
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
    doc! {
        "q": {"pcode": pcode},
        "u": {"$set": set, "$setOnInsert": on_insert, "$max": {"sortOrder": rank}},
        "upsert": true,
    }
}

pub(super) fn name_doc(name: &PartName) -> Document {
    let mut out = doc! {"fullName": &name.full_name};
    if let Some(tag) = &name.tag {
        out.insert("tag", tag);
    }
    out
}
