//! The HTTP side: one reqwest client per proxy (rustls, gzip, brotli, timeouts), a desktop
//! User-Agent per session, the shared request budget, and the classification of answers into
//! success, block (an incomplete answer included) or transient failure.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;
use reqwest::StatusCode;

use crate::complete::{self, AnswerKind};
use crate::danawa::{self, Method, Request};
use crate::error::{BlockCause, CrawlError};
use crate::metrics::AnswerLabels;
use crate::metrics::CrawlerMetrics;
use crate::rate_limit::RateLimiter;
use crate::slots::{Arrival, RequestSlots};

/// Texts that mean "you are blocked" on a page that otherwise looks normal.
const BLOCK_MARKERS: [&str; 4] = ["비정상적인 접근", "접속이 차단", "Access Denied", "접근이 제한"];
/// Longest `Retry-After` honoured; beyond it the job's own backoff applies.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub proxies: Vec<String>,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub request_delay: Option<Duration>,
}

/// A client through one proxy (or none), and a twin that never reuses a connection, for
/// when the site's answer sticks to the connection (the Next.js list page).
struct Route {
    pooled: reqwest::Client,
    fresh: reqwest::Client,
}

/// Sends the crawler's requests. Cheap to share: clone the `Arc`.
pub(crate) struct Fetcher {
    routes: Vec<Route>,
    next_route: AtomicUsize,
    next_agent: AtomicUsize,
    settings: HttpSettings,
    rate: Option<RateLimiter>,
    /// `--concurrency` permits: a request holds one from its budget token to its last byte.
    slots: Arc<RequestSlots>,
    metrics: CrawlerMetrics,
}

impl Fetcher {
    /// # Errors
    /// When a proxy URL is not valid or the TLS back end cannot start.
    pub(crate) fn new(
        settings: HttpSettings,
        concurrency: usize,
        rate: Option<RateLimiter>,
        metrics: CrawlerMetrics,
    ) -> Result<Arc<Self>, reqwest::Error> {
        let proxies: Vec<Option<&str>> = if settings.proxies.is_empty() {
            vec![None]
        } else {
            settings.proxies.iter().map(|p| Some(p.as_str())).collect()
        };
        let routes = proxies
            .into_iter()
            .map(|proxy| Ok(Route { pooled: client(&settings, proxy, true)?, fresh: client(&settings, proxy, false)? }))
            .collect::<Result<Vec<_>, reqwest::Error>>()?;
        let start = rand::thread_rng().gen_range(0..danawa::USER_AGENTS.len());
        Ok(Arc::new(Self {
            routes,
            next_route: AtomicUsize::new(0),
            next_agent: AtomicUsize::new(start),
            settings,
            rate,
            slots: RequestSlots::new(concurrency),
            metrics,
        }))
    }

    /// A session for one job: one proxy and one User-Agent, in turn across jobs. A job taken
    /// from the queue brings its [`Arrival`], given up when its first request asks for a slot.
    pub(crate) fn session(self: &Arc<Self>, arrival: Option<Arrival>) -> Session {
        let (route, agent) = self.next_identity();
        Session { fetcher: self.clone(), route, agent, arrival, requests: 0, http_time: Duration::ZERO }
    }

    pub(crate) fn slots(&self) -> &Arc<RequestSlots> {
        &self.slots
    }

    fn next_identity(&self) -> (usize, &'static str) {
        let route = self.next_route.fetch_add(1, Ordering::Relaxed) % self.routes.len();
        (route, danawa::user_agent(self.next_agent.fetch_add(1, Ordering::Relaxed)))
    }
}

fn client(settings: &HttpSettings, proxy: Option<&str>, pooled: bool) -> Result<reqwest::Client, reqwest::Error> {
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .gzip(true)
        .brotli(true)
        .connect_timeout(settings.connect_timeout)
        .timeout(settings.request_timeout)
        .redirect(reqwest::redirect::Policy::limited(3));
    builder =
        if pooled { builder.pool_idle_timeout(Duration::from_secs(30)) } else { builder.pool_max_idle_per_host(0) };
    builder = match proxy {
        Some(proxy) => builder.proxy(reqwest::Proxy::all(proxy)?),
        None => builder.no_proxy(),
    };
    builder.build()
}

/// The requests of one job.
pub(crate) struct Session {
    fetcher: Arc<Fetcher>,
    route: usize,
    agent: &'static str,
    /// The job's share of unserved demand (see [`crate::slots`]): held from when the job is
    /// taken, and while it parses an answer that leads to its next request, until that
    /// request asks for a slot.
    arrival: Option<Arrival>,
    /// Requests sent so far, failures included.
    pub requests: u32,
    /// Time spent waiting for answers (bodies included), for the job's overhead figure.
    pub http_time: Duration,
}

impl Session {
    /// A second session with this one's proxy and User-Agent, for a request sent beside this
    /// session's (an item's spec table and shop list); [`Session::absorb`] adds its counts back.
    pub(crate) fn fork(&self) -> Session {
        Session {
            fetcher: self.fetcher.clone(),
            route: self.route,
            agent: self.agent,
            arrival: None,
            requests: 0,
            http_time: Duration::ZERO,
        }
    }

    /// Adds a forked session's requests and time to this one's.
    pub(crate) fn absorb(&mut self, other: Session) {
        self.requests += other.requests;
        self.http_time += other.http_time;
    }

    /// After a block: the next proxy and another User-Agent for the rest of the job; what the
    /// session has counted stays.
    pub(crate) fn rotate(&mut self) {
        (self.route, self.agent) = self.fetcher.next_identity();
    }

    /// Sends a request and returns the body of a whole, successful answer.
    ///
    /// # Errors
    /// [`CrawlError::Blocked`] for 403, 429, empty answers and block-marker texts;
    /// [`CrawlError::Incomplete`] for an answer without its end marker;
    /// [`CrawlError::Network`] and [`CrawlError::Status`] for timeouts, connection errors, bodies
    /// cut by the connection and other failures.
    pub(crate) async fn send(&mut self, request: &Request) -> Result<String, CrawlError> {
        self.send_on(request, false).await
    }

    /// [`Session::send`], on a connection of its own (never reused) when `fresh`.
    pub(crate) async fn send_on(&mut self, request: &Request, fresh: bool) -> Result<String, CrawlError> {
        let exchange = self.exchange(request, fresh).await.inspect_err(|error| {
            if matches!(error, CrawlError::ShortBody { .. }) {
                let labels = AnswerLabels { kind: request.answer.as_str() };
                self.fetcher.metrics.incomplete.get_or_create(&labels).inc();
            }
        })?;
        let body = classify(exchange.status, exchange.retry_after, exchange.body)?;
        complete::check(request.answer, &body).inspect_err(|_| {
            let labels = AnswerLabels { kind: request.answer.as_str() };
            self.fetcher.metrics.incomplete.get_or_create(&labels).inc();
        })?;
        Ok(body)
    }

    /// Sends a request and reads the whole answer, whatever its status: what was sent and
    /// what came back, unclassified (the capture command keeps all of it).
    ///
    /// # Errors
    /// [`CrawlError::Network`] when no answer was read; [`CrawlError::Redis`] when the shared
    /// budget cannot be asked.
    pub(crate) async fn exchange(&mut self, request: &Request, fresh: bool) -> Result<Exchange, CrawlError> {
        // The slot first, then the budget: a token is never spent by a request that then
        // waits for a slot (tokens saved up that way would go out as a burst).
        let slots = self.fetcher.slots.clone();
        let _slot = slots.acquire(&mut self.arrival).await;
        self.wait_for_turn().await?;
        let fetcher = &self.fetcher;
        let route = &fetcher.routes[self.route];
        let client = if fresh { &route.fresh } else { &route.pooled };
        let mut builder = match request.method {
            Method::Get => client.get(&request.url),
            Method::Post => client.post(&request.url).body(request.body()),
        };
        let mut sent = vec![(reqwest::header::USER_AGENT.as_str().to_owned(), self.agent.to_owned())];
        builder = builder.header(reqwest::header::USER_AGENT, self.agent);
        for (name, value) in &request.headers {
            builder = builder.header(*name, value);
            sent.push(((*name).to_owned(), value.clone()));
        }
        self.requests += 1;
        let started = Instant::now();
        let result = read_answer(builder, request.answer).await;
        let took = started.elapsed();
        self.http_time += took;
        fetcher.metrics.request_seconds.observe(took.as_secs_f64());
        if request.answer.leads_on() {
            // Set before the slot is given back: a job that will ask again at once is still
            // demand, or the consumer would read new jobs into the slots its next requests need.
            self.arrival = Some(slots.expect_request());
        }
        let mut exchange = result?;
        fetcher.metrics.bytes.inc_by(u64::try_from(exchange.body.len()).unwrap_or(0));
        exchange.sent_headers = sent;
        exchange.took = took;
        Ok(exchange)
    }

    /// The job waits out a retry pause: it is no demand on the slots meanwhile, so the
    /// process reads other work into them.
    pub(crate) fn pause(&mut self) {
        self.arrival = None;
    }

    /// The shared budget first, then the optional per-request delay.
    async fn wait_for_turn(&self) -> Result<(), CrawlError> {
        if let Some(rate) = &self.fetcher.rate {
            rate.acquire().await.map_err(CrawlError::Redis)?;
        }
        if let Some(delay) = self.fetcher.settings.request_delay {
            let jitter = rand::thread_rng().gen_range(0.5..1.5);
            tokio::time::sleep(delay.mul_f64(jitter)).await;
        }
        Ok(())
    }
}

/// One request and its whole answer.
#[derive(Debug, Clone)]
pub(crate) struct Exchange {
    pub status: StatusCode,
    pub retry_after: Option<Duration>,
    /// Received headers, in order (values as lossy text).
    pub headers: Vec<(String, String)>,
    /// Headers sent besides the client's own (User-Agent first).
    pub sent_headers: Vec<(String, String)>,
    pub body: String,
    pub took: Duration,
}

async fn read_answer(builder: reqwest::RequestBuilder, answer: AnswerKind) -> Result<Exchange, CrawlError> {
    let response = builder.send().await.map_err(transient)?;
    let status = response.status();
    let retry_after =
        response.headers().get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(parse_retry_after);
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    // A body that ends before its `Content-Length` or its last chunk is an incomplete answer.
    let body = response.text().await.map_err(|source| match source.is_body() || source.is_decode() {
        true => CrawlError::ShortBody { answer, source },
        false => transient(source),
    })?;
    Ok(Exchange { status, retry_after, headers, sent_headers: Vec::new(), body, took: Duration::ZERO })
}

/// A failed request (a body cut short is [`CrawlError::ShortBody`]: hyper checks the
/// `Content-Length` and the chunked end while reading).
fn transient(source: reqwest::Error) -> CrawlError {
    let what = if source.is_timeout() {
        "timeout"
    } else if source.is_connect() {
        "connection failed"
    } else if source.is_body() || source.is_decode() {
        "answer cut off"
    } else {
        "request failed"
    };
    // The error's own text holds the URL, which is not secret; the proxy URL is not in it.
    CrawlError::Network { what, source }
}

/// Sorts an answer into success, block or transient failure.
pub(crate) fn classify(status: StatusCode, retry_after: Option<Duration>, body: String) -> Result<String, CrawlError> {
    let blocked = |cause, detail: String| Err(CrawlError::Blocked { cause, detail, retry_after });
    match status {
        StatusCode::FORBIDDEN => blocked(BlockCause::Forbidden, "HTTP 403".into()),
        StatusCode::TOO_MANY_REQUESTS => blocked(BlockCause::TooManyRequests, "HTTP 429".into()),
        s if !s.is_success() => Err(CrawlError::Status { status: s.as_u16(), retry_after }),
        _ if body.trim().is_empty() => blocked(BlockCause::Empty, "empty answer".into()),
        _ => match BLOCK_MARKERS.iter().find(|m| body.contains(*m)) {
            Some(marker) => blocked(BlockCause::Marker, format!("answer says {marker:?}")),
            None => Ok(body),
        },
    }
}

/// `Retry-After` as seconds or an HTTP date, capped.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    let delay = match value.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => {
            let at = httpdate_to_unix(value)?;
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
            Duration::from_secs(at.saturating_sub(now))
        }
    };
    Some(delay.min(MAX_RETRY_AFTER))
}

fn httpdate_to_unix(value: &str) -> Option<u64> {
    let parsed = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    u64::try_from(parsed.timestamp()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_sorted_by_what_happens_next() {
        let ok = classify(StatusCode::OK, None, "<html>fine</html>".into());
        assert!(ok.is_ok());
        for (status, body, cause) in [
            (StatusCode::FORBIDDEN, "x", BlockCause::Forbidden),
            (StatusCode::TOO_MANY_REQUESTS, "x", BlockCause::TooManyRequests),
            (StatusCode::OK, "  ", BlockCause::Empty),
            (StatusCode::OK, "<p>비정상적인 접근이 감지되었습니다</p>", BlockCause::Marker),
        ] {
            match classify(status, None, body.into()) {
                Err(CrawlError::Blocked { cause: found, .. }) => assert_eq!(found, cause),
                other => panic!("{status} {body:?}: {other:?}"),
            }
        }
        assert!(matches!(
            classify(StatusCode::BAD_GATEWAY, None, "x".into()),
            Err(CrawlError::Status { status: 502, .. })
        ));
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("100000"), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon"), None);
    }
}
