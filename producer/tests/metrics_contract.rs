//! Every metric the Grafana dashboard and the alert rules query is one the code exports:
//! starts `producer serve`, a crawler and an updater as real processes (real Redis and
//! SecantusDB), scrapes their `/metrics`, and checks each `ek_*` / `process_*` name in
//! `deploy/monitoring/grafana/dashboards/electrokerot.json` and `deploy/monitoring/alerts.yml`
//! against what they served.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use test_harness::{Child, MongoServer, RedisServer, TempDir};

/// A binary of the workspace, built next to this test's own binary.
fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe.parent().and_then(|deps| deps.parent()).expect("target dir");
    let path = dir.join(name);
    assert!(path.is_file(), "{} is missing: build the workspace first (cargo build --workspace)", path.display());
    path
}

fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port")
}

/// `GET /metrics` over HTTP/1.0, retried until the process answers 200.
fn scrape(addr: SocketAddr, what: &str) -> String {
    use std::io::{Read, Write};
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(mut s) = std::net::TcpStream::connect(addr) {
            let mut raw = String::new();
            if s.write_all(b"GET /metrics HTTP/1.0\r\nHost: t\r\n\r\n").is_ok()
                && s.read_to_string(&mut raw).is_ok()
                && raw.split(' ').nth(1) == Some("200")
            {
                return raw.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
            }
        }
        assert!(Instant::now() < deadline, "{what} never served /metrics on {addr}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Sample names a scrape can produce: every sample line's name, and for each `# TYPE` the
/// names its type implies (a family with no samples yet still counts).
fn exported(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut it = rest.split_whitespace();
            let (Some(name), Some(kind)) = (it.next(), it.next()) else { continue };
            let suffixes: &[&str] = match kind {
                "counter" => &["_total", "_created"],
                "histogram" => &["_bucket", "_count", "_sum"],
                "info" => &["_info"],
                _ => &[""],
            };
            names.extend(suffixes.iter().map(|s| format!("{name}{s}")));
        } else if !line.starts_with('#') && !line.is_empty() {
            let end = line.find(['{', ' ']).unwrap_or(line.len());
            names.insert(line[..end].to_owned());
        }
    }
    names
}

/// Our metric names in a PromQL expression (label values and names inside `{...}` skipped).
fn queried(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let (mut depth, mut token) = (0, String::new());
    let mut in_string = false;
    for c in expr.chars().chain(std::iter::once(' ')) {
        match c {
            '"' => in_string = !in_string,
            _ if in_string => {}
            '{' => depth += 1,
            '}' => depth -= 1,
            c if depth == 0 && (c.is_ascii_alphanumeric() || c == '_' || c == ':') => {
                token.push(c);
                continue;
            }
            _ => {}
        }
        if token.starts_with("ek_") || token.starts_with("process_") {
            names.insert(token.clone());
        }
        token.clear();
    }
    names
}

fn expressions(root: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let dashboard = root.join("deploy/monitoring/grafana/dashboards/electrokerot.json");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&dashboard).expect("dashboard")).expect("dashboard JSON");
    for panel in json["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().expect("targets") {
            let expr = target["expr"].as_str().expect("expr").to_owned();
            out.push((format!("dashboard panel {:?}", panel["title"].as_str().unwrap_or("?")), expr));
        }
    }
    let rules = std::fs::read_to_string(root.join("deploy/monitoring/alerts.yml")).expect("alerts.yml");
    for line in rules.lines() {
        if let Some(expr) = line.trim().strip_prefix("expr:") {
            let expr = expr.trim();
            assert!(!matches!(expr, "|" | ">" | "|-" | ">-"), "alerts.yml: keep each expr on one line");
            out.push(("alerts.yml".to_owned(), expr.to_owned()));
        }
    }
    out
}

#[test]
fn every_metric_the_dashboard_and_the_alerts_query_is_exported() {
    let redis = RedisServer::start();
    let mongo = MongoServer::start();
    let dir = TempDir::new("metrics-contract");
    let spawn = |name: &str, program: PathBuf, args: &[&str], addr: SocketAddr| -> Child {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .env("REDIS_URL", redis.url())
            .env("MONGODB_URI", mongo.uri())
            .env("MONGODB_DB", "contract")
            .env("EK_HTTP_ADDR", addr.to_string())
            .env("EK_ENV", "development")
            .env("RUST_LOG", "warn");
        Child::spawn(cmd, &dir.path().join(format!("{name}.log"))).unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    let addrs = [free_addr(), free_addr(), free_addr()];
    let _serve = spawn("serve", PathBuf::from(env!("CARGO_BIN_EXE_producer")), &["serve"], addrs[0]);
    let _crawler = spawn("crawler", bin("crawler-worker"), &["run"], addrs[1]);
    let _updater = spawn("updater", bin("updater-worker"), &["run"], addrs[2]);

    let mut names = BTreeSet::new();
    for (what, addr) in ["producer serve", "crawler-worker", "updater-worker"].iter().zip(addrs) {
        let text = scrape(addr, what);
        let got = exported(&text);
        for required in ["ek_build_info", "process_cpu_seconds_total", "process_resident_memory_bytes"] {
            assert!(got.contains(required), "{what} does not export {required}:\n{text}");
        }
        names.extend(got);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut missing = Vec::new();
    let exprs = expressions(&root);
    assert!(exprs.len() > 20, "found only {} expressions", exprs.len());
    for (place, expr) in &exprs {
        for name in queried(expr) {
            if !names.contains(&name) {
                missing.push(format!("{place}: {name} in `{expr}`"));
            }
        }
    }
    assert!(missing.is_empty(), "queried but not exported:\n{}\nexported: {names:?}", missing.join("\n"));
}

#[test]
fn metric_names_are_found_in_promql() {
    let got = queried(r#"sum by (kind) (rate(ek_jobs_total{outcome="done",x="ek_fake"}[5m])) / ek_slots and time()"#);
    assert_eq!(got.into_iter().collect::<Vec<_>>(), ["ek_jobs_total", "ek_slots"]);
    let text = "# TYPE ek_crawler_request_seconds histogram\n# TYPE ek_jobs counter\nek_slots 3\n";
    let names = exported(text);
    assert!(names.contains("ek_crawler_request_seconds_bucket") && names.contains("ek_jobs_total"));
    assert!(names.contains("ek_slots"));
}
