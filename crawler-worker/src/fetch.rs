//! One request with its own retries (DESIGN.md §4.7: a failed request is retried alone, not
//! its whole job). The answer is accepted only whole and parsed: an error says what happens
//! next ([`Decision`]); a block gets a new Tor circuit and a new session; every retry waits a
//! backoff with jitter, or the site's `Retry-After` when longer. A request that uses up its
//! attempts fails its job, and the failure names the request.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use common::messages::FailedRequest;
use common::retry::{Retrier, RetryPolicy};
use tokio_util::sync::CancellationToken;

use crate::danawa::Request;
use crate::error::{CrawlError, Decision};
use crate::http::{Fetcher, Session};
use crate::metrics::{AnswerLabels, BlockLabels, CrawlerMetrics};
use crate::tor::TorControl;

/// Longest pause between two attempts of a request.
pub(crate) const MAX_RETRY_DELAY: Duration = Duration::from_secs(60);
/// Whole answers that did not parse, before the request fails: a markup change does not get
/// better with more requests, while a one-off odd answer is worth a second look.
pub(crate) const PARSE_ATTEMPTS: u32 = 3;

/// How hard one request is tried.
#[derive(Debug, Clone)]
pub(crate) struct RequestPolicy {
    /// Attempts of one request before its job goes to the dead-letter stream.
    pub attempts: u32,
    /// First retry delay; doubles each attempt (full jitter), capped at [`MAX_RETRY_DELAY`].
    pub retry_base: Duration,
}

/// Why a job stopped before it finished.
#[derive(Debug)]
pub(crate) enum JobError {
    /// One request used up its attempts.
    Failed(Box<RequestFailure>),
    /// The job cannot succeed (robots.txt, a product outside the config, a filter not offered).
    Rejected(String),
    /// The process is shutting down: the entry stays pending for whoever takes it.
    Shutdown,
}

impl From<CrawlError> for JobError {
    /// An error outside any request's retry loop (a bad base URL): the job cannot succeed.
    fn from(error: CrawlError) -> Self {
        JobError::Rejected(error.chain())
    }
}

/// The request that failed, its attempts and its last error.
#[derive(Debug)]
pub(crate) struct RequestFailure {
    pub request: FailedRequest,
    pub attempts: u32,
    pub error: CrawlError,
}

/// Sends requests with their retries. One per process, shared by its jobs.
pub(crate) struct Requester {
    pub fetcher: Arc<Fetcher>,
    pub tor: Option<TorControl>,
    pub metrics: CrawlerMetrics,
    pub policy: RequestPolicy,
    pub shutdown: CancellationToken,
}

impl Requester {
    /// Sends `request` until `accept` takes its answer, the request has used its attempts, or
    /// the process shuts down. `target` names what it is for in logs and dead letters
    /// (`pcode 1234`, `page 2 of cpu|3156`).
    ///
    /// # Errors
    /// [`JobError`]: the failed request with its last error, a rejection, or shutdown.
    pub(crate) async fn fetch<T, Fut>(
        &self,
        session: &mut Session,
        request: &Request,
        target: &str,
        mut accept: impl FnMut(String) -> Fut,
    ) -> Result<T, JobError>
    where
        Fut: Future<Output = Result<T, CrawlError>>,
    {
        let policy = RetryPolicy::attempts(self.policy.retry_base, MAX_RETRY_DELAY, self.policy.attempts.max(1));
        let mut retrier = Retrier::new("a request to the site", policy).quiet();
        let (mut unparseable, mut fresh) = (0u32, false);
        loop {
            let result = match session.send_on(request, fresh).await {
                Ok(body) => accept(body).await,
                Err(error) => Err(error),
            };
            let error = match result {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            let decision = error.decision();
            if decision == Decision::GiveUp {
                return Err(JobError::Rejected(error.chain()));
            }
            unparseable += u32::from(matches!(error, CrawlError::Unparseable { .. }));
            let delay = retrier.failed(&error).filter(|_| unparseable < PARSE_ATTEMPTS);
            let attempts = retrier.failures();
            let Some(delay) = delay else {
                let request = FailedRequest {
                    endpoint: request.answer.as_str().to_owned(),
                    url: request.url.clone(),
                    target: target.to_owned(),
                };
                return Err(JobError::Failed(Box::new(RequestFailure { request, attempts, error })));
            };
            self.metrics.retries.get_or_create(&AnswerLabels { kind: request.answer.as_str() }).inc();
            tracing::info!(
                endpoint = request.answer.as_str(),
                target,
                attempt = attempts,
                error = %error.chain(),
                "request failed: retrying"
            );
            fresh = decision == Decision::Reconnect;
            let delay = match decision {
                // Another template on a new connection: nothing to wait for.
                Decision::Reconnect => Duration::ZERO,
                Decision::NewCircuit => {
                    self.new_circuit(session, &error).await;
                    delay
                }
                _ => delay,
            };
            session.pause();
            tokio::select! {
                () = self.shutdown.cancelled() => return Err(JobError::Shutdown),
                () = tokio::time::sleep(delay) => {}
            }
        }
    }

    /// After a block: count it, ask Tor for a new circuit, and go on with another proxy and
    /// User-Agent.
    async fn new_circuit(&self, session: &mut Session, error: &CrawlError) {
        if let Some(cause) = error.block_cause() {
            self.metrics.blocks.get_or_create(&BlockLabels { cause: cause.as_str() }).inc();
        }
        session.rotate();
        if let Some(tor) = &self.tor {
            match tor.new_circuit().await {
                Ok(true) => {
                    self.metrics.newnym.inc();
                    tracing::info!("asked Tor for a new circuit after a block");
                }
                Ok(false) => {}
                Err(error) => tracing::warn!(%error, "could not ask Tor for a new circuit"),
            }
        }
    }
}
