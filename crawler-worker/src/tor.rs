//! Tor's control port: on a block, authenticate and send `SIGNAL NEWNYM` so the next
//! requests leave through a new circuit (a new exit IP).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::secret::Secret;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::Mutex;

/// Tor itself ignores NEWNYM more often than this; asking more often only adds noise.
const NEWNYM_MIN_INTERVAL: Duration = Duration::from_secs(10);
const CONTROL_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub enum TorAuth {
    Password(Secret),
    CookieFile(PathBuf),
    None,
}

#[derive(Debug, thiserror::Error)]
pub enum TorError {
    #[error("tor control port {addr}: {source}")]
    Io { addr: String, source: std::io::Error },
    #[error("tor control port {addr} answered {reply:?} to {command}")]
    Refused { addr: String, command: &'static str, reply: String },
    #[error("tor control port {addr}: no answer within {CONTROL_TIMEOUT:?}")]
    Timeout { addr: String },
}

pub struct TorControl {
    addr: String,
    auth: TorAuth,
    last_newnym: Mutex<Option<Instant>>,
}

impl TorControl {
    pub fn new(addr: String, auth: TorAuth) -> Self {
        Self { addr, auth, last_newnym: Mutex::new(None) }
    }

    /// Asks for a new circuit, unless one was asked for less than 10 s ago (several slots
    /// hitting the same block share one NEWNYM). Returns whether the signal was sent.
    ///
    /// # Errors
    /// When the control port cannot be reached or refuses the password or the signal.
    pub async fn new_circuit(&self) -> Result<bool, TorError> {
        let mut last = self.last_newnym.lock().await;
        if last.is_some_and(|at| at.elapsed() < NEWNYM_MIN_INTERVAL) {
            return Ok(false);
        }
        tokio::time::timeout(CONTROL_TIMEOUT, self.signal_newnym())
            .await
            .map_err(|_| TorError::Timeout { addr: self.addr.clone() })??;
        *last = Some(Instant::now());
        Ok(true)
    }

    async fn signal_newnym(&self) -> Result<(), TorError> {
        let io = |source| TorError::Io { addr: self.addr.clone(), source };
        let stream = TcpStream::connect(&self.addr).await.map_err(io)?;
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        let auth = self.authenticate_command().await.map_err(io)?;
        for (name, command) in [("AUTHENTICATE", auth), ("SIGNAL NEWNYM", "SIGNAL NEWNYM\r\n".to_owned())] {
            write.write_all(command.as_bytes()).await.map_err(io)?;
            let reply = lines.next_line().await.map_err(io)?.unwrap_or_default();
            if !reply.starts_with("250") {
                return Err(TorError::Refused { addr: self.addr.clone(), command: name, reply });
            }
        }
        let _ = write.write_all(b"QUIT\r\n").await;
        Ok(())
    }

    async fn authenticate_command(&self) -> std::io::Result<String> {
        Ok(match &self.auth {
            TorAuth::Password(password) => format!("AUTHENTICATE \"{}\"\r\n", quote(password.expose())),
            TorAuth::CookieFile(path) => format!("AUTHENTICATE {}\r\n", hex::encode(tokio::fs::read(path).await?)),
            TorAuth::None => "AUTHENTICATE\r\n".to_owned(),
        })
    }
}

/// Escapes a control-protocol quoted string.
fn quote(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}
