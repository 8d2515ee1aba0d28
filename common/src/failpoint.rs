//! Named failpoints for tests that must stop a process at an exact place (e.g. after the
//! MongoDB commit, before the Redis ack). `EK_FAILPOINT=<name>` makes the process abort when it
//! reaches `<name>`, as a SIGKILL there would; unset (always, in production) it does nothing.

use std::sync::LazyLock;

static ARMED: LazyLock<Option<String>> =
    LazyLock::new(|| std::env::var("EK_FAILPOINT").ok().filter(|name| !name.is_empty()));

/// Aborts the process if the failpoint `name` is armed.
pub fn hit(name: &str) {
    if ARMED.as_deref() == Some(name) {
        tracing::error!(failpoint = name, "failpoint reached: aborting the process");
        std::process::abort();
    }
}
