//! Field operations against a real Redis: what the KEDA triggers read in the state where
//! Redis's `lag` is nil, the `producer serve` gauges (one cached reading per TTL), and
//! `producer status` exit codes (stalled, Redis unreachable) with the Redis URL from a file.

mod support;

use std::collections::HashMap;
use std::process::Command;
use std::time::{Duration, Instant};

use common::keys::{CRAWLERS_GROUP, UPDATERS_GROUP};
use producer::run::{self, Outcome};
use producer::serve::{self, AppState};
use support::{Crawl, Env};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

/// One redis-streams trigger of `k8s/components/keda/scaledobjects.yaml`, as KEDA reads it.
#[derive(Debug)]
struct Trigger {
    metadata: HashMap<String, String>,
}

impl Trigger {
    fn stream(&self) -> &str {
        &self.metadata["stream"]
    }

    /// What KEDA's redis-streams scaler reads for this trigger (pkg/scalers/redis_streams_scaler.go):
    /// no `consumerGroup`: XLEN; `consumerGroup` + `lagCount`: the group's `lag` from XINFO
    /// GROUPS (go-redis decodes a nil lag as 0); `consumerGroup` alone: XPENDING's count.
    async fn reads(&self, conn: &mut common::redis_pool::Connection) -> i64 {
        let Some(group) = self.metadata.get("consumerGroup") else {
            return redis::cmd("XLEN").arg(self.stream()).query_async(conn).await.expect("xlen");
        };
        if self.metadata.contains_key("lagCount") {
            return group_info(conn, self.stream(), group).await.0.unwrap_or(0);
        }
        group_info(conn, self.stream(), group).await.1
    }

    /// KEDA activates (scales from zero) when the reading exceeds `activationLagCount` (0).
    fn activation(&self) -> i64 {
        self.metadata.get("activationLagCount").map_or(0, |v| v.parse().expect("number"))
    }
}

/// The redis-streams triggers of the committed ScaledObjects (a small YAML file we own:
/// `key: value` lines under each `- type: redis-streams`).
fn committed_triggers() -> Vec<Trigger> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../k8s/components/keda/scaledobjects.yaml");
    let text = std::fs::read_to_string(path).expect("scaledobjects.yaml");
    let mut out: Vec<Trigger> = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        let t = line.trim();
        if t == "- type: redis-streams" {
            out.push(Trigger { metadata: HashMap::new() });
            inside = true;
        } else if t.starts_with("authenticationRef") || t == "---" || t.starts_with("- type:") {
            inside = false;
        } else if inside && !t.starts_with('#') {
            if let Some((k, v)) = t.split_once(": ") {
                out.last_mut().expect("trigger").metadata.insert(k.to_owned(), v.trim_matches('"').to_owned());
            }
        }
    }
    assert!(!out.is_empty(), "no redis-streams trigger found");
    out
}

/// `(lag, pending)` of one group; `lag` is `None` when Redis reports nil.
async fn group_info(conn: &mut common::redis_pool::Connection, stream: &str, group: &str) -> (Option<i64>, i64) {
    let groups: Vec<HashMap<String, redis::Value>> =
        redis::cmd("XINFO").arg("GROUPS").arg(stream).query_async(conn).await.expect("xinfo groups");
    let g = groups
        .into_iter()
        .find(|g| matches!(g.get("name"), Some(redis::Value::BulkString(n)) if n == group.as_bytes()))
        .expect("group");
    let int = |v: Option<&redis::Value>| match v {
        Some(redis::Value::Int(n)) => Some(*n),
        _ => None,
    };
    (int(g.get("lag")), int(g.get("pending")).expect("pending"))
}

async fn cmd_ok(conn: &mut common::redis_pool::Connection, args: &[&str]) -> redis::Value {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c.query_async(conn).await.unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

#[tokio::test]
async fn every_trigger_reads_outstanding_work_where_redis_lag_is_nil_and_zero_after_the_run() {
    let env = Env::start();
    let mut conn = env.conn().await;
    let triggers = committed_triggers();
    let streams: Vec<&str> = triggers.iter().map(Trigger::stream).collect();
    assert_eq!(streams, ["{ek}:jobs", "{ek}:results"], "one trigger per work stream");

    // The issue's state (redis-server 7.0.15): one entry pending, the newest delivered entry
    // acknowledged and deleted (as every ack is), then three new entries.
    for t in &triggers {
        let (stream, group) = (t.stream(), if stream_is_jobs(t) { CRAWLERS_GROUP } else { UPDATERS_GROUP });
        cmd_ok(&mut conn, &["XGROUP", "CREATE", stream, group, "$", "MKSTREAM"]).await;
        cmd_ok(&mut conn, &["XADD", stream, "*", "n", "1"]).await;
        cmd_ok(&mut conn, &["XADD", stream, "*", "n", "2"]).await;
        let read: redis::streams::StreamReadReply = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg(group)
            .arg("gone-consumer")
            .arg("COUNT")
            .arg(2)
            .arg("STREAMS")
            .arg(stream)
            .arg(">")
            .query_async(&mut conn)
            .await
            .expect("xreadgroup");
        let newest = read.keys[0].ids[1].id.clone();
        cmd_ok(&mut conn, &["XACK", stream, group, &newest]).await;
        cmd_ok(&mut conn, &["XDEL", stream, &newest]).await;
        for n in 3..6 {
            cmd_ok(&mut conn, &["XADD", stream, "*", "n", &n.to_string()]).await;
        }
        let (lag, pending) = group_info(&mut conn, stream, group).await;
        assert_eq!(lag, None, "{stream}: Redis reports lag nil in this state");
        assert_eq!(pending, 1, "{stream}: the entry of a consumer gone past its grace");

        // A lag trigger (the old files) reads 0 and never activates: the fleet stays at zero.
        let lag_trigger = Trigger {
            metadata: HashMap::from([
                ("stream".to_owned(), stream.to_owned()),
                ("consumerGroup".to_owned(), group.to_owned()),
                ("lagCount".to_owned(), "6".to_owned()),
                ("activationLagCount".to_owned(), "0".to_owned()),
            ]),
        };
        let lag_reads = lag_trigger.reads(&mut conn).await;
        assert!(lag_reads <= lag_trigger.activation(), "{stream}: the lag trigger reads {lag_reads}");

        // The committed trigger reads every undelivered and pending entry.
        let reads = t.reads(&mut conn).await;
        assert_eq!(reads, 4, "{stream}: {:?}", t.metadata);
        assert!(reads > t.activation(), "{stream}: {reads} must exceed activation {}", t.activation());

        // The status (and the serve gauges) count the undelivered entries without Redis's lag.
        let status = producer::status::collect(&mut conn, &env.keys, &mut Vec::new()).await.expect("status");
        let s = status.streams.iter().find(|s| s.name == stream).expect("stream status");
        let g = &s.groups[0];
        assert_eq!((s.length, g.pending, s.length - g.pending), (4, 1, 3), "{stream}");
        assert!(g.oldest_undelivered.is_some() && g.oldest_pending.is_some(), "{stream}");
    }

    // A whole run on a fresh Redis: afterwards every trigger reads 0 (the fleet may scale in).
    let env = Env::start();
    let options = support::options(env.write_config("config.json", support::CONFIG));
    let stop = CancellationToken::new();
    let workers =
        support::spawn_workers(env.pool.clone(), env.keys.clone(), Crawl::Succeed, Duration::ZERO, stop.clone());
    let outcome = run::run_to_end(&env.pool, &env.keys, &options, &CancellationToken::new()).await.expect("run");
    assert!(matches!(outcome, Outcome::Finished(_)), "{outcome:?}");
    stop.cancel();
    workers.await.expect("workers");
    let mut conn = env.conn().await;
    for t in &triggers {
        let reads = t.reads(&mut conn).await;
        assert_eq!(reads, 0, "{}: nothing outstanding after the run", t.stream());
        assert!(reads <= t.activation());
    }
}

fn stream_is_jobs(t: &Trigger) -> bool {
    t.stream().ends_with(":jobs")
}

/// `GET path` over HTTP/1.0; `(status, body)`.
async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(format!("GET {path} HTTP/1.0\r\nHost: test\r\n\r\n").as_bytes()).await.expect("write");
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await.expect("read");
    let status = raw.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("status line");
    let body = raw.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

/// The value of the sample `name{labels}` (labels as written, e.g. `stream="{ek}:jobs"`).
fn sample(text: &str, name: &str, labels: &str) -> Option<f64> {
    let key = if labels.is_empty() { format!("{name} ") } else { format!("{name}{{{labels}}} ") };
    text.lines().find_map(|l| l.strip_prefix(&key)).and_then(|v| v.trim().parse().ok())
}

async fn commands_processed(conn: &mut common::redis_pool::Connection) -> u64 {
    let info: String = redis::cmd("INFO").arg("stats").query_async(conn).await.expect("info");
    info.lines()
        .find_map(|l| l.strip_prefix("total_commands_processed:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("n")
}

#[tokio::test]
async fn serve_exports_queue_and_run_gauges_from_one_cached_reading() {
    let mut env = Env::start();
    let options = support::options(env.write_config("config.json", support::CONFIG));
    let outcome = run::run_to_end(&env.pool, &env.keys, &options, &support::stopped()).await.expect("run");
    assert!(matches!(outcome, Outcome::Interrupted { .. }));
    // Two jobs delivered and left pending; one finished (the run's first progress).
    let mut conn = env.conn().await;
    assert!(support::crawl_once(&env.pool, &env.keys, Crawl::Succeed).await);
    for _ in 0..2 {
        support::read_one(&mut conn, &env.keys.jobs(), CRAWLERS_GROUP, "worker-a").await.expect("a job");
    }

    let ttl = Duration::from_millis(400);
    let state = AppState::new(env.pool.clone(), env.keys.clone(), ttl);
    let (tx, rx) = tokio::sync::oneshot::channel();
    let shutdown = CancellationToken::new();
    tokio::spawn(serve::serve("127.0.0.1:0".parse().expect("addr"), serve::router(state), shutdown.clone(), |a| {
        let _ = tx.send(a);
    }));
    let addr = rx.await.expect("bound");

    let before = commands_processed(&mut conn).await;
    let (code, text) = get(addr, "/metrics").await;
    let after_first = commands_processed(&mut conn).await;
    let (_, again) = get(addr, "/metrics").await;
    let after_second = commands_processed(&mut conn).await;
    assert_eq!(code, 200);
    // Each INFO of ours counts once; the rest is the reading.
    let reading_cost = after_first - before - 1;
    let cached_cost = after_second - after_first - 1;
    println!("one reading of Redis: {reading_cost} commands; a scrape within the TTL: {cached_cost}");
    assert!(reading_cost <= 25, "a reading costs a handful of commands, not {reading_cost}");
    assert_eq!(cached_cost, 0, "a scrape within the TTL must not touch Redis");
    let queue_lines = |t: &str| t.lines().filter(|l| l.starts_with("ek_")).map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(queue_lines(&text), queue_lines(&again), "the same cached reading");

    let jobs = support::xlen(&mut conn, &env.keys.jobs()).await as f64;
    let jl = r#"group="crawlers",stream="{ek}:jobs""#;
    let stream_label = r#"stream="{ek}:jobs""#;
    assert_eq!(sample(&text, "ek_redis_up", ""), Some(1.0), "{text}");
    assert_eq!(sample(&text, "ek_stream_length", stream_label), Some(jobs), "{text}");
    assert_eq!(sample(&text, "ek_stream_pending", &reorder(jl)), Some(2.0), "{text}");
    assert_eq!(sample(&text, "ek_stream_undelivered", &reorder(jl)), Some(jobs - 2.0), "{text}");
    assert_eq!(sample(&text, "ek_stream_consumers_active", &reorder(jl)), Some(2.0), "sim-crawler and worker-a");
    assert!(sample(&text, "ek_stream_oldest_undelivered_age_seconds", &reorder(jl)).is_some(), "{text}");
    assert!(sample(&text, "ek_stream_oldest_pending_idle_seconds", &reorder(jl)).is_some(), "{text}");
    assert_eq!(sample(&text, "ek_dead_letters", ""), Some(0.0));
    assert_eq!(sample(&text, "ek_run_running", ""), Some(1.0));
    assert_eq!(sample(&text, "ek_run_entries", r#"kind="list",state="done""#), Some(1.0), "{text}");
    assert_eq!(sample(&text, "ek_run_entries", r#"kind="list",state="in_flight""#), Some(jobs), "{text}");
    assert_eq!(sample(&text, "ek_run_requests", ""), Some(1.0));
    assert_eq!(sample(&text, "ek_run_balanced", ""), Some(1.0));
    let started = sample(&text, "ek_run_started_timestamp_seconds", "").expect("started");
    let progress = sample(&text, "ek_run_last_progress_timestamp_seconds", "").expect("progress");
    assert!(progress >= started, "{progress} < {started}");
    assert!(sample(&text, "ek_redis_memory_used_bytes", "").is_some_and(|b| b > 0.0));
    assert!(text.contains("ek_build_info{binary=\"producer-serve\""), "{text}");
    assert!(text.contains("\nprocess_resident_memory_bytes "), "{text}");
    assert!(!text.contains(env.redis.password()), "no secret in the metrics");
    assert_eq!(get(addr, "/readyz").await.0, 200);
    assert_eq!(get(addr, "/healthz").await.0, 200);

    // Redis gone: the process still answers, says so, and is not ready.
    drop(conn);
    env.redis.stop();
    // Scraped until the cached reading (`ttl`) has expired and the next one found Redis gone.
    let deadline = Instant::now() + ttl + Duration::from_secs(10);
    let text = loop {
        let (code, text) = get(addr, "/metrics").await;
        assert_eq!(code, 200);
        if sample(&text, "ek_redis_up", "") == Some(0.0) {
            break text;
        }
        assert!(Instant::now() < deadline, "Redis still up after it stopped: {text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(text.contains("\nprocess_cpu_seconds_total "), "{text}");
    assert_eq!(get(addr, "/readyz").await.0, 503);
    shutdown.cancel();
}

/// Labels as the encoder writes them: in the order the code gives them (stream, group).
fn reorder(labels: &str) -> String {
    let mut parts: Vec<&str> = labels.split(',').collect();
    parts.sort_by_key(|p| !p.starts_with("stream="));
    parts.join(",")
}

fn producer_status(env: &[(&str, String)], args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_producer"));
    cmd.arg("status").args(args).env_remove("REDIS_URL").env_remove("REDIS_URL_FILE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("producer status")
}

#[tokio::test]
async fn status_exits_4_when_the_run_stalls_and_5_when_redis_is_unreachable() {
    let mut env = Env::start();
    // The URL comes from a file, as from a compose secret or a Kubernetes secret volume.
    let url_file = env.dir.path().join("redis-url");
    std::fs::write(&url_file, format!("{}\n", env.redis.url())).expect("write secret");
    let from_file = [("REDIS_URL_FILE", url_file.display().to_string())];

    let out = producer_status(&from_file, &[]);
    assert!(out.status.success(), "no run yet: {}", String::from_utf8_lossy(&out.stderr));

    let options = support::options(env.write_config("config.json", support::CONFIG));
    run::run_to_end(&env.pool, &env.keys, &options, &support::stopped()).await.expect("run");
    // Stalled by Redis's own clock once 300 ms have passed since the start with nothing
    // finished: asked until it says so, rather than after a guessed sleep.
    let deadline = Instant::now() + Duration::from_secs(10);
    let out = loop {
        let out = producer_status(&from_file, &["--stall-after", "300ms"]);
        if out.status.code() != Some(0) || Instant::now() > deadline {
            break out;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        out.status.code(),
        Some(4),
        "nothing finished since the start: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("STALLED"));
    assert_eq!(producer_status(&from_file, &["--stall-after", "1h"]).status.code(), Some(0));

    // One job finished: the ack step stamped the progress time, the run is healthy again.
    assert!(support::crawl_once(&env.pool, &env.keys, Crawl::Succeed).await);
    let out = producer_status(&from_file, &["--stall-after", "1s", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(json["lastProgressAt"].is_string(), "{json}");

    env.redis.stop();
    let out = producer_status(&from_file, &["--timeout", "3s"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert!(!stderr.contains(env.redis.password()), "{stderr}");

    // A secret given both ways is refused before anything else.
    let both = [("REDIS_URL", env.redis.url()), ("REDIS_URL_FILE", url_file.display().to_string())];
    let out = producer_status(&both, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("both REDIS_URL_FILE and REDIS_URL"), "{stderr}");
    assert!(!stderr.contains(env.redis.password()), "{stderr}");
}
