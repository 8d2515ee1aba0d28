//! Dev-only test harness: starts a real `redis-server` (with `requirepass`) and a real
//! SecantusDB (`secantusd-py`, MongoDB wire protocol) on free loopback ports, waits until each
//! answers, and stops them when dropped; [`redis_ha`] adds a Sentinel-watched primary and a
//! Cluster made of such servers. Children are spawned by one long-lived thread with
//! `PR_SET_PDEATHSIG`, so they die with the test process even when it panics or is killed.
#![allow(unsafe_code)] // one `pre_exec` hook, to set the parent-death signal.

pub(crate) mod process;
pub mod redis_ha;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use process::Child;
pub use redis_ha::{Redis, RedisCluster, RedisSentinel};

const READY_TIMEOUT: Duration = Duration::from_secs(30);
const SETUP_HINT: &str = "run `make setup` (apt-get install redis-server redis-tools; SecantusDB into ./.venv)";

/// A `redis-server` with a random password, its data (append-only file) in a temp directory,
/// so a restart keeps the data as a production Redis would.
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    password: String,
    /// Arguments after the common ones (cluster or replication settings), kept for `restart`.
    extra: Vec<String>,
    dir: TempDir,
}

impl RedisServer {
    /// Starts a server; panics with one line saying what to install when it cannot.
    pub fn start() -> Self {
        Self::start_with(&random_token(), |_| Vec::new())
    }

    /// Starts a server with `password` and the arguments `extra` gives for its port.
    pub(crate) fn start_with(password: &str, extra: impl Fn(u16) -> Vec<String>) -> Self {
        let dir = TempDir::new("redis");
        // `extra` may pick ports of its own: keep the arguments of the attempt that started.
        let used = std::cell::RefCell::new(Vec::new());
        let (child, port) = start_on_free_port("redis-server", dir.path(), |port| {
            let program = find_program("redis-server", "EK_REDIS_SERVER", &[]);
            let mut cmd = std::process::Command::new(program);
            *used.borrow_mut() = extra(port);
            cmd.args(redis_args(port, password, dir.path())).args(used.borrow().iter());
            cmd
        });
        let server = Self { child: Some(child), port, password: password.to_owned(), extra: used.into_inner(), dir };
        server.wait_ready();
        server
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn password(&self) -> &str {
        &self.password
    }

    /// `redis://:PASSWORD@127.0.0.1:PORT/0`
    pub fn url(&self) -> String {
        format!("redis://:{}@127.0.0.1:{}/0", self.password, self.port)
    }

    pub fn url_without_password(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Stops the server (SIGKILL: the append-only file is fsynced on every write).
    pub fn stop(&mut self) {
        if let Some(child) = self.child.take() {
            child.kill_and_wait();
        }
    }

    /// Starts the server again on the same port with the same data.
    pub fn restart(&mut self) {
        self.stop();
        let program = find_program("redis-server", "EK_REDIS_SERVER", &[]);
        let mut cmd = std::process::Command::new(program);
        cmd.args(redis_args(self.port, &self.password, self.dir.path())).args(&self.extra);
        self.child =
            Some(Child::spawn(cmd, &self.dir.path().join("redis-server.log")).unwrap_or_else(|e| panic!("{e}")));
        self.wait_ready();
    }

    fn wait_ready(&self) {
        let hello = format!("AUTH {}\r\nPING\r\n", self.password);
        wait_until("redis-server", self.port, || {
            let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
            stream.set_read_timeout(Some(Duration::from_secs(1))).ok()?;
            stream.write_all(hello.as_bytes()).ok()?;
            let mut seen = String::new();
            let mut buf = [0u8; 256];
            while !seen.contains("+PONG") {
                let n = stream.read(&mut buf).ok().filter(|n| *n > 0)?;
                seen.push_str(&String::from_utf8_lossy(&buf[..n]));
            }
            Some(())
        });
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn redis_args(port: u16, password: &str, dir: &Path) -> Vec<String> {
    let dir = dir.display().to_string();
    [
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--requirepass",
        password,
        "--dir",
        &dir,
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--save",
        "",
        "--daemonize",
        "no",
        "--protected-mode",
        "yes",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

/// A SecantusDB server: in memory by default, or on a storage directory that survives a
/// stop and start (to test an outage).
pub struct MongoServer {
    child: Option<Child>,
    port: u16,
    storage: MongoStorage,
    dir: TempDir,
}

enum MongoStorage {
    Memory,
    Disk(PathBuf),
}

impl MongoServer {
    /// Starts an in-memory server (`--storage-path :memory:`).
    pub fn start() -> Self {
        Self::start_with(MongoStorage::Memory)
    }

    /// Starts a server whose data lives in a directory of its own, kept across `restart`.
    pub fn start_on_disk() -> Self {
        let data = TempDir::new("mongo-data");
        let path = data.path().to_path_buf();
        std::mem::forget(data); // removed with the server's own dir below
        Self::start_with(MongoStorage::Disk(path))
    }

    fn start_with(storage: MongoStorage) -> Self {
        let dir = TempDir::new("mongo");
        let storage_arg = match &storage {
            MongoStorage::Memory => ":memory:".to_owned(),
            MongoStorage::Disk(path) => path.display().to_string(),
        };
        let (child, port) =
            start_on_free_port("secantusd-py", dir.path(), |port| secantus_command(port, &storage_arg, dir.path()));
        let server = Self { child: Some(child), port, storage, dir };
        server.wait_ready();
        server
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A URI for the official driver: one node, addressed directly.
    pub fn uri(&self) -> String {
        format!("mongodb://127.0.0.1:{}/?directConnection=true", self.port)
    }

    pub fn stop(&mut self) {
        if let Some(child) = self.child.take() {
            let _ = child.terminate_and_wait(Duration::from_secs(10));
        }
    }

    /// Starts again on the same port (and the same storage, when on disk).
    pub fn restart(&mut self) {
        self.stop();
        let storage_arg = match &self.storage {
            MongoStorage::Memory => ":memory:".to_owned(),
            MongoStorage::Disk(path) => path.display().to_string(),
        };
        let cmd = secantus_command(self.port, &storage_arg, self.dir.path());
        self.child =
            Some(Child::spawn(cmd, &self.dir.path().join("secantusd-py.log")).unwrap_or_else(|e| panic!("{e}")));
        self.wait_ready();
    }

    fn wait_ready(&self) {
        wait_until("secantusd-py", self.port, || TcpStream::connect(("127.0.0.1", self.port)).ok().map(drop));
    }
}

impl Drop for MongoServer {
    fn drop(&mut self) {
        self.stop();
        if let MongoStorage::Disk(path) = &self.storage {
            let _ = std::fs::remove_dir_all(path);
        }
    }
}

fn secantus_command(port: u16, storage: &str, dir: &Path) -> std::process::Command {
    let venv = workspace_root().join(".venv/bin");
    let program = find_program("secantusd-py", "EK_SECANTUSD", &[venv]);
    let mut cmd = std::process::Command::new(program);
    cmd.args(["--host", "127.0.0.1", "--port", &port.to_string(), "--storage-path", storage]);
    cmd.args(["--log-level", "WARNING", "--enable-test-commands"]);
    cmd.current_dir(dir); // it looks for ./secantusd.toml: keep it away from the repo's
    cmd
}

/// The Cargo workspace root (the parent of this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

/// Finds a program: an env var override, then `extra_dirs`, then `PATH`.
pub(crate) fn find_program(name: &str, env_var: &str, extra_dirs: &[PathBuf]) -> PathBuf {
    if let Some(path) = std::env::var_os(env_var) {
        return PathBuf::from(path);
    }
    let path_dirs = std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect::<Vec<_>>()).unwrap_or_default();
    extra_dirs
        .iter()
        .chain(path_dirs.iter())
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("{name} not found: {SETUP_HINT}"))
}

/// Picks a free port and starts the server on it; tries again on another port if the server
/// exits at once (another process took the port in between).
pub(crate) fn start_on_free_port(
    name: &str,
    log_dir: &Path,
    command: impl Fn(u16) -> std::process::Command,
) -> (Child, u16) {
    let mut last_error = String::new();
    for _ in 0..5 {
        let port = free_port();
        let log = log_dir.join(format!("{name}.log"));
        match Child::spawn(command(port), &log) {
            Ok(mut child) => {
                std::thread::sleep(Duration::from_millis(50));
                if child.has_exited() {
                    last_error = std::fs::read_to_string(&log).unwrap_or_default();
                    continue;
                }
                return (child, port);
            }
            Err(e) => last_error = e.to_string(),
        }
    }
    panic!("{name} did not start: {}", last_error.trim());
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free loopback port: {e}"))
}

pub(crate) fn wait_until(name: &str, port: u16, mut ready: impl FnMut() -> Option<()>) {
    let deadline = Instant::now() + READY_TIMEOUT;
    while Instant::now() < deadline {
        if ready().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("{name} on port {port} did not answer within {READY_TIMEOUT:?}");
}

pub(crate) fn random_token() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..24).map(|_| char::from(rng.sample(rand::distributions::Alphanumeric))).collect()
}

/// A directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(label: &str) -> Self {
        let path = std::env::temp_dir().join(format!("ek-test-{label}-{}-{}", std::process::id(), random_token()));
        std::fs::create_dir_all(&path).unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        Self(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
