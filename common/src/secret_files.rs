//! Secrets read from files (Docker Compose secrets, Kubernetes secret volumes) instead of
//! environment values, part of the settings layer: each binary calls [`load_secret_files`]
//! first thing in `main`, before clap reads the environment, so every setting keeps exactly one
//! way in (its flag or variable) and the `*_FILE` variables need no flag of their own.
//!
//! | variable | what the file holds | becomes |
//! | --- | --- | --- |
//! | `REDIS_URL_FILE` | the whole Redis URL, password included | `REDIS_URL` |
//! | `REDIS_PASSWORD_FILE` | the Redis password alone (every mode; single: for a `REDIS_URL` without one) | `REDIS_PASSWORD` |
//! | `REDIS_SENTINEL_PASSWORD_FILE` | the Sentinels' password | `REDIS_SENTINEL_PASSWORD` |
//! | `MONGODB_URI_FILE` | the MongoDB connection string | `MONGODB_URI` |
//! | `EK_TOR_PASSWORD_FILE` | the Tor control password | `EK_TOR_PASSWORD` |
//! | `EK_WEB_TOKEN_FILE` | the monitoring page's read-only token | `EK_WEB_TOKEN` |
//! | `EK_WEB_ADMIN_TOKEN_FILE` | the monitoring page's admin token | `EK_WEB_ADMIN_TOKEN` |
//!
//! An empty Redis setting (`REDIS_URL=""`, ...) counts as unset, as here for the `*_FILE`
//! variables: a compose override file cannot remove a variable the base file sets, only empty
//! it (deploy/compose/redis-sentinel.yml drops the single-node `REDIS_URL` that way).
//!
//! A variable given both ways is refused (which one wins would be a guess). A file's trailing
//! newline is dropped (`echo pw > file` writes one). Errors name the variable and the path,
//! never the content.

use std::path::{Path, PathBuf};

/// `(file variable, target variable)`: the file's content becomes the target.
pub const FILE_VARIABLES: [(&str, &str); 7] = [
    ("REDIS_URL_FILE", "REDIS_URL"),
    ("REDIS_PASSWORD_FILE", "REDIS_PASSWORD"),
    ("REDIS_SENTINEL_PASSWORD_FILE", "REDIS_SENTINEL_PASSWORD"),
    ("MONGODB_URI_FILE", "MONGODB_URI"),
    ("EK_TOR_PASSWORD_FILE", "EK_TOR_PASSWORD"),
    ("EK_WEB_TOKEN_FILE", "EK_WEB_TOKEN"),
    ("EK_WEB_ADMIN_TOKEN_FILE", "EK_WEB_ADMIN_TOKEN"),
];

#[derive(Debug, thiserror::Error)]
pub enum SecretFileError {
    #[error("{variable}: cannot read {}", path.display())]
    Read {
        variable: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{variable}: {} is empty", path.display())]
    Empty { variable: &'static str, path: PathBuf },
    #[error("both {file_variable} and {variable} are set: give the secret one way")]
    Both { file_variable: &'static str, variable: &'static str },
}

/// Redis settings that an empty value unsets (clap would take `""` as a value, and refuse it).
pub const EMPTY_IS_UNSET: [&str; 5] =
    ["REDIS_URL", "REDIS_PASSWORD", "REDIS_SENTINELS", "REDIS_SENTINEL_PASSWORD", "REDIS_CLUSTER_NODES"];

/// The variables of [`EMPTY_IS_UNSET`] that are set but empty.
pub fn empty_settings(env: impl Fn(&str) -> Option<String>) -> Vec<&'static str> {
    EMPTY_IS_UNSET.into_iter().filter(|name| env(name).is_some_and(|v| v.is_empty())).collect()
}

/// Reads the `*_FILE` variables of the process environment and sets the variables they stand
/// for. Call it before any thread starts (first thing in `main`): it changes the environment.
///
/// # Errors
/// An unreadable or empty file, or a secret given both ways.
pub fn load_secret_files() -> Result<(), SecretFileError> {
    for name in empty_settings(|name| std::env::var(name).ok()) {
        std::env::remove_var(name);
    }
    let resolved = resolve(|name| std::env::var(name).ok().filter(|v| !v.is_empty()), |p| std::fs::read_to_string(p))?;
    for (name, value) in resolved {
        std::env::set_var(name, value);
    }
    Ok(())
}

/// The variables to set, from an environment lookup and a file reader (the pure part of
/// [`load_secret_files`]).
///
/// # Errors
/// As [`load_secret_files`].
pub fn resolve(
    env: impl Fn(&str) -> Option<String>,
    read: impl Fn(&Path) -> std::io::Result<String>,
) -> Result<Vec<(&'static str, String)>, SecretFileError> {
    let read_secret = |variable: &'static str, path: PathBuf| -> Result<String, SecretFileError> {
        let text = read(&path).map_err(|source| SecretFileError::Read { variable, path: path.clone(), source })?;
        let value = text.trim_end_matches(['\n', '\r']).to_owned();
        if value.is_empty() {
            return Err(SecretFileError::Empty { variable, path });
        }
        Ok(value)
    };
    let mut out = Vec::new();
    for (file_variable, variable) in FILE_VARIABLES {
        let Some(path) = env(file_variable) else { continue };
        if env(variable).is_some() {
            return Err(SecretFileError::Both { file_variable, variable });
        }
        out.push((variable, read_secret(file_variable, PathBuf::from(path))?));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn run(env: &[(&str, &str)], files: &[(&str, &str)]) -> Result<HashMap<&'static str, String>, SecretFileError> {
        let env: HashMap<String, String> = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        let files: HashMap<PathBuf, String> = files.iter().map(|(k, v)| (PathBuf::from(k), (*v).to_owned())).collect();
        resolve(
            |n| env.get(n).cloned(),
            |p| files.get(p).cloned().ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound)),
        )
        .map(|v| v.into_iter().collect())
    }

    #[test]
    fn file_contents_become_the_variables_without_their_newline() {
        let got = run(
            &[("MONGODB_URI_FILE", "/s/mongo"), ("EK_TOR_PASSWORD_FILE", "/s/tor")],
            &[("/s/mongo", "mongodb://m:27017/?replicaSet=rs0\n"), ("/s/tor", "hunter2\r\n")],
        )
        .expect("resolved");
        assert_eq!(got["MONGODB_URI"], "mongodb://m:27017/?replicaSet=rs0");
        assert_eq!(got["EK_TOR_PASSWORD"], "hunter2");
        assert!(!got.contains_key("REDIS_URL"));
    }

    #[test]
    fn empty_redis_settings_count_as_unset() {
        let env: HashMap<&str, &str> = [("REDIS_URL", ""), ("REDIS_MODE", ""), ("REDIS_PASSWORD", "x")].into();
        assert_eq!(empty_settings(|n| env.get(n).map(|v| (*v).to_owned())), ["REDIS_URL"]);
    }

    #[test]
    fn password_files_become_their_variables() {
        let got = run(
            &[("REDIS_PASSWORD_FILE", "/s/pw"), ("REDIS_SENTINEL_PASSWORD_FILE", "/s/spw")],
            &[("/s/pw", "a/b@c\n"), ("/s/spw", "s3\n")],
        )
        .expect("resolved");
        assert_eq!((got["REDIS_PASSWORD"].as_str(), got["REDIS_SENTINEL_PASSWORD"].as_str()), ("a/b@c", "s3"));
    }

    #[test]
    fn ambiguity_and_bad_files_are_refused_without_showing_the_secret() {
        let both = run(&[("REDIS_URL", "redis://x"), ("REDIS_URL_FILE", "/s/url")], &[("/s/url", "redis://y")]);
        assert!(matches!(both, Err(SecretFileError::Both { variable: "REDIS_URL", .. })));
        let missing = run(&[("EK_TOR_PASSWORD_FILE", "/nope")], &[]).expect_err("missing file");
        let text = format!("{missing}");
        assert!(text.contains("EK_TOR_PASSWORD_FILE") && text.contains("/nope"), "{text}");
        assert!(std::error::Error::source(&missing).is_some(), "the io error is kept as the source");
        assert!(matches!(run(&[("REDIS_URL_FILE", "/e")], &[("/e", "\n")]), Err(SecretFileError::Empty { .. })));
        let twice = run(&[("REDIS_PASSWORD", "hunter2"), ("REDIS_PASSWORD_FILE", "/p")], &[("/p", "x")]);
        assert!(matches!(twice, Err(SecretFileError::Both { variable: "REDIS_PASSWORD", .. })));
    }
}
