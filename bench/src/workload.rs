//! The workload: the scrape config pointed at the sim, and the producer's summary of the run.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Serialize;
use serde_json::Value;

/// Writes `source` with `pageBaseUrl` and `itemBaseUrl` on the sim; returns the new path.
pub(crate) fn write_config(source: &Path, sim_origin: &str, dir: &Path) -> anyhow::Result<PathBuf> {
    let text = std::fs::read_to_string(source).with_context(|| format!("reading {}", source.display()))?;
    let mut config: Value = serde_json::from_str(&text).with_context(|| format!("parsing {}", source.display()))?;
    let object = config.as_object_mut().with_context(|| format!("{} is not a JSON object", source.display()))?;
    object.insert("pageBaseUrl".into(), Value::String(format!("{sim_origin}/list/?cate=")));
    object.insert("itemBaseUrl".into(), Value::String(format!("{sim_origin}/info/?pcode=")));
    let path = dir.join("scrapConfig.bench.json");
    let body = serde_json::to_string_pretty(&config).context("config as JSON")?;
    std::fs::write(&path, body).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// What the producer's `--json` summary says about the run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunSummary {
    pub list_pages: i64,
    pub items: i64,
    pub dead_letters: i64,
    pub parts_inserted: i64,
    /// The producer's own start-to-done time.
    pub producer_secs: f64,
}

/// Finds the summary line (`{"runId": ...}`) in the producer's output.
pub(crate) fn read_summary(producer_log: &Path) -> anyhow::Result<RunSummary> {
    let text = std::fs::read_to_string(producer_log).with_context(|| format!("reading {}", producer_log.display()))?;
    let summary = text
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|v| v.get("runId").is_some())
        .with_context(|| format!("no summary in {}", producer_log.display()))?;
    let int = |pointer: &str| summary.pointer(pointer).and_then(Value::as_i64).unwrap_or(0);
    Ok(RunSummary {
        list_pages: int("/listPages/done"),
        items: int("/items/done"),
        dead_letters: int("/deadLetters"),
        parts_inserted: int("/partsInserted"),
        producer_secs: summary.get("durationSecs").and_then(Value::as_f64).unwrap_or(0.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_line_among_log_lines() {
        let dir = test_harness::TempDir::new("bench-summary");
        let log = dir.path().join("producer.log");
        let line = r#"{"runId":"r1","listPages":{"enqueued":3,"done":3,"dead":0,"inFlight":0},"items":{"enqueued":9,"done":8,"dead":1,"inFlight":0},"deadLetters":1,"partsInserted":9,"durationSecs":2.5}"#;
        std::fs::write(&log, format!("INFO progress\n{line}\n")).expect("write");
        let summary = read_summary(&log).expect("summary");
        assert_eq!((summary.list_pages, summary.items, summary.dead_letters), (3, 8, 1));
        assert_eq!(summary.producer_secs, 2.5);
    }

    #[test]
    fn config_points_at_the_sim() {
        let dir = test_harness::TempDir::new("bench-config");
        let source = dir.path().join("in.json");
        std::fs::write(&source, r#"{"pageBaseUrl":"https://x/list/?cate=","categories":[]}"#).expect("write");
        let path = write_config(&source, "http://127.0.0.1:9", dir.path()).expect("config");
        let written: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json");
        assert_eq!(written["pageBaseUrl"], "http://127.0.0.1:9/list/?cate=");
        assert_eq!(written["itemBaseUrl"], "http://127.0.0.1:9/info/?pcode=");
    }
}
