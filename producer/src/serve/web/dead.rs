//! The dead letters: a page at a time, newest first (XREVRANGE … COUNT, never the whole
//! stream), each with its kind, reason, attempts, last error, failed request, original fields
//! and saved answer; and the admin actions retry one, retry every letter of a kind, purge one
//! or a kind. The actions are the `producer dead-letters retry|purge` code path
//! ([`crate::dead_letter_admin`]), so a retried letter moves its run's counter from dead back to in
//! flight in the same atomic step and the run keeps balancing.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use maud::{html, Markup};
use serde::Deserialize;

use super::auth::Session;
use super::layout::{self, Tab};
use super::Web;
use crate::counters::KINDS;
use crate::dead_letter_admin::{self, Entry, Selection};

/// Dead letters per page.
pub const PAGE_SIZE: usize = 50;
/// Letters one click on "retry every" or "purge every" handles: a kind with 100,000 letters is
/// done in clicks of a few seconds each, not in one request that outlives the browser's patience.
pub const ACTION_BATCH: usize = 1000;
/// Characters of an original field value shown before it is cut.
const FIELD_CHARS: usize = 2000;

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    kind: Option<String>,
    before: Option<String>,
    notice: Option<String>,
}

/// `GET /dead-letters`.
pub async fn page(
    State(web): State<Arc<Web>>,
    Extension(session): Extension<Session>,
    Query(query): Query<ListQuery>,
) -> Response {
    let kind = query.kind.as_deref().filter(|k| !k.is_empty());
    let before = query.before.as_deref().filter(|id| is_entry_id(id));
    let read = async {
        let mut conn = web.app.pool.get().await?;
        let length: u64 = redis::cmd("XLEN").arg(web.app.keys.dead()).query_async(&mut conn).await?;
        let page = dead_letter_admin::page(&mut conn, &web.app.keys, kind, before, PAGE_SIZE).await?;
        Ok::<_, crate::Error>((length, page))
    };
    let body = match read.await {
        Err(error) => html! { section { p.error { "cannot read the dead letters: " (error) } } },
        Ok((length, page)) => html! {
            @if let Some(notice) = &query.notice { section.notice #notice { (notice) } }
            section {
                h1 { "Dead letters " span.muted #dead-count { (length) } }
                (filters(kind))
                @if session.role == super::auth::Role::Admin { (kind_actions(&session, kind)) }
            }
            section {
                @if page.entries.is_empty() { p.muted #no-dead-letters { "None." } }
                @else {
                    table #dead-letters {
                        thead { tr { th { "id" } th { "kind" } th { "reason" } th.n { "attempts" } th { "failed at" }
                            th { "last error and details" } th { "" } } }
                        tbody { @for entry in &page.entries { (row(&session, entry, kind)) } }
                    }
                }
                div.pager {
                    @if before.is_some() { a href=(list_href(kind, None)) { "← newest" } }
                    @if let Some(next) = &page.next { a #older href=(list_href(kind, Some(next))) { "older →" } }
                }
            }
        },
    };
    layout::page(Tab::DeadLetters, &session, "Dead letters", body)
}

fn list_href(kind: Option<&str>, before: Option<&str>) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    if let Some(kind) = kind {
        q.append_pair("kind", kind);
    }
    if let Some(before) = before {
        q.append_pair("before", before);
    }
    let q = q.finish();
    if q.is_empty() {
        "/dead-letters".to_owned()
    } else {
        format!("/dead-letters?{q}")
    }
}

fn filters(kind: Option<&str>) -> Markup {
    html! {
        p {
            "Show: "
            a href="/dead-letters" { @if kind.is_none() { b { "every kind" } } @else { "every kind" } }
            @for k in KINDS.iter().copied().chain(["unknown"]) {
                " · " a href=(list_href(Some(k), None)) { @if kind == Some(k) { b { (k) } } @else { (k) } }
            }
        }
    }
}

/// Retry or purge every letter of the shown kind (admin only).
fn kind_actions(session: &Session, kind: Option<&str>) -> Markup {
    let Some(kind) = kind else {
        return html! { p.muted { "Pick a kind to retry or purge all of its letters." } };
    };
    html! {
        p {
            form.inline method="post" action="/dead-letters/retry-kind" {
                (csrf(session)) input type="hidden" name="kind" value=(kind);
                button #retry-kind type="submit" { "retry every " (kind) " letter" }
            }
            " "
            form.inline method="post" action="/dead-letters/purge" data-confirm=(format!("Delete every {kind} dead letter for good?")) {
                (csrf(session)) input type="hidden" name="kind" value=(kind);
                button.danger type="submit" { "purge every " (kind) " letter" }
            }
        }
    }
}

fn csrf(session: &Session) -> Markup {
    html! { @if let Some(value) = &session.csrf { input type="hidden" name="csrf" value=(value); } }
}

fn row(session: &Session, entry: &Entry, kind: Option<&str>) -> Markup {
    let admin = session.role == super::auth::Role::Admin;
    html! {
        tr.dead-letter data-id=(entry.id) data-kind=(entry.kind()) {
            td { code { (entry.id) } }
            @match &entry.letter {
                None => td colspan="5" { span.error { "this dead letter does not decode; only purge applies" } },
                Some(l) => {
                    td { (l.kind) }
                    td { (serde_json::to_value(l.reason).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()) }
                    td.n { (l.attempts) }
                    td { (layout::time(l.failed_at)) }
                    td {
                        pre { (layout::cut(&l.last_error, 300)) }
                        @if let Some(r) = &l.request { div.muted { (r.endpoint) " " (r.target) ": " code { (r.url) } } }
                        @if let Some(run) = &l.run_id { div.muted { "run " code { (run) } } }
                        details {
                            summary { "original fields (" (l.fields.len()) ")" }
                            table { @for (name, value) in &l.fields { tr { th { (name) } td { pre { (layout::cut(value, FIELD_CHARS)) } } } } }
                        }
                        @if l.page.is_some() { a href=(format!("/dead-letters/{}/page", entry.id)) { "saved answer" } }
                    }
                }
            }
            td {
                @if admin {
                    @if entry.letter.is_some() {
                        form.inline method="post" action="/dead-letters/retry" {
                            (csrf(session)) input type="hidden" name="id" value=(entry.id);
                            @if let Some(kind) = kind { input type="hidden" name="back" value=(kind); }
                            button.retry type="submit" { "retry" }
                        }
                    }
                    form.inline method="post" action="/dead-letters/purge" data-confirm="Delete this dead letter for good?" {
                        (csrf(session)) input type="hidden" name="id" value=(entry.id);
                        button.danger type="submit" { "purge" }
                    }
                }
            }
        }
    }
}

/// `GET /dead-letters/{id}/page`: the saved answer as plain text (never as HTML: it is the
/// site's markup, scripts included).
pub async fn saved_page(State(web): State<Arc<Web>>, Path(id): Path<String>) -> Response {
    if !is_entry_id(&id) {
        return (StatusCode::BAD_REQUEST, "not an entry id\n").into_response();
    }
    let selection = Selection { ids: vec![id], ..Selection::default() };
    let found = async {
        let mut conn = web.app.pool.get().await?;
        dead_letter_admin::select(&mut conn, &web.app.keys, &selection).await
    };
    match found.await {
        Ok(entries) => match entries.into_iter().find_map(|e| e.letter.and_then(|l| l.page)) {
            Some(page) => (
                [
                    (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                    (header::CONTENT_SECURITY_POLICY, "sandbox"),
                ],
                page,
            )
                .into_response(),
            None => (StatusCode::NOT_FOUND, "no such dead letter, or no saved answer\n").into_response(),
        },
        Err(error) => (StatusCode::BAD_GATEWAY, format!("cannot read the dead letter: {error}\n")).into_response(),
    }
}

/// `<ms>-<seq>`: the only ids passed on to Redis.
fn is_entry_id(id: &str) -> bool {
    id.split_once('-').is_some_and(|(ms, seq)| {
        !ms.is_empty()
            && !seq.is_empty()
            && ms.bytes().all(|b| b.is_ascii_digit())
            && seq.bytes().all(|b| b.is_ascii_digit())
    })
}

#[derive(Debug, Deserialize)]
pub struct ActionForm {
    csrf: Option<String>,
    id: Option<String>,
    kind: Option<String>,
    /// The kind filter to return to.
    back: Option<String>,
}

impl ActionForm {
    /// What the form names: one letter, or every letter of a kind.
    fn selection(&self) -> Option<Selection> {
        match (&self.id, &self.kind) {
            (Some(id), None) if is_entry_id(id) => Some(Selection { ids: vec![id.clone()], ..Selection::default() }),
            (None, Some(kind)) if !kind.is_empty() => {
                Some(Selection { kind: Some(kind.clone()), ..Selection::default() })
            }
            _ => None,
        }
    }
}

/// `POST /dead-letters/retry` (one, `id`) and `/dead-letters/retry-kind` (`kind`).
pub async fn retry(
    State(web): State<Arc<Web>>,
    Extension(session): Extension<Session>,
    Form(form): Form<ActionForm>,
) -> Response {
    act(&web, &session, &form, Action::Retry).await
}

/// `POST /dead-letters/purge` (`id` or `kind`).
pub async fn purge(
    State(web): State<Arc<Web>>,
    Extension(session): Extension<Session>,
    Form(form): Form<ActionForm>,
) -> Response {
    act(&web, &session, &form, Action::Purge).await
}

#[derive(Debug, Clone, Copy)]
enum Action {
    Retry,
    Purge,
}

async fn act(web: &Web, session: &Session, form: &ActionForm, action: Action) -> Response {
    if let Err(refused) = session.authorize_action(form.csrf.as_deref()) {
        tracing::warn!(%refused, "a dead-letter action was refused");
        return refused.into_response();
    }
    let Some(selection) = form.selection() else {
        return (StatusCode::BAD_REQUEST, "name one dead letter (id) or a kind\n").into_response();
    };
    let done = async {
        let mut conn = web.app.pool.get().await?;
        let entries = dead_letter_admin::select(&mut conn, &web.app.keys, &selection).await?;
        let more = if selection.limit == Some(entries.len()) {
            format!(" (the first {ACTION_BATCH}: again for the rest)")
        } else {
            String::new()
        };
        Ok::<_, crate::Error>(match action {
            Action::Retry => {
                let r = dead_letter_admin::retry(&mut conn, &web.app.keys, &entries).await?;
                tracing::info!(
                    sent_back = r.sent_back.len(),
                    gone = r.gone.len(),
                    skipped = r.skipped.len(),
                    "dead letters retried from the page"
                );
                r.to_string()
            }
            Action::Purge => {
                let n = dead_letter_admin::purge(&mut conn, &web.app.keys, &entries).await?;
                tracing::info!(deleted = n, "dead letters purged from the page");
                format!("deleted {n} dead letter(s){more}")
            }
        })
    };
    match done.await {
        Ok(notice) => {
            let back = form.back.as_deref().or(form.kind.as_deref()).filter(|k| !k.is_empty());
            let mut q = url::form_urlencoded::Serializer::new(String::new());
            if let Some(kind) = back {
                q.append_pair("kind", kind);
            }
            q.append_pair("notice", &notice);
            Redirect::to(&format!("/dead-letters?{}", q.finish())).into_response()
        }
        Err(error) => (StatusCode::BAD_GATEWAY, format!("Redis: {error}\n")).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_stream_ids_reach_redis() {
        assert!(is_entry_id("1700000000000-0"));
        for bad in ["", "-", "1-", "-1", "+", "1-2-3", "(1-0", "1-0 x"] {
            assert!(!is_entry_id(bad), "{bad}");
        }
    }
}
