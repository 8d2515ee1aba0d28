//! The HTTP server: an accept loop over hyper HTTP/1.1 connections, with per-connection state
//! (the sticky Next.js variant, a handle to reset the socket) and a handle to stop it.

mod control;
mod listing_cache;
mod routes;
mod site;
mod throttle;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use common::config::ScrapeConfig;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rand::rngs::StdRng;
use rand::SeedableRng;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};

use crate::catalogue::{Catalogue, CatalogueParams};
use crate::faults::FaultConfig;
use crate::markup::shapes::Shapes;
use crate::observe::Observer;
use crate::rng::{salt, unit};

/// Everything a sim instance needs. `Default` is the built-in catalogue without faults.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub catalogue: CatalogueParams,
    pub faults: FaultConfig,
    /// Seed of the fault draws (a fixed sequence of requests sees a fixed sequence of faults).
    pub fault_seed: u64,
    /// Share of connections whose category pages are the Next.js variant (0..=1).
    pub next_share: f64,
    /// Share of list entries, spec tables and shop lists drawn in the shapes DANAWA.md's "Newer
    /// evidence" describes (0..=1); see [`crate::markup::shapes`].
    pub new_markup_share: f64,
    /// Answer the AJAX endpoints with an empty 200 unless they carry `X-Requested-With:
    /// XMLHttpRequest` and a `Referer`, as Danawa's own script sends.
    pub strict_ajax: bool,
    /// Requests kept in the `/_sim/log` ring.
    pub log_capacity: usize,
    /// The config `GET /_sim/truth` uses; `None` = the embedded `scrapConfig.json`.
    pub truth_config: Option<ScrapeConfig>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            catalogue: CatalogueParams::default(),
            faults: FaultConfig::default(),
            fault_seed: 7,
            next_share: 0.0,
            new_markup_share: 0.5,
            strict_ajax: true,
            log_capacity: 20_000,
            truth_config: None,
        }
    }
}

/// Shared state of a running sim; reachable in-process through [`SimHandle::state`].
pub struct SimState {
    pub catalogue: Arc<Catalogue>,
    pub observer: Observer,
    faults: RwLock<FaultConfig>,
    fault_rng: Mutex<StdRng>,
    next_share: f64,
    shapes: Shapes,
    strict_ajax: bool,
    truth_config: Option<ScrapeConfig>,
    connections: AtomicU64,
    listings: listing_cache::ListingCache,
    throttler: throttle::Throttler,
}

impl SimState {
    fn new(config: SimConfig, catalogue: Arc<Catalogue>) -> Self {
        let shapes = Shapes::new(catalogue.params.seed, config.new_markup_share);
        Self {
            catalogue,
            observer: Observer::new(config.log_capacity),
            faults: RwLock::new(config.faults),
            fault_rng: Mutex::new(StdRng::seed_from_u64(crate::rng::mix(&[config.fault_seed, salt::FAULTS]))),
            next_share: config.next_share,
            shapes,
            strict_ajax: config.strict_ajax,
            truth_config: config.truth_config,
            connections: AtomicU64::new(0),
            listings: listing_cache::ListingCache::default(),
            throttler: throttle::Throttler::default(),
        }
    }

    /// The fault settings in force.
    pub fn faults(&self) -> FaultConfig {
        self.faults.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Replaces the fault settings.
    ///
    /// # Errors
    /// The validation message when a rate is out of range.
    pub fn set_faults(&self, faults: FaultConfig) -> Result<(), crate::faults::FaultError> {
        faults.validate()?;
        *self.faults.write().unwrap_or_else(|e| e.into_inner()) = faults;
        Ok(())
    }

    /// The markup shape decisions in force.
    pub fn shapes(&self) -> Shapes {
        self.shapes
    }

    fn with_rng<T>(&self, f: impl FnOnce(&mut StdRng) -> T) -> T {
        f(&mut self.fault_rng.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// A running sim. Dropping it without [`SimHandle::shutdown`] leaves the server running until
/// the runtime ends.
pub struct SimHandle {
    addr: SocketAddr,
    state: Arc<SimState>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl SimHandle {
    /// The bound address (useful after binding port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`, the origin to give the crawler instead of `https://prod.danawa.com`.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// In-process access to faults, stats and the catalogue.
    pub fn state(&self) -> &Arc<SimState> {
        &self.state
    }

    /// Stops accepting, drops open connections and waits for the accept loop to end.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

/// Starts a sim on `listener` (bind `127.0.0.1:0` for tests). Must run inside a tokio
/// runtime. The catalogue is generated here; see [`serve_catalogue`] to share one.
///
/// # Errors
/// When the listener's local address cannot be read.
pub async fn serve(config: SimConfig, listener: TcpListener) -> anyhow::Result<SimHandle> {
    let catalogue = Arc::new(Catalogue::generate(&config.catalogue));
    serve_catalogue(config, catalogue, listener).await
}

/// Like [`serve`] with a catalogue generated beforehand (its params win over
/// `config.catalogue`).
///
/// # Errors
/// When the listener's local address cannot be read.
pub async fn serve_catalogue(
    config: SimConfig,
    catalogue: Arc<Catalogue>,
    listener: TcpListener,
) -> anyhow::Result<SimHandle> {
    config.faults.validate().map_err(anyhow::Error::msg)?;
    anyhow::ensure!(
        (0.0..=1.0).contains(&config.new_markup_share),
        "new_markup_share must be within 0..=1, got {}",
        config.new_markup_share
    );
    let addr = listener.local_addr()?;
    let state = Arc::new(SimState::new(config, catalogue));
    let (stop, stopped) = oneshot::channel();
    let task = tokio::spawn(accept_loop(listener, state.clone(), stopped));
    Ok(SimHandle { addr, state, stop: Some(stop), task })
}

async fn accept_loop(listener: TcpListener, state: Arc<SimState>, mut stopped: oneshot::Receiver<()>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    connections.spawn(connection(stream, peer, state.clone()));
                }
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.shutdown().await;
}

/// What a request handler knows about its connection.
pub(crate) struct Connection {
    pub id: u64,
    pub peer: SocketAddr,
    /// This connection gets the Next.js category page.
    pub next_variant: bool,
    /// A duplicate of the socket, used to reset it (linger 0, then close).
    reset: Mutex<Option<std::net::TcpStream>>,
}

impl Connection {
    /// Arms an RST: the socket closes with linger 0 once hyper drops it.
    pub(crate) fn arm_reset(&self) {
        if let Some(dup) = self.reset.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = socket2::SockRef::from(&dup).set_linger(Some(Duration::ZERO));
        }
    }
}

async fn connection(stream: TcpStream, peer: SocketAddr, state: Arc<SimState>) {
    let id = state.connections.fetch_add(1, Ordering::Relaxed);
    state.observer.connection();
    let Ok((stream, dup)) = split_for_reset(stream) else { return };
    let _ = stream.set_nodelay(true);
    let next_variant = unit(state.catalogue.params.seed, salt::CONNECTION, id) < state.next_share;
    let conn = Arc::new(Connection { id, peer, next_variant, reset: Mutex::new(dup) });
    let service = service_fn(move |req| routes::handle(state.clone(), conn.clone(), req));
    if let Err(error) = http1::Builder::new().keep_alive(true).serve_connection(TokioIo::new(stream), service).await {
        tracing::debug!(%error, %peer, "connection ended with an error");
    }
}

/// Keeps a duplicate of the socket so a reset can set SO_LINGER 0 on it.
fn split_for_reset(stream: TcpStream) -> std::io::Result<(TcpStream, Option<std::net::TcpStream>)> {
    let std_stream = stream.into_std()?;
    let dup = std_stream.try_clone().ok();
    Ok((TcpStream::from_std(std_stream)?, dup))
}
