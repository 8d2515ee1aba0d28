//! The run hash (`{prefix}:run`): which run is current, when it started, with which config,
//! whether it is running or done — and the atomic steps that start, resume and finish a run.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use common::keys::{Keys, CRAWLERS_GROUP, UPDATERS_GROUP};
use common::messages::{MessageKind, FIELD_KIND, FIELD_RUN};
use common::queue::counter;
use rand::Rng;
use redis::aio::ConnectionLike;
use redis::streams::StreamRangeReply;

use crate::counters::{RunCounters, KINDS};
use crate::Error;

static BEGIN: std::sync::LazyLock<redis::Script> =
    std::sync::LazyLock::new(|| redis::Script::new(include_str!("../lua/begin_run.lua")));
static FINISH: std::sync::LazyLock<redis::Script> =
    std::sync::LazyLock::new(|| redis::Script::new(include_str!("../lua/finish_run.lua")));
static SUPERSEDE: std::sync::LazyLock<redis::Script> =
    std::sync::LazyLock::new(|| redis::Script::new(include_str!("../lua/supersede.lua")));

/// Entries of a superseded stream counted and deleted per script call: about a millisecond of
/// Redis time each, however many entries the replaced run left (100,000 and more).
pub const SUPERSEDE_CHUNK: usize = 1000;

/// Fields of the run hash.
pub mod field {
    pub const ID: &str = "id";
    /// `running` or `done`.
    pub const STATE: &str = "state";
    pub const STARTED_AT: &str = "startedAt";
    pub const FINISHED_AT: &str = "finishedAt";
    /// SHA-256 of the config file the run started with.
    pub const CONFIG_HASH: &str = "configHash";
    pub const CONFIG_FILE: &str = "configFile";
    /// Parts whose last price point is older get item jobs; fixed at start so a resume
    /// enqueues exactly the jobs the first start would have.
    pub const STALE_BEFORE: &str = "staleBefore";
    /// The last time a producer resumed this run.
    pub const RESUMED_AT: &str = "resumedAt";
    /// The run this one replaced with `--fresh`, and in which state.
    pub const REPLACED: &str = "replaced";
    /// The id alone of the replaced run (`producer status` shows its counters).
    pub const REPLACED_RUN: &str = "replacedRun";
    /// JSON ring of progress samples (see [`crate::rate`]).
    pub const SAMPLES: &str = "samples";
}

pub const STATE_RUNNING: &str = "running";
pub const STATE_DONE: &str = "done";

/// One run as the run hash describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunInfo {
    pub id: String,
    pub state: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub config_hash: String,
    pub stale_before: DateTime<Utc>,
}

impl RunInfo {
    pub fn is_running(&self) -> bool {
        self.state == STATE_RUNNING
    }

    /// From an `HGETALL` of the run hash; `None` when there is no (readable) run.
    pub fn from_hash(hash: &HashMap<String, String>) -> Option<Self> {
        let time =
            |f: &str| hash.get(f).and_then(|t| DateTime::parse_from_rfc3339(t).ok()).map(|t| t.with_timezone(&Utc));
        let started_at = time(field::STARTED_AT)?;
        Some(Self {
            id: hash.get(field::ID).filter(|id| !id.is_empty())?.clone(),
            state: hash.get(field::STATE).cloned().unwrap_or_default(),
            started_at,
            finished_at: time(field::FINISHED_AT),
            config_hash: hash.get(field::CONFIG_HASH).cloned().unwrap_or_default(),
            stale_before: time(field::STALE_BEFORE).unwrap_or(started_at),
        })
    }

    /// The run's own keys (counters, dedupe sets), which expire when it ends.
    pub fn keys(&self, keys: &Keys) -> Vec<String> {
        run_keys(keys, &self.id)
    }
}

/// Every key scoped to one run, counters first.
pub fn run_keys(keys: &Keys, id: &str) -> Vec<String> {
    vec![keys.run_counters(id), keys.run_pages_seen(id), keys.run_items_seen(id), keys.run_list_prints(id)]
}

/// Reads the run hash.
///
/// # Errors
/// Redis errors.
pub async fn read<C: ConnectionLike>(
    conn: &mut C,
    keys: &Keys,
) -> Result<(Option<RunInfo>, HashMap<String, String>), Error> {
    let hash: HashMap<String, String> = redis::cmd("HGETALL").arg(keys.run()).query_async(conn).await?;
    Ok((RunInfo::from_hash(&hash), hash))
}

/// A new run id: start time (UTC) and 4 random characters, sortable by start.
pub fn new_run_id(now: DateTime<Utc>) -> String {
    let mut rng = rand::thread_rng();
    let suffix: String =
        (0..4).map(|_| char::from(rng.sample(rand::distributions::Alphanumeric)).to_ascii_lowercase()).collect();
    format!("{}-{suffix}", now.format("%Y%m%d-%H%M%S"))
}

pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// What the producer is about to start.
#[derive(Debug, Clone)]
pub struct NewRun {
    pub info: RunInfo,
    pub config_file: String,
}

/// Writes `new` as the current run if the run hash still holds `current_id` (the id the caller
/// read, "" for none), replacing `previous`, whose keys then expire after `keep_for`. In the
/// same atomic step every entry left in the jobs and results streams (older runs' work) is
/// moved out of the workers' reach; it is then counted as superseded in its run's counters and
/// deleted ([`count_superseded`]) before this returns.
///
/// # Errors
/// [`Error::RunChanged`] when another producer changed the run hash in between; Redis errors.
pub async fn begin<C: ConnectionLike>(
    conn: &mut C,
    keys: &Keys,
    current_id: &str,
    previous: Option<&RunInfo>,
    new: &NewRun,
    keep_for: Duration,
) -> Result<(), Error> {
    let mut call = BEGIN.prepare_invoke();
    call.key(keys.run());
    for stream in [keys.jobs(), keys.results()] {
        let superseded = keys.superseded(&stream);
        call.key(stream).key(superseded);
    }
    if let Some(old) = previous {
        for key in old.keys(keys) {
            call.key(key);
        }
    }
    call.arg(current_id).arg(keep_for.as_secs().max(1)).arg(CRAWLERS_GROUP).arg(UPDATERS_GROUP).arg(field::ID);
    let info = &new.info;
    let mut fields = vec![
        (field::ID, info.id.clone()),
        (field::STATE, STATE_RUNNING.to_owned()),
        (field::STARTED_AT, rfc3339(info.started_at)),
        (field::CONFIG_HASH, info.config_hash.clone()),
        (field::CONFIG_FILE, new.config_file.clone()),
        (field::STALE_BEFORE, rfc3339(info.stale_before)),
    ];
    if let Some(old) = previous {
        fields.push((field::REPLACED, format!("{} ({})", old.id, old.state)));
        fields.push((field::REPLACED_RUN, old.id.clone()));
    }
    for (name, value) in fields {
        call.arg(name).arg(value);
    }
    loop {
        let written: i64 = call.invoke_async(conn).await?;
        match written {
            1 => break,
            // An earlier start's superseded entries are not counted yet (its producer stopped
            // half-way): count them, then start.
            -1 => {
                count_superseded(conn, keys).await?;
            }
            _ => return Err(Error::RunChanged),
        }
    }
    let superseded = count_superseded(conn, keys).await?;
    if superseded > 0 {
        tracing::info!(run = %info.id, superseded, "entries of the replaced run removed from the streams and counted");
    }
    Ok(())
}

/// Counts and deletes the entries a new run moved out of the streams (see
/// `lua/begin_run.lua`), [`SUPERSEDE_CHUNK`] at a time: each bumps `superseded:K` in its own
/// run's counters. Safe to run at any time and from several producers at once (an entry is
/// counted once); returns how many entries this call removed.
///
/// # Errors
/// Redis errors; what was not counted stays in the superseded stream for the next call.
pub async fn count_superseded<C: ConnectionLike>(conn: &mut C, keys: &Keys) -> Result<u64, Error> {
    let mut removed = 0;
    for stream in [keys.jobs(), keys.results()] {
        let superseded = keys.superseded(&stream);
        loop {
            let chunk: StreamRangeReply = redis::cmd("XRANGE")
                .arg(&superseded)
                .arg("-")
                .arg("+")
                .arg("COUNT")
                .arg(SUPERSEDE_CHUNK)
                .query_async(conn)
                .await?;
            let mut call = SUPERSEDE.prepare_invoke();
            call.key(&superseded);
            let mut counters: Vec<String> = Vec::new();
            for entry in &chunk.ids {
                let run: String = entry.get(FIELD_RUN).unwrap_or_default();
                let kind: String = entry.get(FIELD_KIND).unwrap_or_default();
                let index = if run.is_empty() || !KINDS.contains(&kind.as_str()) {
                    0 // not a counted message: deleted, counted nowhere
                } else {
                    let key = keys.run_counters(&run);
                    match counters.iter().position(|k| *k == key) {
                        Some(at) => at + 2,
                        None => {
                            counters.push(key);
                            counters.len() + 1
                        }
                    }
                };
                call.arg(&entry.id).arg(index).arg(counter::superseded(&kind));
            }
            for key in &counters {
                call.key(key);
            }
            let n: u64 = call.invoke_async(conn).await?;
            removed += n;
            if chunk.ids.len() < SUPERSEDE_CHUNK {
                break;
            }
        }
    }
    Ok(removed)
}

/// Notes that a producer resumed the run.
///
/// # Errors
/// Redis errors.
pub async fn mark_resumed<C: ConnectionLike>(conn: &mut C, keys: &Keys, now: DateTime<Utc>) -> Result<(), Error> {
    let () = redis::cmd("HSET").arg(keys.run()).arg(field::RESUMED_AT).arg(rfc3339(now)).query_async(conn).await?;
    Ok(())
}

/// What [`finish`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    /// Marked done now.
    Done,
    /// Another producer had already marked it done.
    AlreadyDone,
    /// Work is left.
    NotYet,
    /// The run hash now holds another run (someone started one with `--fresh`).
    Replaced,
}

/// Marks the run done if its counters say nothing is left, atomically; its counters then
/// expire after `keep_for`, and so do its dedupe sets if some list work was dead-lettered
/// (a retry needs them); otherwise the sets are deleted at once.
///
/// # Errors
/// Redis errors.
pub async fn finish<C: ConnectionLike>(
    conn: &mut C,
    keys: &Keys,
    run_id: &str,
    now: DateTime<Utc>,
    keep_for: Duration,
) -> Result<Finish, Error> {
    let mut call = FINISH.prepare_invoke();
    call.key(keys.run()).key(keys.runs());
    for key in run_keys(keys, run_id) {
        call.key(key);
    }
    call.arg(run_id).arg(rfc3339(now)).arg(keep_for.as_secs().max(1)).arg(RUNS_KEPT);
    call.arg(field::ID).arg(field::STATE).arg(STATE_DONE).arg(field::FINISHED_AT).arg(field::STARTED_AT);
    call.arg(counter::dead(MessageKind::ListJob.as_str())).arg(counter::dead(MessageKind::ListResult.as_str()));
    // KINDS starts with `list`, the kind a finished run must have enqueued.
    for kind in KINDS {
        call.arg(counter::enqueued(kind)).arg(counter::done(kind)).arg(counter::dead(kind));
    }
    let outcome: i64 = call.invoke_async(conn).await?;
    Ok(match outcome {
        1 => Finish::Done,
        2 => Finish::AlreadyDone,
        -1 => Finish::Replaced,
        _ => Finish::NotYet,
    })
}

/// Finished runs kept in the list of [`Keys::runs`].
pub const RUNS_KEPT: usize = 20;

/// A finished run as the list of finished runs has it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FinishedRun {
    pub id: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
}

/// The last finished runs, newest first, each with its summary while its counters are kept
/// (`None` once they expired).
///
/// # Errors
/// Redis errors.
pub async fn finished_runs<C: ConnectionLike>(
    conn: &mut C,
    keys: &Keys,
) -> Result<Vec<(FinishedRun, Option<crate::summary::Summary>)>, Error> {
    let list: Vec<String> = redis::cmd("LRANGE").arg(keys.runs()).arg(0).arg(-1).query_async(conn).await?;
    // An entry that does not decode (written by hand?) is skipped: it only feeds a page.
    let runs: Vec<FinishedRun> = list.iter().filter_map(|e| serde_json::from_str(e).ok()).collect();
    let mut pipe = redis::pipe();
    for run in &runs {
        pipe.hgetall(keys.run_counters(&run.id));
    }
    let hashes: Vec<HashMap<String, String>> =
        if runs.is_empty() { Vec::new() } else { pipe.query_async(conn).await? };
    Ok(runs
        .into_iter()
        .zip(hashes)
        .map(|(run, hash)| {
            let summary = (!hash.is_empty()).then(|| {
                crate::summary::Summary::new(&run.id, run.started_at, run.finished_at, &RunCounters::from_hash(&hash))
            });
            (run, summary)
        })
        .collect())
}

/// Entries delivered to a consumer and not yet acknowledged, per group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pending {
    pub crawlers: u64,
    pub updaters: u64,
}

impl Pending {
    pub fn total(&self) -> u64 {
        self.crawlers + self.updaters
    }
}

/// Pending entries of both groups (0 where the stream or group does not exist yet).
///
/// # Errors
/// Redis errors.
pub async fn pending<C: ConnectionLike>(conn: &mut C, keys: &Keys) -> Result<Pending, Error> {
    Ok(Pending {
        crawlers: pending_count(conn, &keys.jobs(), CRAWLERS_GROUP).await?,
        updaters: pending_count(conn, &keys.results(), UPDATERS_GROUP).await?,
    })
}

async fn pending_count<C: ConnectionLike>(conn: &mut C, stream: &str, group: &str) -> Result<u64, Error> {
    let reply: redis::RedisResult<redis::streams::StreamPendingReply> =
        redis::cmd("XPENDING").arg(stream).arg(group).query_async(conn).await;
    match reply {
        Ok(reply) => Ok(reply.count() as u64),
        // No stream or no group yet: nothing can be pending.
        Err(e) if e.code() == Some("NOGROUP") => Ok(0),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_sort_by_start_and_differ() {
        let t = DateTime::parse_from_rfc3339("2025-03-04T05:06:07Z").expect("time").with_timezone(&Utc);
        let a = new_run_id(t);
        assert!(a.starts_with("20250304-050607-"), "{a}");
        assert_eq!(a.len(), "20250304-050607-".len() + 4);
    }

    #[test]
    fn a_hash_without_start_is_no_run() {
        let mut h = HashMap::from([("id".to_owned(), "r".to_owned())]);
        assert!(RunInfo::from_hash(&h).is_none());
        h.insert("startedAt".into(), "2025-01-01T00:00:00.000Z".into());
        h.insert("state".into(), "running".into());
        let run = RunInfo::from_hash(&h).expect("run");
        assert!(run.is_running());
        assert_eq!(run.stale_before, run.started_at);
    }
}
