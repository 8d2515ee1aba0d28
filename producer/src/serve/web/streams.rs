//! The streams: per stream its length, what the counters say is in it, each group's pending
//! and undelivered entries with the oldest ages, and every consumer with its pending entries
//! and idle time; a consumer idle past the live window while holding entries is marked stale
//! (its entries wait for the claim step of a live worker).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::Response;
use axum::Extension;
use maud::{html, Markup};

use super::auth::Session;
use super::layout::{self, Tab};
use super::Web;
use crate::serve::gauges::ACTIVE_WITHIN;
use crate::status::{ConsumerStatus, GroupStatus, StreamStatus};

/// `GET /streams`.
pub async fn page(State(web): State<Arc<Web>>, Extension(session): Extension<Session>) -> Response {
    let live = live(&web).await;
    layout::page(Tab::Streams, &session, "Streams", html! { div #streams data-live="/live/streams" { (live) } })
}

/// `GET /live/streams`.
pub async fn fragment(State(web): State<Arc<Web>>) -> Response {
    layout::fragment(live(&web).await)
}

async fn live(web: &Web) -> Markup {
    let reading = web.app.gauges.refresh().await;
    let Some(status) = &reading.status else {
        return html! { section { p.error { "cannot read Redis: " (reading.error.as_deref().unwrap_or("unknown")) } } };
    };
    html! {
        @for stream in &status.streams { (stream_section(stream)) }
        section {
            h2 { "Dead letters" }
            p { a href="/dead-letters" { (status.dead_letter_entries) " entries" } " in the dead-letter stream (every run)." }
        }
    }
}

fn stream_section(stream: &StreamStatus) -> Markup {
    html! {
        section.stream data-stream=(stream.name) {
            h2 { code { (stream.name) } }
            ul.facts {
                li { span { "length" } (stream.length) }
                li { span { "in flight by the counters" } (stream.in_flight_by_counters) }
                li { @if stream.matches_counters { span.badge.ok { "matches" } } @else { span.badge.idle { "differs (entries of older runs?)" } } }
            }
            @if stream.groups.is_empty() { p.muted { "No consumer group yet: no worker has read this stream." } }
            @for group in &stream.groups { (group_table(stream, group)) }
        }
    }
}

fn group_table(stream: &StreamStatus, g: &GroupStatus) -> Markup {
    let stale = g.consumers.iter().filter(|c| is_stale(c)).count();
    html! {
        h2 { "group " code { (g.name) } }
        ul.facts {
            li { span { "pending" } (g.pending) }
            li { span { "undelivered" } (stream.length.saturating_sub(g.pending)) }
            li { span { "oldest undelivered" } (g.oldest_undelivered.as_ref().map_or_else(|| "–".to_owned(), |e| layout::ms(e.age_ms))) }
            @if let Some(p) = &g.oldest_pending {
                li { span { "oldest pending" } (layout::ms(p.age_ms)) " old, idle " (layout::ms(p.idle_ms)) ", at "
                    code { (p.consumer) } ", delivered " (p.deliveries) "×" }
            } @else { li { span { "oldest pending" } "–" } }
            li { span { "last delivered" } code { (g.last_delivered_id) } }
            li { span { "consumers" } (g.consumers.len()) @if stale > 0 { " (" span.badge.stale { (stale) " stale" } ")" } }
        }
        @if !g.consumers.is_empty() {
            table.consumers {
                thead { tr { th { "consumer" } th.n { "pending" } th.n { "idle" } th { "" } } }
                tbody {
                    @for c in &g.consumers {
                        tr data-consumer=(c.name) {
                            td { code { (c.name) } } td.n { (c.pending) } td.n { (layout::ms(c.idle_ms)) }
                            td {
                                @if is_stale(c) { span.badge.stale { "stale" } }
                                @else if idle(c) { span.badge.idle { "idle" } }
                                @else { span.badge.ok { "live" } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Not seen within the live window (a live worker reads every 2 s).
fn idle(c: &ConsumerStatus) -> bool {
    Duration::from_millis(c.idle_ms) >= ACTIVE_WITHIN
}

/// Gone while holding entries: they wait for another worker's claim step.
fn is_stale(c: &ConsumerStatus) -> bool {
    idle(c) && c.pending > 0
}
