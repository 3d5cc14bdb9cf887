//! The read guard: rate-limit block, circuit breaker wiring, retry budget
//! and the retry loop of idempotent reads.

use super::{BreakerPolicy, CircuitBreaker, RetryPolicy, Sleeper, clamp_wait, full_jitter};
use crate::providers::{ErrorKind, ProviderError};
use std::collections::VecDeque;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// Retry budget: retries may add at most this share of the requests made
/// in the last `BUDGET_WINDOW`, with a floor of `BUDGET_MIN_RETRIES`
/// (RELIABILITY §4.3: ≤ 20 % extra over 10 s).
pub const BUDGET_RATIO: f64 = 0.2;
pub const BUDGET_WINDOW: Duration = Duration::from_secs(10);
pub const BUDGET_MIN_RETRIES: usize = 3;

/// Why one attempt failed, and whether a read may be retried.
#[derive(Debug)]
pub struct Failure {
    pub err: ProviderError,
    pub retryable: bool,
    /// Wait asked for by the server (unclamped).
    pub wait: Option<Duration>,
    /// The request certainly never reached the server.
    pub not_sent: bool,
}

/// Everything around one provider's requests besides sending them: the
/// "blocked until the rate-limit reset" state, the circuit breaker, the
/// retry budget and the retry loop of idempotent reads. Each
/// [`HttpClient`](super::HttpClient) owns one; every provider's requests,
/// GitHub's included, go through it.
#[derive(Debug)]
pub struct ReadGuard {
    provider: String,
    policy: RetryPolicy,
    breaker: CircuitBreaker,
    blocked_until: Mutex<Option<Instant>>,
    /// The last failure the breaker counted, shown while it is open (only
    /// when `keep_last_failure`).
    last_failure: Mutex<Option<String>>,
    keep_last_failure: bool,
    /// Retry budget: (when, was a retry) over the last `BUDGET_WINDOW`.
    budget: Mutex<VecDeque<(Instant, bool)>>,
    sleeper: Sleeper,
}

/// Whether a failure says the server is unhealthy (counts against the
/// breaker): it timed out, refused or answered 5xx.
fn trips_breaker(e: &ProviderError) -> bool {
    matches!(
        e.kind,
        ErrorKind::Timeout | ErrorKind::Connect | ErrorKind::Server { .. }
    )
}

impl ReadGuard {
    pub fn new(provider: &str, retry: RetryPolicy, breaker: BreakerPolicy) -> Self {
        ReadGuard {
            provider: provider.to_string(),
            policy: retry,
            breaker: CircuitBreaker::new(breaker),
            blocked_until: Mutex::new(None),
            last_failure: Mutex::new(None),
            keep_last_failure: false,
            budget: Mutex::new(VecDeque::new()),
            sleeper: Sleeper::Tokio,
        }
    }

    /// Sleep between retries with `sleeper` instead of the tokio timer.
    pub fn with_sleeper(mut self, sleeper: Sleeper) -> Self {
        self.sleeper = sleeper;
        self
    }

    /// Remember the last failure the breaker counted and name it in the
    /// `CircuitOpen` error.
    pub fn with_last_failure(mut self) -> Self {
        self.keep_last_failure = true;
        self
    }

    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    pub fn breaker(&self) -> &CircuitBreaker {
        &self.breaker
    }

    fn err(&self, kind: ErrorKind, detail: impl AsRef<str>) -> ProviderError {
        ProviderError::new(&self.provider, kind, detail)
    }

    /// The error of a failed write. When the request may have reached the
    /// server (a timeout, a cut-off or oversized answer, a 502/504) the
    /// outcome is unknown and the responder is told to check before
    /// retrying; otherwise it is the failure as it is (a rate limit also
    /// blocks the calls after it). Writes are never retried.
    pub fn write_failure(&self, f: Failure) -> ProviderError {
        let cut_off = !f.not_sent
            && matches!(
                f.err.kind,
                ErrorKind::Timeout
                    | ErrorKind::Connect
                    | ErrorKind::Malformed
                    // The server answered, but with more than we read:
                    // whether it applied the write is not known.
                    | ErrorKind::TooLarge
            );
        let gateway = matches!(f.err.kind, ErrorKind::Server { status: 502 | 504 });
        if cut_off || gateway {
            self.err(
                ErrorKind::Unknown,
                format!(
                    "{} ({}); it may or may not have been applied: check before retrying",
                    f.err.detail,
                    f.err.cause()
                ),
            )
        } else {
            self.block_on_rate_limit(&f);
            f.err
        }
    }

    /// Fail fast (no request sent) while a rate-limit reset or an open
    /// circuit says so; otherwise the breaker admits the call.
    pub fn precheck(&self) -> Result<(), ProviderError> {
        let now = Instant::now();
        {
            let mut b = self.blocked_until.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(until) = *b {
                if now < until {
                    let left = until - now;
                    return Err(self.err(
                        ErrorKind::RateLimited {
                            retry_after: Some(left),
                        },
                        format!(
                            "waiting for the rate-limit reset ({}s left); no request sent",
                            left.as_secs().max(1)
                        ),
                    ));
                }
                *b = None;
            }
        }
        self.breaker.admit(now).map(|_| ()).map_err(|left| {
            let last = self
                .last_failure
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone()
                .map(|l| format!("; last failure: {l}"))
                .unwrap_or_default();
            self.err(
                ErrorKind::CircuitOpen,
                format!(
                    "no request sent; next probe in {}s{last}",
                    left.as_secs().max(1)
                ),
            )
        })
    }

    /// Report to the breaker how a call went (`ok` = the server answered sanely).
    pub fn record(&self, ok: bool) {
        self.breaker.record(Instant::now(), ok);
    }

    /// Report a call's outcome: the server is healthy unless it timed out,
    /// refused or answered 5xx.
    pub fn record_outcome(&self, err: Option<&ProviderError>) {
        let healthy = err.is_none_or(|e| !trips_breaker(e));
        if let (false, Some(e), true) = (healthy, err, self.keep_last_failure) {
            *self.last_failure.lock().unwrap_or_else(|p| p.into_inner()) =
                Some(format!("{} ({})", e.cause(), e.detail));
        }
        self.record(healthy);
    }

    /// Block every later call (no request sent) for `d`, unless already
    /// blocked for longer.
    pub fn block_for(&self, d: Duration) {
        let until = Instant::now() + d;
        let mut b = self.blocked_until.lock().unwrap_or_else(|p| p.into_inner());
        if b.is_none_or(|cur| cur < until) {
            *b = Some(until);
        }
    }

    /// After a failed write: honour a rate-limit reset for later calls.
    pub fn block_on_rate_limit(&self, f: &Failure) {
        if let (ErrorKind::RateLimited { .. }, Some(w)) = (&f.err.kind, f.wait) {
            self.block_for(clamp_wait(&self.policy, w));
        }
    }

    /// Note a first attempt in the retry budget window.
    fn budget_note_request(&self) {
        let now = Instant::now();
        let mut b = self.budget.lock().unwrap_or_else(|p| p.into_inner());
        Self::budget_trim(&mut b, now);
        b.push_back((now, false));
    }

    fn budget_trim(b: &mut VecDeque<(Instant, bool)>, now: Instant) {
        while b
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) > BUDGET_WINDOW)
            || b.len() > 10_000
        {
            b.pop_front();
        }
    }

    /// Take a retry from the budget if there is one: retries stay within
    /// [`BUDGET_RATIO`] of the requests of the last [`BUDGET_WINDOW`] (at
    /// least [`BUDGET_MIN_RETRIES`]), so many callers retrying at once do
    /// not hit a struggling provider harder.
    fn budget_take_retry(&self) -> bool {
        let now = Instant::now();
        let mut b = self.budget.lock().unwrap_or_else(|p| p.into_inner());
        Self::budget_trim(&mut b, now);
        let firsts = b.iter().filter(|(_, r)| !r).count();
        let retries = b.len() - firsts;
        let allowed = (((firsts as f64) * BUDGET_RATIO) as usize).max(BUDGET_MIN_RETRIES);
        if retries < allowed {
            b.push_back((now, true));
            true
        } else {
            false
        }
    }

    /// Run an idempotent read, retrying transient failures per the policy
    /// within the retry budget: full-jitter backoff, server waits clamped,
    /// a rate-limit reset longer than `max_inline_wait` (or met on the last
    /// attempt) blocks later calls instead of being slept. `attempt` does its
    /// own [`precheck`](Self::precheck) and [`record`](Self::record)ing.
    pub async fn retry<T, F, Fut>(&self, mut attempt: F) -> Result<T, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Failure>>,
    {
        let p = &self.policy;
        let mut retry = 0u32;
        loop {
            if retry == 0 {
                self.budget_note_request();
            }
            let f = match attempt().await {
                Ok(v) => return Ok(v),
                Err(f) => f,
            };
            let rate_limited = matches!(f.err.kind, ErrorKind::RateLimited { .. });
            let server = f.wait.map(|w| clamp_wait(p, w));
            if rate_limited {
                // Honour the reset for every later call too.
                let block = server.unwrap_or(p.min_wait);
                if block > p.max_inline_wait || retry + 1 >= p.max_attempts {
                    self.block_for(block);
                }
            }
            if !f.retryable || retry + 1 >= p.max_attempts.max(1) || !self.budget_take_retry() {
                return Err(f.err);
            }
            let wait = match server {
                Some(w) if w > p.max_inline_wait => return Err(f.err),
                Some(w) => w + p.base.mul_f64(crate::util::random_unit()),
                None if rate_limited => p.min_wait + full_jitter(p, retry),
                None => full_jitter(p, retry),
            };
            tracing::debug!(
                "{}: retry {} in {:?} after {}",
                self.provider,
                retry + 1,
                wait,
                f.err.cause()
            );
            self.sleeper.sleep(wait).await;
            retry += 1;
        }
    }
}
