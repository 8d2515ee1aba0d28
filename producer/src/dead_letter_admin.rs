//! `producer dead-letters list|retry|purge` and the monitoring page's dead letters: inspect the
//! dead-letter stream (whole, by id, or a page at a time), send entries back to their source
//! stream (one atomic step each, `lua/retry_dead.lua`, so the run's counters keep balancing),
//! or delete them.

use std::collections::HashMap;
use std::fmt::Write as _;

use common::keys::Keys;
use common::messages::DeadLetter;
use common::queue::counter;
use redis::aio::ConnectionLike;
use redis::streams::StreamRangeReply;
use serde::Serialize;

use crate::counters::KINDS;
use crate::run_state::{field, STATE_DONE, STATE_RUNNING};
use crate::Error;

static RETRY: std::sync::LazyLock<redis::Script> =
    std::sync::LazyLock::new(|| redis::Script::new(include_str!("../lua/retry_dead.lua")));

/// Entries read per XRANGE call while scanning the stream.
const PAGE: usize = 500;

/// Which dead letters a command applies to (all of them by default), oldest first.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Only this kind (`list`, `item`, `list-result`, `item-result`, `unknown`).
    pub kind: Option<String>,
    pub limit: Option<usize>,
    /// Only these dead-letter entry ids.
    pub ids: Vec<String>,
}

/// One entry of the dead-letter stream.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub id: String,
    /// `None` when the entry itself does not decode (then only `purge` applies).
    pub letter: Option<DeadLetter>,
}

impl Entry {
    /// The letter's kind, `?` when it does not decode.
    pub fn kind(&self) -> &str {
        self.letter.as_ref().map_or("?", |l| l.kind.as_str())
    }
}

/// The selected dead letters, oldest first.
///
/// # Errors
/// Redis errors.
pub async fn select<C: ConnectionLike>(conn: &mut C, keys: &Keys, selection: &Selection) -> Result<Vec<Entry>, Error> {
    let limit = selection.limit.unwrap_or(usize::MAX);
    if !selection.ids.is_empty() {
        // Named entries are read one by one: a page retrying one letter must not scan 100,000.
        let mut out = Vec::new();
        for id in &selection.ids {
            let found: StreamRangeReply =
                redis::cmd("XRANGE").arg(keys.dead()).arg(id).arg(id).arg("COUNT").arg(1).query_async(conn).await?;
            for raw in found.ids {
                let entry = Entry { letter: DeadLetter::from_fields(&raw.map).ok(), id: raw.id };
                if selected(&entry, selection) && out.len() < limit {
                    out.push(entry);
                }
            }
        }
        out.sort_by_key(|e| id_order(&e.id));
        return Ok(out);
    }
    let mut out = Vec::new();
    let mut start = "-".to_owned();
    while out.len() < limit {
        let page: StreamRangeReply =
            redis::cmd("XRANGE").arg(keys.dead()).arg(&start).arg("+").arg("COUNT").arg(PAGE).query_async(conn).await?;
        let Some(last) = page.ids.last() else { break };
        start = format!("({}", last.id);
        let full = page.ids.len() == PAGE;
        for raw in page.ids {
            let entry = Entry { letter: DeadLetter::from_fields(&raw.map).ok(), id: raw.id };
            if selected(&entry, selection) && out.len() < limit {
                out.push(entry);
            }
        }
        if !full {
            break;
        }
    }
    Ok(out)
}

/// An entry id (`<ms>-<seq>`) as a sortable pair.
fn id_order(id: &str) -> (u64, u64) {
    let (ms, seq) = id.split_once('-').unwrap_or((id, "0"));
    (ms.parse().unwrap_or(0), seq.parse().unwrap_or(0))
}

/// Entries read per XREVRANGE call by [`page`], and at most this many chunks per page: a kind
/// that is rare among 100,000 letters costs a bounded read, and the page says where to go on.
const PAGE_SCAN_CHUNK: usize = 200;
const PAGE_SCAN_CHUNKS: usize = 10;

/// One page of the dead-letter stream, newest first.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub entries: Vec<Entry>,
    /// Where the next page starts (an exclusive XREVRANGE end), when there may be one.
    pub next: Option<String>,
}

/// Up to `count` dead letters of `kind` (every kind when `None`) older than `before` (an entry
/// id; the newest when `None`), read with XREVRANGE … COUNT: the stream is never read whole.
///
/// # Errors
/// Redis errors.
pub async fn page<C: ConnectionLike>(
    conn: &mut C,
    keys: &Keys,
    kind: Option<&str>,
    before: Option<&str>,
    count: usize,
) -> Result<Page, Error> {
    let selection = Selection { kind: kind.map(str::to_owned), ..Selection::default() };
    let mut end = before.map_or_else(|| "+".to_owned(), |id| format!("({id}"));
    let mut out = Page::default();
    for _ in 0..PAGE_SCAN_CHUNKS {
        let chunk = if kind.is_some() { PAGE_SCAN_CHUNK } else { count - out.entries.len() + 1 };
        let read: StreamRangeReply = redis::cmd("XREVRANGE")
            .arg(keys.dead())
            .arg(&end)
            .arg("-")
            .arg("COUNT")
            .arg(chunk)
            .query_async(conn)
            .await?;
        let full = read.ids.len() == chunk;
        for raw in read.ids {
            if out.entries.len() == count {
                // One more matching letter exists past this page.
                out.next = out.entries.last().map(|e| e.id.clone());
                return Ok(out);
            }
            end = format!("({}", raw.id);
            // The kind alone first: most letters of a scan for a rare kind are skipped, and
            // decoding each whole (fields, saved page) would cost most of the page's time.
            if kind.is_some_and(|k| DeadLetter::kind_of(&raw.map).as_deref().unwrap_or("?") != k) {
                continue;
            }
            let entry = Entry { letter: DeadLetter::from_fields(&raw.map).ok(), id: raw.id };
            if selected(&entry, &selection) {
                out.entries.push(entry);
            }
        }
        if !full {
            return Ok(out);
        }
    }
    // Scanned the bound without filling the page: go on from the last entry read.
    out.next = Some(end.trim_start_matches('(').to_owned());
    Ok(out)
}

fn selected(entry: &Entry, selection: &Selection) -> bool {
    selection.kind.as_deref().is_none_or(|k| k == entry.kind())
        && (selection.ids.is_empty() || selection.ids.contains(&entry.id))
}

/// What `retry` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Retried {
    /// `(dead-letter id, new entry id in the source stream)`.
    pub sent_back: Vec<(String, String)>,
    /// Already gone when its turn came (retried or purged by someone else).
    pub gone: Vec<String>,
    /// Not retried, with the reason (undecodable letter, unknown source stream).
    pub skipped: Vec<(String, String)>,
}

/// The one-line account of a retry, as the command and the page say it.
impl std::fmt::Display for Retried {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "sent back {} dead letter(s); {} already gone, {} skipped",
            self.sent_back.len(),
            self.gone.len(),
            self.skipped.len()
        )
    }
}

/// Sends each entry back to its source stream, its original fields verbatim.
///
/// # Errors
/// Redis errors; the entries before the error were sent back.
pub async fn retry<C: ConnectionLike>(conn: &mut C, keys: &Keys, entries: &[Entry]) -> Result<Retried, Error> {
    let mut out = Retried::default();
    for entry in entries {
        let Some(letter) = &entry.letter else {
            out.skipped.push((entry.id.clone(), "the dead letter does not decode".into()));
            continue;
        };
        if letter.source_stream != keys.jobs() && letter.source_stream != keys.results() {
            out.skipped.push((entry.id.clone(), format!("unknown source stream {}", letter.source_stream)));
            continue;
        }
        match retry_one(conn, keys, &entry.id, letter).await? {
            Some(new_id) => out.sent_back.push((entry.id.clone(), new_id)),
            None => out.gone.push(entry.id.clone()),
        }
    }
    Ok(out)
}

async fn retry_one<C: ConnectionLike>(
    conn: &mut C,
    keys: &Keys,
    id: &str,
    letter: &DeadLetter,
) -> Result<Option<String>, Error> {
    let run = letter.run_id.as_deref().unwrap_or("");
    // A run id that is absent still needs keys to pass; "-" names keys that never exist.
    let run_for_keys = if run.is_empty() { "-" } else { run };
    let dead_field = if !run.is_empty() && KINDS.contains(&letter.kind.as_str()) {
        counter::dead(&letter.kind)
    } else {
        String::new()
    };
    let mut call = RETRY.prepare_invoke();
    // KEYS: dead, source, counters, run hash, then the run's other keys.
    let mut run_keys = crate::run_state::run_keys(keys, run_for_keys).into_iter();
    call.key(keys.dead()).key(&letter.source_stream);
    call.key(run_keys.next().unwrap_or_default()).key(keys.run());
    for key in run_keys {
        call.key(key);
    }
    call.arg(id).arg(run).arg(dead_field);
    call.arg(field::ID).arg(field::STATE).arg(STATE_DONE).arg(STATE_RUNNING).arg(field::FINISHED_AT);
    for (name, value) in &letter.fields {
        call.arg(name).arg(value);
    }
    let new_id: Option<String> = call.invoke_async(conn).await?;
    Ok(new_id)
}

/// Deletes the entries; returns how many were still there.
///
/// # Errors
/// Redis errors.
pub async fn purge<C: ConnectionLike>(conn: &mut C, keys: &Keys, entries: &[Entry]) -> Result<u64, Error> {
    let mut deleted = 0;
    for chunk in entries.chunks(PAGE) {
        let mut cmd = redis::cmd("XDEL");
        cmd.arg(keys.dead());
        for entry in chunk {
            cmd.arg(&entry.id);
        }
        let n: u64 = cmd.query_async(conn).await?;
        deleted += n;
    }
    Ok(deleted)
}

/// The `list` table: id, kind, reason, attempts, failed at, last error (one line, cut).
pub fn table(entries: &[Entry]) -> String {
    let mut out = format!(
        "{:<17} {:<11} {:<13} {:>8}  {:<24} {}\n",
        "id", "kind", "reason", "attempts", "failed at", "last error"
    );
    for entry in entries {
        let _ = match &entry.letter {
            Some(l) => writeln!(
                out,
                "{:<17} {:<11} {:<13} {:>8}  {:<24} {}",
                entry.id,
                l.kind,
                reason(l),
                l.attempts,
                crate::run_state::rfc3339(l.failed_at),
                one_line(&l.last_error, 100)
            ),
            None => writeln!(out, "{:<17} (undecodable dead letter; `purge --id {}` removes it)", entry.id, entry.id),
        };
    }
    out
}

fn reason(letter: &DeadLetter) -> String {
    serde_json::to_value(letter.reason).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn one_line(text: &str, max_chars: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max_chars {
        return flat;
    }
    let cut: String = flat.chars().take(max_chars - 1).collect();
    format!("{cut}…")
}

/// Counts of the selected entries per kind, for a one-line summary.
pub fn per_kind(entries: &[Entry]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for entry in entries {
        *counts.entry(entry.kind().to_owned()).or_insert(0) += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_errors_are_cut_to_one_line() {
        assert_eq!(one_line("a\n  b", 10), "a b");
        assert_eq!(one_line("가나다라마", 3).chars().count(), 3);
    }
}
