//! The updater worker: the only writer of MongoDB's `parts` collection. It applies batches of
//! crawl results in one transaction each and decides which parts get item jobs.

pub mod contract;
pub mod indexes;
pub mod store;
pub mod validate;
