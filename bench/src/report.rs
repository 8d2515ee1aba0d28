//! The report of one run: the figures of DESIGN.md §11 computed from what was measured, as a
//! Markdown table or JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::idle::{idle_slots, IdleSlots};
use crate::joblog::Overhead;
use crate::procfs::Usage;
use crate::sim::{LogEntry, SimStats};
use crate::workload::RunSummary;

/// The kinds of process whose cost is reported, in table order.
pub(crate) const KINDS: [&str; 6] = ["crawler", "updater", "producer", "danawa-sim", "redis-server", "secantusd"];

/// Raw measurements of one run.
pub struct Measured {
    pub label: String,
    pub command: String,
    pub crawlers: usize,
    pub concurrency: usize,
    pub updaters: usize,
    pub products_per_category: usize,
    pub latency: String,
    pub wall_secs: f64,
    pub summary: RunSummary,
    pub stats: SimStats,
    pub log: Vec<LogEntry>,
    pub overhead: Overhead,
    /// (kind, usage) for every process sampled.
    pub usage: Vec<(&'static str, Usage)>,
    /// Extra flags of `danawa-sim serve` (faults, templates).
    pub sim_args: String,
    /// `ek_crawler_incomplete_answers_total` over the crawlers at the end.
    pub incomplete_answers: u64,
    /// The updaters' transactions in the first run.
    pub transactions: Transactions,
    pub truth: Option<crate::truth::TruthCheck>,
    /// Wall time and items of each refresh run after the first, in order.
    pub refresh: Vec<RefreshRun>,
    /// Redis `used_memory` (bytes) just before the producer started and after the last run.
    pub redis_memory: (u64, u64),
}

/// One more run over the same catalogue and database.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct RefreshRun {
    pub wall_secs: f64,
    pub items: i64,
    pub transactions: Transactions,
}

/// The updaters' transactions in one run: committed, and attempts run again (write
/// conflicts between the updaters, outages).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Transactions {
    pub committed: u64,
    pub retried: u64,
}

impl std::fmt::Display for Transactions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} transactions, {} retried", self.committed, self.retried)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct KindUsage {
    pub kind: &'static str,
    pub processes: usize,
    pub cpu_secs: f64,
    /// CPU seconds per wall second: cores this kind kept busy on average.
    pub cpu_per_wall: f64,
    pub peak_rss_mib_max: f64,
    pub peak_rss_mib_mean: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub label: String,
    pub command: String,
    pub crawlers: usize,
    pub concurrency: usize,
    pub slots: usize,
    pub updaters: usize,
    pub products_per_category: usize,
    pub latency: String,
    pub wall_secs: f64,
    pub requests: u64,
    pub requests_by_endpoint: BTreeMap<String, u64>,
    pub requests_by_status: BTreeMap<String, u64>,
    /// Requests in the sim's log (should equal `requests`: the log covers the run).
    pub logged_requests: usize,
    pub mean_latency_ms: f64,
    pub ideal_secs: f64,
    pub efficiency: f64,
    pub peak_slots_in_use: u64,
    pub mean_slots_in_use: f64,
    /// Where the idle slot-time (slots x wall - busy) is: fill, steady, drain.
    pub idle_slots: IdleSlots,
    pub job_overhead: Overhead,
    pub list_pages: i64,
    pub items: i64,
    pub dead_letters: i64,
    pub requests_per_product: f64,
    pub bytes_per_product: f64,
    pub products_per_sec: f64,
    pub processes: Vec<KindUsage>,
    pub sim_args: String,
    /// Answers the sim cut or failed, by fault.
    pub faults: BTreeMap<String, u64>,
    pub incomplete_answers: u64,
    pub transactions: Transactions,
    pub truth: Option<crate::truth::TruthCheck>,
    pub refresh: Vec<RefreshRun>,
    /// Redis `used_memory` (bytes) before the run and after it.
    pub redis_memory: (u64, u64),
}

impl Report {
    pub fn new(m: Measured) -> Self {
        let slots = m.crawlers * m.concurrency;
        let busy_secs: f64 = m.log.iter().map(|e| e.duration_ms).sum::<f64>() / 1e3;
        let requests = m.stats.requests;
        let mean_latency_ms = if m.log.is_empty() { 0.0 } else { busy_secs * 1e3 / m.log.len() as f64 };
        let ideal_secs = requests as f64 * mean_latency_ms / 1e3 / slots.max(1) as f64;
        let items = m.summary.items.max(1) as f64;
        Self {
            label: m.label,
            command: m.command,
            crawlers: m.crawlers,
            concurrency: m.concurrency,
            slots,
            updaters: m.updaters,
            products_per_category: m.products_per_category,
            latency: m.latency,
            wall_secs: m.wall_secs,
            requests,
            faults: m.stats.by_fault.clone(),
            sim_args: m.sim_args,
            incomplete_answers: m.incomplete_answers,
            transactions: m.transactions,
            truth: m.truth,
            refresh: m.refresh,
            redis_memory: m.redis_memory,
            requests_by_endpoint: m.stats.by_endpoint,
            requests_by_status: m.stats.by_status,
            logged_requests: m.log.len(),
            mean_latency_ms,
            ideal_secs,
            efficiency: ratio(ideal_secs, m.wall_secs),
            peak_slots_in_use: m.stats.peak_concurrency,
            mean_slots_in_use: ratio(busy_secs, m.wall_secs),
            idle_slots: idle_slots(&m.log, slots, m.wall_secs),
            job_overhead: m.overhead,
            list_pages: m.summary.list_pages,
            items: m.summary.items,
            dead_letters: m.summary.dead_letters,
            requests_per_product: requests as f64 / items,
            bytes_per_product: m.stats.bytes_sent as f64 / items,
            products_per_sec: ratio(m.summary.items as f64, m.wall_secs),
            processes: kind_usage(&m.usage, m.wall_secs),
        }
    }

    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "### {}\n\n`{}`\n", self.label, self.command);
        let _ = writeln!(out, "| figure | value |\n| --- | --- |");
        for (name, value) in self.figures() {
            let _ = writeln!(out, "| {name} | {value} |");
        }
        let _ = writeln!(out, "\n| process | count | CPU s | CPU s / wall s | peak RSS, largest | peak RSS, mean |");
        let _ = writeln!(out, "| --- | ---: | ---: | ---: | ---: | ---: |");
        for k in &self.processes {
            let _ = writeln!(
                out,
                "| {} | {} | {:.1} | {:.3} | {:.1} MiB | {:.1} MiB |",
                k.kind, k.processes, k.cpu_secs, k.cpu_per_wall, k.peak_rss_mib_max, k.peak_rss_mib_mean
            );
        }
        let cpu: f64 = self.processes.iter().map(|k| k.cpu_secs).sum();
        let _ = writeln!(out, "| all | | {cpu:.1} | {:.3} | | |", ratio(cpu, self.wall_secs));
        out
    }

    fn figures(&self) -> Vec<(&'static str, String)> {
        let endpoints: Vec<String> = self.requests_by_endpoint.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let statuses: Vec<String> = self.requests_by_status.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        let o = &self.job_overhead;
        let mut figures = vec![
            (
                "setting",
                format!(
                    "{} crawlers × {} = {} slots, {} updaters, latency `{}`",
                    self.crawlers, self.concurrency, self.slots, self.updaters, self.latency
                ),
            ),
            (
                "workload",
                format!(
                    "{} products per category: {} list pages, {} items, {} dead letters",
                    self.products_per_category, self.list_pages, self.items, self.dead_letters
                ),
            ),
            (
                "HTTP requests (sim)",
                format!("{} ({}; status {})", self.requests, endpoints.join(", "), statuses.join(", ")),
            ),
            (
                "requests per product",
                format!("{:.2} ({:.0} KiB per product)", self.requests_per_product, self.bytes_per_product / 1024.0),
            ),
            ("mean latency (sim)", format!("{:.1} ms", self.mean_latency_ms)),
            ("wall time", format!("{:.1} s", self.wall_secs)),
            ("ideal time", format!("{:.1} s = requests × mean latency / {} slots", self.ideal_secs, self.slots)),
            ("**efficiency**", self.efficiency_text()),
            (
                "slots in use (sim)",
                format!("peak {}, mean {:.1} of {}", self.peak_slots_in_use, self.mean_slots_in_use, self.slots),
            ),
            ("idle slot-seconds", self.idle_text()),
            (
                "job overhead",
                format!("p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} jobs)", o.p50_ms, o.p99_ms, o.max_ms, o.jobs),
            ),
            ("products per second", format!("{:.2}", self.products_per_sec)),
            ("updaters", self.transactions.to_string()),
        ];
        if !self.sim_args.is_empty() || !self.faults.is_empty() {
            let faults: Vec<String> = self.faults.iter().map(|(k, v)| format!("{k} {v}")).collect();
            figures.push(("sim flags", format!("`{}`", self.sim_args)));
            figures.push(("faults served (sim)", faults.join(", ")));
            figures.push(("incomplete answers caught (crawlers)", self.incomplete_answers.to_string()));
        }
        if !self.refresh.is_empty() {
            let runs: Vec<String> = self
                .refresh
                .iter()
                .enumerate()
                .map(|(i, run)| {
                    let ratio = ratio(run.wall_secs, self.wall_secs);
                    format!(
                        "run {}: {:.1} s, {} items ({ratio:.2} × the first; {})",
                        i + 2,
                        run.wall_secs,
                        run.items,
                        run.transactions
                    )
                })
                .collect();
            figures.push(("**refresh runs** (same catalogue and database)", runs.join("; ")));
        }
        let (before, after) = self.redis_memory;
        #[allow(clippy::cast_precision_loss)] // bytes shown in MiB
        let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
        figures.push((
            "Redis used_memory, before → after",
            format!("{:.2} → {:.2} MiB ({:+.2} MiB)", mib(before), mib(after), mib(after) - mib(before)),
        ));
        if let Some(t) = &self.truth {
            let fields: Vec<String> = t.differing_fields.iter().map(|(k, v)| format!("{k} {v}")).collect();
            figures.push((
                "**parts against the truth**",
                format!(
                    "{} of {} differ ({}), {} missing, {} extra",
                    t.differing,
                    t.truth_parts,
                    if fields.is_empty() { "none".to_owned() } else { fields.join(", ") },
                    t.missing,
                    t.extra
                ),
            ));
        }
        figures
    }
}

impl Report {
    fn idle_text(&self) -> String {
        if self.latency == "none" {
            return "n/a (no added latency)".to_owned();
        }
        let i = &self.idle_slots;
        format!(
            "{:.0} while filling (first {:.1} s), {:.0} in steady state, {:.0} while draining (last {:.1} s)",
            i.fill_idle_slot_secs, i.fill_secs, i.steady_idle_slot_secs, i.drain_idle_slot_secs, i.drain_secs
        )
    }

    /// Efficiency means nothing without added latency: then throughput is the figure.
    fn efficiency_text(&self) -> String {
        if self.latency == "none" {
            "n/a (no added latency: see products per second and CPU per wall second)".to_owned()
        } else {
            format!("**{:.3}**", self.efficiency)
        }
    }
}

fn kind_usage(usage: &[(&'static str, Usage)], wall_secs: f64) -> Vec<KindUsage> {
    KINDS
        .iter()
        .filter_map(|kind| {
            let of_kind: Vec<&Usage> = usage.iter().filter(|(k, _)| k == kind).map(|(_, u)| u).collect();
            if of_kind.is_empty() {
                return None;
            }
            let cpu_secs: f64 = of_kind.iter().map(|u| u.cpu_secs).sum();
            let mib = |u: &&Usage| u.peak_rss_kib as f64 / 1024.0;
            Some(KindUsage {
                kind,
                processes: of_kind.len(),
                cpu_secs,
                cpu_per_wall: ratio(cpu_secs, wall_secs),
                peak_rss_mib_max: of_kind.iter().map(mib).fold(0.0, f64::max),
                peak_rss_mib_mean: of_kind.iter().map(mib).sum::<f64>() / of_kind.len() as f64,
            })
        })
        .collect()
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured() -> Measured {
        Measured {
            label: "t".into(),
            command: "pipeline-bench".into(),
            crawlers: 2,
            concurrency: 3,
            updaters: 1,
            products_per_category: 10,
            latency: "fixed:1000".into(),
            wall_secs: 10.0,
            summary: RunSummary { list_pages: 2, items: 18, ..RunSummary::default() },
            stats: SimStats {
                requests: 60,
                bytes_sent: 60 * 1024,
                peak_concurrency: 6,
                in_flight: 0,
                by_endpoint: BTreeMap::new(),
                by_status: BTreeMap::new(),
                by_fault: BTreeMap::new(),
            },
            refresh: Vec::new(),
            redis_memory: (0, 0),
            log: (1..=60).map(|seq| LogEntry { seq, at_ms: 0, duration_ms: 950.0 }).collect(),
            overhead: Overhead::default(),
            usage: vec![
                ("crawler", Usage { cpu_secs: 1.0, peak_rss_kib: 10240 }),
                ("crawler", Usage { cpu_secs: 2.0, peak_rss_kib: 20480 }),
            ],
            sim_args: String::new(),
            incomplete_answers: 0,
            transactions: Transactions::default(),
            truth: None,
        }
    }

    #[test]
    fn efficiency_is_ideal_over_wall() {
        let report = Report::new(measured());
        assert!((report.mean_latency_ms - 950.0).abs() < 1e-9);
        assert!((report.ideal_secs - 9.5).abs() < 1e-9);
        assert!((report.efficiency - 0.95).abs() < 1e-9);
        assert!((report.mean_slots_in_use - 5.7).abs() < 1e-9);
    }

    #[test]
    fn usage_per_kind() {
        let report = Report::new(measured());
        assert_eq!(report.processes.len(), 1);
        let crawler = &report.processes[0];
        assert_eq!(crawler.processes, 2);
        assert!((crawler.cpu_secs - 3.0).abs() < 1e-9);
        assert!((crawler.peak_rss_mib_max - 20.0).abs() < 1e-9);
        assert!(report.markdown().contains("| crawler | 2 |"));
    }
}
