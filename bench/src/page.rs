//! The monitoring page's benchmark (issue 14): `producer serve` (the release binary) over a
//! real Redis holding 100,000 dead letters, 100 consumers with pending entries, a running run
//! and 20 finished ones; every page requested in turn, its latency measured from a client
//! over loopback, and the percentiles checked against a budget (100 ms at the p99).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use common::keys::{Keys, CRAWLERS_GROUP, UPDATERS_GROUP};
use common::messages::{DeadLetter, DeadReason, FailedRequest};
use producer::run_state::field;
use test_harness::{Child, RedisServer, TempDir};

/// Dead letters written per pipelined round trip while filling Redis.
const FILL_BATCH: usize = 1000;
const TOKEN: &str = "page-bench-read-token";

#[derive(Debug, Clone, clap::Parser)]
#[command(about = "Latency of the monitoring page of `producer serve` with many dead letters and consumers")]
pub struct PageSettings {
    /// Dead letters in the stream.
    #[arg(long, env = "PAGE_BENCH_DEAD_LETTERS", default_value_t = 100_000)]
    pub dead_letters: usize,

    /// Consumers in the crawlers group, each holding pending entries.
    #[arg(long, env = "PAGE_BENCH_CONSUMERS", default_value_t = 100)]
    pub consumers: usize,

    /// Timed requests per page (after 20 untimed ones).
    #[arg(long, env = "PAGE_BENCH_REQUESTS", default_value_t = 500)]
    pub requests: usize,

    /// `EK_METRICS_CACHE_TTL` of the serve process; 0s (the default here) makes every
    /// request read Redis, the worst case (production reuses a reading for 5 s).
    #[arg(long, env = "PAGE_BENCH_CACHE_TTL", default_value = "0s", value_parser = humantime::parse_duration)]
    pub cache_ttl: Duration,

    /// Fail when a page's p99 reaches this.
    #[arg(long, env = "PAGE_BENCH_BUDGET", default_value = "100ms", value_parser = humantime::parse_duration)]
    pub budget: Duration,

    /// Where the release binaries are (default: target/release of the workspace).
    #[arg(long, env = "BENCH_BIN_DIR")]
    pub bin_dir: Option<PathBuf>,
}

/// The latencies of one page.
#[derive(Debug, Clone)]
pub struct PageTimes {
    pub path: String,
    pub bytes: usize,
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub max: Duration,
}

/// Fills Redis, starts `producer serve`, times every page; the Markdown report.
///
/// # Errors
/// Redis or HTTP failures, a page not answering 200, or a p99 over the budget.
pub async fn run(settings: &PageSettings) -> anyhow::Result<String> {
    let redis = RedisServer::start();
    let keys = Keys::new("ek");
    let client = redis::Client::open(redis.url()).context("Redis URL")?;
    let mut conn = client.get_multiplexed_async_connection().await.context("Redis")?;
    let started = Instant::now();
    let middle = fill(&mut conn, &keys, settings).await?;
    tracing::info!(secs = %format!("{:.1}", started.elapsed().as_secs_f64()), "page-bench: Redis filled");

    let root = test_harness::workspace_root();
    let bin = settings.bin_dir.clone().unwrap_or_else(|| root.join("target/release")).join("producer");
    if !bin.is_file() {
        bail!("{} is missing: cargo build --release -p producer", bin.display());
    }
    let port = test_harness::free_port();
    let logs = TempDir::new("page-bench");
    let mut cmd = std::process::Command::new(&bin);
    cmd.arg("serve")
        .env("REDIS_URL", redis.url())
        .env("EK_HTTP_ADDR", format!("127.0.0.1:{port}"))
        .env("EK_WEB_TOKEN", TOKEN)
        .env("EK_METRICS_CACHE_TTL", humantime::format_duration(settings.cache_ttl).to_string());
    let serve = Child::spawn(cmd, &logs.path().join("serve.log")).context("producer serve")?;
    let http = reqwest::Client::builder().no_proxy().build().context("HTTP client")?;
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&http, &base).await?;

    let paths = [
        "/".to_owned(),
        "/live/overview".to_owned(),
        "/streams".to_owned(),
        "/dead-letters".to_owned(),
        format!("/dead-letters?before={middle}"),
        "/dead-letters?kind=list-result".to_owned(),
        "/metrics".to_owned(),
    ];
    let mut times = Vec::new();
    for path in &paths {
        times.push(time_page(&http, &base, path, settings.requests).await?);
    }
    let usage = crate::procfs::sample(serve.pid()).context("producer serve exited")?;
    let report = format!(
        "{}\n`producer serve` after {} requests: {:.1} s of CPU, peak resident set {:.1} MiB\n",
        markdown(settings, &times),
        (settings.requests + 20) * paths.len(),
        usage.cpu_secs,
        usage.peak_rss_kib as f64 / 1024.0
    );
    if let Some(slow) = times.iter().find(|t| t.p99 >= settings.budget) {
        bail!("{report}\n{} answered in {:?} at the p99, over the {:?} budget", slow.path, slow.p99, settings.budget);
    }
    Ok(report)
}

/// The dead letters (mostly items, a tenth list pages, 1% list results: a rare kind makes the
/// kind filter scan), the consumers with pending entries, the run and 20 finished runs.
/// Returns the id of the letter half-way down the stream (a deep page starts there).
async fn fill(
    conn: &mut redis::aio::MultiplexedConnection,
    keys: &Keys,
    settings: &PageSettings,
) -> anyhow::Result<String> {
    let mut middle = None;
    let run = "20260101-000000-bnch";
    let now = chrono::Utc::now();
    for start in (0..settings.dead_letters).step_by(FILL_BATCH) {
        let mut pipe = redis::pipe();
        for n in start..(start + FILL_BATCH).min(settings.dead_letters) {
            let letter = letter(n, run, now);
            pipe.cmd("XADD").arg(keys.dead()).arg("*");
            for (name, value) in letter.to_fields() {
                pipe.arg(name).arg(value);
            }
        }
        let ids: Vec<String> = pipe.query_async(conn).await.context("XADD dead letters")?;
        if start <= settings.dead_letters / 2 && settings.dead_letters / 2 < start + ids.len() {
            middle = ids.get(settings.dead_letters / 2 - start).cloned();
        }
    }
    let mut pipe = redis::pipe();
    pipe.cmd("XGROUP").arg("CREATE").arg(keys.jobs()).arg(CRAWLERS_GROUP).arg("0").arg("MKSTREAM").ignore();
    pipe.cmd("XGROUP").arg("CREATE").arg(keys.results()).arg(UPDATERS_GROUP).arg("0").arg("MKSTREAM").ignore();
    for n in 0..settings.consumers * 6 {
        pipe.cmd("XADD").arg(keys.jobs()).arg("*").arg("kind").arg("item").arg("n").arg(n).ignore();
    }
    for n in 0..settings.consumers * 6 {
        pipe.cmd("XADD").arg(keys.results()).arg("*").arg("kind").arg("item-result").arg("n").arg(n).ignore();
    }
    for c in 0..settings.consumers {
        let group_read = |group: &str, stream: String, consumer: String| {
            let mut cmd = redis::cmd("XREADGROUP");
            cmd.arg("GROUP").arg(group).arg(consumer).arg("COUNT").arg(5).arg("STREAMS").arg(stream).arg(">");
            cmd
        };
        pipe.add_command(group_read(CRAWLERS_GROUP, keys.jobs(), format!("crawler-{c}"))).ignore();
        if c.is_multiple_of(10) {
            pipe.add_command(group_read(UPDATERS_GROUP, keys.results(), format!("updater-{c}"))).ignore();
        }
    }
    let started = producer::run_state::rfc3339(now);
    pipe.cmd("HSET")
        .arg(keys.run())
        .arg(field::ID)
        .arg(run)
        .arg(field::STATE)
        .arg(producer::run_state::STATE_RUNNING)
        .arg(field::STARTED_AT)
        .arg(&started)
        .arg(field::CONFIG_HASH)
        .arg("0123456789abcdef")
        .ignore();
    let dead = settings.dead_letters as i64;
    let jobs = (settings.consumers * 6) as i64;
    pipe.cmd("HSET")
        .arg(keys.run_counters(run))
        .arg("enqueued:item")
        .arg(dead + jobs + 1000)
        .arg("done:item")
        .arg(1000)
        .arg("dead:item")
        .arg(dead)
        .arg("requests")
        .arg(3000)
        .ignore();
    for r in 0..producer::run_state::RUNS_KEPT {
        let id = format!("20251201-0000{r:02}-old{}", r % 10);
        let entry = serde_json::json!({"id": id, "startedAt": started, "finishedAt": started});
        pipe.cmd("RPUSH").arg(keys.runs()).arg(entry.to_string()).ignore();
        pipe.cmd("HSET").arg(keys.run_counters(&id)).arg("enqueued:list").arg(10).arg("done:list").arg(10).ignore();
    }
    let () = pipe.query_async(conn).await.context("consumers and runs")?;
    middle.context("no dead letter written")
}

fn letter(n: usize, run: &str, now: chrono::DateTime<chrono::Utc>) -> DeadLetter {
    let kind = match n % 100 {
        0 => "list-result",
        1..=10 => "list",
        _ => "item",
    };
    let pcode = 1_000_000 + n;
    let body = format!(
        r#"{{"runId":"{run}","pcode":"{pcode}","category":"cpu","categoryNumber":"112747","itemBaseUrl":"https://prod.danawa.com/info/?pcode="}}"#
    );
    DeadLetter {
        source_stream: "{ek}:jobs".to_owned(),
        source_id: format!("{}-0", 1_700_000_000_000_u64 + n as u64),
        kind: kind.to_owned(),
        run_id: Some(run.to_owned()),
        fields: [("kind", kind.to_owned()), ("run", run.to_owned()), ("v", "1".to_owned()), ("body", body)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        reason: DeadReason::MaxAttempts,
        attempts: 8,
        last_error: format!("HTTP 503 Service Unavailable from prod.danawa.com (attempt 8 of 8) for pcode {pcode}"),
        request: Some(FailedRequest {
            endpoint: "product".to_owned(),
            url: format!("https://prod.danawa.com/info/?pcode={pcode}"),
            target: format!("pcode {pcode}"),
        }),
        // Every twentieth letter keeps a 4 KiB answer, as parse failures do.
        page: n.is_multiple_of(20).then(|| "<html>".repeat(680)),
        failed_at: now,
    }
}

async fn wait_ready(http: &reqwest::Client, base: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if http.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status().is_success()) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("producer serve did not become ready on {base}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn time_page(http: &reqwest::Client, base: &str, path: &str, requests: usize) -> anyhow::Result<PageTimes> {
    let mut times = Vec::with_capacity(requests);
    let mut bytes = 0;
    for n in 0..requests + 20 {
        let started = Instant::now();
        let answer = http.get(format!("{base}{path}")).bearer_auth(TOKEN).send().await.context("request")?;
        let status = answer.status();
        let body = answer.bytes().await.context("body")?;
        let took = started.elapsed();
        if !status.is_success() {
            bail!("{path}: HTTP {status}: {}", String::from_utf8_lossy(&body));
        }
        if n >= 20 {
            times.push(took);
            bytes = body.len();
        }
    }
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q).ceil() as usize).clamp(1, times.len()) - 1];
    Ok(PageTimes { path: path.to_owned(), bytes, p50: at(0.50), p90: at(0.90), p99: at(0.99), max: at(1.0) })
}

fn markdown(settings: &PageSettings, times: &[PageTimes]) -> String {
    let ms = |d: Duration| format!("{:.1}", d.as_secs_f64() * 1000.0);
    let mut out = format!(
        "{} dead letters, {} consumers, {} requests per page one after another, cache TTL {}\n\n\
         | page | bytes | p50 ms | p90 ms | p99 ms | max ms |\n| --- | ---: | ---: | ---: | ---: | ---: |\n",
        settings.dead_letters,
        settings.consumers,
        settings.requests,
        humantime::format_duration(settings.cache_ttl)
    );
    for t in times {
        let path = if t.path.contains("before=") { "/dead-letters?before=(middle)" } else { t.path.as_str() };
        out.push_str(&format!(
            "| `{path}` | {} | {} | {} | {} | {} |\n",
            t.bytes,
            ms(t.p50),
            ms(t.p90),
            ms(t.p99),
            ms(t.max)
        ));
    }
    out
}
