//! The whole pipeline as operators run it: producer, two crawler and two updater processes,
//! a real Redis and SecantusDB, danawa-sim. The `parts` collection must equal the sim's ground
//! truth field by field (timestamps excepted) — also while workers are killed and restarted —
//! and a second run over the same catalogue adds exactly one price point per product.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::config::ScrapeConfig;
use common::parts::Part;
use danawa_sim::{CatalogueParams, SimConfig, SimHandle};
use futures::TryStreamExt;
use mongodb::bson::{doc, Document};
use rand::{Rng, SeedableRng};
use test_harness::{Child, MongoServer, RedisServer, TempDir};

/// A binary of the workspace, built next to this test's own binary.
fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe.parent().and_then(|deps| deps.parent()).expect("target dir");
    let path = dir.join(name);
    assert!(path.is_file(), "{} is missing: build the workspace first (cargo build --workspace)", path.display());
    path
}

struct Pipeline {
    redis: RedisServer,
    mongo: MongoServer,
    sim: SimHandle,
    dir: TempDir,
    config: ScrapeConfig,
    config_path: PathBuf,
}

impl Pipeline {
    async fn start(catalogue: CatalogueParams) -> Self {
        let redis = RedisServer::start();
        let mongo = MongoServer::start();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let sim = danawa_sim::serve(SimConfig { catalogue, ..SimConfig::default() }, listener).await.expect("sim");
        let dir = TempDir::new("e2e");
        let original = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../common/tests/fixtures/scrapConfig.json"),
        )
        .expect("fixture");
        let text = original.replace("https://prod.danawa.com", &sim.origin());
        let config_path = dir.path().join("scrapConfig.json");
        std::fs::write(&config_path, &text).expect("write config");
        let config = ScrapeConfig::parse(&text).expect("valid config");
        Self { redis, mongo, sim, dir, config, config_path }
    }

    fn worker(&self, kind: &str, n: usize) -> Child {
        let mut cmd = Command::new(bin(&format!("{kind}-worker")));
        cmd.arg("run")
            .env("REDIS_URL", self.redis.url())
            .env("MONGODB_URI", self.mongo.uri())
            .env("MONGODB_DB", "e2e")
            .env("EK_CONSUMER_NAME", format!("{kind}-{n}"))
            .env("EK_HTTP_ADDR", "127.0.0.1:0")
            .env("EK_CLAIM_IDLE", "3s")
            .env("EK_CLAIM_INTERVAL", "500ms")
            .env("EK_RETRY_BASE", "50ms")
            .env("RUST_LOG", "info");
        let log = self.dir.path().join(format!("{kind}-{n}-{}.log", rand::random::<u32>()));
        Child::spawn(cmd, &log).expect("worker starts")
    }

    fn producer(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(bin("producer"));
        cmd.args(args).env("REDIS_URL", self.redis.url()).env("MONGODB_URI", self.mongo.uri()).env("MONGODB_DB", "e2e");
        cmd
    }

    fn run_producer(&self) -> Child {
        let config = self.config_path.display().to_string();
        let cmd = self.producer(&["run", "--config", &config, "--progress", "none"]);
        Child::spawn(cmd, &self.dir.path().join(format!("producer-{}.log", rand::random::<u32>()))).expect("producer")
    }

    fn status(&self) -> serde_json::Value {
        let out = self.producer(&["status", "--json"]).output().expect("status runs");
        assert!(out.status.success(), "status: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("status prints JSON")
    }

    fn truth(&self) -> BTreeMap<String, Part> {
        danawa_sim::ground_truth(&self.sim.state().catalogue, &self.config)
            .into_iter()
            .map(|p| (p.pcode.clone(), p))
            .collect()
    }

    async fn parts(&self) -> BTreeMap<String, Part> {
        let client = mongodb::Client::with_uri_str(self.mongo.uri()).await.expect("client");
        let docs: Vec<Document> = client
            .database("e2e")
            .collection::<Document>("parts")
            .find(doc! {})
            .await
            .expect("find")
            .try_collect()
            .await
            .expect("read");
        docs.into_iter()
            .map(|d| {
                let part: Part = mongodb::bson::from_document(d).expect("every document fits the Part contract");
                (part.pcode.clone(), part)
            })
            .collect()
    }
}

/// The part without its timestamps, for comparison with the ground truth.
fn untimed(part: &Part) -> Part {
    let mut part = part.clone();
    part.created_at = None;
    part.updated_at = None;
    for point in &mut part.prices {
        point.timestamp = None;
    }
    part
}

fn assert_equals_truth(parts: &BTreeMap<String, Part>, truth: &BTreeMap<String, Part>) {
    let missing: Vec<&String> = truth.keys().filter(|k| !parts.contains_key(*k)).collect();
    let extra: Vec<&String> = parts.keys().filter(|k| !truth.contains_key(*k)).collect();
    assert!(missing.is_empty() && extra.is_empty(), "missing {missing:?}, extra {extra:?}");
    for (pcode, want) in truth {
        let got = untimed(&parts[pcode]);
        assert_eq!(got, *want, "part {pcode} differs from the ground truth");
        assert!(parts[pcode].created_at.is_some() && parts[pcode].updated_at.is_some(), "timestamps on {pcode}");
    }
}

fn wait_exit(child: Child, limit: Duration) -> i32 {
    child.wait_timeout(limit).and_then(|s| s.code()).unwrap_or(-1)
}

fn catalogue() -> CatalogueParams {
    // 9 categories × 240 entries = 2,160 products; the cooler category's 37 filters overlap.
    CatalogueParams { seed: 21, categories: 9, products_per_category: 240, max_variants: 2 }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_equals_the_ground_truth_and_a_second_run_adds_one_price_point() {
    let pipeline = Pipeline::start(catalogue()).await;
    let workers: Vec<Child> =
        (0..2).flat_map(|n| [pipeline.worker("crawler", n), pipeline.worker("updater", n)]).collect();

    assert_eq!(wait_exit(pipeline.run_producer(), Duration::from_secs(900)), 0, "first run completes");
    let first = pipeline.parts().await;
    let truth = pipeline.truth();
    let products: usize = pipeline.sim.state().catalogue.categories.iter().map(|c| c.products.len()).sum();
    assert!(products >= 2000 && truth.len() >= 1000, "{products} products, {} parts expected", truth.len());
    assert_equals_truth(&first, &truth);
    assert!(first.values().all(|p| !p.is_updating), "no part left isUpdating");
    let status = pipeline.status();
    assert_eq!(status["partsInserted"].as_u64(), Some(truth.len() as u64), "every part counted once as inserted");

    assert_eq!(wait_exit(pipeline.run_producer(), Duration::from_secs(900)), 0, "second run completes");
    let second = pipeline.parts().await;
    let status = pipeline.status();
    assert_eq!(status["partsInserted"].as_u64(), Some(0), "the second run inserts nothing");
    assert_eq!(status["partsUpdated"].as_u64(), Some(truth.len() as u64), "and refreshes every part");
    for (pcode, before) in &first {
        let after = &second[pcode];
        let added = after.prices.len() - before.prices.len();
        let priced = truth[pcode].prices.len();
        assert_eq!(added, priced, "{pcode}: one new price point per priced product, none for the others");
        let mut same = untimed(after);
        same.prices.truncate(before.prices.len());
        assert_eq!(same, untimed(before), "{pcode}: nothing else changed");
        assert_eq!(after.created_at, before.created_at, "{pcode}: createdAt kept");
    }
    drop(workers);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_and_restarting_workers_changes_nothing_and_status_always_balances() {
    let pipeline = Pipeline::start(catalogue()).await;
    let mut crawlers = vec![pipeline.worker("crawler", 0), pipeline.worker("crawler", 1)];
    let mut updaters = vec![pipeline.worker("updater", 0), pipeline.worker("updater", 1)];
    let mut producer = pipeline.run_producer();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut samples = 0;
    let mut kills = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(900);
    loop {
        if let Some(status) = producer.try_wait() {
            assert_eq!(status.code(), Some(0), "the run completes");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "run did not finish");
        let status = pipeline.status();
        samples += 1;
        assert_eq!(status["balanced"], true, "status balances at every sample: {status}");
        for stream in status["streams"].as_array().into_iter().flatten() {
            assert_eq!(stream["matchesCounters"], true, "stream length = in flight by counters: {stream}");
        }
        if kills < 6 && rng.gen_bool(0.3) {
            // SIGKILL one crawler or one updater mid-work, then start it again under its name.
            let (pool, kind) = if kills % 2 == 0 { (&mut crawlers, "crawler") } else { (&mut updaters, "updater") };
            let victim = rng.gen_range(0..pool.len());
            pool.remove(victim).kill_and_wait();
            pool.insert(victim, pipeline.worker(kind, victim));
            kills += 1;
        }
        tokio::time::sleep(Duration::from_millis(rng.gen_range(100..600))).await;
    }
    assert!(kills >= 2 && samples >= 5, "the test really killed workers ({kills}) and sampled ({samples})");
    let parts = pipeline.parts().await;
    assert_equals_truth(&parts, &pipeline.truth());
    assert!(parts.values().all(|p| !p.is_updating));
    drop((crawlers, updaters));
}
