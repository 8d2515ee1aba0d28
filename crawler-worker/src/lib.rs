//! crawler-worker: fetches Danawa's list and product pages, parses them into the stream
//! messages of `common`, and publishes the results.

pub mod cli_parse;
pub mod danawa;
pub mod parse;
