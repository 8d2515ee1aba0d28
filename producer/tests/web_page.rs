//! The monitoring page in a real browser (Debian's chromium through chromedriver) against the
//! real `producer serve` process, a real Redis with a password, SecantusDB, danawa-sim and the
//! real workers, with a run in progress: the overview's progress moves by itself; dead letters
//! the test causes (the sim answers 5xx for a while) appear and are retried from the page,
//! after which the run finishes, its counters balance and `parts` equals the ground truth;
//! actions without the admin token (or without the CSRF value) are refused and do nothing; no
//! page shows a secret. Screenshots are kept under `target/web-screenshots/`.
//!
//! Without chromium or chromedriver this test fails (`make setup` installs them).

mod pipeline;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use danawa_sim::faults::{FaultConfig, Latency, Scope};
use danawa_sim::{CatalogueParams, SimConfig};
use fantoccini::{Client, ClientBuilder, Locator};
use pipeline::{assert_equals_truth, wait_exit, Pipeline};
use test_harness::{free_port, Child};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const READ_TOKEN: &str = "read-token-for-the-browser-test";
const ADMIN_TOKEN: &str = "admin-token-for-the-browser-test";

/// A program on PATH, or a failure that says how to get it (never a silent skip).
fn program(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{name} is not installed: `make setup` installs chromium and chromium-driver"))
}

fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} does not listen on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/web-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

async fn screenshot(browser: &Client, name: &str) {
    let png = browser.screenshot().await.expect("screenshot");
    std::fs::write(screenshots().join(name), png).expect("write screenshot");
}

/// One HTTP/1.1 request over a plain socket: `(status, body)`.
async fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if method == "POST" {
        request.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.expect("read");
    let status = answer.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("status line");
    (status, answer.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default())
}

async fn redis_int(pipeline: &Pipeline, args: &[&str]) -> i64 {
    let test_harness::redis_ha::Redis::Single(server) = &pipeline.redis else {
        panic!("the page test runs on one Redis")
    };
    let client = redis::Client::open(server.url()).expect("redis url");
    let mut conn = client.get_multiplexed_async_connection().await.expect("redis");
    let mut cmd = redis::cmd(args[0]);
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    let value: Option<i64> = cmd.query_async(&mut conn).await.expect("redis command");
    value.unwrap_or(0)
}

async fn total_finished(browser: &Client) -> i64 {
    let row = browser.wait().for_element(Locator::Css("#kind-total")).await.expect("the total row");
    row.attr("data-finished").await.expect("attr").and_then(|v| v.parse().ok()).expect("a number")
}

fn start_serve(pipeline: &Pipeline, port: u16) -> Child {
    let token_file = pipeline.dir.path().join("admin-token");
    std::fs::write(&token_file, format!("{ADMIN_TOKEN}\n")).expect("token file");
    let mut cmd = pipeline.producer(&["serve"]);
    cmd.env("EK_HTTP_ADDR", format!("127.0.0.1:{port}"))
        .env("EK_WEB_TOKEN", READ_TOKEN)
        .env("EK_WEB_ADMIN_TOKEN_FILE", &token_file)
        .env("EK_METRICS_CACHE_TTL", "300ms")
        .env("EK_WEB_SAMPLE_EVERY", "1s")
        .env("RUST_LOG", "info");
    let child = Child::spawn(cmd, &pipeline.dir.path().join("serve.log")).expect("producer serve");
    wait_for_port(port, "producer serve");
    child
}

async fn start_browser() -> (Child, Client) {
    let chromium = program("chromium");
    let driver_port = free_port();
    let mut cmd = std::process::Command::new(program("chromedriver"));
    cmd.arg(format!("--port={driver_port}"));
    let log = screenshots().join("chromedriver.log");
    let driver = Child::spawn(cmd, &log).expect("chromedriver");
    wait_for_port(driver_port, "chromedriver");
    let capabilities = serde_json::json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium.display().to_string(),
            "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1360,1100"],
        },
    });
    let serde_json::Value::Object(capabilities) = capabilities else { unreachable!("an object literal") };
    let browser = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{driver_port}"))
        .await
        .expect("a chromium session");
    (driver, browser)
}

/// Dead letters on the page: `(id, kind)` of each row.
async fn dead_rows(browser: &Client, base: &str, query: &str) -> Vec<(String, String)> {
    browser.goto(&format!("{base}/dead-letters{query}")).await.expect("dead letters page");
    let mut out = Vec::new();
    for row in browser.find_all(Locator::Css("tr.dead-letter")).await.expect("rows") {
        let id = row.attr("data-id").await.expect("attr").unwrap_or_default();
        out.push((id, row.attr("data-kind").await.expect("attr").unwrap_or_default()));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_follows_a_run_and_retries_its_dead_letters() {
    // 100 ms per request: a run of about half a minute, long enough to watch and to fail in.
    let faults = FaultConfig { latency: Latency::Fixed { ms: 100 }, ..FaultConfig::default() };
    let catalogue = CatalogueParams { seed: 14, categories: 9, products_per_category: 20, max_variants: 2 };
    let mut pipeline = Pipeline::start(SimConfig { catalogue, faults: faults.clone(), ..SimConfig::default() }).await;
    pipeline.worker_env.push(("EK_MAX_ATTEMPTS".into(), "2".into()));
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let _serve = start_serve(&pipeline, port);
    let (_driver, browser) = start_browser().await;

    // No token: 401 and the login form, for pages and actions alike.
    let (status, body) = http(port, "GET", "/", &[], "").await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("name=\"token\""), "{body}");

    browser.goto(&base).await.expect("goto");
    browser.find(Locator::Css("#token")).await.expect("login form").send_keys(ADMIN_TOKEN).await.expect("type");
    browser.find(Locator::Css("button[type=submit]")).await.expect("button").click().await.expect("log in");
    browser.wait().for_element(Locator::Css("#overview")).await.expect("the overview after logging in");

    let workers: Vec<Child> = vec![pipeline.worker("crawler", 0), pipeline.worker("updater", 0)];
    let mut producer = pipeline.run_producer();

    // The overview moves by itself (its script re-renders the live part): no reload here.
    browser.wait().for_element(Locator::Css("#run-state")).await.expect("a run on the overview");
    let first = total_finished(&browser).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut later = first;
    while later <= first {
        assert!(Instant::now() < deadline, "the overview stayed at {first} finished entries");
        tokio::time::sleep(Duration::from_millis(500)).await;
        later = total_finished(&browser).await;
    }
    let live = browser.find(Locator::Css("#overview")).await.expect("overview");
    assert!(live.attr("data-updated").await.expect("attr").is_some(), "updated by the live refresh");
    screenshot(&browser, "overview-running.png").await;

    // Dead letters: once item jobs are under way, the sim answers every page with a 5xx until
    // a few jobs used up their two attempts.
    let counters = format!("{{ek}}:run:{}:counters", pipeline.status()["run"]["id"].as_str().expect("run id"));
    let deadline = Instant::now() + Duration::from_secs(120);
    while redis_int(&pipeline, &["HGET", &counters, "enqueued:item"]).await < 10 {
        assert!(Instant::now() < deadline, "no item jobs");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let failing = FaultConfig { error_5xx: 1.0, scope: Scope::Pages, ..faults.clone() };
    pipeline.sim.state().set_faults(failing).expect("faults");
    while redis_int(&pipeline, &["XLEN", "{ek}:dead"]).await < 3 {
        assert!(Instant::now() < deadline, "no dead letters");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    pipeline.sim.state().set_faults(faults).expect("faults");
    tokio::time::sleep(Duration::from_secs(1)).await; // jobs failing when the faults ended land now
    let dead = redis_int(&pipeline, &["XLEN", "{ek}:dead"]).await;

    // Refused without the admin token or the CSRF value, and nothing is done.
    let session = browser.get_named_cookie("ek_session").await.expect("the session cookie");
    let cookie = format!("ek_session={}", session.value());
    let read = format!("Bearer {READ_TOKEN}");
    for (headers, want) in
        [(vec![], 401), (vec![("Authorization", read.as_str())], 403), (vec![("Cookie", cookie.as_str())], 403)]
    {
        for body in ["kind=item", "kind=item&csrf=0000"] {
            let (status, text) = http(port, "POST", "/dead-letters/retry-kind", &headers, body).await;
            assert_eq!(status, want, "{headers:?} {body}: {text}");
        }
    }
    assert_eq!(redis_int(&pipeline, &["XLEN", "{ek}:dead"]).await, dead, "a refused action did nothing");
    let (status, text) = http(port, "GET", "/dead-letters", &[("Authorization", read.as_str())], "").await;
    assert_eq!(status, 200);
    assert!(text.contains("tr class=\"dead-letter\"") && !text.contains("class=\"retry\""), "read-only: no buttons");

    // Retry one from its row, then every kind that has letters left.
    let rows = dead_rows(&browser, &base, "").await;
    assert!(!rows.is_empty(), "the page lists the {dead} dead letters");
    screenshot(&browser, "dead-letters.png").await;
    let source = browser.source().await.expect("source");
    for secret in [ADMIN_TOKEN, READ_TOKEN, pipeline.redis.password()] {
        assert!(!source.contains(secret), "the page shows a secret");
    }
    browser
        .find(Locator::Css("tr.dead-letter button.retry"))
        .await
        .expect("retry button")
        .click()
        .await
        .expect("retry");
    let notice = browser.wait().for_element(Locator::Css("#notice")).await.expect("notice").text().await.expect("text");
    assert!(notice.contains("sent back 1 dead letter"), "{notice}");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let rows = dead_rows(&browser, &base, "").await;
        let Some((_, kind)) = rows.first() else { break };
        assert!(Instant::now() < deadline, "dead letters keep coming: {rows:?}");
        dead_rows(&browser, &base, &format!("?kind={kind}")).await;
        browser.find(Locator::Css("#retry-kind")).await.expect("retry-kind button").click().await.expect("retry");
        browser.wait().for_element(Locator::Css("#notice")).await.expect("notice");
    }
    assert_eq!(redis_int(&pipeline, &["XLEN", "{ek}:dead"]).await, 0);

    // The run finishes; a producer that saw it finish with dead letters before the retries
    // has exited, and resuming is what an operator does then.
    if producer.has_exited() {
        producer = pipeline.run_producer();
    }
    assert_eq!(wait_exit(producer, Duration::from_secs(300)), 0, "the run finishes");
    let status = pipeline.status();
    assert_eq!(status["run"]["state"], "done", "{status}");
    assert_eq!(status["balanced"], true, "{status}");
    assert_eq!(status["total"]["dead"], 0, "every dead letter was retried: {status}");
    assert_equals_truth(&pipeline.parts().await, &pipeline.truth());

    // The overview lists the finished run; the streams and parts pages show the workers and
    // the categories.
    browser.goto(&base).await.expect("overview");
    let run_id = status["run"]["id"].as_str().expect("id").to_owned();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let last = browser.find(Locator::Css("#last-runs")).await.expect("last runs").text().await.expect("text");
        let state = browser.find(Locator::Css("#run-state")).await.expect("run state").text().await.expect("text");
        if last.contains(&run_id)
            && state == "done"
            && browser.find(Locator::Css("#throughput-chart polyline")).await.is_ok()
        {
            break;
        }
        assert!(Instant::now() < deadline, "the finished run is not shown as done and listed: {state}, {last}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    screenshot(&browser, "overview-done.png").await;
    browser.goto(&format!("{base}/streams")).await.expect("streams");
    for consumer in ["crawler-0", "updater-0"] {
        browser.find(Locator::Css(&format!("tr[data-consumer=\"{consumer}\"]"))).await.expect(consumer);
    }
    screenshot(&browser, "streams.png").await;
    browser.goto(&format!("{base}/parts")).await.expect("parts");
    let parts = browser.find(Locator::Css("#parts")).await.expect("parts table").text().await.expect("text");
    assert!(parts.contains("cpu"), "{parts}");
    screenshot(&browser, "parts.png").await;
    browser.close().await.expect("close the browser");
    drop(workers);
}
