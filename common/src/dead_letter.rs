//! Moving an entry to the dead-letter stream: acknowledged on its own stream, added to
//! `{prefix}:dead` with the reason, counted as dead in its run — one atomic step.

use crate::consumer::Delivery;
use crate::keys::Keys;
use crate::messages::{fields_as_text, DeadLetter, DeadReason, FailedRequest, FIELD_KIND, FIELD_RUN};
use crate::queue::{counter, Add, Step};

/// The dead-letter stream keeps about this many entries; older ones are trimmed.
pub const DEAD_LETTER_MAX_LEN: usize = 100_000;
/// A saved answer is cut to this many bytes.
pub const SAVED_PAGE_MAX_BYTES: usize = 256 * 1024;

/// What went wrong with an entry.
#[derive(Debug, Clone)]
pub struct Failure {
    pub reason: DeadReason,
    pub attempts: u32,
    pub last_error: String,
    /// The request that used up its attempts, if one did.
    pub request: Option<FailedRequest>,
    /// The answer that could not be parsed, if any.
    pub page: Option<String>,
}

impl Failure {
    /// A failure of the entry as a whole: no request named, no page kept.
    pub fn new(reason: DeadReason, attempts: u32, last_error: String) -> Self {
        Self { reason, attempts, last_error, request: None, page: None }
    }
}

/// The step that moves `delivery` (read from `stream`) to the dead-letter stream.
pub fn step(keys: &Keys, stream: &str, delivery: &Delivery, failure: Failure) -> Step {
    let fields = fields_as_text(&delivery.fields);
    let kind = fields.get(FIELD_KIND).cloned().unwrap_or_else(|| "unknown".into());
    let run_id = fields.get(FIELD_RUN).filter(|r| !r.is_empty()).cloned();
    let letter = DeadLetter {
        source_stream: stream.to_owned(),
        source_id: delivery.id.clone(),
        kind: kind.clone(),
        run_id: run_id.clone(),
        fields,
        reason: failure.reason,
        attempts: failure.attempts,
        last_error: failure.last_error,
        request: failure.request,
        page: failure.page.map(|p| truncate(&p, SAVED_PAGE_MAX_BYTES).to_owned()),
        failed_at: chrono::Utc::now(),
    };
    Step {
        ack: Some((stream.to_owned(), delivery.id.clone())),
        counters: run_id.as_deref().map(|run| keys.run_counters(run)),
        increments: vec![(counter::dead(&kind), 1)],
        adds: vec![Add {
            stream: keys.dead(),
            max_len: Some(DEAD_LETTER_MAX_LEN),
            fields: letter.to_fields(),
            ..Add::default()
        }],
    }
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
pub fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_on_char_boundaries() {
        assert_eq!(truncate("가나다", 4), "가");
        assert_eq!(truncate("abc", 10), "abc");
    }
}
