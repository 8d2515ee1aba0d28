//! Index creation at start-up is idempotent and yields the three indexes of the contract.

mod support;

use bson::doc;
use futures::TryStreamExt;
use support::Env;
use updater_worker::indexes::{CATEGORY_SORT, PCODE_UNIQUE, UPDATING_UPDATED};

#[tokio::test]
async fn indexes_are_created_once_and_pcode_is_unique() {
    let env = Env::start().await; // created once already
    env.store.ensure_indexes().await.expect("second start-up");
    env.store.ensure_indexes().await.expect("third start-up");

    let indexes: Vec<_> = env.parts().list_indexes().await.expect("list").try_collect().await.expect("read");
    let find = |name: &str| indexes.iter().find(|i| i.options.as_ref().and_then(|o| o.name.as_deref()) == Some(name));
    assert_eq!(indexes.len(), 4, "_id and ours: {indexes:?}");
    let pcode = find(PCODE_UNIQUE).expect("pcode index");
    assert_eq!(pcode.keys, doc! {"pcode": 1});
    assert_eq!(pcode.options.as_ref().and_then(|o| o.unique), Some(true));
    assert_eq!(find(CATEGORY_SORT).expect("category index").keys, doc! {"category": 1, "sortOrder": -1});
    assert_eq!(find(UPDATING_UPDATED).expect("updating index").keys, doc! {"isUpdating": 1, "updatedAt": 1});

    env.parts().insert_one(doc! {"pcode": "1"}).await.expect("first");
    assert!(env.parts().insert_one(doc! {"pcode": "1"}).await.is_err(), "a second pcode 1 is refused");
}
