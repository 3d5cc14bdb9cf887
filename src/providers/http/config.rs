//! What is tunable about one provider's HTTP client: timeouts, the retry
//! and breaker policies, the body cap, paging, and what sleeps between
//! retries.

use futures::future::BoxFuture;
use std::sync::Arc;
use std::time::Duration;

/// Default response body cap.
pub const DEFAULT_BODY_CAP: usize = 32 * 1024 * 1024;

/// Retries of idempotent reads.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, including the first (1 = no retry).
    pub max_attempts: u32,
    /// Full jitter: `sleep = rand(0, min(cap, base · 2^retry))`.
    pub base: Duration,
    pub cap: Duration,
    /// A wait asked for by the server (`Retry-After`, reset headers) is
    /// clamped to `[min_wait, max_wait]`.
    pub min_wait: Duration,
    pub max_wait: Duration,
    /// A server wait longer than this is not slept inside one call: the call
    /// fails with `RateLimited` and the client blocks until the reset.
    pub max_inline_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base: Duration::from_millis(500),
            cap: Duration::from_secs(30),
            min_wait: Duration::from_secs(1),
            max_wait: Duration::from_secs(300),
            max_inline_wait: Duration::from_secs(30),
        }
    }
}

/// When the circuit opens.
#[derive(Clone, Debug, PartialEq)]
pub struct BreakerPolicy {
    /// Opens after this many failures in a row...
    pub consecutive_failures: u32,
    /// ...or when at least `min_calls` calls in `window` failed at `failure_ratio` or more.
    pub window: Duration,
    pub min_calls: u32,
    pub failure_ratio: f64,
    /// How long it stays open before one half-open probe is let through.
    pub open_for: Duration,
    /// A probe that has not reported after this long (e.g. it was cancelled)
    /// no longer blocks a new probe.
    pub probe_timeout: Duration,
}

impl Default for BreakerPolicy {
    fn default() -> Self {
        BreakerPolicy {
            consecutive_failures: 5,
            window: Duration::from_secs(60),
            min_calls: 20,
            failure_ratio: 0.5,
            open_for: Duration::from_secs(30),
            probe_timeout: Duration::from_secs(60),
        }
    }
}

/// Everything tunable about one provider's HTTP client.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpConfig {
    pub connect_timeout: Duration,
    /// Per read (resets after each successful read): catches a stalled body.
    pub read_timeout: Duration,
    /// Whole request, body included, for reads.
    pub total_timeout: Duration,
    /// Whole request for writes.
    pub write_timeout: Duration,
    pub retry: RetryPolicy,
    pub breaker: BreakerPolicy,
    /// Largest response body accepted, in bytes.
    pub body_cap: usize,
    /// Safety cap on the pages one cursor/Link walk follows.
    pub max_pages: usize,
    /// Pages fetched at once where the API allows it.
    pub page_concurrency: usize,
    /// A first page back within this is from a near server: an offset
    /// list then reads `near_in_flight` pages at once, not all
    /// ([`super::Fanout`]).
    pub near_rtt: Duration,
    pub near_in_flight: usize,
    /// What waits between read retries (the tokio timer).
    pub sleeper: Sleeper,
}

impl HttpConfig {
    /// Defaults derived from a provider's `timeout` (SPEC §3, default 10 s):
    /// connect min(5 s, t), read t, total 1.5·t, writes max(30 s, 1.5·t).
    pub fn from_timeout(timeout: Duration) -> Self {
        let t = timeout.max(Duration::from_millis(1));
        let total = t.mul_f64(1.5);
        HttpConfig {
            connect_timeout: t.min(Duration::from_secs(5)),
            read_timeout: t,
            total_timeout: total,
            write_timeout: total.max(Duration::from_secs(30)),
            retry: RetryPolicy::default(),
            breaker: BreakerPolicy::default(),
            body_cap: DEFAULT_BODY_CAP,
            max_pages: 1000,
            page_concurrency: 4,
            near_rtt: Duration::from_millis(20),
            near_in_flight: 4,
            sleeper: Sleeper::Tokio,
        }
    }

    /// An upper bound for one fetch of `requests` sequential reads, for
    /// `Provider::fetch_deadline`.
    pub fn fetch_deadline(&self, requests: u32) -> Duration {
        let per = self.total_timeout * self.retry.max_attempts.max(1)
            + self.retry.cap.min(Duration::from_secs(5)) * self.retry.max_attempts;
        (per * requests.max(1)).max(Duration::from_secs(60))
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self::from_timeout(Duration::from_secs(10))
    }
}

/// A custom sleep: returns the future that waits `d`.
pub type SleepFn = dyn Fn(Duration) -> BoxFuture<'static, ()> + Send + Sync;

/// What sleeps between the retries of a read. Production uses the tokio
/// timer; a test can put in a function that records each wait and returns
/// at once, so "honours `Retry-After: 1`" is checked exactly, without
/// waiting a second of wall-clock time.
#[derive(Clone, Default)]
pub enum Sleeper {
    /// `tokio::time::sleep`.
    #[default]
    Tokio,
    Custom(Arc<SleepFn>),
}

impl Sleeper {
    pub fn custom(f: impl Fn(Duration) -> BoxFuture<'static, ()> + Send + Sync + 'static) -> Self {
        Sleeper::Custom(Arc::new(f))
    }

    pub async fn sleep(&self, d: Duration) {
        match self {
            Sleeper::Tokio => tokio::time::sleep(d).await,
            Sleeper::Custom(f) => f(d).await,
        }
    }
}

impl std::fmt::Debug for Sleeper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Sleeper::Tokio => "Sleeper::Tokio",
            Sleeper::Custom(_) => "Sleeper::Custom",
        })
    }
}

/// Two custom sleepers are equal when they are the same function.
impl PartialEq for Sleeper {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Sleeper::Tokio, Sleeper::Tokio) => true,
            (Sleeper::Custom(a), Sleeper::Custom(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}
