//! crawler-worker: fetches Danawa's list and product pages, parses them into the stream
//! messages of `common`, and publishes the results.

pub mod capture;
pub mod cli_parse;
pub mod complete;
pub(crate) mod crawl;
pub mod danawa;
pub(crate) mod error;
pub(crate) mod fetch;
pub(crate) mod http;
pub(crate) mod metrics;
pub mod parse;
pub(crate) mod proxy_check;
pub(crate) mod rate_limit;
pub(crate) mod robots;
pub mod run;
pub mod settings;
pub(crate) mod slots;
pub mod tor;
pub(crate) mod worker;
