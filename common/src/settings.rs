//! Settings every binary shares (Redis, MongoDB, stream prefix, log format), parsed once at
//! start-up by clap from flags or environment variables. Defaults live here and nowhere else.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::consumer::{self, ConsumerSettings};
use crate::keys::Keys;
use crate::secret::SecretUrl;

pub const DEFAULT_MONGODB_DB: &str = "electrokerot";
pub const DEFAULT_STREAM_PREFIX: &str = "ek";
/// How long a run's keys (counters, dedupe sets, list fingerprints, item claims) live after
/// their last write or the run's end.
pub const DEFAULT_KEEP_FOR: &str = "7d";

#[derive(Debug, Clone, Args)]
pub struct CommonSettings {
    /// Redis URL with its password, e.g. redis://:PASSWORD@127.0.0.1:6379/0.
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: SecretUrl,

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

    /// How long a run's keys (counters, dedupe sets, list fingerprints, item claims) are kept
    /// after the run ends; a worker's write keeps them at least this long from then.
    #[arg(long, env = "EK_RUN_KEEP_FOR", value_parser = humantime::parse_duration, default_value = DEFAULT_KEEP_FOR)]
    pub keep_for: Duration,
}

impl CommonSettings {
    pub fn keys(&self) -> Keys {
        Keys::new(&self.stream_prefix)
    }
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

    /// Production refuses a Redis URL without a password (DESIGN.md §5).
    ///
    /// # Errors
    /// [`NoRedisPassword`] naming the (redacted) URL.
    pub fn check_redis_credentials(&self, redis_url: &SecretUrl) -> Result<(), NoRedisPassword> {
        if self.environment == Environment::Production && !redis_url.has_credentials() {
            return Err(NoRedisPassword(redis_url.to_string()));
        }
        Ok(())
    }
}

/// Production was given a Redis URL without a password (the URL as shown: redacted).
#[derive(Debug, thiserror::Error)]
#[error("production mode refuses a Redis URL without a password ({0})")]
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
    }
}
