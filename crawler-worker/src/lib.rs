//! crawler-worker: fetches Danawa's list and product pages, parses them into the stream
//! messages of `common`, and publishes the results.

pub mod capture;
pub mod cli_parse;
pub mod complete;
pub mod crawl;
pub mod danawa;
pub mod errors;
pub mod fetch;
pub mod http;
pub mod metrics;
pub mod parse;
pub mod proxy_check;
pub mod rate_limit;
pub mod robots;
pub mod run;
pub mod settings;
pub mod tor;
pub mod worker;
