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
    let Ok(body) = response.text().await else { return vec![Seen::Reset] };
    let mut out = vec![match status {
        500..=599 => Seen::S5xx,
        403 => Seen::S403,
        429 => Seen::S429,
        _ if body.is_empty() => Seen::Empty,
        _ if body.contains("비정상적인 접근") => Seen::Block,
        _ if !body.trim_end().ends_with("</div>") => Seen::Truncated,
        _ => Seen::Ok,
    }];
    if retry {
        out.push(Seen::RetryAfter);
    }
    out
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
