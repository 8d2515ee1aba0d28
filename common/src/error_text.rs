//! An error and its `#[source]` chain as one line (`a: b: c`), for log lines and dead letters.

use std::error::Error;

/// The error's text followed by each source's, skipping a source whose text the line already
/// ends with (wrappers that repeat their cause with `{0}`).
pub fn chain(error: &(dyn Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(error) = source {
        let line = error.to_string();
        if !text.ends_with(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = error.source();
    }
    text
}

#[cfg(test)]
mod tests {
    #[derive(Debug, thiserror::Error)]
    #[error("cannot write the batch")]
    struct Outer(#[source] Middle);

    #[derive(Debug, thiserror::Error)]
    #[error("transient: {0}")]
    struct Middle(#[source] std::io::Error);

    #[test]
    fn each_source_is_named_once() {
        let error = Outer(Middle(std::io::Error::other("connection reset")));
        assert_eq!(super::chain(&error), "cannot write the batch: transient: connection reset");
    }
}
