//! The updater worker: the only writer of MongoDB's `parts` collection. It applies batches of
//! crawl results in one transaction each, decides which parts get item jobs, and acks each
//! batch in one atomic Redis step after the commit.

pub mod contract;
pub mod indexes;
pub mod metrics;
pub mod run;
pub mod settings;
pub mod store;
pub(crate) mod validate;
pub mod worker;
