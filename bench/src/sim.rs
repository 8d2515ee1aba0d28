//! Talks to danawa-sim's observation endpoints: readiness, reset, stats and the request log.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use serde::Deserialize;

/// Entries fetched per `/_sim/log` call.
const LOG_PAGE: usize = 5_000;

/// The part of `/_sim/stats` the report uses.
#[derive(Debug, Clone, Deserialize)]
pub struct SimStats {
    pub requests: u64,
    pub bytes_sent: u64,
    pub peak_concurrency: u64,
    pub in_flight: u64,
    pub by_endpoint: BTreeMap<String, u64>,
    pub by_status: BTreeMap<String, u64>,
    #[serde(default)]
    pub by_fault: BTreeMap<String, u64>,
}

/// The part of a `/_sim/log` entry the report uses.
#[derive(Debug, Clone, Deserialize)]
pub struct LogEntry {
    pub seq: u64,
    /// Milliseconds since the reset (just before the producer started).
    pub at_ms: u64,
    pub duration_ms: f64,
}

pub(crate) struct SimClient {
    http: reqwest::Client,
    origin: String,
}

impl SimClient {
    pub(crate) fn new(origin: String) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder().no_proxy().build().context("HTTP client for the sim")?;
        Ok(Self { http, origin })
    }

    pub(crate) fn origin(&self) -> &str {
        &self.origin
    }

    /// Waits until the sim answers `/_sim/stats`.
    pub(crate) async fn wait_ready(&self, limit: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if self.stats().await.is_ok() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("danawa-sim at {} did not answer within {limit:?}", self.origin)
    }

    /// Clears the counters and the log, so that they cover the run only.
    pub(crate) async fn reset(&self) -> anyhow::Result<()> {
        let url = format!("{}/_sim/reset", self.origin);
        self.http.post(&url).send().await.and_then(|r| r.error_for_status()).context("POST /_sim/reset")?;
        Ok(())
    }

    /// The ground truth of `config` (scrapConfig.json text): the parts a complete crawl leaves.
    pub(crate) async fn truth(&self, config: &str) -> anyhow::Result<Vec<common::parts::Part>> {
        let url = format!("{}/_sim/truth", self.origin);
        let response = self
            .http
            .post(&url)
            .body(config.to_owned())
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .context("POST /_sim/truth")?;
        let body = response.bytes().await.context("reading /_sim/truth")?;
        serde_json::from_slice(&body).context("decoding /_sim/truth")
    }

    pub(crate) async fn stats(&self) -> anyhow::Result<SimStats> {
        let url = format!("{}/_sim/stats", self.origin);
        let response =
            self.http.get(&url).send().await.and_then(|r| r.error_for_status()).context("GET /_sim/stats")?;
        let body = response.bytes().await.context("reading /_sim/stats")?;
        serde_json::from_slice(&body).context("decoding /_sim/stats")
    }

    /// Every logged request since the reset, oldest first; the whole entries are also kept
    /// in `keep` (JSON lines), to see afterwards which requests made a run's start or end.
    pub(crate) async fn log(&self, keep: &Path) -> anyhow::Result<Vec<LogEntry>> {
        let mut entries: Vec<LogEntry> = Vec::new();
        let mut kept = std::io::BufWriter::new(
            std::fs::File::create(keep).with_context(|| format!("creating {}", keep.display()))?,
        );
        loop {
            let since = entries.last().map_or(0, |e| e.seq);
            let url = format!("{}/_sim/log?since={since}&limit={LOG_PAGE}", self.origin);
            let response =
                self.http.get(&url).send().await.and_then(|r| r.error_for_status()).context("GET /_sim/log")?;
            let body = response.bytes().await.context("reading /_sim/log")?;
            let page: Vec<serde_json::Value> = serde_json::from_slice(&body).context("decoding /_sim/log")?;
            let done = page.len() < LOG_PAGE;
            for entry in page {
                serde_json::to_writer(&mut kept, &entry).context("writing the request log")?;
                kept.write_all(b"\n").context("writing the request log")?;
                entries.push(serde_json::from_value(entry).context("decoding a /_sim/log entry")?);
            }
            if done {
                kept.flush().context("writing the request log")?;
                return Ok(entries);
            }
        }
    }
}
