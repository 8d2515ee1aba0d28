//! The list-page jobs a run starts with, and how they are added: through the run's page
//! dedupe set, in the same atomic step as their `enqueued:list` count, so a resumed run (or a
//! crawler fanning out the same page) never enqueues a page twice.

use common::config::ScrapeConfig;
use common::keys::Keys;
use common::messages::{Job, ListPageJob};
use common::plan::{next_jobs, Event};
use common::queue::{self, counter, Add, Step, StepOutcome};
use redis::aio::ConnectionLike;

use crate::run_state::RunInfo;
use crate::Error;

/// Steps per script call: large enough to enqueue a big config in a few round trips, small
/// enough not to block Redis for long.
const STEPS_PER_CALL: usize = 200;

/// The first jobs of a run, as the planner says (`common::plan`): per category and listing,
/// the first page with `fan_out` when the end is `*`, otherwise every page `start..=end`.
pub(crate) fn initial_jobs(config: &ScrapeConfig, run: &RunInfo) -> Vec<ListPageJob> {
    let event =
        Event::RunStarted { config, run_id: &run.id, started_at: run.started_at, stale_before: run.stale_before };
    next_jobs(event)
        .into_iter()
        .filter_map(|job| match job {
            Job::List(list) => Some(list),
            Job::Item(_) => None,
        })
        .collect()
}

/// The step adding one job, unless its page is already in the run's dedupe set.
pub(crate) fn step(keys: &Keys, job: ListPageJob) -> Step {
    // `category|filterValue|page`: the member a first page's fan-out uses too.
    let member = job.page_member();
    let counters = keys.run_counters(&job.run_id);
    let dedupe = (keys.run_pages_seen(&job.run_id), member);
    Step {
        counters: Some(counters),
        adds: vec![Add {
            stream: keys.jobs(),
            dedupe: Some(dedupe),
            counter: Some(counter::enqueued("list")),
            fields: Job::List(job).to_fields(),
            ..Add::default()
        }],
        ..Step::default()
    }
}

/// How many jobs were new and how many were already in the run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Enqueued {
    pub added: usize,
    pub already_there: usize,
}

/// Adds the jobs (each at most once per run).
///
/// # Errors
/// Redis errors; the jobs added before the error stay (a retry adds only the rest).
pub(crate) async fn enqueue<C: ConnectionLike>(
    conn: &mut C,
    keys: &Keys,
    jobs: Vec<ListPageJob>,
) -> Result<Enqueued, Error> {
    let steps: Vec<Step> = jobs.into_iter().map(|job| step(keys, job)).collect();
    let mut result = Enqueued::default();
    for chunk in steps.chunks(STEPS_PER_CALL) {
        // No step acknowledges anything, so the group argument is not used.
        for outcome in queue::apply(conn, common::keys::CRAWLERS_GROUP, chunk).await? {
            match outcome {
                StepOutcome::Applied { added: 0 } | StepOutcome::AlreadyAcked => result.already_there += 1,
                StepOutcome::Applied { added } => result.added += added,
            }
        }
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use common::config::PageEnd;

    fn config() -> ScrapeConfig {
        ScrapeConfig::parse(
            r#"{"pageBaseUrl": "http://sim/list/?cate=", "itemBaseUrl": "http://sim/info/?pcode=",
                "minimumDate": "2018", "itemsCategories": ["cpu"],
                "categories": [
                  {"category": "cpu", "categoryNumber": "1", "start": "1", "end": "*",
                   "filters": [{"name": "a", "type": "maker", "value": "10"},
                               {"name": "b", "type": "maker", "value": "11"}]},
                  {"category": "case", "categoryNumber": "2", "start": "2", "end": "4"}]}"#,
        )
        .expect("valid config")
    }

    fn run() -> RunInfo {
        let now = Utc::now();
        RunInfo {
            id: "r1".into(),
            state: "running".into(),
            started_at: now,
            finished_at: None,
            config_hash: String::new(),
            stale_before: now,
        }
    }

    #[test]
    fn star_listings_get_one_fan_out_page_and_ranges_every_page() {
        let jobs = initial_jobs(&config(), &run());
        let members: Vec<_> = jobs.iter().map(ListPageJob::page_member).collect();
        assert_eq!(members, ["cpu|10|1", "cpu|11|1", "case||2", "case||3", "case||4"]);
        assert!(jobs[..2].iter().all(|j| j.fan_out && j.end_page == PageEnd::Last && j.items.is_some()));
        assert!(jobs[2..].iter().all(|j| !j.fan_out && j.end_page == PageEnd::Page(4) && j.items.is_none()));
    }
}
