//! Secrets read from files (Docker Compose secrets, Kubernetes secret volumes) instead of
//! environment values, part of the settings layer: each binary calls [`load_secret_files`]
//! first thing in `main`, before clap reads the environment, so every setting keeps exactly one
//! way in (its flag or variable) and the `*_FILE` variables need no flag of their own.
//!
//! | variable | what the file holds | becomes |
//! | --- | --- | --- |
//! | `REDIS_URL_FILE` | the whole Redis URL, password included | `REDIS_URL` |
//! | `REDIS_PASSWORD_FILE` | the Redis password alone | the password of `REDIS_URL` (`redis://redis:6379/0`) |
//! | `MONGODB_URI_FILE` | the MongoDB connection string | `MONGODB_URI` |
//! | `EK_TOR_PASSWORD_FILE` | the Tor control password | `EK_TOR_PASSWORD` |
//! | `EK_WEB_TOKEN_FILE` | the monitoring page's read-only token | `EK_WEB_TOKEN` |
//! | `EK_WEB_ADMIN_TOKEN_FILE` | the monitoring page's admin token | `EK_WEB_ADMIN_TOKEN` |
//!
//! A variable given both ways is refused (which one wins would be a guess). A file's trailing
//! newline is dropped (`echo pw > file` writes one). Errors name the variable and the path,
//! never the content.

use std::path::{Path, PathBuf};

/// `(file variable, target variable)`: the file's content becomes the target.
pub const FILE_VARIABLES: [(&str, &str); 5] = [
    ("REDIS_URL_FILE", "REDIS_URL"),
    ("MONGODB_URI_FILE", "MONGODB_URI"),
    ("EK_TOR_PASSWORD_FILE", "EK_TOR_PASSWORD"),
    ("EK_WEB_TOKEN_FILE", "EK_WEB_TOKEN"),
    ("EK_WEB_ADMIN_TOKEN_FILE", "EK_WEB_ADMIN_TOKEN"),
];
/// Holds the Redis password alone; it is put into `REDIS_URL`.
pub const REDIS_PASSWORD_FILE: &str = "REDIS_PASSWORD_FILE";

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
    #[error("REDIS_PASSWORD_FILE needs REDIS_URL without a password (e.g. redis://redis:6379/0)")]
    PasswordTarget,
}

/// Reads the `*_FILE` variables of the process environment and sets the variables they stand
/// for. Call it before any thread starts (first thing in `main`): it changes the environment.
///
/// # Errors
/// An unreadable or empty file, or a secret given both ways.
pub fn load_secret_files() -> Result<(), SecretFileError> {
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
    if let Some(path) = env(REDIS_PASSWORD_FILE) {
        let password = read_secret(REDIS_PASSWORD_FILE, PathBuf::from(path))?;
        let base = out.iter().find(|(n, _)| *n == "REDIS_URL").map(|(_, v)| v.clone()).or_else(|| env("REDIS_URL"));
        let mut url = base.and_then(|u| url::Url::parse(&u).ok()).ok_or(SecretFileError::PasswordTarget)?;
        if url.password().is_some() {
            return Err(SecretFileError::Both { file_variable: REDIS_PASSWORD_FILE, variable: "REDIS_URL" });
        }
        url.set_password(Some(&password)).map_err(|()| SecretFileError::PasswordTarget)?;
        out.retain(|(n, _)| *n != "REDIS_URL");
        out.push(("REDIS_URL", url.to_string()));
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
    fn a_password_file_goes_into_the_redis_url_percent_encoded() {
        let got =
            run(&[("REDIS_URL", "redis://redis:6379/0"), ("REDIS_PASSWORD_FILE", "/s/pw")], &[("/s/pw", "a/b@c\n")])
                .expect("resolved");
        let url: crate::secret::SecretUrl = got["REDIS_URL"].parse().expect("url");
        assert!(url.has_credentials());
        assert_eq!(url.expose(), "redis://:a%2Fb%40c@redis:6379/0"); // secret-scan: allow (a test value)
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
        let with_pw = run(&[("REDIS_URL", "redis://:hunter2@r:6379/0"), ("REDIS_PASSWORD_FILE", "/p")], &[("/p", "x")])
            .expect_err("password twice");
        assert!(!format!("{with_pw}").contains("hunter2"));
        assert!(matches!(run(&[("REDIS_PASSWORD_FILE", "/p")], &[("/p", "x")]), Err(SecretFileError::PasswordTarget)));
    }
}
