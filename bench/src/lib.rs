//! The pipeline benchmark (issue 8): the whole system against danawa-sim with injected
//! latency, measured as efficiency against the ideal C/L rate, job overhead, and CPU and
//! memory per process kind (DESIGN.md §11); and the monitoring page's latency ([`page`], issue 14).

pub(crate) mod idle;
pub(crate) mod joblog;
pub(crate) mod latency;
pub mod page;
pub(crate) mod procfs;
pub(crate) mod report;
pub mod settings;
pub(crate) mod sim;
pub(crate) mod stack;
pub(crate) mod truth;
pub(crate) mod workload;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use test_harness::Child;

use crate::procfs::Usage;
use crate::report::{Measured, Report};
use crate::settings::Settings;
use crate::stack::Stack;

/// How often the driver looks whether the producer has exited (the wall time's resolution).
const EXIT_POLL: Duration = Duration::from_millis(5);
/// How often the driver prints progress on stderr.
const PROGRESS_EVERY: Duration = Duration::from_secs(15);

/// What the producer run took, as seen by the driver.
struct ProducerRun {
    wall: Duration,
    usage: Usage,
    log: PathBuf,
}

/// Runs one benchmark setting and returns its report.
///
/// # Errors
/// When a binary is missing, a process does not start, or the run does not finish in time.
pub async fn run(settings: &Settings, command: String) -> anyhow::Result<Report> {
    let root = test_harness::workspace_root();
    let bin_dir = settings.bin_dir.clone().unwrap_or_else(|| root.join("target/release"));
    let log_dir = settings.log_dir.clone().unwrap_or_else(|| root.join("target/bench").join(settings.label()));
    let source = settings.config.clone().unwrap_or_else(|| root.join("deploy/scrapConfig.json"));
    stack::check_binaries(&bin_dir)?;
    std::fs::create_dir_all(&log_dir).with_context(|| format!("creating {}", log_dir.display()))?;
    tracing::info!(setting = %settings.label(), logs = %log_dir.display(), "pipeline-bench: starting");

    let mut stack = Stack::start_servers(settings, bin_dir, log_dir.clone()).await?;
    let config = workload::write_config(&source, stack.sim_client.origin(), &log_dir)?;
    stack.start_workers(settings).await?;
    stack.sim_client.reset().await?;

    let memory_before = stack.redis_used_memory().await?;
    let producer = run_producer(&stack, &config, settings.timeout, "producer.log").await?;
    let usage = sample_processes(&stack, producer.usage);
    let stats = stack.sim_client.stats().await?;
    let log = stack.sim_client.log(&stack.log_dir.join("requests.jsonl")).await?;
    let summary = workload::read_summary(&producer.log)?;
    let crawler_logs: Vec<PathBuf> = stack.crawlers.iter().map(|w| w.log.clone()).collect();
    let ports: Vec<u16> = stack.crawlers.iter().map(|w| w.http_port).collect();
    let incomplete = truth::counter_sum(&ports, "ek_crawler_incomplete_answers_total").await;
    let transactions = stack.updater_transactions().await;
    let truth = if settings.check_truth {
        let text = std::fs::read_to_string(&config).with_context(|| format!("reading {}", config.display()))?;
        let expected = stack.sim_client.truth(&text).await?;
        Some(truth::check(&stack.mongo.uri(), expected).await?)
    } else {
        None
    };
    let mut refresh = Vec::new();
    let mut before = transactions;
    for n in 2..settings.refresh_runs + 2 {
        let run = run_producer(&stack, &config, settings.timeout, &format!("producer-run{n}.log")).await?;
        let items = workload::read_summary(&run.log)?.items;
        let after = stack.updater_transactions().await;
        // Saturating: a worker whose /metrics did not answer counts 0.
        let transactions = report::Transactions {
            committed: after.committed.saturating_sub(before.committed),
            retried: after.retried.saturating_sub(before.retried),
        };
        before = after;
        refresh.push(report::RefreshRun { wall_secs: run.wall.as_secs_f64(), items, transactions });
    }
    let memory_after = stack.redis_used_memory().await?;
    for (key, bytes) in stack.redis_largest_keys(8).await? {
        tracing::info!(key, bytes, "pipeline-bench: a key Redis still holds after the run");
    }
    stack.stop().await;

    Ok(Report::new(Measured {
        label: settings.label(),
        command,
        crawlers: settings.crawlers,
        concurrency: settings.concurrency,
        updaters: settings.updaters,
        products_per_category: settings.products,
        latency: settings.latency.sim_spec(settings.mean_latency, settings.longtail_sigma, settings.longtail_cap),
        wall_secs: producer.wall.as_secs_f64(),
        summary,
        stats,
        log,
        overhead: joblog::overhead(&crawler_logs),
        usage,
        sim_args: settings.sim_args.join(" "),
        transactions,
        incomplete_answers: incomplete,
        truth,
        refresh,
        redis_memory: (memory_before, memory_after),
    }))
}

/// Runs `producer run` to the end. Its CPU and peak RSS come from getrusage once it is reaped
/// (it is the only child reaped by then).
async fn run_producer(
    stack: &Stack,
    config: &std::path::Path,
    timeout: Duration,
    log_name: &str,
) -> anyhow::Result<ProducerRun> {
    let log = stack.log_dir.join(log_name);
    let mut cmd = stack.command("producer");
    cmd.arg("run").arg("--config").arg(config).args(["--json", "--progress", "log"]);
    let before = procfs::reaped_children();
    let started = Instant::now();
    let mut child = Child::spawn(cmd, &log).map_err(anyhow::Error::msg)?;
    let mut next_progress = started + PROGRESS_EVERY;
    let status = loop {
        if let Some(status) = child.try_wait() {
            break status;
        }
        if started.elapsed() > timeout {
            bail!("the run was not done after {timeout:?}: see {}", stack.log_dir.display());
        }
        if Instant::now() >= next_progress {
            next_progress += PROGRESS_EVERY;
            print_progress(stack, started).await;
        }
        tokio::time::sleep(EXIT_POLL).await;
    };
    let wall = started.elapsed();
    if !status.success() {
        bail!("producer run exited with {status}: see {}", log.display());
    }
    let after = procfs::reaped_children();
    let usage = Usage {
        cpu_secs: after.cpu_secs - before.cpu_secs,
        peak_rss_kib: if before.peak_rss_kib == 0 { after.peak_rss_kib } else { 0 },
    };
    Ok(ProducerRun { wall, usage, log })
}

async fn print_progress(stack: &Stack, started: Instant) {
    if let Ok(stats) = stack.sim_client.stats().await {
        let secs = started.elapsed().as_secs();
        tracing::info!(
            secs,
            requests = stats.requests,
            in_flight = stats.in_flight,
            "pipeline-bench: progress at the sim"
        );
    }
}

/// CPU and peak RSS of every process, sampled now (just before they are stopped).
fn sample_processes(stack: &Stack, producer: Usage) -> Vec<(&'static str, Usage)> {
    let me = std::process::id();
    let mut pids: Vec<(&'static str, u32)> = Vec::new();
    pids.extend(stack.crawlers.iter().map(|w| ("crawler", w.child.pid())));
    pids.extend(stack.updaters.iter().map(|w| ("updater", w.child.pid())));
    pids.push(("danawa-sim", stack.sim.pid()));
    pids.extend(procfs::children_matching(me, "redis-server").into_iter().map(|p| ("redis-server", p)));
    pids.extend(procfs::children_matching(me, "secantusd").into_iter().map(|p| ("secantusd", p)));
    let mut usage: Vec<(&'static str, Usage)> =
        pids.into_iter().filter_map(|(kind, pid)| procfs::sample(pid).map(|u| (kind, u))).collect();
    usage.push(("producer", producer));
    usage
}
