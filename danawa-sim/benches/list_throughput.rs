//! List throughput and memory: starts the release `danawa-sim` binary with 100,000 products
//! (9 categories x 11,112), drives list requests (listCount 90, random category, filter and
//! page) over keep-alive connections for a while, and prints requests per second and the
//! server's peak resident memory.
//!
//! `cargo bench -p danawa-sim --bench list_throughput`
//! Knobs: BENCH_SECS (10), BENCH_CONCURRENCY (32), BENCH_PRODUCTS per category (11112).

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Kills the server when the bench ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

fn status_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// (cate, listCategoryCode, categoryCode, filter field, filter values)
fn listings() -> Vec<(u32, u32, u32, &'static str, Vec<String>)> {
    danawa_sim::catalogue::CATEGORIES
        .iter()
        .map(|d| {
            let (field, values) = if d.attr_groups.is_empty() {
                ("searchMaker[]", d.makers.iter().map(|m| m.code.to_string()).collect())
            } else {
                // The full checkbox values: a bare attribute id is ignored by the list endpoint.
                ("searchAttributeValue[]", d.offered_attributes().map(|(_, _, value)| value).collect())
            };
            (d.number, d.list_code, d.category_code, field, values)
        })
        .collect()
}

async fn wait_ready(client: &reqwest::Client, origin: &str) {
    for _ in 0..600 {
        if client.get(format!("{origin}/robots.txt")).send().await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("danawa-sim did not start");
}

async fn worker(
    client: reqwest::Client,
    origin: String,
    until: Instant,
    seed: u64,
    done: Arc<AtomicU64>,
    bytes: Arc<AtomicU64>,
) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let listings = listings();
    let url = format!("{origin}/list/ajax/getProductList.ajax.php");
    while Instant::now() < until {
        let (cate, list, code, field, values) = &listings[rng.gen_range(0..listings.len())];
        let mut form = vec![
            ("page".to_owned(), rng.gen_range(1..=20u32).to_string()),
            ("listCategoryCode".to_owned(), list.to_string()),
            ("categoryCode".to_owned(), code.to_string()),
            ("group".to_owned(), "11".to_owned()),
            ("depth".to_owned(), "2".to_owned()),
            ("viewMethod".to_owned(), "LIST".to_owned()),
            ("sortMethod".to_owned(), "BEST".to_owned()),
            ("listCount".to_owned(), "90".to_owned()),
        ];
        if rng.gen_bool(0.8) && !values.is_empty() {
            form.push(((*field).to_owned(), values[rng.gen_range(0..values.len())].clone()));
        }
        let sent = client
            .post(&url)
            .header("X-Requested-With", "XMLHttpRequest")
            .header("Referer", format!("{origin}/list/?cate={cate}"))
            .form(&form)
            .send()
            .await;
        if let Ok(response) = sent {
            if let Ok(body) = response.bytes().await {
                assert!(!body.is_empty(), "list answers are never empty without faults");
                bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
                done.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

fn main() {
    let secs = env_or("BENCH_SECS", 10);
    let concurrency = env_or("BENCH_CONCURRENCY", 32);
    let products = env_or("BENCH_PRODUCTS", 11_112);
    let port = free_port();
    let started = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_danawa-sim"))
        .args([
            "serve",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--products",
            &products.to_string(),
            "--log-capacity",
            "20000",
        ])
        .stdout(Stdio::null())
        .spawn()
        .expect("start danawa-sim");
    let server = Server(child);
    let pid = server.0.id();
    let origin = format!("http://127.0.0.1:{port}");
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    runtime.block_on(async {
        let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency as usize).build().expect("client");
        wait_ready(&client, &origin).await;
        let ready = started.elapsed();
        let idle_rss = status_kb(pid, "VmRSS:");
        let done = Arc::new(AtomicU64::new(0));
        let bytes = Arc::new(AtomicU64::new(0));
        let t0 = Instant::now();
        let until = t0 + Duration::from_secs(secs);
        let tasks: Vec<_> = (0..concurrency)
            .map(|i| tokio::spawn(worker(client.clone(), origin.clone(), until, i, done.clone(), bytes.clone())))
            .collect();
        for task in tasks {
            let _ = task.await;
        }
        let elapsed = t0.elapsed().as_secs_f64();
        let n = done.load(Ordering::Relaxed) as f64;
        let mb = bytes.load(Ordering::Relaxed) as f64 / 1e6;
        println!("danawa-sim list throughput: {} products (9 categories x {products}), listCount 90, {concurrency} connections, {secs} s", products * 9);
        println!("  start-up (catalogue generation + bind): {:.2} s", ready.as_secs_f64());
        println!("  list requests/s: {:.0}  ({n:.0} requests, {:.1} MB/s, {:.0} KB per answer)", n / elapsed, mb / elapsed, mb * 1000.0 / n.max(1.0));
        println!("  server resident memory: idle {:.1} MB, peak (VmHWM) {:.1} MB", idle_rss as f64 / 1024.0, status_kb(pid, "VmHWM:") as f64 / 1024.0);
    });
    drop(server);
}
