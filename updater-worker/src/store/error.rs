//! What can go wrong writing a batch, sorted by what happens next: retry the transaction,
//! drop one entry from the batch, or give the batch back to the caller unacked.

use mongodb::error::{Error as MongoError, ErrorKind, TRANSIENT_TRANSACTION_ERROR, UNKNOWN_TRANSACTION_COMMIT_RESULT};

use common::retry::Retryable;

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
    #[error("MongoDB refused the batch")]
    Refused(#[source] MongoError),
}

impl StoreError {
    /// Whether the error means a server could not be reached (as opposed to refusing).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Self::MongoUnreachable { .. } | Self::RedisUnreachable(_))
    }
}

/// A batch is never given up on (see `Store::write_batch`); a write conflict with the other
/// updaters is retried at once, an outage with backoff.
impl Retryable for StoreError {
    fn is_contention(&self) -> bool {
        matches!(self, Self::Transient(cause) if cause.is_contention())
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
    /// The driver's error: labelled transient, or a retryable server code. Its text comes
    /// from the source, shortened by `common::error_text::chain`.
    #[error("the driver says")]
    Mongo(#[source] MongoError),
    /// One statement's `writeErrors` entry with a retryable code (a write conflict, a
    /// duplicate key from two concurrent upserts of one new pcode).
    #[error("write error {code}: {message}")]
    WriteError { code: i32, message: String },
}

/// Codes of a conflict with another transaction writing the same part: a write conflict, and
/// the duplicate key of two concurrent upserts of one new pcode.
const CONTENTION_CODES: [i32; 2] = [112, 11000];

impl TransientCause {
    /// Whether another updater's transaction, not an outage, made this attempt fail.
    pub fn is_contention(&self) -> bool {
        let code = match self {
            Self::Mongo(error) => match &*error.kind {
                ErrorKind::Command(command) => command.code,
                _ => return false,
            },
            Self::WriteError { code, .. } => *code,
        };
        CONTENTION_CODES.contains(&code)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn command_error(code: i32) -> MongoError {
        let command =
            serde_json::from_value(serde_json::json!({"code": code, "codeName": "X", "errmsg": "m"})).unwrap();
        ErrorKind::Command(command).into()
    }

    #[test]
    fn a_write_conflict_is_contention_and_an_election_is_not() {
        let transient = |cause| StoreError::Transient(cause);
        assert!(transient(TransientCause::Mongo(command_error(112))).is_contention());
        assert!(transient(TransientCause::WriteError { code: 11000, message: String::new() }).is_contention());
        assert!(!transient(TransientCause::Mongo(command_error(10107))).is_contention(), "not primary");
        assert!(!transient(TransientCause::WriteError { code: 91, message: String::new() }).is_contention());
        assert!(!StoreError::Refused(command_error(112)).is_contention(), "only a transient cause");
        // Every contention code is also retried by the transaction loop.
        assert!(CONTENTION_CODES.iter().all(|c| RETRYABLE_CODES.contains(c)));
    }
}
