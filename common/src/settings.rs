//! Settings every binary shares (Redis, MongoDB, stream prefix, log format), parsed once at
//! start-up by clap from flags or environment variables. Defaults live here and nowhere else.
//!
//! Redis is reached one of three ways, named by `--redis-mode` (`REDIS_MODE`):
//!
//! | mode | settings |
//! | --- | --- |
//! | `single` (default) | `REDIS_URL` (its password in the URL, or `REDIS_PASSWORD`) |
//! | `sentinel` | `REDIS_SENTINELS` (host:port,...), `REDIS_SENTINEL_MASTER`, `REDIS_PASSWORD`, `REDIS_SENTINEL_PASSWORD` |
//! | `cluster` | `REDIS_CLUSTER_NODES` (seed host:port,...), `REDIS_PASSWORD` |
//!
//! A setting of another mode is refused rather than ignored: it usually means the mode is
//! wrong, and a single-node client pointed at a Cluster would fail only later, on `MOVED`.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::consumer::{self, ConsumerSettings};
use crate::keys::Keys;
use crate::redis_pool::{NodeAddress, Target};
use crate::secret::{Secret, SecretUrl};

pub const DEFAULT_MONGODB_DB: &str = "electrokerot";
pub const DEFAULT_STREAM_PREFIX: &str = "ek";
/// How long a run's keys (counters, dedupe sets, list fingerprints, item claims) live after
/// their last write or the run's end.
pub const DEFAULT_KEEP_FOR: &str = "7d";
/// The master name of Redis's example `sentinel.conf` and of the common Helm charts.
pub const DEFAULT_SENTINEL_MASTER: &str = "mymaster";

#[derive(Debug, Clone, Args)]
pub struct CommonSettings {
    #[command(flatten)]
    pub redis: RedisSettings,

    /// MongoDB connection string (a replica set: the updater writes in transactions).
    #[arg(long, env = "MONGODB_URI", hide_env_values = true)]
    pub mongodb_uri: Option<SecretUrl>,

    /// MongoDB database holding the `parts` collection.
    #[arg(long, env = "MONGODB_DB", default_value = DEFAULT_MONGODB_DB)]
    pub mongodb_db: String,

    /// Prefix of every Redis key; keys are `{prefix}:...` (one Cluster hash slot).
    #[arg(long, env = "EK_STREAM_PREFIX", default_value = DEFAULT_STREAM_PREFIX)]
    pub stream_prefix: String,

    /// Log lines for people (text) or for log collectors (json).
    #[arg(long, env = "EK_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// How long a run's counters are kept after the run ends, and its dedupe sets, list
    /// fingerprints and item claims when some list work was dead-lettered (a retry needs
    /// them; otherwise they go when the run ends); a worker's write keeps them at least this
    /// long from then.
    #[arg(long, env = "EK_RUN_KEEP_FOR", value_parser = humantime::parse_duration, default_value = DEFAULT_KEEP_FOR)]
    pub keep_for: Duration,
}

impl CommonSettings {
    pub fn keys(&self) -> Keys {
        Keys::new(&self.stream_prefix)
    }
}

/// How to reach Redis; [`RedisSettings::target`] checks them against the mode.
#[derive(Debug, Clone, Default, Args)]
pub struct RedisSettings {
    /// How Redis is run: one node, a primary with replicas watched by Sentinels, or a Cluster.
    #[arg(long, env = "REDIS_MODE", value_enum, default_value_t = RedisMode::Single)]
    pub redis_mode: RedisMode,

    /// single: Redis URL, e.g. redis://:PASSWORD@127.0.0.1:6379/0.
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<SecretUrl>,

    /// sentinel: the Sentinels, host:port separated by commas.
    #[arg(long, env = "REDIS_SENTINELS", value_delimiter = ',')]
    pub redis_sentinels: Vec<NodeAddress>,

    /// sentinel: the name the Sentinels monitor the primary under.
    #[arg(long, env = "REDIS_SENTINEL_MASTER", default_value = DEFAULT_SENTINEL_MASTER)]
    pub redis_sentinel_master: String,

    /// sentinel: the Sentinels' own password (`requirepass` in sentinel.conf), if any.
    #[arg(long, env = "REDIS_SENTINEL_PASSWORD", hide_env_values = true)]
    pub redis_sentinel_password: Option<Secret>,

    /// cluster: seed nodes, host:port separated by commas (any reachable one is enough).
    #[arg(long, env = "REDIS_CLUSTER_NODES", value_delimiter = ',')]
    pub redis_cluster_nodes: Vec<NodeAddress>,

    /// The Redis password, in every mode (single: when the URL carries none).
    #[arg(long, env = "REDIS_PASSWORD", hide_env_values = true)]
    pub redis_password: Option<Secret>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum RedisMode {
    #[default]
    Single,
    Sentinel,
    Cluster,
}

impl RedisMode {
    fn name(self) -> &'static str {
        match self {
            Self::Single => "single",
            Self::Sentinel => "sentinel",
            Self::Cluster => "cluster",
        }
    }
}

/// Redis settings that do not fit the mode; each says which setting to give or drop.
#[derive(Debug, thiserror::Error)]
pub enum RedisSettingsError {
    #[error("--redis-mode {mode} needs {setting}")]
    Missing { mode: &'static str, setting: &'static str },
    #[error("--redis-mode {mode} does not use {setting}: is the mode wrong?")]
    Foreign { mode: &'static str, setting: &'static str },
    #[error("the Redis password is given twice (in REDIS_URL and REDIS_PASSWORD): give it one way")]
    PasswordTwice,
    #[error("REDIS_URL {0} cannot carry a password")]
    NoPasswordSlot(String),
}

const URL: &str = "--redis-url (REDIS_URL)";
const SENTINELS: &str = "--redis-sentinels (REDIS_SENTINELS)";
const SENTINEL_PASSWORD: &str = "--redis-sentinel-password (REDIS_SENTINEL_PASSWORD)";
const CLUSTER_NODES: &str = "--redis-cluster-nodes (REDIS_CLUSTER_NODES)";

impl RedisSettings {
    /// The settings as one single-node URL (what tests and the harness pass).
    pub fn single(url: SecretUrl) -> Self {
        Self { redis_url: Some(url), redis_sentinel_master: DEFAULT_SENTINEL_MASTER.into(), ..Self::default() }
    }

    /// Where Redis is, checked against the mode.
    ///
    /// # Errors
    /// A setting the mode needs is missing, or one of another mode is given.
    pub fn target(&self) -> Result<Target, RedisSettingsError> {
        let mode = self.redis_mode.name();
        let foreign =
            |given: bool, setting| if given { Err(RedisSettingsError::Foreign { mode, setting }) } else { Ok(()) };
        match self.redis_mode {
            RedisMode::Single => {
                foreign(!self.redis_sentinels.is_empty(), SENTINELS)?;
                foreign(self.redis_sentinel_password.is_some(), SENTINEL_PASSWORD)?;
                foreign(!self.redis_cluster_nodes.is_empty(), CLUSTER_NODES)?;
                let url = self.redis_url.clone().ok_or(RedisSettingsError::Missing { mode, setting: URL })?;
                Ok(Target::Single(match &self.redis_password {
                    None => url,
                    Some(password) => with_password(&url, password)?,
                }))
            }
            RedisMode::Sentinel => {
                foreign(self.redis_url.is_some(), URL)?;
                foreign(!self.redis_cluster_nodes.is_empty(), CLUSTER_NODES)?;
                if self.redis_sentinels.is_empty() {
                    return Err(RedisSettingsError::Missing { mode, setting: SENTINELS });
                }
                Ok(Target::Sentinel {
                    sentinels: self.redis_sentinels.clone(),
                    master: self.redis_sentinel_master.clone(),
                    password: self.redis_password.clone(),
                    sentinel_password: self.redis_sentinel_password.clone(),
                })
            }
            RedisMode::Cluster => {
                foreign(self.redis_url.is_some(), URL)?;
                foreign(!self.redis_sentinels.is_empty(), SENTINELS)?;
                foreign(self.redis_sentinel_password.is_some(), SENTINEL_PASSWORD)?;
                if self.redis_cluster_nodes.is_empty() {
                    return Err(RedisSettingsError::Missing { mode, setting: CLUSTER_NODES });
                }
                Ok(Target::Cluster { nodes: self.redis_cluster_nodes.clone(), password: self.redis_password.clone() })
            }
        }
    }
}

/// `url` with `password` put in (percent-encoded), refused when it already has one.
fn with_password(url: &SecretUrl, password: &Secret) -> Result<SecretUrl, RedisSettingsError> {
    if url.has_credentials() {
        return Err(RedisSettingsError::PasswordTwice);
    }
    let mut parsed = url::Url::parse(url.expose()).map_err(|_| RedisSettingsError::NoPasswordSlot(url.redacted()))?;
    parsed.set_password(Some(password.expose())).map_err(|()| RedisSettingsError::NoPasswordSlot(url.redacted()))?;
    parsed.as_str().parse().map_err(|_| RedisSettingsError::NoPasswordSlot(url.redacted()))
}

/// Settings of a consumer-group worker (crawler or updater): its name, the reclaim policy, the
/// shutdown grace and the endpoint address.
#[derive(Debug, Clone, Args)]
pub struct WorkerSettings {
    /// `production` refuses to start without the safeguards (a Redis password; for the crawler
    /// also a working proxy).
    #[arg(long = "env", env = "EK_ENV", value_enum, default_value_t = Environment::Development)]
    pub environment: Environment,

    /// Address of /healthz, /readyz and /metrics.
    #[arg(long, env = "EK_HTTP_ADDR", default_value = "0.0.0.0:9100")]
    pub http_addr: SocketAddr,

    /// Consumer name in the group; default HOSTNAME-PID (a pod name in Kubernetes).
    #[arg(long, env = "EK_CONSUMER_NAME")]
    pub consumer_name: Option<String>,

    /// Deliveries of one entry (its consumers kept dying) before it is dead-lettered.
    #[arg(long, env = "EK_MAX_DELIVERIES", default_value_t = 5)]
    pub max_deliveries: u64,

    /// How often to look for entries abandoned by dead consumers.
    #[arg(long, env = "EK_CLAIM_INTERVAL", value_parser = humantime::parse_duration, default_value = "15s")]
    pub claim_interval: Duration,

    /// An entry idle this long is taken over. Live workers refresh the entries they work on,
    /// so it only needs to exceed the longest single request or transaction.
    #[arg(long, env = "EK_CLAIM_IDLE", value_parser = humantime::parse_duration, default_value = "60s")]
    pub claim_idle: Duration,

    /// On SIGTERM, time allowed to finish in-flight work.
    #[arg(long, env = "EK_SHUTDOWN_GRACE", value_parser = humantime::parse_duration, default_value = "30s")]
    pub shutdown_grace: Duration,
}

impl WorkerSettings {
    /// The consumer loop's settings for `stream` and `group`.
    pub fn consumer(&self, stream: String, group: &str, slots: usize, batch: (usize, Duration)) -> ConsumerSettings {
        ConsumerSettings {
            stream,
            group: group.to_owned(),
            consumer: self.consumer_name.clone().unwrap_or_else(consumer::default_consumer_name),
            slots: slots.max(1),
            batch_size: batch.0.max(1),
            batch_wait: batch.1,
            claim_interval: self.claim_interval,
            claim_idle: self.claim_idle,
            shutdown_grace: self.shutdown_grace,
        }
    }

    /// Production refuses a Redis without a password (DESIGN.md §5).
    ///
    /// # Errors
    /// [`NoRedisPassword`] naming the (redacted) target.
    pub fn check_redis_credentials(&self, redis: &Target) -> Result<(), NoRedisPassword> {
        if self.environment == Environment::Production && !redis.has_credentials() {
            return Err(NoRedisPassword(redis.to_string()));
        }
        Ok(())
    }
}

/// Production was given a Redis without a password (the target as shown: redacted).
#[derive(Debug, thiserror::Error)]
#[error("production mode refuses a Redis without a password ({0})")]
pub struct NoRedisPassword(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Environment {
    Development,
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        common: CommonSettings,
    }

    #[test]
    fn defaults_apply_and_debug_hides_the_password() {
        let cli = Cli::parse_from(["test", "--redis-url", "redis://:topsecret@127.0.0.1:7000/0"]);
        assert_eq!(cli.common.mongodb_db, DEFAULT_MONGODB_DB);
        assert_eq!(cli.common.keys().jobs(), "{ek}:jobs");
        assert_eq!(cli.common.log_format, LogFormat::Text);
        assert!(!format!("{:?}", cli.common).contains("topsecret"));
        assert_eq!(cli.common.redis.target().expect("single").to_string(), "redis://:***@127.0.0.1:7000/0");
    }

    fn target(args: &[&str]) -> Result<Target, RedisSettingsError> {
        Cli::try_parse_from([&["test"], args].concat()).expect("parses").common.redis.target()
    }

    #[test]
    fn each_mode_takes_its_own_settings() {
        let sentinel = target(&[
            "--redis-mode=sentinel",
            "--redis-sentinels=s1:26379,s2:26379",
            "--redis-password=pw1",
            "--redis-sentinel-password=pw2",
        ])
        .expect("sentinel");
        let Target::Sentinel { sentinels, master, password, sentinel_password } = &sentinel else {
            panic!("{sentinel}")
        };
        assert_eq!((sentinels.len(), master.as_str()), (2, DEFAULT_SENTINEL_MASTER));
        assert_eq!(
            (password.as_ref().map(Secret::expose), sentinel_password.as_ref().map(Secret::expose)),
            (Some("pw1"), Some("pw2"))
        );
        assert!(!sentinel.to_string().contains("pw"), "{sentinel}");
        let cluster =
            target(&["--redis-mode", "cluster", "--redis-cluster-nodes", "c1:7000,c2:7001"]).expect("cluster");
        assert!(matches!(&cluster, Target::Cluster { nodes, password: None } if nodes.len() == 2));
        assert!(!cluster.has_credentials());
    }

    #[test]
    fn a_wrong_mode_is_one_clear_line() {
        let cases: [(&[&str], &str); 5] = [
            (
                &["--redis-mode=cluster", "--redis-url=redis://r:6379"],
                "--redis-mode cluster does not use --redis-url (REDIS_URL): is the mode wrong?",
            ),
            (&["--redis-mode=cluster"], "--redis-mode cluster needs --redis-cluster-nodes (REDIS_CLUSTER_NODES)"),
            (
                &["--redis-mode=sentinel", "--redis-url=redis://r:6379"],
                "--redis-mode sentinel does not use --redis-url (REDIS_URL): is the mode wrong?",
            ),
            (
                &["--redis-cluster-nodes=c:7000"],
                "--redis-mode single does not use --redis-cluster-nodes (REDIS_CLUSTER_NODES): is the mode wrong?",
            ),
            (&[], "--redis-mode single needs --redis-url (REDIS_URL)"),
        ];
        for (args, line) in cases {
            assert_eq!(target(args).expect_err("refused").to_string(), line);
        }
        assert!(Cli::try_parse_from(["test", "--redis-mode=replicated"]).is_err(), "an unknown mode is a usage error");
    }

    #[test]
    fn a_password_alone_goes_into_the_single_url_percent_encoded() {
        let single = target(&["--redis-url=redis://redis:6379/0", "--redis-password=a/b@c"]).expect("single");
        let Target::Single(url) = &single else { panic!("{single}") };
        assert_eq!(url.expose(), "redis://:a%2Fb%40c@redis:6379/0"); // secret-scan: allow (a test value)
        let twice = target(&["--redis-url=redis://:hunter2@r:6379/0", "--redis-password=x"]).expect_err("twice");
        assert!(matches!(twice, RedisSettingsError::PasswordTwice));
        assert!(!twice.to_string().contains("hunter2"));
    }
}
