//! The `parts` collection as the updater left it: documents per category, when each was last
//! updated, parts still marked `isUpdating`, and parts not refreshed by the last run (updated
//! before it started). One aggregation, cached for a while: it reads every document.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::response::Response;
use axum::Extension;
use bson::{doc, Bson, Document};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use maud::{html, Markup};

use super::auth::Session;
use super::layout::{self, Tab};
use super::Web;
use crate::run_state;

/// How long one aggregation is reused.
const CACHE_FOR: Duration = Duration::from_secs(15);
/// Longest an aggregation may take before the page says so.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum PartsError {
    #[error("MongoDB")]
    Mongo(#[source] mongodb::error::Error),
    #[error("MongoDB did not answer within {0:?}")]
    Timeout(Duration),
    #[error("reading the run from Redis")]
    Redis(#[source] crate::Error),
}

/// One category's line.
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryParts {
    pub category: String,
    pub documents: i64,
    pub last_updated: Option<DateTime<Utc>>,
    pub updating: i64,
    /// Updated before the reference run started (or never).
    pub not_refreshed: i64,
}

/// What the page shows.
#[derive(Debug, Clone)]
pub struct PartsView {
    /// The run the parts are compared with and when it started.
    pub run: Option<(String, DateTime<Utc>)>,
    pub categories: Vec<CategoryParts>,
    pub read_at: Instant,
}

/// Reads `parts` through one client, caching the last aggregation.
pub struct PartsReader {
    parts: mongodb::Collection<Document>,
    cached: tokio::sync::Mutex<Option<Arc<PartsView>>>,
}

impl PartsReader {
    pub fn new(client: &mongodb::Client, database: &str) -> Self {
        Self {
            parts: client.database(database).collection(common::parts::COLLECTION),
            cached: tokio::sync::Mutex::new(None),
        }
    }

    /// The cached view, renewed when older than [`CACHE_FOR`] (one reader at a time).
    ///
    /// # Errors
    /// MongoDB or Redis errors, or no answer in time.
    pub async fn view(&self, web: &Web) -> Result<Arc<PartsView>, PartsError> {
        let mut cached = self.cached.lock().await;
        if let Some(view) = cached.as_ref().filter(|v| v.read_at.elapsed() < CACHE_FOR) {
            return Ok(view.clone());
        }
        let run = reference_run(web).await?;
        let categories = tokio::time::timeout(READ_TIMEOUT, self.aggregate(run.as_ref().map(|r| r.1)))
            .await
            .map_err(|_| PartsError::Timeout(READ_TIMEOUT))?
            .map_err(PartsError::Mongo)?;
        let view = Arc::new(PartsView { run, categories, read_at: Instant::now() });
        *cached = Some(view.clone());
        Ok(view)
    }

    async fn aggregate(&self, since: Option<DateTime<Utc>>) -> mongodb::error::Result<Vec<CategoryParts>> {
        let since = since.map_or(Bson::Null, |t| Bson::DateTime(bson::DateTime::from_chrono(t)));
        let pipeline = vec![
            doc! { "$group": {
                "_id": "$category",
                "documents": { "$sum": 1 },
                "lastUpdated": { "$max": "$updatedAt" },
                "updating": { "$sum": { "$cond": [{ "$eq": ["$isUpdating", true] }, 1, 0] } },
                // A missing updatedAt sorts below every date: never refreshed.
                "notRefreshed": { "$sum": { "$cond": [{ "$lt": ["$updatedAt", since] }, 1, 0] } },
            } },
            doc! { "$sort": { "_id": 1 } },
        ];
        let docs: Vec<Document> = self.parts.aggregate(pipeline).await?.try_collect().await?;
        Ok(docs.iter().map(category).collect())
    }
}

fn category(d: &Document) -> CategoryParts {
    let int = |key: &str| match d.get(key) {
        Some(Bson::Int32(n)) => i64::from(*n),
        Some(Bson::Int64(n)) => *n,
        Some(Bson::Double(n)) => *n as i64,
        _ => 0,
    };
    CategoryParts {
        category: d.get_str("_id").unwrap_or("(none)").to_owned(),
        documents: int("documents"),
        last_updated: d.get_datetime("lastUpdated").ok().map(|t| t.to_chrono()),
        updating: int("updating"),
        not_refreshed: int("notRefreshed"),
    }
}

/// The last finished run, else the current one: parts it did not refresh are the stale ones.
async fn reference_run(web: &Web) -> Result<Option<(String, DateTime<Utc>)>, PartsError> {
    let mut conn = web.app.pool.get().await.map_err(|e| PartsError::Redis(e.into()))?;
    let finished = run_state::finished_runs(&mut conn, &web.app.keys).await.map_err(PartsError::Redis)?;
    if let Some((run, _)) = finished.into_iter().next() {
        return Ok(Some((run.id, run.started_at)));
    }
    let (current, _) = run_state::read(&mut conn, &web.app.keys).await.map_err(PartsError::Redis)?;
    Ok(current.map(|r| (r.id, r.started_at)))
}

/// `GET /parts`.
pub async fn page(State(web): State<Arc<Web>>, Extension(session): Extension<Session>) -> Response {
    let body = match &web.parts {
        None => html! { section { p.muted { "MongoDB is not configured (MONGODB_URI): nothing to show." } } },
        Some(reader) => match reader.view(&web).await {
            Ok(view) => table(&view),
            Err(error) => html! { section { p.error { "cannot read parts: " (common::error_text::chain(&error)) } } },
        },
    };
    layout::page(Tab::Parts, &session, "Parts", body)
}

fn table(view: &PartsView) -> Markup {
    let total = |f: fn(&CategoryParts) -> i64| view.categories.iter().map(f).sum::<i64>();
    html! {
        section {
            h1 { "Parts" }
            p.muted {
                @match &view.run {
                    Some((id, started)) => { "Not refreshed: updated before run " code { (id) } " started (" (layout::time(*started)) ")." }
                    None => "No run yet: every part counts as not refreshed.",
                }
                " Read " (layout::duration(view.read_at.elapsed().as_secs_f64())) " ago."
            }
            table #parts {
                thead { tr { th { "category" } th.n { "documents" } th { "last updated" } th.n { "isUpdating" } th.n { "not refreshed" } } }
                tbody {
                    @for c in &view.categories {
                        tr data-category=(c.category) {
                            td { (c.category) } td.n { (c.documents) }
                            td { (c.last_updated.map_or_else(|| "–".to_owned(), layout::time)) }
                            td.n { @if c.updating > 0 { span.badge.idle { (c.updating) } } @else { "0" } }
                            td.n { (c.not_refreshed) }
                        }
                    }
                    tr { th { "total" } th.n { (total(|c| c.documents)) } th {} th.n { (total(|c| c.updating)) } th.n { (total(|c| c.not_refreshed)) } }
                }
            }
        }
    }
}
