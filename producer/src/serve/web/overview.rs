//! The overview: the current run (state, start, progress per kind, rate, ETA, requests, dead
//! letters, Redis memory), throughput over the last hour, and the last finished runs with their
//! summaries. The live part is re-rendered every few seconds by the page's script.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use axum::Extension;
use maud::{html, Markup};

use super::auth::Session;
use super::layout::{self, Tab};
use super::Web;
use crate::counters::{KindCounts, KINDS};
use crate::run_state::{self, FinishedRun};
use crate::serve::gauges::Reading;
use crate::status::Status;
use crate::summary::Summary;

/// `GET /`.
pub async fn page(State(web): State<Arc<Web>>, Extension(session): Extension<Session>) -> Response {
    let live = live(&web).await;
    layout::page(Tab::Overview, &session, "Overview", html! { div #overview data-live="/live/overview" { (live) } })
}

/// `GET /live/overview`: the same content without the shell.
pub async fn fragment(State(web): State<Arc<Web>>) -> Response {
    layout::fragment(live(&web).await)
}

async fn live(web: &Web) -> Markup {
    let reading = web.app.gauges.refresh().await;
    let runs = match web.app.pool.get().await {
        Ok(mut conn) => run_state::finished_runs(&mut conn, &web.app.keys).await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let now_ms =
        reading.status.as_ref().map_or_else(|| chrono::Utc::now().timestamp_millis(), |s| s.at.timestamp_millis());
    html! {
        (redis_line(&reading))
        @if let Some(status) = &reading.status { (current_run(status)) }
        section {
            h2 { "Throughput, last hour" }
            div.chart { (web.throughput.chart(now_ms)) }
        }
        (last_runs(&runs))
    }
}

fn redis_line(reading: &Reading) -> Markup {
    html! {
        ul.facts {
            @match &reading.error {
                None => li { span { "Redis" } span.badge.ok { "up" } },
                Some(error) => li { span { "Redis" } span.badge.bad { "down" } " " span.error { (error) } },
            }
            li { span { "read in" } (format!("{} ms", reading.took.as_millis())) }
            @if reading.status.is_some() {
                li { span { "memory" } (layout::bytes(reading.memory.used_bytes))
                    @if reading.memory.max_bytes > 0 { " of " (layout::bytes(reading.memory.max_bytes)) } }
            }
        }
    }
}

fn current_run(s: &Status) -> Markup {
    let Some(run) = &s.run else {
        return html! { section #run { h1 { "No run yet" } p.muted { "producer run --config FILE starts one." } } };
    };
    let rates = [s.rate.list, s.rate.item, s.rate.list_result, s.rate.item_result];
    let items = s.kinds.get("item").map_or(0, |c| c.done);
    html! {
        section #run data-state=(run.state) {
            h1 { "Run " code { (run.id) } " " span.badge.(run.state) #run-state { (run.state) } }
            ul.facts {
                li { span { "started" } (layout::time(run.started_at)) }
                @if let Some(finished) = run.finished_at { li { span { "finished" } (layout::time(finished)) } }
                li { span { "elapsed" } (layout::duration(run.elapsed_secs)) }
                // A finished run's last-minute rate would describe its last minute, not now.
                @if run.state == crate::run_state::STATE_RUNNING {
                    li { span { "rate" } (layout::per_sec(s.rate.total)) }
                    li { span { "ETA" } (s.eta_secs.map_or_else(|| "–".to_owned(), layout::duration)) }
                }
                li { span { "requests" } span #run-requests { (s.requests) } }
                @if items > 0 { li { span { "requests per product" } (format!("{:.2}", s.requests as f64 / items as f64)) } }
                li { span { "parts" } (s.parts_inserted) " inserted, " (s.parts_updated) " updated" }
                li { span { "dead letters" } a #run-dead href="/dead-letters" { (s.total.dead) } " of this run, "
                     (s.dead_letter_entries) " in the stream" }
                li { span { "counters" }
                    @if s.balanced { span.badge.ok #run-balanced { "balanced" } } @else { span.badge.bad #run-balanced { "NOT balanced" } } }
                li { span { "config" } code { (run.config_hash.get(..12).unwrap_or(&run.config_hash)) } }
            }
            table {
                thead { tr { th { "kind" } th { "progress" } th.n { "enqueued" } th.n { "done" } th.n { "dead" } th.n { "in flight" } th.n { "rate" } } }
                tbody {
                    @for (kind, rate) in KINDS.iter().zip(rates) {
                        (kind_row(kind, &s.kinds.get(kind).copied().unwrap_or_default(), rate))
                    }
                    (kind_row("total", &s.total, s.rate.total))
                }
            }
            @if let Some(replaced) = &s.replaced {
                p.muted { "Replaced run " code { (replaced.id) } ": " (replaced.total.superseded) " entries superseded, "
                    (replaced.uncounted) " not counted yet." }
            }
        }
    }
}

fn kind_row(kind: &str, c: &KindCounts, rate: f64) -> Markup {
    let finished = c.finished();
    let max = c.enqueued.max(1);
    html! {
        tr #(format!("kind-{kind}")) data-finished=(finished) data-enqueued=(c.enqueued) {
            td { (kind) }
            td { progress value=(finished.clamp(0, max)) max=(max) {} " " span.muted { (percent(finished, c.enqueued)) } }
            td.n { (c.enqueued) } td.n { (c.done) } td.n { (c.dead) } td.n { (c.in_flight) }
            td.n { (layout::per_sec(rate)) }
        }
    }
}

fn percent(part: i64, whole: i64) -> String {
    if whole <= 0 {
        return "–".to_owned();
    }
    format!("{:.0}%", part as f64 * 100.0 / whole as f64)
}

fn last_runs(runs: &Result<Vec<(FinishedRun, Option<Summary>)>, String>) -> Markup {
    html! {
        section #last-runs {
            h2 { "Last runs" }
            @match runs {
                Err(error) => p.error { "cannot read the finished runs: " (error) },
                Ok(runs) if runs.is_empty() => p.muted { "No finished run yet." },
                Ok(runs) => table {
                    thead { tr { th { "run" } th { "started" } th.n { "took" } th.n { "list pages" } th.n { "items" }
                        th.n { "parts inserted" } th.n { "updated" } th.n { "dead" } th.n { "requests" } } }
                    tbody {
                        @for (run, summary) in runs {
                            tr {
                                td { code { (run.id) } }
                                td { (layout::time(run.started_at)) }
                                @match summary {
                                    Some(s) => {
                                        td.n { (layout::duration(s.duration_secs)) }
                                        td.n { (s.list_pages.done) } td.n { (s.items.done) }
                                        td.n { (s.parts_inserted) } td.n { (s.parts_updated) }
                                        td.n { (s.dead_letters) }
                                        td.n { (s.requests) " (" (layout::per_sec(s.requests_per_sec)) ")" }
                                    }
                                    None => td.muted colspan="7" { "counters expired" },
                                }
                            }
                        }
                    }
                },
            }
        }
    }
}
