//! What can go wrong with a job, sorted by what happens next: retry after a backoff, retry
//! after a new Tor circuit (a block), or give up at once.

use std::time::Duration;

use crate::parse::ParseError;

/// Why the site's answer counts as a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlockCause {
    Forbidden,
    TooManyRequests,
    Empty,
    /// A marker text such as 비정상적인 접근.
    Marker,
    /// The same list answer as another page of the listing (the previous page served again).
    Repeated,
    /// The answer did not parse: a cut-off page, or (if it persists) changed markup.
    Unparseable,
}

impl BlockCause {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Forbidden => "403",
            Self::TooManyRequests => "429",
            Self::Empty => "empty",
            Self::Marker => "marker",
            Self::Repeated => "repeated",
            Self::Unparseable => "unparseable",
        }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum CrawlError {
    /// Timeouts, connection errors, 5xx: retried with exponential backoff.
    #[error("{cause}")]
    Transient { cause: String, retry_after: Option<Duration> },
    /// The site pushes back: new circuit, backoff, retry.
    #[error("blocked ({}): {detail}", cause.as_str())]
    Blocked { cause: BlockCause, detail: String, retry_after: Option<Duration>, parse: Option<ParseFailure> },
    /// The job cannot succeed (robots.txt, a product outside the config's categories).
    #[error("{0}")]
    Rejected(String),
    /// Redis failed while the job ran (the rate limiter, the list fingerprints).
    #[error("redis: {0}")]
    Redis(String),
}

/// A parse error with the answer that caused it, kept for the dead letter.
#[derive(Debug, Clone)]
pub struct ParseFailure {
    pub error: ParseError,
    pub page: String,
}

impl CrawlError {
    pub fn unparseable(error: ParseError, page: String) -> Self {
        CrawlError::Blocked {
            cause: BlockCause::Unparseable,
            detail: error.to_string(),
            retry_after: None,
            parse: Some(ParseFailure { error, page }),
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            CrawlError::Transient { retry_after, .. } | CrawlError::Blocked { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}
