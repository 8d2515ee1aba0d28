//! The monitoring page of `producer serve`: server-rendered HTML (maud) with its stylesheet
//! and script embedded in the binary, so it works offline. Pages: the overview (current run,
//! throughput over the last hour, last runs), the streams (groups, consumers, stale ones
//! marked), the dead letters (paginated; retry and purge for the admin token) and the parts
//! collection. Every page and action needs a token ([`auth`]); the serve process binds to
//! loopback unless told otherwise.

pub mod auth;
pub mod dead;
pub mod layout;
pub mod overview;
pub mod parts;
pub mod streams;
pub mod throughput;

use std::sync::Arc;
use std::time::Duration;

use axum::middleware;
use axum::routing::{get, post};
use axum::Router;
use tokio_util::sync::CancellationToken;

use super::AppState;
use crate::settings::WebSettings;
use auth::Auth;
use parts::PartsReader;
use throughput::Throughput;

/// What the page's handlers share.
pub struct Web {
    pub app: AppState,
    pub throughput: Throughput,
    /// `None` without a MongoDB URI (the parts page says so).
    pub parts: Option<PartsReader>,
}

impl Web {
    pub fn new(app: AppState, mongo: Option<(&mongodb::Client, &str)>) -> Self {
        Self { app, throughput: Throughput::default(), parts: mongo.map(|(client, db)| PartsReader::new(client, db)) }
    }
}

/// The page's routes: `/login`, `/logout` and `/assets/*` open, everything else behind
/// [`auth::require`].
pub fn router(web: Arc<Web>, settings: &WebSettings) -> Router {
    let auth = Arc::new(Auth::new(settings.web_token.as_ref(), settings.web_admin_token.as_ref()));
    if !auth.enabled() {
        tracing::warn!("no EK_WEB_TOKEN or EK_WEB_ADMIN_TOKEN: the monitoring page refuses every request");
    }
    let pages = Router::new()
        .route("/", get(overview::page))
        .route("/live/overview", get(overview::fragment))
        .route("/streams", get(streams::page))
        .route("/live/streams", get(streams::fragment))
        .route("/dead-letters", get(dead::page))
        .route("/dead-letters/{id}/page", get(dead::saved_page))
        .route("/dead-letters/retry", post(dead::retry))
        .route("/dead-letters/retry-kind", post(dead::retry))
        .route("/dead-letters/purge", post(dead::purge))
        .route("/parts", get(parts::page))
        .with_state(web)
        .layer(middleware::from_fn_with_state(auth.clone(), auth::require));
    let open = Router::new()
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/logout", post(auth::logout))
        .with_state(auth)
        .route("/assets/app.css", get(|| async { layout::asset("text/css; charset=utf-8", layout::CSS) }))
        .route("/assets/app.js", get(|| async { layout::asset("text/javascript; charset=utf-8", layout::JS) }));
    pages.merge(open)
}

/// Samples the run for the throughput chart every `every` until `shutdown`.
pub fn spawn_sampler(web: Arc<Web>, every: Duration, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            if let Some(status) = &web.app.gauges.refresh().await.status {
                web.throughput.record(status);
            }
        }
    })
}
