//! Multi-document transactions against a real SecantusDB through the official driver: the
//! guarantee the updater's "one transaction per batch" rests on.

use mongodb::bson::{doc, Document};
use mongodb::{Client, ClientSession, Collection};
use test_harness::MongoServer;

/// A client, the `parts` collection holding one document (`pcode` "0"), and a session inside
/// a started transaction.
async fn in_transaction(server: &MongoServer) -> (Collection<Document>, ClientSession) {
    let client = Client::with_uri_str(server.uri()).await.expect("client");
    let parts = client.database("ek_test").collection::<Document>("parts");
    parts.insert_one(doc! {"pcode": "0"}).await.expect("create the collection first");
    let mut session = client.start_session().await.expect("session");
    session.start_transaction().await.expect("start");
    (parts, session)
}

#[tokio::test]
async fn committed_writes_are_all_visible() {
    let server = MongoServer::start();
    let (parts, mut session) = in_transaction(&server).await;
    parts.insert_one(doc! {"pcode": "1"}).session(&mut session).await.expect("write 1");
    parts.insert_one(doc! {"pcode": "2"}).session(&mut session).await.expect("write 2");
    let outside = parts.count_documents(doc! {}).await.expect("count");
    assert_eq!(outside, 1, "uncommitted writes are invisible outside the transaction");
    session.commit_transaction().await.expect("commit");

    assert_eq!(parts.count_documents(doc! {}).await.expect("count"), 3);
}

#[tokio::test]
async fn aborted_writes_are_none_visible() {
    let server = MongoServer::start();
    let (parts, mut session) = in_transaction(&server).await;
    parts.insert_one(doc! {"pcode": "1"}).session(&mut session).await.expect("write 1");
    parts.update_one(doc! {"pcode": "0"}, doc! {"$set": {"stock": true}}).session(&mut session).await.expect("write 2");
    session.abort_transaction().await.expect("abort");

    assert_eq!(parts.count_documents(doc! {}).await.expect("count"), 1);
    let zero = parts.find_one(doc! {"pcode": "0"}).await.expect("find").expect("doc");
    assert!(!zero.contains_key("stock"), "the aborted update left no trace: {zero}");
}
