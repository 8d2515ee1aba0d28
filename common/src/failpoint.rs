//! Named failpoints for tests that must stop a process at an exact place (e.g. after the
//! MongoDB commit, before the Redis ack). Unset (always, in production) they do nothing.
//!
//! `EK_FAILPOINT=<name>` (or `<name>:abort`) makes the process abort when it reaches `<name>`,
//! as a SIGKILL there would. `EK_FAILPOINT=<name>:pause` makes it stop itself with SIGSTOP the
//! first time it reaches `<name>` — every thread, keep-alives included, as a frozen VM, a long
//! GC-like stall or a stopped container would — until someone sends it SIGCONT; it then goes
//! on from exactly there.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::LazyLock;

/// What an armed failpoint does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Abort,
    Pause,
}

static ARMED: LazyLock<Option<(String, Action)>> =
    LazyLock::new(|| std::env::var("EK_FAILPOINT").ok().and_then(|spec| parse(&spec)));
static PAUSED: AtomicBool = AtomicBool::new(false);

/// `<name>`, `<name>:abort` or `<name>:pause`; `None` when empty or the action is unknown.
pub fn parse(spec: &str) -> Option<(String, Action)> {
    let (name, action) = match spec.split_once(':') {
        None => (spec, Action::Abort),
        Some((name, "abort")) => (name, Action::Abort),
        Some((name, "pause")) => (name, Action::Pause),
        Some(_) => return None,
    };
    (!name.is_empty()).then(|| (name.to_owned(), action))
}

/// Aborts the process, or stops it until SIGCONT, if the failpoint `name` is armed.
pub fn hit(name: &str) {
    let Some((armed, action)) = ARMED.as_ref() else { return };
    if armed != name {
        return;
    }
    match action {
        Action::Abort => {
            tracing::error!(failpoint = name, "failpoint reached: aborting the process");
            std::process::abort();
        }
        Action::Pause if !PAUSED.swap(true, Ordering::SeqCst) => {
            tracing::warn!(failpoint = name, "failpoint reached: stopping the process until SIGCONT");
            if let Err(error) = nix::sys::signal::raise(nix::sys::signal::Signal::SIGSTOP) {
                tracing::error!(failpoint = name, %error, "cannot stop the process");
            }
            tracing::warn!(failpoint = name, "resumed after the failpoint");
        }
        Action::Pause => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_name_a_point_and_an_action() {
        assert_eq!(parse("updater-after-commit"), Some(("updater-after-commit".into(), Action::Abort)));
        assert_eq!(parse("x:abort"), Some(("x".into(), Action::Abort)));
        assert_eq!(parse("x:pause"), Some(("x".into(), Action::Pause)));
        assert_eq!(parse(""), None);
        assert_eq!(parse(":pause"), None);
        assert_eq!(parse("x:sleep"), None, "an unknown action arms nothing");
    }
}
