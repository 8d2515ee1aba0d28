//! The whole pipeline as operators run it, for the end-to-end tests: a real Redis and
//! SecantusDB, danawa-sim in-process, the producer and the workers as separate processes, and
//! the comparison of `parts` with the sim's ground truth.
#![allow(dead_code)] // each test binary uses a different part

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::config::ScrapeConfig;
use common::parts::Part;
use danawa_sim::{SimConfig, SimHandle};
use futures::TryStreamExt;
use mongodb::bson::{doc, Document};
use test_harness::{Child, MongoServer, Redis, RedisServer, TempDir};

/// A binary of the workspace, built next to this test's own binary.
pub(crate) fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe.parent().and_then(|deps| deps.parent()).expect("target dir");
    let path = dir.join(name);
    assert!(path.is_file(), "{} is missing: build the workspace first (cargo build --workspace)", path.display());
    path
}

pub(crate) struct Pipeline {
    pub redis: Redis,
    pub mongo: MongoServer,
    pub sim: SimHandle,
    pub dir: TempDir,
    pub config: ScrapeConfig,
    pub config_path: PathBuf,
    /// Extra environment of every worker (`EK_RETRY_BASE`, ...), after the defaults.
    pub worker_env: Vec<(String, String)>,
}

impl Pipeline {
    pub(crate) async fn start(sim: SimConfig) -> Self {
        Self::start_on(Redis::Single(RedisServer::start()), sim).await
    }

    /// The pipeline over a Redis run in any mode (single, Sentinel, Cluster).
    pub(crate) async fn start_on(redis: Redis, sim: SimConfig) -> Self {
        let mongo = MongoServer::start();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let sim = danawa_sim::serve(sim, listener).await.expect("sim");
        let dir = TempDir::new("e2e");
        let original = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../common/tests/fixtures/scrapConfig.json"),
        )
        .expect("fixture");
        let text = original.replace("https://prod.danawa.com", &sim.origin());
        let config_path = dir.path().join("scrapConfig.json");
        std::fs::write(&config_path, &text).expect("write config");
        let config = ScrapeConfig::parse(&text).expect("valid config");
        let worker_env = vec![("EK_RETRY_BASE".to_owned(), "50ms".to_owned())];
        Self { redis, mongo, sim, dir, config, config_path, worker_env }
    }

    pub(crate) fn worker(&self, kind: &str, n: usize) -> Child {
        let mut cmd = Command::new(bin(&format!("{kind}-worker")));
        cmd.arg("run")
            .envs(self.redis.env())
            .env("MONGODB_URI", self.mongo.uri())
            .env("MONGODB_DB", "e2e")
            .env("EK_CONSUMER_NAME", format!("{kind}-{n}"))
            .env("EK_HTTP_ADDR", "127.0.0.1:0")
            .env("EK_CLAIM_IDLE", "3s")
            .env("EK_CLAIM_INTERVAL", "500ms")
            .env("RUST_LOG", "info");
        for (name, value) in &self.worker_env {
            cmd.env(name, value);
        }
        let log = self.dir.path().join(format!("{kind}-{n}-{}.log", rand::random::<u32>()));
        Child::spawn(cmd, &log).expect("worker starts")
    }

    pub(crate) fn producer(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(bin("producer"));
        cmd.args(args).envs(self.redis.env()).env("MONGODB_URI", self.mongo.uri()).env("MONGODB_DB", "e2e");
        cmd
    }

    pub(crate) fn run_producer(&self) -> Child {
        let config = self.config_path.display().to_string();
        let cmd = self.producer(&["run", "--config", &config, "--progress", "none"]);
        Child::spawn(cmd, &self.dir.path().join(format!("producer-{}.log", rand::random::<u32>()))).expect("producer")
    }

    pub(crate) fn status(&self) -> serde_json::Value {
        let out = self.producer(&["status", "--json"]).output().expect("status runs");
        assert!(out.status.success(), "status: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("status prints JSON")
    }

    pub(crate) fn truth(&self) -> BTreeMap<String, Part> {
        danawa_sim::ground_truth(&self.sim.state().catalogue, &self.config)
            .into_iter()
            .map(|p| (p.pcode.clone(), p))
            .collect()
    }

    pub(crate) async fn parts(&self) -> BTreeMap<String, Part> {
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
pub(crate) fn untimed(part: &Part) -> Part {
    let mut part = part.clone();
    part.created_at = None;
    part.updated_at = None;
    for point in &mut part.prices {
        point.timestamp = None;
    }
    part
}

pub(crate) fn assert_equals_truth(parts: &BTreeMap<String, Part>, truth: &BTreeMap<String, Part>) {
    let missing: Vec<&String> = truth.keys().filter(|k| !parts.contains_key(*k)).collect();
    let extra: Vec<&String> = parts.keys().filter(|k| !truth.contains_key(*k)).collect();
    assert!(missing.is_empty() && extra.is_empty(), "missing {missing:?}, extra {extra:?}");
    for (pcode, want) in truth {
        let got = untimed(&parts[pcode]);
        assert_eq!(got, *want, "part {pcode} differs from the ground truth");
        assert!(parts[pcode].created_at.is_some() && parts[pcode].updated_at.is_some(), "timestamps on {pcode}");
    }
}

pub(crate) fn wait_exit(child: Child, limit: Duration) -> i32 {
    child.wait_timeout(limit).and_then(|s| s.code()).unwrap_or(-1)
}
