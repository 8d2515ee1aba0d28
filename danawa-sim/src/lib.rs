//! danawa-sim: an offline stand-in for prod.danawa.com. It serves a deterministic synthetic
//! catalogue with Danawa's URLs, form fields and markup, computes the ground truth a complete
//! crawl must produce, injects faults and records what crawlers send.
//!
//! In-process use (tests, benches):
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let sim = danawa_sim::serve(danawa_sim::SimConfig::default(), listener).await?;
//! let origin = sim.origin(); // e.g. http://127.0.0.1:41234
//! # let _ = origin;
//! let stats = sim.state().observer.stats();
//! # let _ = stats;
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

pub mod catalogue;
pub mod faults;
pub mod markup;
pub(crate) mod observe;
pub(crate) mod rng;
pub mod server;
pub mod settings;
pub(crate) mod truncation;
pub mod truth;

pub use catalogue::{Catalogue, CatalogueParams};
pub use faults::{FaultConfig, Latency, Scope, Throttle};
pub use server::{serve, serve_catalogue, SimConfig, SimHandle, SimState};
pub use truth::{default_config, ground_truth};
