//! Job overhead from the crawlers' `ek::job` debug lines (JSON): the time a job spends in the
//! crawler beyond its HTTP requests (job_ms - http_ms).

use std::path::Path;

use serde::{Deserialize, Serialize};

/// The fields of one `ek::job` line.
#[derive(Debug, Deserialize)]
struct JobLine {
    target: String,
    outcome: Option<String>,
    job_ms: Option<f64>,
    http_ms: Option<f64>,
}

/// Overhead percentiles over the finished jobs.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Overhead {
    pub jobs: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// Reads the job lines of every log; lines that are not job lines are skipped.
pub(crate) fn overhead(logs: &[impl AsRef<Path>]) -> Overhead {
    let mut samples: Vec<f64> = logs
        .iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .flat_map(|text| text.lines().filter_map(job_overhead_ms).collect::<Vec<_>>())
        .collect();
    samples.sort_by(f64::total_cmp);
    Overhead {
        jobs: samples.len(),
        p50_ms: percentile(&samples, 0.50),
        p99_ms: percentile(&samples, 0.99),
        max_ms: samples.last().copied().unwrap_or(0.0),
    }
}

fn job_overhead_ms(line: &str) -> Option<f64> {
    if !line.contains("ek::job") {
        return None;
    }
    let job: JobLine = serde_json::from_str(line).ok()?;
    if job.target != "ek::job" || job.outcome.as_deref() != Some("done") {
        return None;
    }
    Some((job.job_ms? - job.http_ms?).max(0.0))
}

/// Nearest-rank percentile of sorted samples (0 when empty).
pub(crate) fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_done_job_lines_only() {
        let line = r#"{"timestamp":"t","level":"DEBUG","message":"job finished","kind":"item","outcome":"done","job_ms":5260.5,"http_ms":5250.0,"target":"ek::job"}"#;
        assert_eq!(job_overhead_ms(line), Some(10.5));
        assert_eq!(job_overhead_ms(&line.replace("\"done\"", "\"dead\"")), None);
        assert_eq!(job_overhead_ms(r#"{"target":"crawler","message":"ek::job"}"#), None);
        assert_eq!(job_overhead_ms("not json ek::job"), None);
    }

    #[test]
    fn nearest_rank() {
        let samples: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&samples, 0.5), 50.0);
        assert_eq!(percentile(&samples, 0.99), 99.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }
}
