//! What can go wrong writing a batch, sorted by what happens next: retry the transaction,
//! drop one entry from the batch, or give the batch back to the caller unacked.

use mongodb::error::{Error as MongoError, ErrorKind, TRANSIENT_TRANSACTION_ERROR, UNKNOWN_TRANSACTION_COMMIT_RESULT};

use super::claim::ClaimError;

/// A batch that could not be written. Nothing of it is committed (or, for a commit whose
/// outcome is unknown, what is committed is idempotent): the caller leaves its entries
/// unacked, so they are delivered again.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// MongoDB did not answer; the store reports not-ready until the next commit.
    #[error("MongoDB unreachable")]
    MongoUnreachable(#[source] MongoError),
    /// Redis (needed to claim item jobs) did not answer.
    #[error("Redis unreachable while claiming item jobs")]
    RedisUnreachable(#[source] ClaimError),
    /// An error MongoDB calls transient (a write conflict with another updater, an election).
    #[error("transient transaction error")]
    Transient(#[source] TransientCause),
    /// MongoDB refused the batch for a reason retrying will not change (authorisation,
    /// a bad index, ...). The batch is returned unacked; an operator must look.
    #[error("MongoDB refused the batch: {0}")]
    Refused(#[source] MongoError),
}

impl StoreError {
    /// Whether the error means a server could not be reached (as opposed to refusing).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Self::MongoUnreachable { .. } | Self::RedisUnreachable(_))
    }
}

impl From<Retry> for StoreError {
    fn from(cause: Retry) -> Self {
        match cause {
            Retry::Unreachable(source) => StoreError::MongoUnreachable(source),
            Retry::Transient(last) => StoreError::Transient(last),
            Retry::Redis(error) => StoreError::RedisUnreachable(error),
        }
    }
}

/// What made a transaction attempt worth running again.
#[derive(Debug, thiserror::Error)]
pub enum TransientCause {
    /// The driver's error: labelled transient, or a retryable server code.
    #[error(transparent)]
    Mongo(MongoError),
    /// One statement's `writeErrors` entry with a retryable code (a write conflict, a
    /// duplicate key from two concurrent upserts of one new pcode).
    #[error("write error {code}: {message}")]
    WriteError { code: i32, message: String },
}

/// Why one transaction attempt ended without a commit.
#[derive(Debug)]
pub(super) enum AttemptError {
    /// Abort and run the whole transaction again after a backoff.
    Retry(Retry),
    /// This entry's write was refused by the server: reject it, retry the others at once.
    Entry { index: usize, reason: String },
    /// Give the batch back.
    Fatal(MongoError),
}

#[derive(Debug)]
pub(super) enum Retry {
    Unreachable(MongoError),
    Transient(TransientCause),
    Redis(ClaimError),
}

/// Server error codes that mean "try again": write conflicts, a duplicate key from two
/// concurrent upserts of one new pcode, elections, shutdowns, time limits.
const RETRYABLE_CODES: [i32; 16] = [6, 7, 24, 50, 89, 91, 112, 189, 246, 251, 262, 9001, 10107, 11000, 11600, 11602];

/// Whether a driver error means the server could not be reached (rather than refused).
pub fn is_unreachable(error: &MongoError) -> bool {
    matches!(
        *error.kind,
        ErrorKind::Io(_)
            | ErrorKind::ServerSelection { .. }
            | ErrorKind::ConnectionPoolCleared { .. }
            | ErrorKind::DnsResolve { .. }
    )
}

pub(super) fn classify(error: MongoError) -> AttemptError {
    if is_unreachable(&error) {
        return AttemptError::Retry(Retry::Unreachable(error));
    }
    let labelled =
        error.contains_label(TRANSIENT_TRANSACTION_ERROR) || error.contains_label(UNKNOWN_TRANSACTION_COMMIT_RESULT);
    let code = match &*error.kind {
        ErrorKind::Command(command) => Some(command.code),
        _ => None,
    };
    if labelled || code.is_some_and(|c| RETRYABLE_CODES.contains(&c)) {
        return AttemptError::Retry(Retry::Transient(TransientCause::Mongo(error)));
    }
    AttemptError::Fatal(error)
}

/// A `writeErrors` entry of an `update` reply: retryable codes retry the batch, the others
/// are the fault of the entry that owns the statement (`None`: the reply named no statement
/// of ours, so the whole batch is tried again).
pub(super) fn write_error(owner: Option<usize>, code: i32, message: &str) -> AttemptError {
    match owner {
        Some(index) if !RETRYABLE_CODES.contains(&code) => {
            AttemptError::Entry { index, reason: format!("MongoDB refused the write ({code}): {message}") }
        }
        _ => AttemptError::Retry(Retry::Transient(TransientCause::WriteError { code, message: message.to_owned() })),
    }
}
