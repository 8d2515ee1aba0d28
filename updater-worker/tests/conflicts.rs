//! What SecantusDB really does with concurrent transactions on the same document, observed
//! through the official driver: the guarantee that the `isUpdating` mark rests on
//! (`store/list.rs`: planned from the batch's read of `itemCheckedRun` in the same
//! transaction). A transaction's snapshot is taken at its first statement;
//! a write to a document that another transaction changed after that snapshot, or holds
//! uncommitted, fails at once with WriteConflict (112, `TransientTransactionError`) — first
//! writer wins; nothing blocks, nothing is silently overwritten.

use bson::{doc, Document};
use mongodb::error::{ErrorKind, TRANSIENT_TRANSACTION_ERROR};
use mongodb::options::{Acknowledgment, ReadConcern, TransactionOptions, WriteConcern};
use mongodb::{Client, ClientSession, Collection};
use test_harness::MongoServer;

/// Part "1" (not updating, not checked) and a client, on a fresh server.
async fn setup(server: &MongoServer) -> (Client, Collection<Document>) {
    let client = Client::with_uri_str(server.uri()).await.expect("client");
    let parts = client.database("conflicts").collection::<Document>("parts");
    parts.insert_one(doc! {"pcode": "1", "isUpdating": false}).await.expect("insert");
    (client, parts)
}

/// A session in a transaction with the updater's options.
async fn begin(client: &Client) -> ClientSession {
    let mut session = client.start_session().await.expect("session");
    let options = TransactionOptions::builder()
        .read_concern(ReadConcern::snapshot())
        .write_concern(WriteConcern::builder().w(Acknowledgment::Majority).build())
        .build();
    session.start_transaction().with_options(options).await.expect("start");
    session
}

fn is_write_conflict(error: &mongodb::error::Error) -> bool {
    let code = match &*error.kind {
        ErrorKind::Command(e) => Some(e.code),
        ErrorKind::Write(mongodb::error::WriteFailure::WriteError(e)) => Some(e.code),
        _ => None,
    };
    code == Some(112) && error.contains_label(TRANSIENT_TRANSACTION_ERROR)
}

/// The item result of part "1": it finished in run r1 and released the part.
async fn release(client: &Client, parts: &Collection<Document>) {
    let mut item = begin(client).await;
    let set = doc! {"$set": {"isUpdating": false, "itemCheckedRun": "r1"}};
    parts.update_one(doc! {"pcode": "1"}, set).session(&mut item).await.expect("item write");
    item.commit_transaction().await.expect("item commit");
}

/// The updater's batch read of part "1", then the list result's upsert with the mark when the
/// read says no item job of run r1 finished for it; whether it marked.
async fn read_then_mark(parts: &Collection<Document>, session: &mut ClientSession) -> mongodb::error::Result<bool> {
    let read = parts.find_one(doc! {"pcode": {"$in": ["1"]}}).session(&mut *session).await?.expect("part");
    let mut set = doc! {"updatedAt": bson::DateTime::now()};
    let marks = read.get_str("itemCheckedRun").ok() != Some("r1");
    if marks {
        set.insert("isUpdating", true);
    }
    parts.update_one(doc! {"pcode": "1"}, doc! {"$set": set}).upsert(true).session(&mut *session).await?;
    Ok(marks)
}

#[tokio::test]
async fn the_second_writer_of_a_document_gets_a_write_conflict_at_once() {
    let server = MongoServer::start();
    let (client, parts) = setup(&server).await;
    let mut first = begin(&client).await;
    parts.update_one(doc! {"pcode": "1"}, doc! {"$set": {"a": 1}}).session(&mut first).await.expect("first");
    let mut second = begin(&client).await;
    let started = std::time::Instant::now();
    let error = parts
        .update_one(doc! {"pcode": "1"}, doc! {"$set": {"b": 1}})
        .session(&mut second)
        .await
        .expect_err("the document is held by an uncommitted transaction");
    assert!(is_write_conflict(&error), "{error}");
    assert!(started.elapsed() < std::time::Duration::from_secs(2), "it does not wait for the first");
    first.commit_transaction().await.expect("the first writer commits");
    let part = parts.find_one(doc! {"pcode": "1"}).await.expect("find").expect("part");
    assert_eq!((part.get_i32("a").ok(), part.get_i32("b").ok()), (Some(1), None));
}

#[tokio::test]
async fn a_write_to_a_document_changed_after_the_snapshot_conflicts_even_when_its_filter_matched() {
    let server = MongoServer::start();
    let (client, parts) = setup(&server).await;
    // The stalled updater's transaction: its snapshot is pinned by its first read, which saw
    // no finished item job; the release commits meanwhile.
    let mut stalled = begin(&client).await;
    let read = parts.find_one(doc! {"pcode": {"$in": ["1"]}}).session(&mut stalled).await.expect("read").expect("part");
    assert!(read.get_str("itemCheckedRun").is_err());
    release(&client, &parts).await;

    let set = doc! {"$set": {"isUpdating": true}};
    let error = parts
        .update_one(doc! {"pcode": "1"}, set)
        .upsert(true)
        .session(&mut stalled)
        .await
        .expect_err("stale snapshot");
    assert!(is_write_conflict(&error), "{error}");
    let part = parts.find_one(doc! {"pcode": "1"}).await.expect("find").expect("part");
    assert_eq!(part.get_bool("isUpdating"), Ok(false), "the release stands: {part}");
}

#[tokio::test]
async fn the_snapshot_is_taken_at_the_first_statement_not_at_the_start() {
    let server = MongoServer::start();
    let (client, parts) = setup(&server).await;
    // Started, then stalled before its first statement (where `updater-in-transaction` stops).
    let mut stalled = begin(&client).await;
    release(&client, &parts).await;

    let marked = read_then_mark(&parts, &mut stalled).await.expect("read and write");
    assert!(!marked, "the read sees the release and the mark is not planned");
    stalled.commit_transaction().await.expect("commit");
    let part = parts.find_one(doc! {"pcode": "1"}).await.expect("find").expect("part");
    assert_eq!(part.get_bool("isUpdating"), Ok(false));
}
