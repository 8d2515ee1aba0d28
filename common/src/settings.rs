//! Settings every binary shares (Redis, MongoDB, stream prefix, log format), parsed once at
//! start-up by clap from flags or environment variables. Defaults live here and nowhere else.

use clap::{Args, ValueEnum};

use crate::keys::Keys;
use crate::secret::SecretUrl;

pub const DEFAULT_MONGODB_DB: &str = "electrokerot";
pub const DEFAULT_STREAM_PREFIX: &str = "ek";

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
}

impl CommonSettings {
    pub fn keys(&self) -> Keys {
        Keys::new(&self.stream_prefix)
    }
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
