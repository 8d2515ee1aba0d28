//! Start-up check of a SOCKS5 proxy: it must complete the greeting of a SOCKS5 handshake
//! (version 5, "no authentication" accepted), or production mode refuses to start.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const CHECK_TIMEOUT: Duration = Duration::from_secs(10);

/// Checks one proxy URL such as `socks5h://127.0.0.1:9050`.
///
/// # Errors
/// A sentence saying what failed (the URL is given without credentials).
pub async fn check_socks5(proxy: &str) -> Result<(), String> {
    let url = url::Url::parse(proxy).map_err(|e| format!("proxy is not a URL: {e}"))?;
    if !matches!(url.scheme(), "socks5" | "socks5h") {
        return Err(format!("proxy scheme {} is not socks5:// or socks5h://", url.scheme()));
    }
    let host = url.host_str().ok_or("proxy URL has no host")?.to_owned();
    let port = url.port().unwrap_or(1080);
    let shown = format!("{}://{host}:{port}", url.scheme());
    let greet = async {
        let mut stream = TcpStream::connect((host.as_str(), port)).await.map_err(|e| format!("{shown}: {e}"))?;
        stream.write_all(&[5, 1, 0]).await.map_err(|e| format!("{shown}: {e}"))?;
        let mut reply = [0u8; 2];
        stream.read_exact(&mut reply).await.map_err(|e| format!("{shown}: no SOCKS5 answer ({e})"))?;
        if reply != [5, 0] {
            return Err(format!("{shown}: not a SOCKS5 proxy without authentication (answered {reply:?})"));
        }
        Ok(())
    };
    tokio::time::timeout(CHECK_TIMEOUT, greet)
        .await
        .map_err(|_| format!("{shown}: no answer within {CHECK_TIMEOUT:?}"))?
}

/// Whether the proxy's port accepts a connection (the readiness probe; cheaper than a handshake).
pub async fn reachable(proxy: &str) -> bool {
    let Ok(url) = url::Url::parse(proxy) else { return false };
    let Some(host) = url.host_str() else { return false };
    let port = url.port().unwrap_or(1080);
    tokio::time::timeout(Duration::from_secs(2), TcpStream::connect((host, port))).await.is_ok_and(|r| r.is_ok())
}
