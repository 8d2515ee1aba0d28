//! `producer validate-config FILE`: the config checked without touching Redis.

use std::fmt::Write as _;
use std::path::Path;

use common::config::{ConfigError, PageEnd, ScrapeConfig};

/// The exit status of a rejected config (0 is a valid one).
pub const EXIT_INVALID: u8 = 2;

/// Validates a config file; returns the report to print and the exit code.
pub fn validate_config(path: &Path) -> (String, u8) {
    match ScrapeConfig::load(path) {
        Ok(config) => (summary(&config), 0),
        Err(error) => (report(&error), EXIT_INVALID),
    }
}

/// The report of a config error: every problem, one `file:line:col: path: message` line each,
/// as `validate-config` prints it.
pub fn report(error: &ConfigError) -> String {
    match error {
        ConfigError::Io { .. } => format!("{error}\n"),
        ConfigError::Invalid { file, problems } => {
            let mut report = format!("{file}: {} problem(s)\n", problems.len());
            for problem in problems {
                let _ = writeln!(report, "{file}:{problem}");
            }
            report
        }
    }
}

fn summary(config: &ScrapeConfig) -> String {
    let mut out = String::from("ok\n");
    for c in &config.categories {
        let end = match c.end_page {
            PageEnd::Last => "*".to_owned(),
            PageEnd::Page(n) => n.to_string(),
        };
        let _ = writeln!(
            out,
            "{:<12} cate={:<9} pages {}..{:<3} filters {:>2}  since {}  ignore {}  items {}",
            c.name,
            c.number,
            c.start_page,
            end,
            c.filters.len(),
            c.minimum_date,
            c.ignore_words.len(),
            if c.crawl_items { "yes" } else { "no" },
        );
    }
    out
}
