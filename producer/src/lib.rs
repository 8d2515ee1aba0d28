//! The producer: validates the scrape config, starts or resumes a run, enqueues its list-page
//! jobs, and reports progress (`status`).

pub mod validate;
