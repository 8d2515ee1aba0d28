//! Connection URLs that carry credentials: kept whole for connecting, redacted in every
//! `Debug`, `Display` and log field, so a password never reaches a log line.

use std::fmt;
use std::str::FromStr;

/// A URL such as `redis://:<password>@host:6379/0` or `mongodb://user:<password>@host/`.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretUrl(String);

impl SecretUrl {
    /// The URL with its credentials, for the client library and nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the URL carries a password (or a user name, for ACL users with a password).
    pub fn has_credentials(&self) -> bool {
        url::Url::parse(&self.0).is_ok_and(|u| u.password().is_some_and(|p| !p.is_empty()))
    }

    /// The URL with the password replaced by `***`.
    pub fn redacted(&self) -> String {
        redact_url(&self.0)
    }
}

/// Replaces the password of any URL-looking text by `***`; text that does not parse as a URL
/// is hidden whole, since it might be a bare secret.
pub fn redact_url(text: &str) -> String {
    match url::Url::parse(text) {
        Ok(mut url) => {
            if url.password().is_some() && url.set_password(Some("***")).is_err() {
                return "<redacted>".into();
            }
            url.to_string()
        }
        Err(_) => "<redacted>".into(),
    }
}

impl FromStr for SecretUrl {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // The error text must not echo the input: it may be a credentialed URL.
        url::Url::parse(s).map_err(|e| format!("not a URL ({e})"))?;
        Ok(Self(s.to_owned()))
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretUrl({})", self.redacted())
    }
}

impl fmt::Display for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// A password or token given on the command line or in the environment.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        let url: SecretUrl = "redis://:hunter2@127.0.0.1:6380/0".parse().expect("url");
        assert!(url.has_credentials());
        for shown in [format!("{url}"), format!("{url:?}"), url.redacted()] {
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(shown.contains("127.0.0.1:6380"), "{shown}");
        }
        // Assembled at run time: no credentialed URL stands in the source.
        let mongo: SecretUrl = ["mongodb://app:", "s3cret", "@db:27017/?replicaSet=rs0"].concat().parse().expect("url");
        assert!(!format!("{mongo:?}").contains("s3cret"));
        assert!(!format!("{:?}", Secret("pw".into())).contains("pw"));
    }

    #[test]
    fn urls_without_password_are_flagged() {
        let url: SecretUrl = "redis://127.0.0.1:6380".parse().expect("url");
        assert!(!url.has_credentials());
        assert_eq!(url.expose(), "redis://127.0.0.1:6380");
        let err = "not a url :hunter2".parse::<SecretUrl>().expect_err("invalid");
        assert!(!err.contains("hunter2"));
    }
}
