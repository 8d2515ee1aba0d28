//! Request dispatch: control endpoints, then crawler-facing endpoints wrapped in fault
//! injection and logging.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{stream, StreamExt};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{HeaderValue, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use hyper::{HeaderMap, Method, Request, Response, StatusCode};

use super::site::{self, Endpoint, Rendered};
use super::{control, Connection, SimState};
use crate::faults::{Fault, Scope};
use crate::markup::misc::block_page;
use crate::observe::LogEntry;
use crate::truncation::{Truncation, TruncationLog};

/// A body frame's error: only a "short body" truncation produces one, to end a body early.
pub(crate) type BodyError = Box<dyn std::error::Error + Send + Sync>;

pub(crate) type Body = BoxBody<Bytes, BodyError>;

/// Largest request body read (the real forms are a few hundred bytes).
const MAX_BODY: usize = 1 << 20;

/// Returned to hyper to drop the connection (after arming an RST).
#[derive(Debug, thiserror::Error)]
#[error("connection reset by fault injection")]
pub(crate) struct ResetConnection;

pub(crate) fn full(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Response<Body> {
    let body: Bytes = body.into();
    let mut response = Response::new(Full::new(body).map_err(|never: Infallible| match never {}).boxed());
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// Request facts the handlers and the log need.
pub(crate) struct SimRequest {
    pub method: Method,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

pub(crate) async fn handle(
    state: Arc<SimState>,
    conn: Arc<Connection>,
    req: Request<Incoming>,
) -> Result<Response<Body>, ResetConnection> {
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return Ok(full(StatusCode::PAYLOAD_TOO_LARGE, "text/plain", "too large")),
    };
    let req = SimRequest {
        method: parts.method,
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or("").to_owned(),
        headers: parts.headers,
        body,
    };
    if req.path.starts_with("/_sim/") {
        return Ok(control::handle(&state, &req));
    }
    crawler_facing(&state, &conn, req).await
}

fn in_scope(scope: Scope, endpoint: Endpoint) -> bool {
    match scope {
        Scope::All => endpoint != Endpoint::Robots && endpoint != Endpoint::NotFound,
        Scope::List => endpoint == Endpoint::ListAjax,
        Scope::Ajax => matches!(endpoint, Endpoint::ListAjax | Endpoint::SpecAjax | Endpoint::MallAjax),
        Scope::Pages => matches!(endpoint, Endpoint::ListPage | Endpoint::ProductPage),
    }
}

async fn crawler_facing(
    state: &SimState,
    conn: &Connection,
    req: SimRequest,
) -> Result<Response<Body>, ResetConnection> {
    let _in_flight = state.observer.begin();
    let started = Instant::now();
    let at_ms = state.observer.now_ms();
    let endpoint = site::classify(&req.method, &req.path);
    let faults = state.faults();
    // Throttling counts every crawler-facing request of the peer IP, whatever the fault scope.
    let throttled = endpoint != Endpoint::Robots
        && endpoint != Endpoint::NotFound
        && faults.throttle.is_some_and(|t| state.throttler.throttled(&t, conn.peer.ip(), Instant::now()));
    let (fault, delay, retry_after, truncation) = if throttled {
        (Some(Fault::Throttled), Duration::ZERO, None, None)
    } else if in_scope(faults.scope, endpoint) {
        state.with_rng(|rng| {
            let fault = faults.draw(rng);
            let delay = faults.latency.sample(rng);
            let retry_after = faults.retry_after(rng);
            // Only a truncation draws more (its cut), so other fault sequences are unchanged.
            let truncation = (fault == Some(Fault::Truncate)).then(|| Truncation::draw(rng));
            (fault, delay, retry_after, truncation)
        })
    } else {
        (None, Duration::ZERO, None, None)
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    // A repeat only means something for list pages; elsewhere the request is served as is.
    let fault = fault.filter(|f| *f != Fault::RepeatPage || endpoint == Endpoint::ListAjax);
    let mut log = LogEntry {
        seq: 0,
        at_ms,
        method: req.method.to_string(),
        path: if req.query.is_empty() { req.path.clone() } else { format!("{}?{}", req.path, req.query) },
        endpoint: endpoint.name(),
        status: 0,
        fault: fault.map(Fault::name),
        peer: conn.peer.to_string(),
        connection: conn.id,
        user_agent: header(&req.headers, "user-agent"),
        referer: header(&req.headers, "referer"),
        x_requested_with: header(&req.headers, "x-requested-with"),
        origin: header(&req.headers, "origin"),
        bytes: 0,
        duration_ms: 0.0,
        truncation: None,
        form: None,
    };
    // The list form, so a crawler test can check which fields it sent (DANAWA.md "Newer
    // evidence": the 2026 list form).
    if endpoint == Endpoint::ListAjax {
        log.form = Some(site::Fields::parse(&req.body).into_pairs());
    }
    if fault == Some(Fault::Reset) {
        conn.arm_reset();
        finish(state, log, started);
        return Err(ResetConnection);
    }
    let response = respond(state, conn, &req, endpoint, Faulted { fault, retry_after, truncation }, &mut log);
    log.status = response.status().as_u16();
    finish(state, log, started);
    Ok(response)
}

fn finish(state: &SimState, mut log: LogEntry, started: Instant) {
    log.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    state.observer.record(log);
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

/// What the fault draw decided for one request.
struct Faulted {
    fault: Option<Fault>,
    retry_after: Option<u64>,
    truncation: Option<Truncation>,
}

fn respond(
    state: &SimState,
    conn: &Connection,
    req: &SimRequest,
    endpoint: Endpoint,
    faulted: Faulted,
    log: &mut LogEntry,
) -> Response<Body> {
    let Faulted { fault, retry_after, truncation } = faulted;
    let status_page = |status: StatusCode, text: &str| {
        let mut response = full(
            status,
            "text/html; charset=UTF-8",
            format!("<html><head><title>{text}</title></head><body><h1>{text}</h1></body></html>"),
        );
        if let Some(secs) = retry_after {
            if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(RETRY_AFTER, value);
            }
        }
        response
    };
    match fault {
        Some(Fault::Error5xx(code)) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return status_page(status, status.canonical_reason().unwrap_or("Error"));
        }
        Some(Fault::Status403) => return status_page(StatusCode::FORBIDDEN, "403 Forbidden"),
        Some(Fault::Status429) => return status_page(StatusCode::TOO_MANY_REQUESTS, "429 Too Many Requests"),
        Some(Fault::Empty200) => return full(StatusCode::OK, "text/html; charset=UTF-8", Bytes::new()),
        // Throttled: empty answers, except that a list request gets the previous page again.
        Some(Fault::Throttled) if endpoint != Endpoint::ListAjax => {
            return full(StatusCode::OK, "text/html; charset=UTF-8", Bytes::new())
        }
        Some(Fault::BlockPage) => {
            let page = block_page();
            log.bytes = page.len();
            return full(StatusCode::OK, "text/html; charset=UTF-8", page);
        }
        _ => {}
    }
    let repeat = matches!(fault, Some(Fault::RepeatPage | Fault::Throttled));
    let rendered: Rendered = site::render(state, conn, req, endpoint, repeat);
    let mut body = rendered.body;
    // DANAWA.md "Blocks and politeness": empty or truncated answers; the cut falls at a random
    // point (see `truncation`), and a share of cut answers announce the full length.
    if let Some(cut) = truncation.and_then(|t| t.cut_point(&body).map(|at| (t, at))) {
        let (t, at) = cut;
        log.truncation = Some(TruncationLog { mode: t.mode, at, of: body.len(), short_body: t.short_body });
        log.bytes = at;
        if t.short_body {
            return short_body(rendered.status, rendered.content_type, body, at);
        }
        body.truncate(at);
    }
    log.bytes = body.len();
    if fault == Some(Fault::SlowBody) {
        return slow(rendered.status, rendered.content_type, body, state.faults().slow_body_bytes_per_sec);
    }
    full(rendered.status, rendered.content_type, body)
}

/// Announces the whole body's Content-Length, sends its first `at` bytes, then fails the body,
/// which makes hyper drop the connection: the client sees a body error, not an answer.
fn short_body(status: StatusCode, content_type: &'static str, body: String, at: usize) -> Response<Body> {
    let len = body.len();
    let sent = Bytes::from(body).slice(..at);
    let frames = stream::iter([Ok::<_, BodyError>(Frame::data(sent))]).chain(stream::once(async {
        // Let hyper flush what was sent before the connection goes.
        tokio::time::sleep(Duration::from_millis(20)).await;
        Err::<Frame<Bytes>, BodyError>("answer cut short by fault injection".into())
    }));
    let mut response = Response::new(BodyExt::boxed(StreamBody::new(frames)));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&len.to_string()) {
        response.headers_mut().insert(CONTENT_LENGTH, value);
    }
    response
}

/// A body sent in 1 KiB chunks paced at `bytes_per_sec`.
fn slow(status: StatusCode, content_type: &'static str, body: String, bytes_per_sec: u64) -> Response<Body> {
    const CHUNK: usize = 1024;
    let len = body.len();
    let bytes = Bytes::from(body);
    let pause = Duration::from_secs_f64(CHUNK as f64 / bytes_per_sec.max(1) as f64);
    let chunks = stream::unfold(0usize, move |offset| {
        let bytes = bytes.clone();
        async move {
            if offset >= bytes.len() {
                return None;
            }
            if offset > 0 {
                tokio::time::sleep(pause).await;
            }
            let end = (offset + CHUNK).min(bytes.len());
            Some((Ok::<_, BodyError>(Frame::data(bytes.slice(offset..end))), end))
        }
    });
    let mut response = Response::new(BodyExt::boxed(StreamBody::new(chunks)));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&len.to_string()) {
        response.headers_mut().insert(CONTENT_LENGTH, value);
    }
    response
}
