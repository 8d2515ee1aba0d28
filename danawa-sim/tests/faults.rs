//! Fault injection: rates hold within a stated tolerance over 2,000 requests, and each fault
//! looks on the wire as described.
//!
//! Tolerance: each observed rate is within 0.025 of the configured one. For p = 0.10 and
//! n = 2,000 the standard deviation is 0.0067, so 0.025 is about 3.7 sigma.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::{small, start, RefCrawler};
use danawa_sim::{FaultConfig, Latency, Scope};
use futures::StreamExt;

const TOLERANCE: f64 = 0.025;
const N: usize = 2_000;

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
enum Seen {
    Ok,
    S5xx,
    S403,
    S429,
    RetryAfter,
    Empty,
    Block,
    Truncated,
    Reset,
}

async fn classify(client: &reqwest::Client, url: &str, form: &[(String, String)], referer: &str) -> Vec<Seen> {
    let sent = client
        .post(url)
        .header("X-Requested-With", "XMLHttpRequest")
        .header("Referer", referer)
        .form(form)
        .send()
        .await;
    let Ok(response) = sent else { return vec![Seen::Reset] };
    let status = response.status().as_u16();
    let retry = response.headers().contains_key("retry-after");
    // A body error after the headers is a truncation that announced the full length.
    let Ok(body) = response.text().await else { return vec![Seen::Truncated] };
    let mut out = vec![match status {
        500..=599 => Seen::S5xx,
        403 => Seen::S403,
        429 => Seen::S429,
        _ if body.is_empty() => Seen::Empty,
        _ if body.contains("비정상적인 접근") => Seen::Block,
        // A cut fragment leaves its outermost div open.
        _ if !div_balanced(&body) => Seen::Truncated,
        _ => Seen::Ok,
    }];
    if retry {
        out.push(Seen::RetryAfter);
    }
    out
}

fn div_balanced(body: &str) -> bool {
    body.matches("<div").count() == body.matches("</div>").count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_rates_hold_over_2000_requests() {
    let faults = FaultConfig {
        scope: Scope::List,
        error_5xx: 0.10,
        status_403: 0.05,
        status_429: 0.05,
        retry_after_secs: Some(2),
        retry_after_share: 0.5,
        empty_200: 0.05,
        block_page: 0.05,
        truncate: 0.05,
        reset: 0.05,
        ..FaultConfig::default()
    };
    let sim = start(danawa_sim::SimConfig { faults, ..small(1, 60) }).await;
    let crawler = RefCrawler::new(sim.origin());
    let page = crawler.get("/list/?cate=112747").await;
    let form = RefCrawler::list_form(&page, 1, None);
    let url = format!("{}/list/ajax/getProductList.ajax.php", sim.origin());
    let referer = format!("{}/list/?cate=112747", sim.origin());
    let client = reqwest::Client::new();
    let results: Vec<Vec<Seen>> = futures::stream::iter(0..N)
        .map(|_| classify(&client, &url, &form, &referer))
        .buffer_unordered(8)
        .collect()
        .await;
    let mut counts: BTreeMap<Seen, usize> = BTreeMap::new();
    for seen in results.into_iter().flatten() {
        *counts.entry(seen).or_insert(0) += 1;
    }
    let rate = |s: Seen| *counts.get(&s).unwrap_or(&0) as f64 / N as f64;
    eprintln!("observed over {N} requests: {counts:?}");
    let expect = [
        (Seen::S5xx, 0.10),
        (Seen::S403, 0.05),
        (Seen::S429, 0.05),
        (Seen::Empty, 0.05),
        (Seen::Block, 0.05),
        (Seen::Truncated, 0.05),
        (Seen::Reset, 0.05),
        (Seen::Ok, 0.60),
        // Half of the 5xx/403/429 answers (0.20) carry Retry-After.
        (Seen::RetryAfter, 0.10),
    ];
    for (seen, want) in expect {
        let got = rate(seen);
        let tolerance = if seen == Seen::Ok { 2.0 * TOLERANCE } else { TOLERANCE };
        assert!((got - want).abs() <= tolerance, "{seen:?}: {got:.4} vs {want} ({counts:?})");
    }
    let stats = sim.state().observer.stats();
    assert_eq!(stats.by_endpoint.get("list_ajax").copied(), Some(N as u64));
    sim.shutdown().await;
}

#[tokio::test]
async fn latency_and_slow_bodies_take_time() {
    let sim = start(small(1, 30)).await;
    let client = reqwest::Client::new();
    let url = format!("{}/info/?pcode={}", sim.origin(), sim.state().catalogue.pcodes().next().unwrap());
    sim.state().set_faults(FaultConfig { latency: Latency::Fixed { ms: 120 }, ..FaultConfig::default() }).unwrap();
    let t = Instant::now();
    client.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(t.elapsed() >= Duration::from_millis(120));
    sim.state()
        .set_faults(FaultConfig { slow_body: 1.0, slow_body_bytes_per_sec: 40_000, ..FaultConfig::default() })
        .unwrap();
    let t = Instant::now();
    let body = client.get(&url).send().await.unwrap().text().await.unwrap();
    let expected = Duration::from_secs_f64(body.len() as f64 / 40_000.0 * 0.7);
    assert!(t.elapsed() >= expected, "slow body took {:?} for {} bytes", t.elapsed(), body.len());
    assert!(body.contains("</html>"), "a slow body is still whole");
    sim.shutdown().await;
}

#[tokio::test]
async fn repeat_page_serves_another_page_of_the_same_listing() {
    let sim = start(small(1, 300)).await;
    let crawler = RefCrawler::new(sim.origin());
    let page = crawler.get("/list/?cate=112747").await;
    let referer = format!("{}/list/?cate=112747", sim.origin());
    let url = "/list/ajax/getProductList.ajax.php";
    let page2 = crawler.post(url, &referer, &RefCrawler::list_form(&page, 2, None)).await;
    let page3 = crawler.post(url, &referer, &RefCrawler::list_form(&page, 3, None)).await;
    sim.state().set_faults(FaultConfig { repeat_page: 1.0, ..FaultConfig::default() }).unwrap();
    assert_eq!(crawler.post(url, &referer, &RefCrawler::list_form(&page, 3, None)).await, page2);
    sim.state().set_faults(FaultConfig::default()).unwrap();
    assert_eq!(crawler.post(url, &referer, &RefCrawler::list_form(&page, 3, None)).await, page3);
    sim.shutdown().await;
}

#[tokio::test]
async fn faults_change_at_run_time_through_the_control_endpoint() {
    let sim = start(small(1, 30)).await;
    let client = reqwest::Client::new();
    let control = format!("{}/_sim/faults", sim.origin());
    let set = client.post(&control).body(r#"{"status_429": 1.0, "retry_after_secs": 7}"#).send().await.unwrap();
    assert_eq!(set.status(), 200);
    let answer = client.get(format!("{}/list/?cate=112747", sim.origin())).send().await.unwrap();
    assert_eq!(answer.status(), 429);
    assert_eq!(answer.headers().get("retry-after").unwrap(), "7");
    // robots.txt and the control endpoints are never faulted.
    assert_eq!(client.get(format!("{}/robots.txt", sim.origin())).send().await.unwrap().status(), 200);
    let bad = client.post(&control).body(r#"{"error_5xx": 0.8, "reset": 0.5}"#).send().await.unwrap();
    assert_eq!(bad.status(), 400, "rates over 1 are refused");
    client.post(&control).body("{}").send().await.unwrap();
    assert_eq!(client.get(format!("{}/list/?cate=112747", sim.origin())).send().await.unwrap().status(), 200);
    let current: FaultConfig = client.get(&control).send().await.unwrap().json().await.unwrap();
    assert_eq!(current, FaultConfig::default());
    sim.shutdown().await;
}

/// Item "truncation at random points": cuts spread over the body, every mode occurs, the
/// Content-Length matches the cut body except for the share that announces the full length and
/// then fails the body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_answers_are_cut_at_random_points() {
    let sim = start(small(1, 120)).await;
    let client = reqwest::Client::new();
    let crawler = RefCrawler::new(sim.origin());
    let page = crawler.get("/list/?cate=112747").await;
    let referer = format!("{}/list/?cate=112747", sim.origin());
    let form = RefCrawler::list_form(&page, 1, None);
    let url = format!("{}/list/ajax/getProductList.ajax.php", sim.origin());
    let whole = crawler.post("/list/ajax/getProductList.ajax.php", &referer, &form).await;
    sim.state().set_faults(FaultConfig { truncate: 1.0, ..FaultConfig::default() }).unwrap();
    let n = 400;
    let mut lengths = std::collections::BTreeSet::new();
    let mut short = 0;
    for _ in 0..n {
        let response = client
            .post(&url)
            .header("X-Requested-With", "XMLHttpRequest")
            .header("Referer", &referer)
            .form(&form)
            .send();
        let response = response.await.expect("headers arrive");
        let announced = response.content_length().expect("Content-Length") as usize;
        match response.text().await {
            Ok(body) => {
                assert_eq!(announced, body.len(), "Content-Length matches the cut body");
                assert!(body.len() < whole.len() && whole.starts_with(&body));
                assert!(!div_balanced(&body), "the markup shows the cut");
                lengths.insert(body.len());
            }
            Err(_) => {
                assert_eq!(announced, whole.len(), "a short body announces the full length");
                short += 1;
            }
        }
    }
    let share = f64::from(short) / f64::from(n);
    assert!((share - 0.25).abs() < 0.08, "short bodies: {share}");
    assert!(lengths.len() > 100, "cut points are spread: {} distinct", lengths.len());
    let log: Vec<serde_json::Value> =
        client.get(format!("{}/_sim/log?limit=1000", sim.origin())).send().await.unwrap().json().await.unwrap();
    let modes: std::collections::BTreeSet<String> =
        log.iter().filter_map(|e| e["truncation"]["mode"].as_str().map(str::to_owned)).collect();
    assert_eq!(modes.into_iter().collect::<Vec<_>>(), ["anywhere", "before_end", "inside_last", "into_end"]);
    let before_end = log.iter().find(|e| e["truncation"]["mode"] == "before_end").unwrap();
    let at = before_end["truncation"]["at"].as_u64().unwrap() as usize;
    assert_eq!(&whole[at..].trim_end(), &"</div>", "cut exactly before the final </div>");

    // On the wire: the headers and the first bytes arrive, then the connection ends early.
    let addr = sim.addr();
    let mut seen_short = false;
    for _ in 0..60 {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request = "GET /list/?cate=112747 HTTP/1.1\r\nHost: sim\r\nConnection: close\r\n\r\n";
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        let _ = stream.read_to_end(&mut raw).await;
        let text = String::from_utf8_lossy(&raw);
        let Some((head, body)) = text.split_once("\r\n\r\n") else { continue };
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .and_then(|v| v.trim().parse().ok())
            .expect("content-length");
        assert!(!body.trim_end().ends_with("</html>"), "a cut page never ends with </html>");
        if raw.len() - head.len() - 4 < length {
            assert!(!body.is_empty(), "the first bytes are sent before the connection ends");
            seen_short = true;
            break;
        }
    }
    assert!(seen_short, "a short body seen on the wire");
    sim.shutdown().await;
}

/// The 2026 throttling report: more than BURST requests within the window, then empty answers
/// (the previous list page for list requests) until the penalty is over.
#[tokio::test]
async fn a_burst_over_the_throttle_gets_empty_answers_then_recovers() {
    let sim = start(small(1, 200)).await;
    let crawler = RefCrawler::new(sim.origin());
    let page = crawler.get("/list/?cate=112747").await;
    let referer = format!("{}/list/?cate=112747", sim.origin());
    let url = "/list/ajax/getProductList.ajax.php";
    let page1 = crawler.post(url, &referer, &RefCrawler::list_form(&page, 1, None)).await;
    let page2 = crawler.post(url, &referer, &RefCrawler::list_form(&page, 2, None)).await;
    let throttle = danawa_sim::faults::Throttle { burst: 4, window_ms: 60_000, penalty_ms: 400 };
    sim.state().set_faults(FaultConfig { throttle: Some(throttle), ..FaultConfig::default() }).unwrap();
    let product = format!("/info/?pcode={}", sim.state().catalogue.pcodes().next().unwrap());
    for _ in 0..4 {
        assert!(!crawler.get(&product).await.is_empty(), "within the burst");
    }
    assert_eq!(crawler.get(&product).await, "", "the fifth request is throttled");
    assert_eq!(crawler.get("/list/?cate=112747").await, "");
    let again = crawler.post(url, &referer, &RefCrawler::list_form(&page, 2, None)).await;
    assert_eq!(again, page1, "a throttled list request gets the previous page");
    assert_ne!(again, page2);
    assert!(!crawler.get("/robots.txt").await.is_empty(), "robots.txt is never throttled");
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(crawler.post(url, &referer, &RefCrawler::list_form(&page, 2, None)).await, page2, "recovered");
    let stats = sim.state().observer.stats();
    assert_eq!(stats.by_fault.get("throttled").copied(), Some(3));
    sim.shutdown().await;
}
