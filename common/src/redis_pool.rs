//! The Redis connection pool every process uses, one type over the three ways Redis is run —
//! a single node, a primary watched by Sentinels, a Cluster — so the rest of the code holds a
//! [`Pool`] and a [`Connection`] (a [`redis::aio::ConnectionLike`]) and never asks which.
//!
//! The pool hands out a connection for the exclusive use of one task: a blocking
//! `XREADGROUP` must not hold up commands pipelined behind it on a shared connection.
//!
//! - **single:** deadpool-redis's own manager over one URL, exactly as before.
//! - **sentinel:** each new connection asks the Sentinels for the primary (redis-rs checks
//!   its `ROLE`); a pooled connection is handed out again only while its node still says
//!   `master`, so after a failover the pool drops connections to the old primary, whether it
//!   died or came back as a replica.
//! - **cluster:** redis-rs's cluster connection routes each command (and each script call,
//!   by its first key) to the slot owner, follows `MOVED`/`ASK` and re-reads the slot map
//!   when a node fails; `SCRIPT LOAD` goes to every primary. It does not follow `MOVED` for a
//!   transaction (`MULTI`/`EXEC` pipelines) and keeps its stale slot map then, so a connection
//!   that saw an error of the topology is not handed out again: its successor reads the map
//!   afresh.
//!
//! deadpool-redis's own Sentinel and Cluster managers take no response timeout (redis-rs's
//! default would cut blocking reads off), hence the manager here.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use deadpool::managed::{self, Metrics, RecycleError, RecycleResult};
use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType};
use redis::{AsyncConnectionConfig, ConnectionAddr, RedisError};

use crate::secret::{Secret, SecretUrl};

/// Longest wait for one answer. It must exceed the longest blocking read (`XREADGROUP BLOCK`
/// in the consumer loop): redis-rs's default of 500 ms would cut those reads off, and an
/// entry delivered to a read the client gave up on would sit pending until reclaimed.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

pub type Pool = managed::Pool<Manager, Connection>;
pub type PoolError = managed::PoolError<RedisError>;

/// Where Redis is and how to log in: what the settings resolve to (see
/// [`crate::settings::RedisSettings`]). `Display` shows no password.
#[derive(Clone, PartialEq, Eq)]
pub enum Target {
    /// One node, its password in the URL.
    Single(SecretUrl),
    /// The primary of `master` as the Sentinels report it.
    Sentinel {
        sentinels: Vec<NodeAddress>,
        master: String,
        password: Option<Secret>,
        sentinel_password: Option<Secret>,
    },
    /// A Cluster, found from any of its seed nodes.
    Cluster { nodes: Vec<NodeAddress>, password: Option<Secret> },
}

impl Target {
    /// Whether Redis itself is reached with a password (production requires one).
    pub fn has_credentials(&self) -> bool {
        match self {
            Self::Single(url) => url.has_credentials(),
            Self::Sentinel { password, .. } | Self::Cluster { password, .. } => {
                password.as_ref().is_some_and(|p| !p.expose().is_empty())
            }
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |nodes: &[NodeAddress]| nodes.iter().map(ToString::to_string).collect::<Vec<_>>().join(",");
        let secret = |p: &Option<Secret>| if p.is_some() { "***" } else { "none" };
        match self {
            Self::Single(url) => write!(f, "{url}"),
            Self::Sentinel { sentinels, master, password, sentinel_password } => write!(
                f,
                "sentinel master {master} via {} (password {}, sentinel password {})",
                list(sentinels),
                secret(password),
                secret(sentinel_password)
            ),
            Self::Cluster { nodes, password } => {
                write!(f, "cluster via {} (password {})", list(nodes), secret(password))
            }
        }
    }
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Target({self})")
    }
}

/// `host:port` of a Sentinel or a Cluster seed node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeAddress {
    pub host: String,
    pub port: u16,
}

impl FromStr for NodeAddress {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (host, port) = s.rsplit_once(':').ok_or_else(|| format!("{s:?} is not host:port"))?;
        let port = port.parse().map_err(|_| format!("{s:?}: the port is not a number"))?;
        if host.is_empty() {
            return Err(format!("{s:?} has no host"));
        }
        Ok(Self { host: host.trim_start_matches('[').trim_end_matches(']').to_owned(), port })
    }
}

impl fmt::Display for NodeAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Builds a pool; it connects lazily, so an unreachable Redis is reported by the first use
/// (and retried by the caller), never by a crash here.
///
/// # Errors
/// When the target cannot be a Redis address (a URL that is not a Redis URL).
pub fn pool(target: &Target, max_size: usize) -> Result<Pool, RedisError> {
    let config = AsyncConnectionConfig::new()
        .set_response_timeout(Some(RESPONSE_TIMEOUT))
        .set_connection_timeout(Some(CONNECT_TIMEOUT));
    let kind = match target {
        Target::Single(url) => Kind::Single(deadpool_redis::Manager::new_with_config(url.expose(), config)?),
        Target::Sentinel { sentinels, master, password, sentinel_password } => {
            let addrs = sentinels.iter().map(|n| ConnectionAddr::Tcp(n.host.clone(), n.port));
            let mut builder = SentinelClientBuilder::new(addrs, master, SentinelServerType::Master)?;
            if let Some(password) = password {
                builder = builder.set_client_to_redis_password(password.expose());
            }
            if let Some(password) = sentinel_password {
                builder = builder.set_client_to_sentinel_password(password.expose());
            }
            Kind::Sentinel { client: tokio::sync::Mutex::new(builder.build()?), config }
        }
        Target::Cluster { nodes, password } => {
            let seeds = nodes.iter().map(|n| (n.host.clone(), n.port));
            let mut builder =
                ClusterClient::builder(seeds).connection_timeout(CONNECT_TIMEOUT).response_timeout(RESPONSE_TIMEOUT);
            if let Some(password) = password {
                builder = builder.password(password.expose());
            }
            Kind::Cluster(builder.build()?)
        }
    };
    managed::Pool::builder(Manager { kind })
        .max_size(max_size)
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .map_err(|e| RedisError::from((redis::ErrorKind::InvalidClientConfig, "connection pool", e.to_string())))
}

/// The pool's error as a Redis error: the backend's own error, or the pool's (a timeout) as
/// an I/O error, which the callers' retry treats as an outage.
pub fn pool_error(e: PoolError) -> RedisError {
    match e {
        PoolError::Backend(e) => e,
        other => RedisError::from((redis::ErrorKind::Io, "connection pool", other.to_string())),
    }
}

/// Creates and checks the connections of one [`Target`].
pub struct Manager {
    kind: Kind,
}

enum Kind {
    Single(deadpool_redis::Manager),
    // redis-rs's Sentinel client keeps a cache of Sentinel connections behind `&mut self`.
    Sentinel { client: tokio::sync::Mutex<SentinelClient>, config: AsyncConnectionConfig },
    Cluster(ClusterClient),
}

impl fmt::Debug for Manager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            Kind::Single(_) => "single",
            Kind::Sentinel { .. } => "sentinel",
            Kind::Cluster(_) => "cluster",
        };
        f.debug_struct("Manager").field("kind", &kind).finish_non_exhaustive()
    }
}

/// A connection to one node (single, or the Sentinels' primary) or to a whole Cluster.
pub enum RedisConnection {
    Node(MultiplexedConnection),
    /// `stale`: an answer said the slot map or a node changed (see [`topology_changed`]).
    Cluster {
        conn: ClusterConnection,
        stale: bool,
    },
}

/// Errors after which a cluster connection's view of the slots may be wrong: connection
/// failures, redirects and a transaction aborted (by a redirect, as redis-rs reports it).
fn topology_changed(e: &RedisError) -> bool {
    use redis::{ErrorKind::Server, ServerErrorKind as S};
    e.is_io_error()
        || e.is_connection_dropped()
        || e.is_timeout()
        || matches!(
            e.kind(),
            Server(S::Moved | S::Ask | S::TryAgain | S::ClusterDown | S::MasterDown | S::ReadOnly | S::ExecAbort)
        )
}

impl fmt::Debug for RedisConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Node(_) => "RedisConnection::Node",
            Self::Cluster { .. } => "RedisConnection::Cluster",
        })
    }
}

impl managed::Manager for Manager {
    type Type = RedisConnection;
    type Error = RedisError;

    async fn create(&self) -> Result<RedisConnection, RedisError> {
        Ok(match &self.kind {
            Kind::Single(manager) => RedisConnection::Node(managed::Manager::create(manager).await?),
            Kind::Sentinel { client, config } => {
                RedisConnection::Node(client.lock().await.get_async_connection_with_config(config).await?)
            }
            Kind::Cluster(client) => {
                RedisConnection::Cluster { conn: client.get_async_connection().await?, stale: false }
            }
        })
    }

    async fn recycle(&self, conn: &mut RedisConnection, metrics: &Metrics) -> RecycleResult<RedisError> {
        match (conn, &self.kind) {
            (RedisConnection::Node(conn), Kind::Single(manager)) => {
                managed::Manager::recycle(manager, conn, metrics).await
            }
            (RedisConnection::Node(conn), _) => {
                // ROLE where a single node's manager sends PING: one round trip either way, and
                // a demoted primary (it answers PING, refuses writes) is dropped.
                let (role,): (Vec<redis::Value>,) =
                    redis::pipe().cmd("UNWATCH").ignore().cmd("ROLE").query_async(conn).await?;
                match role.first() {
                    Some(redis::Value::BulkString(r)) if r == b"master" => Ok(()),
                    _ => Err(RecycleError::message("no longer the primary")),
                }
            }
            // Otherwise the cluster connection reconnects and re-reads the slot map itself; a
            // PING here would go to every node and fail the whole connection for one dead node.
            (RedisConnection::Cluster { stale: true, .. }, _) => Err(RecycleError::message("the slot map changed")),
            (RedisConnection::Cluster { stale: false, .. }, _) => Ok(()),
        }
    }
}

/// A pooled connection; returns to the pool when dropped.
pub struct Connection {
    conn: managed::Object<Manager>,
}

impl From<managed::Object<Manager>> for Connection {
    fn from(conn: managed::Object<Manager>) -> Self {
        Self { conn }
    }
}

impl ConnectionLike for RedisConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a redis::Cmd) -> redis::RedisFuture<'a, redis::Value> {
        match self {
            Self::Node(c) => c.req_packed_command(cmd),
            Self::Cluster { conn, stale } => Box::pin(async move {
                let reply = conn.req_packed_command(cmd).await;
                *stale |= reply.as_ref().is_err_and(topology_changed);
                reply
            }),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<redis::Value>> {
        match self {
            Self::Node(c) => c.req_packed_commands(cmd, offset, count),
            Self::Cluster { conn, stale } => Box::pin(async move {
                let reply = conn.req_packed_commands(cmd, offset, count).await;
                *stale |= reply.as_ref().is_err_and(topology_changed);
                reply
            }),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Node(c) => c.get_db(),
            Self::Cluster { conn, .. } => conn.get_db(),
        }
    }
}

impl Connection {
    /// Runs a command about the node itself (`INFO`, `WAIT`), which names no key, on the
    /// primary that holds `key`: a Cluster would otherwise send it to every node (or any).
    ///
    /// # Errors
    /// Redis errors, or a reply that is not a `T`.
    pub async fn query_on_owner_of<T: redis::FromRedisValue>(
        &mut self,
        key: &str,
        cmd: &redis::Cmd,
    ) -> redis::RedisResult<T> {
        match &mut *self.conn {
            RedisConnection::Node(conn) => cmd.query_async(conn).await,
            RedisConnection::Cluster { conn, stale } => {
                use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
                let route = SingleNodeRoutingInfo::SpecificNode(Route::with_key(key, SlotAddr::Master));
                let value = conn.route_command(cmd.clone(), RoutingInfo::SingleNode(route)).await;
                *stale |= value.as_ref().is_err_and(topology_changed);
                Ok(redis::from_redis_value(value?)?)
            }
        }
    }
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a redis::Cmd) -> redis::RedisFuture<'a, redis::Value> {
        self.conn.req_packed_command(cmd)
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<redis::Value>> {
        self.conn.req_packed_commands(cmd, offset, count)
    }

    fn get_db(&self) -> i64 {
        self.conn.get_db()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_addresses_parse_and_show_back() {
        let a: NodeAddress = "10.0.0.1:26379".parse().expect("address");
        assert_eq!((a.host.as_str(), a.port), ("10.0.0.1", 26379));
        assert_eq!(a.to_string(), "10.0.0.1:26379");
        let v6: NodeAddress = "[::1]:7000".parse().expect("address");
        assert_eq!((v6.host.as_str(), v6.to_string().as_str()), ("::1", "[::1]:7000"));
        for bad in ["redis-0", ":6379", "h:port", "h:70000"] {
            assert!(bad.parse::<NodeAddress>().is_err(), "{bad}");
        }
    }

    #[test]
    fn targets_show_no_password() {
        let pw: Secret = "hunter2".parse().expect("secret");
        let nodes = vec!["r1:7000".parse().expect("address")];
        let sentinel = Target::Sentinel {
            sentinels: nodes.clone(),
            master: "mymaster".into(),
            password: Some(pw.clone()),
            sentinel_password: None,
        };
        let cluster = Target::Cluster { nodes, password: Some(pw) };
        for target in [&sentinel, &cluster] {
            assert!(target.has_credentials());
            for shown in [target.to_string(), format!("{target:?}")] {
                assert!(!shown.contains("hunter2") && shown.contains("r1:7000"), "{shown}");
            }
        }
        assert!(!Target::Cluster { nodes: vec![], password: None }.has_credentials());
    }
}
