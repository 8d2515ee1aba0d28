//! `producer run`: validate the config, start or resume the run, enqueue its first jobs,
//! wait until it is done, and return its summary.

use std::path::PathBuf;
use std::time::Duration;

use chrono::Utc;
use common::config::ScrapeConfig;
use common::consumer::ensure_group;
use common::keys::{Keys, CRAWLERS_GROUP, UPDATERS_GROUP};
use common::redis_pool::Pool;
use redis::aio::ConnectionLike;
use tokio_util::sync::CancellationToken;

use crate::progress::{self, Waited, WatchSettings};
use crate::run_state::{self, NewRun, RunInfo};
use crate::summary::Summary;
use crate::{enqueue, Error};

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub config: PathBuf,
    /// Abandon a running run and start a new one.
    pub fresh: bool,
    /// With `fresh`: even while workers hold pending entries of the old run.
    pub force: bool,
    /// Parts whose last price point is older than this get item jobs; `None`: every part not
    /// updated since the run started.
    pub items_stale_after: Option<Duration>,
    pub watch: WatchSettings,
}

/// How `run` ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Finished(Summary),
    /// Shutdown was requested before the run was done; it goes on without this producer.
    Interrupted {
        run_id: String,
    },
}

/// Runs `producer run` to the end.
///
/// # Errors
/// [`Error::InvalidConfig`] before anything touches Redis; [`Error::FreshRefused`]; Redis errors.
pub async fn run_to_end(
    pool: &Pool,
    keys: &Keys,
    options: &RunOptions,
    shutdown: &CancellationToken,
) -> Result<Outcome, Error> {
    let config = ScrapeConfig::load(&options.config).map_err(Error::InvalidConfig)?;
    if config.categories.is_empty() {
        // A run without list pages could never be seen to finish.
        return Err(Error::NoCategories(options.config.clone()));
    }
    let mut conn = pool.get().await?;
    let run = start_or_resume(&mut conn, keys, &config, options).await?;
    // The groups start at the stream's beginning: jobs added before a worker starts are kept.
    ensure_group(&mut conn, &keys.jobs(), CRAWLERS_GROUP).await?;
    ensure_group(&mut conn, &keys.results(), UPDATERS_GROUP).await?;
    let enqueued = enqueue::enqueue(&mut conn, keys, enqueue::initial_jobs(&config, &run)).await?;
    tracing::info!(run = %run.id, added = enqueued.added, already_enqueued = enqueued.already_there, "list jobs enqueued");
    drop(conn);
    match progress::wait_until_done(pool, keys, &run.id, options.watch, shutdown).await? {
        Waited::Done(counters) => {
            let mut conn = pool.get().await?;
            let (finished, _) = run_state::read(&mut conn, keys).await?;
            let finished_at = finished.and_then(|r| r.finished_at).unwrap_or_else(Utc::now);
            Ok(Outcome::Finished(Summary::new(&run.id, run.started_at, finished_at, &counters)))
        }
        Waited::Interrupted(_) => Ok(Outcome::Interrupted { run_id: run.id }),
    }
}

/// Resumes the running run, or starts a new one (also when `fresh` abandons the running one).
async fn start_or_resume<C: ConnectionLike>(
    conn: &mut C,
    keys: &Keys,
    config: &ScrapeConfig,
    options: &RunOptions,
) -> Result<RunInfo, Error> {
    // A producer stopped between starting a run and counting what it superseded left them.
    run_state::count_superseded(conn, keys).await?;
    let (current, hash) = run_state::read(conn, keys).await?;
    let current_id = hash.get(run_state::field::ID).cloned().unwrap_or_default();
    match current {
        Some(run) if run.is_running() && !options.fresh => resume(conn, keys, config, run).await,
        Some(run) if run.is_running() => {
            check_abandon(conn, keys, &run, options.force).await?;
            start(conn, keys, config, options, &current_id, Some(&run)).await
        }
        previous => start(conn, keys, config, options, &current_id, previous.as_ref()).await,
    }
}

async fn resume<C: ConnectionLike>(
    conn: &mut C,
    keys: &Keys,
    config: &ScrapeConfig,
    run: RunInfo,
) -> Result<RunInfo, Error> {
    if run.config_hash != config.hash {
        tracing::warn!(
            run = %run.id,
            "the config changed since this run started; resuming it with the new file (pages already \
             enqueued are not enqueued again; --fresh starts a new run instead)"
        );
    }
    run_state::mark_resumed(conn, keys, Utc::now()).await?;
    tracing::info!(run = %run.id, started_at = %run.started_at, "resuming the running run");
    Ok(run)
}

async fn check_abandon<C: ConnectionLike>(conn: &mut C, keys: &Keys, run: &RunInfo, force: bool) -> Result<(), Error> {
    let pending = run_state::pending(conn, keys).await?;
    if pending.total() > 0 && !force {
        return Err(Error::FreshRefused {
            run: run.id.clone(),
            pending: pending.total(),
            crawlers: pending.crawlers,
            updaters: pending.updaters,
        });
    }
    tracing::warn!(
        run = %run.id,
        pending = pending.total(),
        "abandoning the running run (--fresh): its entries leave the streams, counted as superseded"
    );
    Ok(())
}

async fn start<C: ConnectionLike>(
    conn: &mut C,
    keys: &Keys,
    config: &ScrapeConfig,
    options: &RunOptions,
    current_id: &str,
    previous: Option<&RunInfo>,
) -> Result<RunInfo, Error> {
    let now = Utc::now();
    let stale_before = options
        .items_stale_after
        .and_then(|d| chrono::Duration::from_std(d).ok())
        .and_then(|d| now.checked_sub_signed(d))
        .unwrap_or(now);
    let info = RunInfo {
        id: run_state::new_run_id(now),
        state: run_state::STATE_RUNNING.to_owned(),
        started_at: now,
        finished_at: None,
        config_hash: config.hash.clone(),
        stale_before,
    };
    let new = NewRun { info, config_file: options.config.display().to_string() };
    run_state::begin(conn, keys, current_id, previous, &new, options.watch.keep_for).await?;
    tracing::info!(run = %new.info.id, "started a new run");
    Ok(new.info)
}
