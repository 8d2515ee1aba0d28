//! What can go wrong with one request, sorted by what happens next: retry it after a backoff,
//! retry it on a new Tor circuit (a block), or give up on the job at once. The decision lives
//! on the error ([`CrawlError::decision`]), so the retry loop never inspects messages.

use std::time::Duration;

use crate::complete::Incomplete;
use crate::parse::ParseError;

/// Why the site's answer counts as a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum BlockCause {
    Forbidden,
    TooManyRequests,
    Empty,
    /// A marker text such as 비정상적인 접근.
    Marker,
    /// The same list answer as another page of the listing (the previous page served again).
    Repeated,
    /// The answer stops before its end marker: cut off (DESIGN.md §4.7).
    Incomplete,
}

impl BlockCause {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Forbidden => "403",
            Self::TooManyRequests => "429",
            Self::Empty => "empty",
            Self::Marker => "marker",
            Self::Repeated => "repeated",
            Self::Incomplete => "incomplete",
        }
    }
}

/// What the retry loop does after an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Back off and send the request again.
    Retry,
    /// A block: new Tor circuit, new session, back off, send again.
    NewCircuit,
    /// Send again at once on a connection of its own (the template sticks to the connection).
    Reconnect,
    /// The job cannot succeed; no retry will change that.
    GiveUp,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum CrawlError {
    /// Timeouts, refused or reset connections, bodies cut by the connection.
    #[error("{what}")]
    Network {
        what: &'static str,
        #[source]
        source: reqwest::Error,
    },
    /// 5xx and other unexpected statuses.
    #[error("HTTP {status}")]
    Status { status: u16, retry_after: Option<Duration> },
    /// The site pushes back: new circuit, backoff, retry.
    #[error("blocked ({}): {detail}", cause.as_str())]
    Blocked { cause: BlockCause, detail: String, retry_after: Option<Duration> },
    /// A body that ended before its `Content-Length` or its chunked end: incomplete, a soft
    /// block like a missing end marker.
    #[error("incomplete {} answer: the body ended before its length", answer.as_str())]
    ShortBody {
        answer: crate::complete::AnswerKind,
        #[source]
        source: reqwest::Error,
    },
    /// An answer without its end marker: a soft block, never parsed.
    #[error(transparent)]
    Incomplete(#[from] Incomplete),
    /// A whole answer that does not have the expected markup; the page is kept for the dead
    /// letter.
    #[error("{error}")]
    Unparseable {
        #[source]
        error: ParseError,
        page: String,
    },
    /// The category page came as the Next.js template without the category context the list
    /// request needs; the template sticks to the connection, so a new one may bring the other.
    #[error("{0}")]
    WrongTemplate(String),
    /// The job cannot succeed (robots.txt, a product outside the config's categories, a filter
    /// the category page does not offer).
    #[error("{0}")]
    Rejected(String),
    /// Redis failed while the job ran (the rate limiter, the list fingerprints).
    #[error("redis")]
    Redis(#[source] redis::RedisError),
}

impl common::retry::Retryable for CrawlError {
    fn is_retryable(&self) -> bool {
        self.decision() != Decision::GiveUp
    }

    fn retry_after(&self) -> Option<Duration> {
        CrawlError::retry_after(self)
    }
}

impl CrawlError {
    pub(crate) fn unparseable(error: ParseError, page: String) -> Self {
        CrawlError::Unparseable { error, page }
    }

    pub(crate) fn decision(&self) -> Decision {
        match self {
            CrawlError::Rejected(_) => Decision::GiveUp,
            CrawlError::Blocked { .. } | CrawlError::Incomplete(_) | CrawlError::ShortBody { .. } => {
                Decision::NewCircuit
            }
            CrawlError::Network { .. } | CrawlError::Status { .. } | CrawlError::Unparseable { .. } => Decision::Retry,
            CrawlError::Redis(_) => Decision::Retry,
            CrawlError::WrongTemplate(_) => Decision::Reconnect,
        }
    }

    /// The cause label of the block metric, when this is a block.
    pub(crate) fn block_cause(&self) -> Option<BlockCause> {
        match self {
            CrawlError::Blocked { cause, .. } => Some(*cause),
            CrawlError::Incomplete(_) | CrawlError::ShortBody { .. } => Some(BlockCause::Incomplete),
            _ => None,
        }
    }

    /// The delay the site asked for (`Retry-After`).
    pub(crate) fn retry_after(&self) -> Option<Duration> {
        match self {
            CrawlError::Status { retry_after, .. } | CrawlError::Blocked { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The error with its sources, one line (`a: b: c`), for logs and dead letters.
    pub(crate) fn chain(&self) -> String {
        common::error_text::chain(self)
    }
}
