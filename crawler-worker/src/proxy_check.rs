//! Start-up check of a SOCKS5 proxy: it must complete the greeting of a SOCKS5 handshake
//! (version 5, "no authentication" accepted), or production mode refuses to start.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const CHECK_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a proxy failed its start-up check. The proxy is shown without credentials.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ProxyError {
    #[error("proxy is not a URL")]
    NotUrl(#[source] url::ParseError),
    #[error("proxy scheme {0} is not socks5:// or socks5h://")]
    Scheme(String),
    #[error("proxy URL has no host")]
    NoHost,
    #[error("{proxy}: {step}")]
    Io {
        proxy: String,
        step: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("{proxy}: not a SOCKS5 proxy without authentication (answered {reply:?})")]
    NotSocks5 { proxy: String, reply: [u8; 2] },
    #[error("{proxy}: no answer within {CHECK_TIMEOUT:?}")]
    Timeout { proxy: String },
}

/// Checks one proxy URL such as `socks5h://127.0.0.1:9050`.
///
/// # Errors
/// A [`ProxyError`] saying what failed.
pub(crate) async fn check_socks5(proxy: &str) -> Result<(), ProxyError> {
    let url = url::Url::parse(proxy).map_err(ProxyError::NotUrl)?;
    if !matches!(url.scheme(), "socks5" | "socks5h") {
        return Err(ProxyError::Scheme(url.scheme().to_owned()));
    }
    let host = url.host_str().ok_or(ProxyError::NoHost)?.to_owned();
    let port = url.port().unwrap_or(1080);
    let shown = format!("{}://{host}:{port}", url.scheme());
    let io = |step| {
        let proxy = shown.clone();
        move |source| ProxyError::Io { proxy, step, source }
    };
    let greet = async {
        let mut stream = TcpStream::connect((host.as_str(), port)).await.map_err(io("connect"))?;
        stream.write_all(&[5, 1, 0]).await.map_err(io("send the greeting"))?;
        let mut reply = [0u8; 2];
        stream.read_exact(&mut reply).await.map_err(io("no SOCKS5 answer"))?;
        if reply != [5, 0] {
            return Err(ProxyError::NotSocks5 { proxy: shown.clone(), reply });
        }
        Ok(())
    };
    tokio::time::timeout(CHECK_TIMEOUT, greet).await.map_err(|_| ProxyError::Timeout { proxy: shown.clone() })?
}

/// Whether the proxy's port accepts a connection (the readiness probe; cheaper than a handshake).
pub(crate) async fn reachable(proxy: &str) -> bool {
    let Ok(url) = url::Url::parse(proxy) else { return false };
    let Some(host) = url.host_str() else { return false };
    let port = url.port().unwrap_or(1080);
    tokio::time::timeout(Duration::from_secs(2), TcpStream::connect((host, port))).await.is_ok_and(|r| r.is_ok())
}
