//! The indexes of the `parts` collection, created at start-up. Creating an index that already
//! exists with the same keys and options is a no-op, so every replica runs this on start.

use bson::{doc, Document};
use mongodb::options::IndexOptions;
use mongodb::{Collection, IndexModel};

/// Names are fixed so that an operator can find them and a changed definition fails loudly
/// (MongoDB refuses an index whose name exists with other keys) instead of adding a twin.
pub const PCODE_UNIQUE: &str = "pcode_unique";
pub const CATEGORY_SORT: &str = "category_sortOrder";
pub const UPDATING_UPDATED: &str = "isUpdating_updatedAt";

/// The three indexes: `pcode` (unique: upserts key on it), `{category, sortOrder: -1}` (the
/// web API lists a category by popularity), `{isUpdating, updatedAt}` (finds parts stuck in
/// an update).
pub fn models() -> Vec<IndexModel> {
    let model = |keys: Document, name: &str, unique: bool| {
        let options = IndexOptions::builder().name(name.to_owned()).unique(unique.then_some(true)).build();
        IndexModel::builder().keys(keys).options(options).build()
    };
    vec![
        model(doc! {"pcode": 1}, PCODE_UNIQUE, true),
        model(doc! {"category": 1, "sortOrder": -1}, CATEGORY_SORT, false),
        model(doc! {"isUpdating": 1, "updatedAt": 1}, UPDATING_UPDATED, false),
    ]
}

/// Creates the indexes when missing.
///
/// # Errors
/// The driver's error: MongoDB unreachable, or an index of the same name with another
/// definition (an operator must drop it; the worker must not guess).
pub async fn ensure_indexes(parts: &Collection<Document>) -> mongodb::error::Result<()> {
    parts.create_indexes(models()).await?;
    Ok(())
}
