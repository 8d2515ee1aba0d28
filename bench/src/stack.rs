//! Starts the system under test: Redis and SecantusDB (test-harness), danawa-sim, U updaters
//! and N crawlers as separate processes, each dying with the driver; stops them at the end.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use test_harness::{free_port, Child, MongoServer, RedisServer};

use crate::settings::{MongoStorage, Settings};
use crate::sim::SimClient;

/// How long a process may take to become ready.
const START_LIMIT: Duration = Duration::from_secs(60);
/// SIGTERM grace of a worker at the end (its drain limit is 30 s).
const STOP_GRACE: Duration = Duration::from_secs(40);

/// A worker process with its log and its /readyz port.
pub(crate) struct Worker {
    pub child: Child,
    pub log: PathBuf,
    pub http_port: u16,
}

/// Everything started for one benchmark run.
pub(crate) struct Stack {
    pub redis: RedisServer,
    pub mongo: MongoServer,
    pub sim: Child,
    pub sim_client: SimClient,
    pub crawlers: Vec<Worker>,
    pub updaters: Vec<Worker>,
    pub bin_dir: PathBuf,
    pub log_dir: PathBuf,
}

/// Binaries the benchmark runs, all from `bin_dir`.
pub(crate) fn check_binaries(bin_dir: &Path) -> anyhow::Result<()> {
    for name in ["producer", "crawler-worker", "updater-worker", "danawa-sim"] {
        let path = bin_dir.join(name);
        if !path.is_file() {
            bail!("{} is missing: run `cargo build --release --workspace` first", path.display());
        }
    }
    Ok(())
}

impl Stack {
    /// The keys holding the most memory (`MEMORY USAGE`), largest first: what a run leaves.
    pub(crate) async fn redis_largest_keys(&self, n: usize) -> anyhow::Result<Vec<(String, u64)>> {
        let client = redis::Client::open(self.redis.url()).context("Redis URL")?;
        let mut conn = client.get_multiplexed_async_connection().await.context("connecting to Redis")?;
        let keys: Vec<String> = redis::cmd("KEYS").arg("*").query_async(&mut conn).await.context("KEYS")?;
        let mut sizes = Vec::with_capacity(keys.len());
        for key in keys {
            let bytes: Option<u64> =
                redis::cmd("MEMORY").arg("USAGE").arg(&key).query_async(&mut conn).await.context("MEMORY USAGE")?;
            sizes.push((key, bytes.unwrap_or(0)));
        }
        sizes.sort_by_key(|(_, bytes)| std::cmp::Reverse(*bytes));
        sizes.truncate(n);
        Ok(sizes)
    }

    /// The updaters' committed and retried transactions so far (their `/metrics`).
    pub(crate) async fn updater_transactions(&self) -> crate::report::Transactions {
        let ports: Vec<u16> = self.updaters.iter().map(|w| w.http_port).collect();
        crate::report::Transactions {
            committed: crate::truth::counter_sum(&ports, "ek_updater_transactions_total").await,
            retried: crate::truth::counter_sum(&ports, "ek_updater_transaction_retries_total").await,
        }
    }

    /// Redis `used_memory` in bytes (INFO memory).
    pub(crate) async fn redis_used_memory(&self) -> anyhow::Result<u64> {
        let client = redis::Client::open(self.redis.url()).context("Redis URL")?;
        let mut conn = client.get_multiplexed_async_connection().await.context("connecting to Redis")?;
        let info: String = redis::cmd("INFO").arg("memory").query_async(&mut conn).await.context("INFO memory")?;
        info.lines()
            .find_map(|line| line.strip_prefix("used_memory:"))
            .and_then(|v| v.trim().parse().ok())
            .context("no used_memory in INFO memory")
    }

    /// Starts the servers and the sim; the workers follow once the config is written.
    pub(crate) async fn start_servers(settings: &Settings, bin_dir: PathBuf, log_dir: PathBuf) -> anyhow::Result<Self> {
        let redis = RedisServer::start();
        let mongo = match settings.mongo_storage {
            MongoStorage::Disk => MongoServer::start_on_disk(),
            MongoStorage::Memory => MongoServer::start(),
        };
        let (sim, sim_client) = start_sim(settings, &bin_dir, &log_dir).await?;
        Ok(Self { redis, mongo, sim, sim_client, crawlers: Vec::new(), updaters: Vec::new(), bin_dir, log_dir })
    }

    /// Starts the updaters and the crawlers and waits until each says it is ready.
    pub(crate) async fn start_workers(&mut self, settings: &Settings) -> anyhow::Result<()> {
        for i in 1..=settings.updaters {
            let worker = self.spawn_worker("updater-worker", &format!("updater-{i}"), &[])?;
            self.updaters.push(worker);
        }
        let concurrency = settings.concurrency.to_string();
        for i in 1..=settings.crawlers {
            let extra = [("EK_CONCURRENCY", concurrency.as_str()), ("RUST_LOG", "info,ek::job=debug")];
            let worker = self.spawn_worker("crawler-worker", &format!("crawler-{i}"), &extra)?;
            self.crawlers.push(worker);
        }
        let client = reqwest::Client::builder().no_proxy().build().context("HTTP client")?;
        for worker in self.updaters.iter_mut().chain(self.crawlers.iter_mut()) {
            wait_worker_ready(&client, worker).await?;
        }
        Ok(())
    }

    fn spawn_worker(&self, binary: &str, name: &str, extra: &[(&str, &str)]) -> anyhow::Result<Worker> {
        let http_port = free_port();
        let log = self.log_dir.join(format!("{name}.log"));
        let mut cmd = self.command(binary);
        cmd.arg("run")
            .env("EK_HTTP_ADDR", format!("127.0.0.1:{http_port}"))
            .env("EK_CONSUMER_NAME", name)
            .env("EK_LOG_FORMAT", "json")
            .envs(extra.iter().copied());
        let child = Child::spawn(cmd, &log).map_err(anyhow::Error::msg)?;
        Ok(Worker { child, log, http_port })
    }

    /// A command for one of our binaries with a clean environment: only what the run needs.
    pub(crate) fn command(&self, binary: &str) -> Command {
        let mut cmd = Command::new(self.bin_dir.join(binary));
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("REDIS_URL", self.redis.url())
            .env("MONGODB_URI", self.mongo.uri())
            .current_dir(&self.log_dir);
        cmd
    }

    /// Stops the workers (SIGTERM, all at once, each with its drain limit) and the sim;
    /// Redis and SecantusDB stop when the stack is dropped.
    pub(crate) async fn stop(self) {
        let workers = self.crawlers.into_iter().chain(self.updaters).map(|w| w.child);
        let stops: Vec<_> = workers
            .chain(std::iter::once(self.sim))
            .map(|child| tokio::task::spawn_blocking(move || child.terminate_and_wait(STOP_GRACE)))
            .collect();
        for stop in stops {
            let _ = stop.await;
        }
        drop(self.redis);
        drop(self.mongo);
    }
}

async fn start_sim(settings: &Settings, bin_dir: &Path, log_dir: &Path) -> anyhow::Result<(Child, SimClient)> {
    let port = free_port();
    let latency = settings.latency.sim_spec(settings.mean_latency, settings.longtail_sigma, settings.longtail_cap);
    let mut cmd = Command::new(bin_dir.join("danawa-sim"));
    cmd.env_clear()
        .arg("serve")
        .args(["--addr", &format!("127.0.0.1:{port}")])
        .args(["--products", &settings.products.to_string()])
        .args(["--max-variants", &settings.max_variants.to_string()])
        .args(["--latency", &latency])
        // Room for every request of the run, so the log covers all of them.
        .args(["--log-capacity", "1000000"])
        .args(settings.sim_args.iter().filter(|a| !a.is_empty()));
    let child = Child::spawn(cmd, &log_dir.join("danawa-sim.log")).map_err(anyhow::Error::msg)?;
    let client = SimClient::new(format!("http://127.0.0.1:{port}"))?;
    client.wait_ready(START_LIMIT).await.with_context(|| format!("danawa-sim --latency {latency}"))?;
    Ok((child, client))
}

async fn wait_worker_ready(client: &reqwest::Client, worker: &mut Worker) -> anyhow::Result<()> {
    let url = format!("http://127.0.0.1:{}/readyz", worker.http_port);
    let deadline = Instant::now() + START_LIMIT;
    while Instant::now() < deadline {
        if worker.child.has_exited() {
            bail!("{} exited during start-up: see {}", worker.child.pid(), worker.log.display());
        }
        if client.get(&url).send().await.is_ok_and(|r| r.status().is_success()) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("worker {} not ready within {START_LIMIT:?}: see {}", worker.child.pid(), worker.log.display())
}
