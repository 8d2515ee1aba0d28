//! An error and its `#[source]` chain as one line (`a: b: c`), for log lines and dead letters.

use std::error::Error;

/// The error's text followed by each source's, skipping a source whose text the line already
/// ends with (wrappers that repeat their cause with `{0}`).
pub fn chain(error: &(dyn Error + 'static)) -> String {
    let mut text = own_text(error);
    let mut source = error.source();
    while let Some(error) = source {
        let line = own_text(error);
        if !text.ends_with(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = error.source();
    }
    text
}

/// One error's text. The MongoDB driver's `Display` ends with the server's whole reply as
/// hex bytes (over a kilobyte for every write conflict an updater logs); its kind (code,
/// name, message) and labels are what an operator reads.
fn own_text(error: &(dyn Error + 'static)) -> String {
    #[cfg(feature = "runtime")]
    if let Some(error) = error.downcast_ref::<mongodb::error::Error>() {
        let mut labels: Vec<&str> = error.labels().iter().map(String::as_str).collect();
        if labels.is_empty() {
            return error.kind.to_string();
        }
        labels.sort_unstable();
        return format!("{} (labels: {})", error.kind, labels.join(", "));
    }
    error.to_string()
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

    #[cfg(feature = "runtime")]
    #[test]
    fn a_mongodb_error_is_its_kind_and_labels_without_the_server_reply() {
        let error: mongodb::error::Error = serde_json::from_value::<mongodb::error::CommandError>(
            serde_json::json!({"code": 112, "codeName": "WriteConflict", "errmsg": "conflicted"}),
        )
        .map(|command| mongodb::error::ErrorKind::Command(command).into())
        .unwrap();
        let text = super::chain(&Outer2(error));
        assert_eq!(text, "cannot write: Command failed: Error code 112 (WriteConflict): conflicted");
        assert!(!text.contains("server response"), "{text}");
    }

    #[cfg(feature = "runtime")]
    #[derive(Debug, thiserror::Error)]
    #[error("cannot write")]
    struct Outer2(#[source] mongodb::error::Error);
}
