//! Redis run highly available, for the tests: a primary and a replica watched by three
//! Sentinels, and a Cluster of three primaries with a replica each — real `redis-server`s on
//! free loopback ports, with passwords — and [`Redis`], the handle an end-to-end test holds
//! whichever way Redis runs. `fail_over` kills a primary and returns once its replica has
//! taken over; the killed node then comes back (as a replica), as a restarted pod would.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::{find_program, random_token, start_on_free_port, wait_until, Child, RedisServer, TempDir};

/// The name the Sentinels monitor the primary under; not the default `mymaster`, so a
/// client that ignores its master-name setting fails.
pub const SENTINEL_MASTER: &str = "ek-primary";
/// How long a node may be silent before Sentinels or Cluster peers call it down: short, so a
/// failover takes a few seconds.
const DOWN_AFTER_MS: u64 = 1000;
const FAILOVER_TIMEOUT: Duration = Duration::from_secs(60);

/// The Redis of a test, in any of the three modes.
pub enum Redis {
    Single(RedisServer),
    Sentinel(RedisSentinel),
    Cluster(RedisCluster),
}

impl Redis {
    /// The environment a process needs to reach this Redis: `REDIS_MODE` and its settings.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        match self {
            Self::Single(server) => vec![("REDIS_MODE", "single".into()), ("REDIS_URL", server.url())],
            Self::Sentinel(s) => s.env(),
            Self::Cluster(c) => c.env(),
        }
    }

    /// The Redis password (no log line may show it).
    pub fn password(&self) -> &str {
        match self {
            Self::Single(server) => server.password(),
            Self::Sentinel(s) => &s.password,
            Self::Cluster(c) => &c.password,
        }
    }
}

/// A primary and one replica, watched by three Sentinels (quorum 2), each with a password.
pub struct RedisSentinel {
    /// The two data nodes; which one is the primary changes with each failover.
    nodes: Vec<RedisServer>,
    sentinels: Vec<Sentinel>,
    password: String,
    sentinel_password: String,
}

struct Sentinel {
    _child: Child,
    port: u16,
    _dir: TempDir,
}

impl RedisSentinel {
    /// Starts the primary, its replica and the Sentinels, and returns once the Sentinels know
    /// each other and the replica (a failover needs both) and the replica is in sync.
    pub fn start() -> Self {
        let password = random_token();
        let sentinel_password = random_token();
        // masterauth on both: either may be the replica after a failover.
        let auth = |_| vec!["--masterauth".to_owned(), password.clone()];
        let primary = RedisServer::start_with(&password, auth);
        let primary_port = primary.port();
        let replica = RedisServer::start_with(&password, |port| {
            let mut args = auth(port);
            args.extend(["--replicaof".to_owned(), "127.0.0.1".to_owned(), primary_port.to_string()]);
            args
        });
        let sentinels = (0..3).map(|_| Sentinel::start(primary_port, &password, &sentinel_password)).collect();
        let set = Self { nodes: vec![primary, replica], sentinels, password, sentinel_password };
        wait_for("the replica to sync", || in_sync(set.replica_port(), &set.password));
        for sentinel in &set.sentinels {
            wait_for("the Sentinels to know each other and the replica", || {
                let info = set.sentinel_cli(sentinel.port, &["SENTINEL", "MASTER", SENTINEL_MASTER]).ok()?;
                let field = |name: &str| info.lines().skip_while(|l| *l != name).nth(1).map(str::to_owned);
                (field("num-other-sentinels")? == "2" && field("num-slaves")? == "1").then_some(())
            });
        }
        set
    }

    pub fn env(&self) -> Vec<(&'static str, String)> {
        let sentinels = self.sentinels.iter().map(|s| format!("127.0.0.1:{}", s.port)).collect::<Vec<_>>().join(",");
        vec![
            ("REDIS_MODE", "sentinel".into()),
            ("REDIS_SENTINELS", sentinels),
            ("REDIS_SENTINEL_MASTER", SENTINEL_MASTER.into()),
            ("REDIS_PASSWORD", self.password.clone()),
            ("REDIS_SENTINEL_PASSWORD", self.sentinel_password.clone()),
        ]
    }

    /// The primary's port as the first Sentinel reports it.
    pub fn primary_port(&self) -> u16 {
        self.reported_primary(self.sentinels[0].port).expect("the Sentinel names a primary")
    }

    /// Kills the primary, waits until every Sentinel names the replica instead and it takes
    /// writes, then starts the killed node again (the Sentinels make it a replica). Returns the
    /// time from the kill to the promotion.
    pub fn fail_over(&mut self) -> Duration {
        let old = self.primary_port();
        let at = self.nodes.iter().position(|n| n.port() == old).expect("the primary is one of ours");
        let killed = Instant::now();
        self.nodes[at].stop();
        for sentinel in &self.sentinels {
            wait_for("the Sentinels to promote the replica", || {
                self.reported_primary(sentinel.port).filter(|p| *p != old).map(drop)
            });
        }
        let new = self.primary_port();
        wait_for("the new primary to take writes", || role(new, &self.password).filter(|r| r == "master").map(drop));
        let took = killed.elapsed();
        self.nodes[at].restart();
        wait_for("the old primary to rejoin as a replica", || in_sync(old, &self.password));
        took
    }

    /// A planned failover (`SENTINEL FAILOVER`): the primary stays up and becomes a replica,
    /// so connections to it stay open and its writes are refused (`READONLY`). Returns once
    /// every Sentinel names the other node and the old primary is in sync as its replica.
    pub fn switch_over(&mut self) {
        let old = self.primary_port();
        self.sentinel_cli(self.sentinels[0].port, &["SENTINEL", "FAILOVER", SENTINEL_MASTER])
            .expect("SENTINEL FAILOVER");
        for sentinel in &self.sentinels {
            wait_for("the Sentinels to name the new primary", || {
                self.reported_primary(sentinel.port).filter(|p| *p != old).map(drop)
            });
        }
        wait_for("the old primary to follow the new one", || in_sync(old, &self.password));
    }

    fn replica_port(&self) -> u16 {
        let primary = self.primary_port();
        self.nodes.iter().map(RedisServer::port).find(|p| *p != primary).expect("two nodes")
    }

    fn reported_primary(&self, sentinel: u16) -> Option<u16> {
        let reply = self.sentinel_cli(sentinel, &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", SENTINEL_MASTER]).ok()?;
        reply.lines().nth(1)?.trim().parse().ok()
    }

    fn sentinel_cli(&self, port: u16, args: &[&str]) -> Result<String, String> {
        cli(port, &self.sentinel_password, args)
    }
}

impl Sentinel {
    fn start(primary_port: u16, password: &str, sentinel_password: &str) -> Self {
        let dir = TempDir::new("sentinel");
        let (child, port) = start_on_free_port("redis-sentinel", dir.path(), |port| {
            // A Sentinel rewrites its config file: each gets its own, in its own directory.
            let conf = dir.path().join("sentinel.conf");
            std::fs::write(&conf, sentinel_conf(port, primary_port, password, sentinel_password, dir.path()))
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", conf.display()));
            let mut cmd = std::process::Command::new(find_program("redis-server", "EK_REDIS_SERVER", &[]));
            cmd.arg(&conf).arg("--sentinel");
            cmd
        });
        wait_until("redis-sentinel", port, || cli(port, sentinel_password, &["PING"]).ok().map(drop));
        Self { _child: child, port, _dir: dir }
    }
}

fn sentinel_conf(port: u16, primary_port: u16, password: &str, sentinel_password: &str, dir: &Path) -> String {
    format!(
        "port {port}\nbind 127.0.0.1\ndir {dir}\nrequirepass {sentinel_password}\nsentinel sentinel-pass {sentinel_password}\n\
         sentinel monitor {SENTINEL_MASTER} 127.0.0.1 {primary_port} 2\nsentinel auth-pass {SENTINEL_MASTER} {password}\n\
         sentinel down-after-milliseconds {SENTINEL_MASTER} {DOWN_AFTER_MS}\n\
         sentinel failover-timeout {SENTINEL_MASTER} 10000\nsentinel parallel-syncs {SENTINEL_MASTER} 1\n",
        dir = dir.display()
    )
}

/// Three primaries with a replica each (`redis-cli --cluster create --cluster-replicas 1`),
/// one password for clients and for the replicas.
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
    password: String,
}

impl RedisCluster {
    /// Starts six nodes, joins them into a Cluster and returns once every node sees all slots
    /// served and every replica is in sync.
    pub fn start() -> Self {
        let password = random_token();
        let nodes: Vec<RedisServer> = (0..6)
            .map(|_| {
                RedisServer::start_with(&password, |_| {
                    // The bus port would default to port + 10000, which may be taken (or past 65535).
                    let bus = crate::free_port().to_string();
                    ["--cluster-enabled", "yes", "--cluster-port", &bus, "--cluster-node-timeout"]
                        .iter()
                        .map(|s| (*s).to_owned())
                        .chain([DOWN_AFTER_MS.to_string(), "--masterauth".into(), password.clone()])
                        .chain(["--cluster-config-file".into(), "nodes.conf".into()])
                        .collect()
                })
            })
            .collect();
        let addrs: Vec<String> = nodes.iter().map(|n| format!("127.0.0.1:{}", n.port())).collect();
        let mut create = std::process::Command::new(find_program("redis-cli", "EK_REDIS_CLI", &[]));
        create.args(["--no-auth-warning", "-a", &password, "--cluster", "create"]).args(&addrs);
        create.args(["--cluster-replicas", "1", "--cluster-yes"]);
        let out = create.output().unwrap_or_else(|e| panic!("redis-cli --cluster create: {e}"));
        assert!(out.status.success(), "redis-cli --cluster create: {}", String::from_utf8_lossy(&out.stdout));
        let cluster = Self { nodes, password };
        cluster.wait_healthy(None);
        cluster
    }

    pub fn env(&self) -> Vec<(&'static str, String)> {
        let seeds = self.nodes.iter().map(|n| format!("127.0.0.1:{}", n.port())).collect::<Vec<_>>().join(",");
        vec![
            ("REDIS_MODE", "cluster".into()),
            ("REDIS_CLUSTER_NODES", seeds),
            ("REDIS_PASSWORD", self.password.clone()),
        ]
    }

    /// The port of the primary serving `key`'s hash slot.
    pub fn slot_owner(&self, key: &str) -> u16 {
        let any = self.nodes.iter().find(|n| role(n.port(), &self.password).is_some()).expect("a live node");
        let slot: u16 = cli(any.port(), &self.password, &["CLUSTER", "KEYSLOT", key])
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .expect("CLUSTER KEYSLOT");
        owner_of(&cli(any.port(), &self.password, &["CLUSTER", "NODES"]).unwrap_or_default(), slot)
            .expect("a primary serves the slot")
    }

    /// Kills the primary serving `key`, waits until its replica has taken the slots over and
    /// every live node agrees, then starts the killed node again (it rejoins as a replica).
    /// Returns the time from the kill to the cluster serving the slot again.
    pub fn fail_over(&mut self, key: &str) -> Duration {
        let old = self.slot_owner(key);
        let at = self.nodes.iter().position(|n| n.port() == old).expect("the owner is one of ours");
        let killed = Instant::now();
        self.nodes[at].stop();
        self.wait_healthy(Some(old));
        let took = killed.elapsed();
        self.nodes[at].restart();
        self.wait_healthy(None);
        took
    }

    /// Every node but `down` reports `cluster_state:ok`, a slot map without `down` as a
    /// primary, and (with every node up) every replica in sync.
    fn wait_healthy(&self, down: Option<u16>) {
        for node in self.nodes.iter().filter(|n| Some(n.port()) != down) {
            let port = node.port();
            wait_for("the Cluster to serve every slot", || {
                let info = cli(port, &self.password, &["CLUSTER", "INFO"]).ok()?;
                let nodes = cli(port, &self.password, &["CLUSTER", "NODES"]).ok()?;
                // Until the others agree it failed (`fail`, not the suspicion `fail?`) and its
                // replica is promoted, the killed node still holds its slots.
                let dead_primary = down.is_some_and(|d| {
                    nodes.lines().any(|l| {
                        let flags = l.split_whitespace().nth(2).unwrap_or("");
                        l.contains(&format!(":{d}@")) && has_flag(flags, "master") && !has_flag(flags, "fail")
                    })
                });
                (info.contains("cluster_state:ok") && !dead_primary).then_some(())
            });
            if down.is_none() && role(port, &self.password).as_deref() == Some("slave") {
                wait_for("the replicas to sync", || in_sync(port, &self.password));
            }
        }
    }
}

/// The primary serving `slot` in a `CLUSTER NODES` reply.
fn owner_of(nodes: &str, slot: u16) -> Option<u16> {
    nodes.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let serves = fields.get(8..)?.iter().any(|range| {
            let (from, to) = range.split_once('-').unwrap_or((range, range));
            matches!((from.parse::<u16>(), to.parse::<u16>()), (Ok(f), Ok(t)) if (f..=t).contains(&slot))
        });
        let flags = fields.get(2)?;
        if !serves || !has_flag(flags, "master") || has_flag(flags, "fail") {
            return None;
        }
        fields.get(1)?.split('@').next()?.rsplit(':').next()?.parse().ok()
    })
}

/// Whether a `CLUSTER NODES` flags field (`myself,master,fail?`) holds exactly `flag`.
fn has_flag(flags: &str, flag: &str) -> bool {
    flags.split(',').any(|f| f == flag)
}

/// `master` or `slave`, from `ROLE`; `None` when the node does not answer.
fn role(port: u16, password: &str) -> Option<String> {
    cli(port, password, &["ROLE"]).ok()?.lines().next().map(str::to_owned)
}

/// The node is a replica whose link to its primary is up.
fn in_sync(port: u16, password: &str) -> Option<()> {
    cli(port, password, &["INFO", "replication"]).ok()?.contains("master_link_status:up").then_some(())
}

/// One command through `redis-cli`; its reply as redis-cli prints it, one element a line.
fn cli(port: u16, password: &str, args: &[&str]) -> Result<String, String> {
    let out = std::process::Command::new(find_program("redis-cli", "EK_REDIS_CLI", &[]))
        .args(["--no-auth-warning", "-h", "127.0.0.1", "-p", &port.to_string(), "-a", password])
        .args(args)
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    // redis-cli exits 0 on error replies and on refused connections; both start like this.
    if !out.status.success() || text.starts_with("ERR") || text.starts_with("Could not connect") || text.is_empty() {
        return Err(format!("{text}{}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(text)
}

fn wait_for(what: &str, mut done: impl FnMut() -> Option<()>) {
    let deadline = Instant::now() + FAILOVER_TIMEOUT;
    while Instant::now() < deadline {
        if done().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("waited {FAILOVER_TIMEOUT:?} for {what}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slot_owner_is_read_from_cluster_nodes() {
        let nodes = "\
a1 127.0.0.1:7001@17001 myself,master - 0 0 1 connected 0-5460
b2 127.0.0.1:7002@17002 master,fail - 0 0 2 connected 5461-10922
c3 127.0.0.1:7003@17003 master - 0 0 3 connected 10923-16383 12000
d4 127.0.0.1:7004@17004 slave a1 0 0 1 connected";
        assert_eq!(owner_of(nodes, 0), Some(7001));
        assert_eq!(owner_of(nodes, 16383), Some(7003));
        assert_eq!(owner_of(nodes, 6000), None, "a failed primary serves nothing");
    }

    #[test]
    fn a_sentinel_set_fails_over_to_its_replica_and_takes_the_old_primary_back() {
        let mut set = RedisSentinel::start();
        let before = set.primary_port();
        set.fail_over();
        let after = set.primary_port();
        assert_ne!(before, after);
        assert_eq!(role(before, &set.password).as_deref(), Some("slave"), "the old primary is now a replica");
    }

    #[test]
    fn a_cluster_fails_over_the_slot_of_a_key() {
        let mut cluster = RedisCluster::start();
        let before = cluster.slot_owner("{ek}");
        cluster.fail_over("{ek}");
        let after = cluster.slot_owner("{ek}");
        assert_ne!(before, after);
        assert_eq!(role(before, &cluster.password).as_deref(), Some("slave"), "the old primary is now a replica");
    }
}
