//! Throughput over the last hour, kept in the serve process's memory (no Redis key, no
//! Prometheus needed): a sample of the run's finished entries and requests every few seconds,
//! drawn as a small inline SVG chart of entries and requests per second.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use maud::{html, Markup};

use crate::status::Status;

/// The span the chart shows.
pub const SPAN: Duration = Duration::from_secs(3600);
const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 120.0;

/// One sample: Redis's time, the run, its finished entries and requests so far.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    t_ms: i64,
    run: String,
    finished: i64,
    requests: i64,
}

/// Rates between two consecutive samples of one run, at the later one's time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub t_ms: i64,
    pub entries_per_sec: f64,
    pub requests_per_sec: f64,
}

/// The samples of the last [`SPAN`].
#[derive(Debug, Default)]
pub struct Throughput {
    samples: Mutex<VecDeque<Sample>>,
}

impl Throughput {
    /// Adds a sample of `status` (nothing without a run).
    pub fn record(&self, status: &Status) {
        let Some(run) = &status.run else { return };
        let sample = Sample {
            t_ms: status.at.timestamp_millis(),
            run: run.id.clone(),
            finished: status.total.finished(),
            requests: status.requests,
        };
        let mut samples = self.samples.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if samples.back().is_some_and(|last| last.t_ms >= sample.t_ms) {
            return; // the same cached reading again
        }
        let horizon = sample.t_ms - SPAN.as_millis() as i64;
        samples.push_back(sample);
        while samples.front().is_some_and(|s| s.t_ms < horizon) {
            samples.pop_front();
        }
    }

    /// The rates between consecutive samples of the same run, oldest first.
    pub fn points(&self) -> Vec<Point> {
        let samples = self.samples.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        samples
            .iter()
            .zip(samples.iter().skip(1))
            .filter(|(a, b)| a.run == b.run && b.t_ms > a.t_ms)
            .map(|(a, b)| {
                let secs = (b.t_ms - a.t_ms) as f64 / 1000.0;
                Point {
                    t_ms: b.t_ms,
                    entries_per_sec: (b.finished - a.finished).max(0) as f64 / secs,
                    requests_per_sec: (b.requests - a.requests).max(0) as f64 / secs,
                }
            })
            .collect()
    }

    /// The chart ending at `now_ms`.
    pub fn chart(&self, now_ms: i64) -> Markup {
        let points = self.points();
        if points.is_empty() {
            return html! { p.muted #throughput-chart { "collecting samples (one every few seconds while a run is known)" } };
        }
        let start = now_ms - SPAN.as_millis() as i64;
        let top = points.iter().map(|p| p.entries_per_sec.max(p.requests_per_sec)).fold(1.0_f64, f64::max);
        let line = |value: fn(&Point) -> f64| -> String {
            points
                .iter()
                .map(|p| {
                    let x = (p.t_ms - start).max(0) as f64 / SPAN.as_millis() as f64 * WIDTH;
                    let y = HEIGHT - value(p) / top * (HEIGHT - 4.0);
                    format!("{x:.1},{y:.1}")
                })
                .collect::<Vec<_>>()
                .join(" ")
        };
        let last = points[points.len() - 1];
        html! {
            svg #throughput-chart viewBox=(format!("0 0 {WIDTH} {}", HEIGHT + 16.0)) role="img"
                aria-label="entries and requests per second over the last hour" data-points=(points.len()) {
                line x1="0" y1=(HEIGHT) x2=(WIDTH) y2=(HEIGHT) stroke="#d8dee4" {}
                polyline points=(line(|p| p.requests_per_sec)) fill="none" stroke="#9a6700" stroke-width="1.5" {}
                polyline points=(line(|p| p.entries_per_sec)) fill="none" stroke="#0969da" stroke-width="2" {}
                text x="2" y="12" font-size="11" fill="#5f6b76" { (format!("max {top:.1}/s")) }
                text x="2" y=(HEIGHT + 13.0) font-size="11" fill="#5f6b76" { "−60 min" }
                text x=(WIDTH - 2.0) y=(HEIGHT + 13.0) font-size="11" fill="#5f6b76" text-anchor="end" { "now" }
                text x=(WIDTH / 2.0) y=(HEIGHT + 13.0) font-size="11" text-anchor="middle" {
                    tspan fill="#0969da" { (format!("entries {:.1}/s", last.entries_per_sec)) }
                    tspan fill="#9a6700" { (format!("  requests {:.1}/s", last.requests_per_sec)) }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(t_ms: i64, run: &str, finished: i64) -> Sample {
        Sample { t_ms, run: run.into(), finished, requests: finished * 2 }
    }

    #[test]
    fn rates_come_from_consecutive_samples_of_one_run_within_the_hour() {
        let t = Throughput::default();
        {
            let mut s = t.samples.lock().expect("lock");
            s.extend([sample(0, "a", 0), sample(10_000, "a", 50), sample(20_000, "b", 0), sample(30_000, "b", 10)]);
        }
        let points = t.points();
        assert_eq!(points.len(), 2, "no rate across runs: {points:?}");
        assert!((points[0].entries_per_sec - 5.0).abs() < 1e-9);
        assert!((points[1].requests_per_sec - 2.0).abs() < 1e-9);
        let svg = t.chart(30_000).into_string();
        assert!(svg.contains("<polyline") && svg.contains("data-points=\"2\""), "{svg}");
    }
}
