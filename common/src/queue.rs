//! The one atomic Redis step by which work moves: acknowledge entries and add what follows
//! from them (results, follow-up jobs, dead letters) and bump the run counters — all in one
//! Lua script (`lua/ack_and_add.lua`), so nothing is lost or counted twice between the steps.

use std::collections::HashMap;

use std::time::Duration;

use redis::aio::ConnectionLike;

use crate::retry::{retry, Always, RetryPolicy};

static SCRIPT: std::sync::LazyLock<redis::Script> =
    std::sync::LazyLock::new(|| redis::Script::new(include_str!("../lua/ack_and_add.lua")));

/// Counter fields of a run hash (see [`crate::keys::Keys::run_counters`]). For every message
/// kind (`list`, `item`, `list-result`, `item-result`) the hash holds `enqueued:K`, `done:K`
/// and `dead:K`, each bumped in the same atomic step as the XADD or XACK it counts, so at every
/// moment `enqueued = done + dead + in flight` (DESIGN.md §4, 5). Other fields: `requests`
/// (HTTP requests made by finished jobs), `parts:inserted`, `parts:updated`, and
/// `progress:at`, the server time (Unix ms) of the last step that finished work.
pub mod counter {
    pub const REQUESTS: &str = "requests";
    /// Set by every step that bumps counters: when the run last made progress.
    pub const PROGRESS_AT: &str = "progress:at";
    pub const PARTS_INSERTED: &str = "parts:inserted";
    pub const PARTS_UPDATED: &str = "parts:updated";

    pub fn enqueued(kind: &str) -> String {
        format!("enqueued:{kind}")
    }
    pub fn done(kind: &str) -> String {
        format!("done:{kind}")
    }
    pub fn dead(kind: &str) -> String {
        format!("dead:{kind}")
    }
    /// Entries of a run taken out of the streams when a newer run started (`producer run
    /// --fresh --force`): finished without being processed, so for a replaced run
    /// `enqueued = done + dead + superseded + in flight`.
    pub fn superseded(kind: &str) -> String {
        format!("superseded:{kind}")
    }
}

/// An entry to add to a stream.
#[derive(Debug, Clone, Default)]
pub struct Add {
    pub stream: String,
    /// `(set key, member)`: add only when the member is new to the set.
    pub dedupe: Option<(String, String)>,
    /// `(hash key, field, value)`: add only when `HGET key field` equals `value` — e.g. only
    /// while the pcode is still claimed by this entry in the run's claim hash.
    pub guard: Option<(String, String, String)>,
    /// Run-counter field bumped when the entry is added.
    pub counter: Option<String>,
    /// Approximate cap on the stream's length (the dead-letter stream).
    pub max_len: Option<usize>,
    pub fields: Vec<(&'static str, String)>,
}

/// Acknowledge (optionally) one entry and apply its effects.
#[derive(Debug, Clone, Default)]
pub struct Step {
    /// `(stream, entry id)` to acknowledge and delete.
    pub ack: Option<(String, String)>,
    /// The run-counters hash the increments and the adds' counters go to.
    pub counters: Option<String>,
    pub increments: Vec<(String, i64)>,
    pub adds: Vec<Add>,
}

/// What a step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    /// The entry was acknowledged (or there was none) and this many entries were added.
    Applied { added: usize },
    /// Another consumer had already acknowledged the entry: nothing was done.
    AlreadyAcked,
}

/// Runs the steps, retrying through a Redis outage with backoff (the work they record is done
/// and must not be lost); `None` when `shutdown` comes first — the entries then stay pending
/// and are redone, idempotently, by whoever takes them.
pub async fn apply_until_done(
    pool: &crate::redis_pool::Pool,
    group: &str,
    steps: &[Step],
    shutdown: &tokio_util::sync::CancellationToken,
) -> Option<Vec<StepOutcome>> {
    let policy = RetryPolicy::forever(Duration::from_millis(100), Duration::from_secs(10));
    retry("record finished work in Redis", policy, shutdown, || async {
        let mut conn = pool.get().await.map_err(|e| Always(crate::redis_pool::pool_error(e)))?;
        apply(&mut conn, group, steps).await.map_err(Always)
    })
    .await
    .ok()
}

/// Runs the steps in one script call.
///
/// # Errors
/// Redis errors (connection lost, script error); nothing was applied then.
pub async fn apply<C: ConnectionLike>(
    conn: &mut C,
    group: &str,
    steps: &[Step],
) -> redis::RedisResult<Vec<StepOutcome>> {
    let mut keys = KeyIndex::default();
    let mut argv: Vec<String> = vec![group.to_owned(), counter::PROGRESS_AT.to_owned(), steps.len().to_string()];
    for step in steps {
        match &step.ack {
            Some((stream, id)) => argv.extend([keys.index(stream), id.clone()]),
            None => argv.extend(["0".to_owned(), String::new()]),
        }
        argv.push(step.counters.as_ref().map_or("0".to_owned(), |k| keys.index(k)));
        argv.push(step.increments.len().to_string());
        for (field, delta) in &step.increments {
            argv.extend([field.clone(), delta.to_string()]);
        }
        argv.push(step.adds.len().to_string());
        for add in &step.adds {
            argv.push(keys.index(&add.stream));
            match &add.dedupe {
                Some((set, member)) => argv.extend([keys.index(set), member.clone()]),
                None => argv.extend(["0".to_owned(), String::new()]),
            }
            match &add.guard {
                Some((hash, field, value)) => argv.extend([keys.index(hash), field.clone(), value.clone()]),
                None => argv.extend(["0".to_owned(), String::new(), String::new()]),
            }
            argv.push(add.counter.clone().unwrap_or_default());
            argv.push(add.max_len.unwrap_or(0).to_string());
            argv.push(add.fields.len().to_string());
            for (field, value) in &add.fields {
                argv.extend([(*field).to_owned(), value.clone()]);
            }
        }
    }
    let mut invocation = SCRIPT.prepare_invoke();
    for key in &keys.order {
        invocation.key(key);
    }
    for arg in &argv {
        invocation.arg(arg);
    }
    let raw: Vec<i64> = invocation.invoke_async(conn).await?;
    Ok(raw
        .into_iter()
        .map(|n| match usize::try_from(n) {
            Ok(added) => StepOutcome::Applied { added },
            Err(_) => StepOutcome::AlreadyAcked,
        })
        .collect())
}

/// KEYS in first-use order, each referred to by its 1-based index.
#[derive(Default)]
struct KeyIndex {
    order: Vec<String>,
    positions: HashMap<String, usize>,
}

impl KeyIndex {
    fn index(&mut self, key: &str) -> String {
        let next = self.order.len() + 1;
        let at = *self.positions.entry(key.to_owned()).or_insert_with(|| {
            self.order.push(key.to_owned());
            next
        });
        at.to_string()
    }
}
