//! The shared HTTP layer every HTTP provider builds on.
//!
//! One [`HttpClient`] per provider:
//! - explicit connect / read / total timeouts (reqwest has none by default);
//! - idempotent reads ([`HttpClient::get`]) retried on timeouts, refused
//!   connections, 408/425/429 and 5xx, with capped **full-jitter** backoff;
//!   `Retry-After` (seconds or HTTP-date) and vendor rate-limit reset headers
//!   are honoured and clamped; a wait longer than `max_inline_wait` is not
//!   slept inside one fetch: the call fails with `RateLimited` and later calls
//!   fail fast (no network I/O) until the reset;
//! - writes ([`HttpClient::send`]) are **never** retried; a write cut off
//!   after it may have reached the server is `ErrorKind::Unknown`;
//! - a per-provider circuit breaker (closed → open → half-open probe);
//! - the rate-limit block, breaker wiring, retry budget and read-retry loop
//!   live in [`ReadGuard`], independent of the transport, so a provider on
//!   another HTTP stack (GitHub through octocrab) shares them;
//! - bodies read with a size cap (`ErrorKind::TooLarge`);
//! - every failure is a typed `ProviderError` with a short sanitized excerpt
//!   of the error body. Request headers are never formatted anywhere; the
//!   credential headers are marked sensitive and only ever shown through
//!   [`HttpClient::redacted_headers`].
//!
//! Pagination helpers: [`offset_pages`] (PagerDuty classic `more`, with
//! bounded concurrency once the total is known), [`HttpClient::get_link_pages`]
//! (`Link: <…>; rel="next"`, GitHub and Sentry, stops on `results="false"`)
//! and [`HttpClient::get_next_url_pages`] (a next URL or cursor in the body).

use super::{ErrorKind, ProviderError};
use crate::ops::PlannedRequest;
use crate::secrets::Secret;
use crate::text::SafeText;
use futures::StreamExt;
use futures::future::BoxFuture;
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

/// Retry budget: retries may add at most this share of the requests made
/// in the last `BUDGET_WINDOW`, with a floor of `BUDGET_MIN_RETRIES`
/// (RELIABILITY §4.3: ≤ 20 % extra over 10 s).
pub const BUDGET_RATIO: f64 = 0.2;
pub const BUDGET_WINDOW: Duration = Duration::from_secs(10);
pub const BUDGET_MIN_RETRIES: usize = 3;

/// Default response body cap.
pub const DEFAULT_BODY_CAP: usize = 32 * 1024 * 1024;
/// Longest error-body excerpt kept in an error, in characters.
pub const EXCERPT_CAP: usize = 200;

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

/// How a provider authenticates. Values are secrets: they are put on the
/// wire as sensitive headers and never printed.
#[derive(Clone, Debug)]
pub enum Auth {
    None,
    /// `Authorization: Token token=<key>` (PagerDuty REST API keys).
    PagerDuty(Secret),
    /// `Authorization: GenieKey <key>` (Opsgenie).
    GenieKey(Secret),
    /// `Authorization: Bearer <token>` (Sentry, GitHub, Vercel, OAuth).
    Bearer(Secret),
    /// `Authorization: <token>` (LaunchDarkly, Unleash).
    Raw(Secret),
    /// Custom header pairs, e.g. Datadog `DD-API-KEY` + `DD-APPLICATION-KEY`.
    Headers(Vec<(String, Secret)>),
}

impl Auth {
    fn pairs(&self) -> Vec<(String, String, String)> {
        // (header name, full value, redacted value)
        let a = "Authorization".to_string();
        match self {
            Auth::None => vec![],
            Auth::PagerDuty(s) => vec![(
                a,
                format!("Token token={}", s.expose()),
                "Token token=<redacted>".into(),
            )],
            Auth::GenieKey(s) => vec![(
                a,
                format!("GenieKey {}", s.expose()),
                "GenieKey <redacted>".into(),
            )],
            Auth::Bearer(s) => vec![(
                a,
                format!("Bearer {}", s.expose()),
                "Bearer <redacted>".into(),
            )],
            Auth::Raw(s) => vec![(a, s.expose().to_string(), "<redacted>".into())],
            Auth::Headers(v) => v
                .iter()
                .map(|(n, s)| (n.clone(), s.expose().to_string(), "<redacted>".into()))
                .collect(),
        }
    }

    fn secrets(&self) -> Vec<&str> {
        match self {
            Auth::None => vec![],
            Auth::PagerDuty(s) | Auth::GenieKey(s) | Auth::Bearer(s) | Auth::Raw(s) => {
                vec![s.expose()]
            }
            Auth::Headers(v) => v.iter().map(|(_, s)| s.expose()).collect(),
        }
    }

    /// The auth headers as shown in a plan: `[("Authorization", "Bearer <redacted>")]`.
    pub fn redacted(&self) -> Vec<(String, String)> {
        self.pairs().into_iter().map(|(n, _, r)| (n, r)).collect()
    }
}

// ---------------------------------------------------------------------------
// Circuit breaker

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

#[derive(Debug)]
enum BState {
    Closed,
    Open { until: Instant },
    HalfOpen { probe_since: Option<Instant> },
}

#[derive(Debug)]
struct BreakerInner {
    state: BState,
    consecutive: u32,
    recent: VecDeque<(Instant, bool)>,
}

/// Closed → open (after repeated failures) → half-open (one probe) → closed.
/// Times are passed in so tests can drive it without sleeping.
#[derive(Debug)]
pub struct CircuitBreaker {
    policy: BreakerPolicy,
    inner: Mutex<BreakerInner>,
}

/// What `admit` allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admit {
    /// A normal call.
    Call,
    /// The one half-open probe.
    Probe,
}

impl CircuitBreaker {
    pub fn new(policy: BreakerPolicy) -> Self {
        CircuitBreaker {
            policy,
            inner: Mutex::new(BreakerInner {
                state: BState::Closed,
                consecutive: 0,
                recent: VecDeque::new(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BreakerInner> {
        // A poisoned breaker is still a valid state machine.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn state(&self, now: Instant) -> BreakerState {
        match self.lock().state {
            BState::Closed => BreakerState::Closed,
            BState::Open { until } if now >= until => BreakerState::HalfOpen,
            BState::Open { .. } => BreakerState::Open,
            BState::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    /// May a call go out now? `Err` carries how long the circuit stays open.
    pub fn admit(&self, now: Instant) -> Result<Admit, Duration> {
        let mut g = self.lock();
        match g.state {
            BState::Closed => Ok(Admit::Call),
            BState::Open { until } => {
                if now >= until {
                    g.state = BState::HalfOpen {
                        probe_since: Some(now),
                    };
                    Ok(Admit::Probe)
                } else {
                    Err(until - now)
                }
            }
            BState::HalfOpen { probe_since } => match probe_since {
                Some(t) if now.duration_since(t) < self.policy.probe_timeout => {
                    Err(Duration::from_secs(1))
                }
                _ => {
                    g.state = BState::HalfOpen {
                        probe_since: Some(now),
                    };
                    Ok(Admit::Probe)
                }
            },
        }
    }

    /// Report how a call went (`ok` = the server answered sanely).
    pub fn record(&self, now: Instant, ok: bool) {
        let p = &self.policy;
        let mut g = self.lock();
        g.recent.push_back((now, ok));
        while let Some((t, _)) = g.recent.front() {
            if now.duration_since(*t) > p.window || g.recent.len() > 10_000 {
                g.recent.pop_front();
            } else {
                break;
            }
        }
        match g.state {
            BState::HalfOpen { .. } => {
                if ok {
                    g.state = BState::Closed;
                    g.consecutive = 0;
                    g.recent.clear();
                } else {
                    g.state = BState::Open {
                        until: now + p.open_for,
                    };
                }
            }
            BState::Open { .. } => {}
            BState::Closed => {
                if ok {
                    g.consecutive = 0;
                } else {
                    g.consecutive += 1;
                    let calls = g.recent.len() as u32;
                    let failed = g.recent.iter().filter(|(_, ok)| !ok).count() as f64;
                    let ratio_trip = calls >= p.min_calls.max(1)
                        && failed / f64::from(calls.max(1)) >= p.failure_ratio;
                    if g.consecutive >= p.consecutive_failures.max(1) || ratio_trip {
                        tracing::warn!("circuit opened after {} failures in a row", g.consecutive);
                        g.state = BState::Open {
                            until: now + p.open_for,
                        };
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Waits: backoff, Retry-After, vendor rate-limit headers

/// The full-jitter ceiling before retry number `retry` (0 = first retry):
/// `min(cap, base · 2^retry)`.
pub fn backoff_ceiling(p: &RetryPolicy, retry: u32) -> Duration {
    let factor = 2u32.saturating_pow(retry.min(30));
    p.base.saturating_mul(factor).min(p.cap)
}

/// A full-jitter backoff: uniform in `[0, backoff_ceiling]`.
pub fn full_jitter(p: &RetryPolicy, retry: u32) -> Duration {
    let ceil = backoff_ceiling(p, retry);
    ceil.mul_f64(rand::random::<f64>())
}

/// Clamp a server-requested wait to `[min_wait, max_wait]`.
pub fn clamp_wait(p: &RetryPolicy, d: Duration) -> Duration {
    d.clamp(p.min_wait, p.max_wait.max(p.min_wait))
}

fn parse_http_date(s: &str) -> Option<SystemTime> {
    let s = s.trim();
    let dt = chrono::DateTime::parse_from_rfc2822(s)
        .map(|d| d.with_timezone(&chrono::Utc))
        .ok()
        .or_else(|| {
            // RFC 850 and asctime forms (obsolete but allowed by RFC 9110).
            ["%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"]
                .iter()
                .find_map(|f| chrono::NaiveDateTime::parse_from_str(s, f).ok())
                .map(|n| n.and_utc())
        })?;
    let secs = dt.timestamp();
    if secs < 0 {
        return Some(SystemTime::UNIX_EPOCH);
    }
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(secs as u64))
}

/// `Retry-After` as a wait: delay-seconds, or an HTTP-date measured against
/// `now` (pass the response `Date` header's time when there is one, so clock
/// skew between client and server does not matter). Not clamped.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(f) = v.parse::<f64>() {
        return (f.is_finite() && f >= 0.0).then(|| Duration::from_secs_f64(f.min(1e9)));
    }
    let at = parse_http_date(v)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

fn header_str<'h>(h: &'h HeaderMap, name: &str) -> Option<&'h str> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}

fn epoch_secs(now: SystemTime) -> f64 {
    now.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// A reset value in one of the vendor units, as a wait from `now`: above
/// 1e12 it is epoch milliseconds (LaunchDarkly), above 1e9 epoch seconds
/// (GitHub, Sentry), otherwise seconds to wait (PagerDuty, Datadog).
pub fn reset_to_wait(value: f64, now: SystemTime) -> Option<Duration> {
    if !value.is_finite() || value < 0.0 {
        return None;
    }
    let now_s = epoch_secs(now);
    let secs = if value > 1e12 {
        value / 1000.0 - now_s
    } else if value > 1e9 {
        value - now_s
    } else {
        value
    };
    Some(Duration::from_secs_f64(secs.clamp(0.0, 1e9)))
}

/// The wait a failed response asks for, unclamped: `Retry-After` first,
/// then the vendor reset headers (PagerDuty `ratelimit-reset` seconds,
/// Sentry `X-Sentry-Rate-Limit-Reset` epoch seconds, `X-RateLimit-Reset`:
/// GitHub epoch seconds / LaunchDarkly epoch ms / Datadog seconds). The
/// response `Date` header, when present, is used as "now" for absolute times.
pub fn server_wait(h: &HeaderMap, local_now: SystemTime) -> Option<Duration> {
    let now = header_str(h, "date")
        .and_then(parse_http_date)
        .unwrap_or(local_now);
    if let Some(d) = header_str(h, "retry-after").and_then(|v| parse_retry_after(v, now)) {
        return Some(d);
    }
    for name in [
        "ratelimit-reset",
        "x-sentry-rate-limit-reset",
        "x-ratelimit-reset",
    ] {
        if let Some(d) = header_str(h, name)
            .and_then(|v| v.parse::<f64>().ok())
            .and_then(|v| reset_to_wait(v, now))
        {
            return Some(d);
        }
    }
    None
}

/// GitHub answers an exhausted primary rate limit with 403 (or 429) and
/// `x-ratelimit-remaining: 0`.
fn is_rate_limit_403(h: &HeaderMap) -> bool {
    header_str(h, "x-ratelimit-remaining") == Some("0")
}

// ---------------------------------------------------------------------------
// Links and URLs

/// The `rel="next"` URL of a `Link` header, unless it says `results="false"`
/// (Sentry's way of saying there is no next page).
pub fn link_next(header: &str) -> Option<String> {
    link_rel(header, "next")
}

/// The URL of relation `rel` (`next`, `last`, ...) in a `Link` header; a
/// link marked `results="false"` (Sentry's end of the list) is none.
pub fn link_rel(header: &str, rel: &str) -> Option<String> {
    let mut rest = header;
    while let Some(start) = rest.find('<') {
        let after = &rest[start + 1..];
        let end = after.find('>')?;
        let url = &after[..end];
        let params_all = &after[end + 1..];
        let params = match params_all.find('<') {
            Some(n) => &params_all[..n],
            None => params_all,
        };
        let mut is_rel = false;
        let mut results_false = false;
        for p in params.split(';') {
            let Some((k, v)) = p.split_once('=') else {
                continue;
            };
            let k = k.trim().trim_start_matches(',').trim().to_ascii_lowercase();
            let v = v.trim().trim_end_matches(',').trim().trim_matches('"');
            if k == "rel" && v.split_whitespace().any(|r| r.eq_ignore_ascii_case(rel)) {
                is_rel = true;
            }
            if k == "results" && v.eq_ignore_ascii_case("false") {
                results_false = true;
            }
        }
        if is_rel {
            return (!results_false && !url.is_empty()).then(|| url.to_string());
        }
        rest = &params_all[params.len()..];
    }
    None
}

/// Percent-encode one path segment (ids from outside go into URLs).
pub fn seg(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Errors

/// A short, sanitized excerpt of an error body: the vendor message when the
/// body is one of the known JSON error shapes, else the start of the text.
/// Any credential value is scrubbed.
pub fn error_excerpt(body: &[u8], secrets: &[&str]) -> String {
    let head = &body[..body.len().min(64 * 1024)];
    let text = match serde_json::from_slice::<serde_json::Value>(head) {
        Ok(v) => json_message(&v).unwrap_or_else(|| v.to_string()),
        Err(_) => String::from_utf8_lossy(head)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
    };
    let mut text = text;
    for s in secrets.iter().filter(|s| s.len() >= 4) {
        text = text.replace(s, "<redacted>");
    }
    let safe = SafeText::line(&text);
    let s = safe.as_str();
    match s.char_indices().nth(EXCERPT_CAP) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

fn json_message(v: &serde_json::Value) -> Option<String> {
    use serde_json::Value as V;
    let join = |a: &Vec<V>| {
        a.iter()
            .map(|x| match x {
                V::String(s) => s.clone(),
                other => json_message(other).unwrap_or_else(|| other.to_string()),
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    match v {
        V::String(s) => Some(s.clone()),
        V::Array(a) => Some(join(a)),
        V::Object(o) => {
            if let Some(e) = o.get("error") {
                // PagerDuty {"error":{"message","code","errors"}}
                if let Some(eo) = e.as_object() {
                    let mut parts = Vec::new();
                    if let Some(m) = eo.get("message").and_then(|m| m.as_str()) {
                        parts.push(m.to_string());
                    }
                    if let Some(V::Array(a)) = eo.get("errors")
                        && !a.is_empty()
                    {
                        parts.push(join(a));
                    }
                    if let Some(c) = eo.get("code").and_then(|c| c.as_i64()) {
                        parts.push(format!("code {c}"));
                    }
                    if !parts.is_empty() {
                        return Some(parts.join(": "));
                    }
                }
                return json_message(e);
            }
            for k in ["message", "detail", "errorMessage", "error_description"] {
                if let Some(m) = o.get(k) {
                    let mut s = json_message(m)?;
                    if let Some(V::Object(errs)) = o.get("errors")
                        && !errs.is_empty()
                    {
                        s.push_str(&format!(" {}", V::Object(errs.clone())));
                    }
                    return Some(s);
                }
            }
            if let Some(V::Array(a)) = o.get("errors") {
                return Some(join(a));
            }
            None
        }
        other => Some(other.to_string()),
    }
}

/// Decode a JSON body into `T`: invalid or cut-off JSON is `Malformed`,
/// valid JSON of the wrong shape is `Shape`.
pub fn decode_json<'a, T: Deserialize<'a>>(
    provider: &str,
    what: &str,
    body: &'a [u8],
) -> Result<T, ProviderError> {
    serde_json::from_slice::<T>(body).map_err(|e| {
        use serde_json::error::Category;
        let (kind, cause) = match e.classify() {
            Category::Eof => (ErrorKind::Malformed, "truncated JSON"),
            Category::Syntax | Category::Io => (ErrorKind::Malformed, "invalid JSON"),
            Category::Data => (ErrorKind::Shape, "wrong shape"),
        };
        // serde's message may quote a (long, hostile) value: keep it short.
        let msg = e.to_string();
        let msg = match msg.char_indices().nth(EXCERPT_CAP) {
            Some((i, _)) => format!("{}…", &msg[..i]),
            None => msg,
        };
        ProviderError::new(provider, kind, format!("{what}: {cause}: {msg}"))
    })
}

/// A JSON value kept only if it is a string; anything else is skipped while
/// decoding (never built into a `serde_json::Value` tree, which costs many
/// times its text). For vendor fields documented as strings that a hostile
/// or odd server may fill with anything (e.g. Vercel deployment `meta`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StrOrSkip(pub Option<String>);

impl<'de> serde::Deserialize<'de> for StrOrSkip {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Option<String>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Some(v.to_string()))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Some(v))
            }
            fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut s: A,
            ) -> Result<Self::Value, A::Error> {
                while s.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(None)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<Self::Value, A::Error> {
                while m
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(None)
            }
        }
        d.deserialize_any(V).map(StrOrSkip)
    }
}

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

// ---------------------------------------------------------------------------
// Read guard: rate-limit block, circuit breaker, retry budget, read retries

/// Everything around one provider's requests that does not depend on the
/// transport: the "blocked until the rate-limit reset" state, the circuit
/// breaker, the retry budget and the retry loop of idempotent reads.
/// [`HttpClient`] uses one; a provider on another HTTP stack (GitHub through
/// octocrab) owns one and runs its attempts through it.
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
    pub async fn retry<T, F, Fut>(&self, attempt: F) -> Result<T, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Failure>>,
    {
        self.run(false, attempt).await
    }

    /// [`retry`](Self::retry) with the guard doing the precheck before each
    /// attempt (a refusal is returned as is) and recording each outcome
    /// with [`record_outcome`](Self::record_outcome).
    pub async fn retry_guarded<T, F, Fut>(&self, attempt: F) -> Result<T, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Failure>>,
    {
        self.run(true, attempt).await
    }

    async fn run<T, F, Fut>(&self, guarded: bool, mut attempt: F) -> Result<T, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Failure>>,
    {
        let p = &self.policy;
        let mut retry = 0u32;
        loop {
            if guarded {
                self.precheck()?;
            }
            if retry == 0 {
                self.budget_note_request();
            }
            let f = match attempt().await {
                Ok(v) => {
                    if guarded {
                        self.record_outcome(None);
                    }
                    return Ok(v);
                }
                Err(f) => f,
            };
            if guarded {
                self.record_outcome(Some(&f.err));
            }
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
                Some(w) => w + p.base.mul_f64(rand::random::<f64>()),
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

/// A response with its body read (under the cap).
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    provider: String,
    what: String,
}

impl Response {
    /// Decode the body into `T` (see [`decode_json`]).
    pub fn json<'a, T: Deserialize<'a>>(&'a self) -> Result<T, ProviderError> {
        decode_json(&self.provider, &self.what, &self.body)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        header_str(&self.headers, name)
    }

    /// The next-page URL of a `Link` header (see [`link_next`]).
    pub fn link_next(&self) -> Option<String> {
        self.headers
            .get_all("link")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(link_next)
    }
}

/// The reqwest client of one provider: rustls (ring), the configured
/// connect/read/total timeouts, same-origin redirects only, sitrep's
/// user agent. GitHub's octocrab runs on one of these too, so one HTTP and
/// TLS stack serves every provider.
///
/// `tls`: whether the base URL is `https`. A plain-HTTP provider (an
/// in-cluster Prometheus, a loopback fake) never speaks TLS (redirects
/// stay on the same origin), so its client loads no trust store: an empty
/// root set, never the system's certificates.
pub fn reqwest_client(
    provider: &str,
    cfg: &HttpConfig,
    tls: bool,
) -> Result<reqwest::Client, ProviderError> {
    // TLS: rustls with the ring provider (idempotent; main does it too).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let redirect = reqwest::redirect::Policy::custom(|attempt| {
        // Follow same-origin redirects only: credentials never travel to
        // another host (custom auth headers are not stripped by reqwest).
        let same = attempt
            .previous()
            .first()
            .is_some_and(|first| first.origin() == attempt.url().origin());
        if same && attempt.previous().len() < 5 {
            attempt.follow()
        } else {
            attempt.stop()
        }
    });
    let builder = reqwest::Client::builder();
    let builder = if tls {
        builder
    } else {
        builder.tls_certs_only(Vec::new())
    };
    builder
        .connect_timeout(cfg.connect_timeout)
        .read_timeout(cfg.read_timeout)
        .timeout(cfg.total_timeout.max(cfg.write_timeout))
        .redirect(redirect)
        .user_agent(concat!("sitrep/", env!("CARGO_PKG_VERSION")))
        .pool_idle_timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| ProviderError::config(provider, format!("HTTP client: {}", short_cause(&e))))
}

/// How a reqwest error from sending a request is reported: its kind, the
/// detail (the innermost cause, never the request or its headers), and
/// whether the request certainly never left (a connect failure). An answer
/// cut off mid-body is `Malformed`. The shared client and GitHub's octocrab
/// (which runs on a reqwest client) both map their transport errors here.
pub(crate) fn send_error(e: &reqwest::Error, what: &str) -> (ErrorKind, String, bool) {
    let cause = || short_cause(e);
    if e.is_connect() {
        if e.is_timeout() {
            (
                ErrorKind::Timeout,
                format!("{what}: connect timed out"),
                true,
            )
        } else {
            (ErrorKind::Connect, format!("{what}: {}", cause()), true)
        }
    } else if e.is_timeout() {
        (
            ErrorKind::Timeout,
            format!("{what}: no answer in time"),
            false,
        )
    } else if e.is_builder() {
        (ErrorKind::Config, format!("{what}: {}", cause()), true)
    } else if e.is_body() || e.is_decode() {
        (
            ErrorKind::Malformed,
            format!("{what}: body cut off: {}", cause()),
            false,
        )
    } else {
        (ErrorKind::Connect, format!("{what}: {}", cause()), false)
    }
}

pub(crate) fn short_cause(e: &reqwest::Error) -> String {
    // The innermost cause ("Connection refused (os error 111)"); never the
    // request itself, never headers.
    let mut src: &dyn std::error::Error = e;
    while let Some(s) = src.source() {
        src = s;
    }
    let s = src.to_string();
    if s.is_empty() { e.to_string() } else { s }
}

// ---------------------------------------------------------------------------
// Body budget

/// The response bytes one provider may hold at once, across all its
/// concurrent requests. A single body over the cap is refused, and so is a
/// body that would push the sum of the bodies being read past it: memory
/// stays bounded by the cap whatever the request concurrency.
#[derive(Debug)]
pub struct BodyBudget {
    cap: usize,
    used: std::sync::atomic::AtomicUsize,
}

/// Bytes held against a [`BodyBudget`]; given back when dropped.
#[derive(Debug)]
pub struct BodyHold<'a> {
    budget: &'a BodyBudget,
    held: usize,
}

impl BodyBudget {
    pub fn new(cap: usize) -> Self {
        BodyBudget {
            cap,
            used: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    pub fn hold(&self) -> BodyHold<'_> {
        BodyHold {
            budget: self,
            held: 0,
        }
    }

    /// Bytes held right now.
    pub fn used(&self) -> usize {
        self.used.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl BodyHold<'_> {
    /// Hold `n` more bytes; false (and nothing held) when that would pass the cap.
    pub fn grow(&mut self, n: usize) -> bool {
        use std::sync::atomic::Ordering;
        let prev = self.budget.used.fetch_add(n, Ordering::SeqCst);
        if prev.saturating_add(n) > self.budget.cap {
            self.budget.used.fetch_sub(n, Ordering::SeqCst);
            return false;
        }
        self.held += n;
        true
    }
}

impl Drop for BodyHold<'_> {
    fn drop(&mut self) {
        self.budget
            .used
            .fetch_sub(self.held, std::sync::atomic::Ordering::SeqCst);
    }
}

// ---------------------------------------------------------------------------
// The client

/// One provider's HTTP client.
pub struct HttpClient {
    provider: String,
    base: url::Url,
    base_str: String,
    client: reqwest::Client,
    auth: Auth,
    /// Non-secret headers sent on every request (Accept...).
    static_headers: Vec<(String, String)>,
    cfg: HttpConfig,
    /// Rate-limit block, breaker (naming the last failure), retry budget.
    guard: ReadGuard,
    /// Response bytes held at once across concurrent requests (≤ body_cap).
    body_budget: BodyBudget,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("provider", &self.provider)
            .field("base", &self.base_str)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// Build a client. `base_url` is the provider's API root (no trailing
    /// slash needed); a bad URL or a value that cannot be a header is a
    /// `Config` error.
    pub fn new(
        provider: &str,
        base_url: &str,
        auth: Auth,
        cfg: HttpConfig,
    ) -> Result<HttpClient, ProviderError> {
        let base_str = base_url.trim_end_matches('/').to_string();
        let base = url::Url::parse(&base_str).map_err(|e| {
            ProviderError::config(provider, format!("base_url {base_str:?} is not a URL: {e}"))
        })?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(ProviderError::config(
                provider,
                format!("base_url {base_str:?} must be http or https"),
            ));
        }
        for (n, v, _) in auth.pairs() {
            if HeaderName::from_bytes(n.as_bytes()).is_err() || HeaderValue::from_str(&v).is_err() {
                return Err(ProviderError::config(
                    provider,
                    format!("the token for header {n} contains characters not allowed in a header"),
                ));
            }
        }
        let client = reqwest_client(provider, &cfg, base.scheme() == "https")?;
        Ok(HttpClient {
            provider: provider.to_string(),
            base,
            base_str,
            client,
            auth,
            static_headers: vec![("Accept".into(), "application/json".into())],
            guard: ReadGuard::new(provider, cfg.retry.clone(), cfg.breaker.clone())
                .with_last_failure()
                .with_sleeper(cfg.sleeper.clone()),
            body_budget: BodyBudget::new(cfg.body_cap),
            cfg,
        })
    }

    /// Set a non-secret header sent on every request (replaces one of the
    /// same name, e.g. `Accept`). Invalid names or values are ignored.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        if HeaderName::from_bytes(name.as_bytes()).is_ok() && HeaderValue::from_str(value).is_ok() {
            self.static_headers
                .retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            self.static_headers.push((name.into(), value.into()));
        }
        self
    }

    pub fn provider(&self) -> &str {
        &self.provider
    }

    pub fn config(&self) -> &HttpConfig {
        &self.cfg
    }

    pub fn breaker(&self) -> &CircuitBreaker {
        self.guard.breaker()
    }

    /// The base URL without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_str
    }

    /// `base_url + path` (`path` starts with `/`; encode ids with [`seg`]).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_str, path)
    }

    /// Make a URL the server gave us (next page) safe to request with our
    /// credentials: relative URLs are resolved against the base; an absolute
    /// URL on another origin keeps its path and query but is sent to our
    /// origin (e.g. Sentry customer-domain `Link`s), so a token never
    /// travels to a host that was not configured.
    pub fn same_origin(&self, url: &str) -> Result<String, ProviderError> {
        let u = self.base.join(url).map_err(|e| {
            ProviderError::new(
                &self.provider,
                ErrorKind::Shape,
                format!("bad next-page URL: {e}"),
            )
        })?;
        if u.origin() == self.base.origin() {
            return Ok(u.to_string());
        }
        let mut v = self.base.clone();
        v.set_path(u.path());
        v.set_query(u.query());
        Ok(v.to_string())
    }

    /// The headers a request carries, credentials `<redacted>`: for `PlannedRequest`s.
    pub fn redacted_headers(&self, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = self.static_headers.clone();
        v.extend(self.auth.redacted());
        v.extend(
            extra
                .iter()
                .map(|(n, val)| (n.to_string(), val.to_string())),
        );
        v
    }

    /// A plan entry for a write this client would send.
    pub fn planned(
        &self,
        method: &Method,
        url: &str,
        body: Option<serde_json::Value>,
        extra: &[(&str, &str)],
    ) -> PlannedRequest {
        let mut headers = self.redacted_headers(extra);
        if body.is_some()
            && !headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        {
            headers.push(("Content-Type".into(), "application/json".into()));
        }
        PlannedRequest {
            method: method.as_str().to_string(),
            url: url.to_string(),
            headers,
            body,
        }
    }

    fn err(&self, kind: ErrorKind, detail: impl AsRef<str>) -> ProviderError {
        ProviderError::new(&self.provider, kind, detail)
    }

    fn headers(&self, extra: &[(&str, &str)]) -> Result<HeaderMap, ProviderError> {
        let mut h = HeaderMap::new();
        let bad = |n: &str| self.err(ErrorKind::Config, format!("invalid value for header {n}"));
        for (n, v) in &self.static_headers {
            let name = HeaderName::from_bytes(n.as_bytes()).map_err(|_| bad(n))?;
            h.insert(name, HeaderValue::from_str(v).map_err(|_| bad(n))?);
        }
        for (n, v) in extra {
            let name = HeaderName::from_bytes(n.as_bytes()).map_err(|_| bad(n))?;
            h.insert(name, HeaderValue::from_str(v).map_err(|_| bad(n))?);
        }
        for (n, v, _) in self.auth.pairs() {
            let name = HeaderName::from_bytes(n.as_bytes()).map_err(|_| bad(&n))?;
            let mut val = HeaderValue::from_str(&v).map_err(|_| bad(&n))?;
            val.set_sensitive(true);
            h.insert(name, val);
        }
        Ok(h)
    }

    fn path_of(url: &str) -> String {
        match url::Url::parse(url) {
            Ok(u) => u.path().to_string(),
            Err(_) => url.split('?').next().unwrap_or_default().to_string(),
        }
    }

    /// One attempt: send, read the body under the cap, map the outcome.
    async fn attempt(
        &self,
        method: &Method,
        url: &str,
        query: &[(&str, String)],
        body: Option<&serde_json::Value>,
        extra: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<Response, Failure> {
        self.guard.precheck().map_err(|err| Failure {
            err,
            retryable: false,
            wait: None,
            not_sent: true,
        })?;
        let what = format!("{} {}", method, Self::path_of(url));
        let headers = self.headers(extra).map_err(|err| Failure {
            err,
            retryable: false,
            wait: None,
            not_sent: true,
        })?;
        let mut rb = self
            .client
            .request(method.clone(), url)
            .headers(headers)
            .timeout(timeout);
        if !query.is_empty() {
            rb = rb.query(query);
        }
        if let Some(b) = body {
            rb = rb.json(b);
        }
        // Belt and braces: reqwest's own timeout should fire first.
        let guard = timeout + Duration::from_secs(1);
        let result = tokio::time::timeout(guard, self.exchange(rb, &what)).await;
        let result = match result {
            Ok(r) => r,
            Err(_) => Err(Failure {
                err: self.err(
                    ErrorKind::Timeout,
                    format!("{what}: no answer within {}s", timeout.as_secs_f64()),
                ),
                retryable: true,
                wait: None,
                not_sent: false,
            }),
        };
        // Breaker: the server is healthy unless it timed out, refused or 5xx'd.
        self.guard
            .record_outcome(result.as_ref().err().map(|f| &f.err));
        result
    }

    async fn exchange(&self, rb: reqwest::RequestBuilder, what: &str) -> Result<Response, Failure> {
        let mut resp = rb.send().await.map_err(|e| {
            let (kind, detail, not_sent) = send_error(&e, what);
            Failure {
                err: self.err(kind.clone(), detail),
                retryable: kind != ErrorKind::Config,
                wait: None,
                not_sent,
            }
        })?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let cap = self.cfg.body_cap;
        let too_large = |n: String| Failure {
            err: self.err(
                ErrorKind::TooLarge,
                format!("{what}: body {n} exceeds the {cap}-byte cap"),
            ),
            retryable: false,
            wait: None,
            not_sent: false,
        };
        if let Some(len) = resp.content_length()
            && len > cap as u64
        {
            return Err(too_large(format!("of {len} bytes")));
        }
        // Chunks are kept as they come (no doubling copies) and counted
        // against the client's body budget, shared by its concurrent
        // requests: what one provider holds at once stays under the cap.
        let mut held = self.body_budget.hold();
        let mut chunks = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(c)) => {
                    if !held.grow(c.len()) {
                        return Err(too_large("size".into()));
                    }
                    chunks.push(c);
                }
                Ok(None) => break,
                Err(e) => {
                    let (kind, cause) = if e.is_timeout() {
                        (ErrorKind::Timeout, "body stalled".to_string())
                    } else {
                        (
                            ErrorKind::Malformed,
                            format!("body cut off: {}", short_cause(&e)),
                        )
                    };
                    return Err(Failure {
                        err: self.err(kind, format!("{what}: {cause}")),
                        retryable: true,
                        wait: None,
                        not_sent: false,
                    });
                }
            }
        }
        let body = chunks.concat();
        drop(chunks);
        drop(held);
        if (200..300).contains(&status) {
            return Ok(Response {
                status,
                headers,
                body,
                provider: self.provider.clone(),
                what: what.to_string(),
            });
        }
        Err(self.status_failure(status, &headers, &body, what))
    }

    fn status_failure(&self, status: u16, h: &HeaderMap, body: &[u8], what: &str) -> Failure {
        let excerpt = error_excerpt(body, &self.auth.secrets());
        let detail = if excerpt.is_empty() {
            what.to_string()
        } else {
            format!("{what}: {excerpt}")
        };
        let wait = server_wait(h, SystemTime::now()).map(|w| clamp_wait(&self.cfg.retry, w));
        let (kind, retryable) = match status {
            429 => (ErrorKind::RateLimited { retry_after: wait }, true),
            403 if is_rate_limit_403(h) => (ErrorKind::RateLimited { retry_after: wait }, true),
            401 | 403 => (ErrorKind::Unauthorized { status }, false),
            404 => (ErrorKind::NotFound, false),
            408 | 425 => (ErrorKind::Http { status }, true),
            409 => (ErrorKind::Conflict { status }, false),
            501 | 505 => (ErrorKind::Server { status }, false),
            500..=599 => (ErrorKind::Server { status }, true),
            _ => (ErrorKind::Http { status }, false),
        };
        Failure {
            err: self.err(kind, detail),
            retryable,
            wait,
            not_sent: false,
        }
    }

    /// GET `url` (absolute; build it with [`HttpClient::url`]) with query
    /// pairs. Retried per the policy; returns a 2xx response.
    pub async fn get(
        &self,
        url: &str,
        query: &[(&str, String)],
    ) -> Result<Response, ProviderError> {
        self.get_with(url, query, &[]).await
    }

    /// GET with extra (non-secret) headers.
    pub async fn get_with(
        &self,
        url: &str,
        query: &[(&str, String)],
        extra: &[(&str, &str)],
    ) -> Result<Response, ProviderError> {
        self.guard
            .retry(|| {
                self.attempt(
                    &Method::GET,
                    url,
                    query,
                    None,
                    extra,
                    self.cfg.total_timeout,
                )
            })
            .await
    }

    /// GET and decode JSON into `T`.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        url: &str,
        query: &[(&str, String)],
    ) -> Result<T, ProviderError> {
        self.get(url, query).await?.json()
    }

    /// Send a write (POST/PUT/PATCH/DELETE). **Never retried.** With
    /// `idempotency_key`, an `Idempotency-Key` header is sent (only for
    /// vendors that honour it). If the request may have reached the server
    /// but no answer came back, the error is `ErrorKind::Unknown` ("outcome
    /// unknown"); if it certainly never left (refused connection, open
    /// circuit, rate-limit wait), the error says so with its own kind.
    pub async fn send(
        &self,
        method: Method,
        url: &str,
        body: Option<&serde_json::Value>,
        extra: &[(&str, &str)],
        idempotency_key: Option<&str>,
    ) -> Result<Response, ProviderError> {
        let mut hdrs: Vec<(&str, &str)> = extra.to_vec();
        if let Some(k) = idempotency_key {
            hdrs.push(("Idempotency-Key", k));
        }
        match self
            .attempt(&method, url, &[], body, &hdrs, self.cfg.write_timeout)
            .await
        {
            Ok(r) => Ok(r),
            Err(f) => Err(self.guard.write_failure(f)),
        }
    }

    /// Send a write exactly as it was planned, after checking that its
    /// method and URL are the ones this provider would build for the op
    /// (`expected`), so a plan cannot be turned into another request. The
    /// planned body is sent as is (see [`attribute_plan`]). Never retried.
    pub async fn send_planned(
        &self,
        req: &PlannedRequest,
        expected: (&Method, &str),
        extra: &[(&str, &str)],
        idempotency_key: Option<&str>,
    ) -> Result<Response, ProviderError> {
        if !req.method.eq_ignore_ascii_case(expected.0.as_str()) || req.url != expected.1 {
            return Err(self.err(
                ErrorKind::Config,
                format!(
                    "the plan does not match the operation ({} {} planned, {} {} expected); nothing sent",
                    req.method,
                    Self::path_of(&req.url),
                    expected.0,
                    Self::path_of(expected.1)
                ),
            ));
        }
        self.send(
            expected.0.clone(),
            expected.1,
            req.body.as_ref(),
            extra,
            idempotency_key,
        )
        .await
    }

    /// Follow `Link: rel="next"` pages whose bodies are bare JSON arrays of
    /// `T` (Sentry, GitHub). Stops at `results="false"`, no link, or
    /// `max_pages`.
    pub async fn get_link_pages<T: DeserializeOwned>(
        &self,
        url: &str,
        query: &[(&str, String)],
    ) -> Result<Vec<T>, ProviderError> {
        let mut out = Vec::new();
        let mut resp = self.get(url, query).await?;
        for _ in 0..self.cfg.max_pages.max(1) {
            out.extend(resp.json::<Vec<T>>()?);
            let Some(next) = resp.link_next() else {
                return Ok(out);
            };
            let next = self.same_origin(&next)?;
            resp = self.get(&next, &[]).await?;
        }
        tracing::warn!(
            "{}: stopped after {} pages",
            self.provider,
            self.cfg.max_pages
        );
        Ok(out)
    }

    /// Follow a next-page URL carried in the body (`split` returns the items
    /// and the next URL, e.g. Opsgenie `paging.next`). Stops when there is
    /// no next URL, a page is empty, or at `max_pages`.
    pub async fn get_next_url_pages<P, T, F>(
        &self,
        url: &str,
        query: &[(&str, String)],
        split: F,
    ) -> Result<Vec<T>, ProviderError>
    where
        P: DeserializeOwned,
        F: Fn(P) -> (Vec<T>, Option<String>),
    {
        let mut out = Vec::new();
        let mut page: P = self.get_json(url, query).await?;
        for _ in 0..self.cfg.max_pages.max(1) {
            let (items, next) = split(page);
            let empty = items.is_empty();
            out.extend(items);
            let Some(next) = next.filter(|n| !n.is_empty() && !empty) else {
                return Ok(out);
            };
            let next = self.same_origin(&next)?;
            page = self.get_json(&next, &[]).await?;
        }
        tracing::warn!(
            "{}: stopped after {} pages",
            self.provider,
            self.cfg.max_pages
        );
        Ok(out)
    }
}

/// The first error of several decode attempts, or `Ok` when all decoded
/// (the providers' `decode_wire`, used by the fuzz targets and proptests).
pub fn first_error(
    results: impl IntoIterator<Item = Result<(), ProviderError>>,
) -> Result<(), ProviderError> {
    results.into_iter().find(Result::is_err).unwrap_or(Ok(()))
}

/// Marker of a default text the executor may replace with the reason.
pub const DEFAULT_REASON_MARK: &str = "via sitrep";

/// Record who acts and why in the planned request bodies, where the vendor
/// has a field for it. Call it (the executor does) before confirming and
/// executing. Only keys the provider put in the planned body are touched,
/// and a reason only replaces a default text (one containing
/// [`DEFAULT_REASON_MARK`]), never content such as a note's text:
/// Alertmanager silences `createdBy` + `comment`, Opsgenie `user` + `note`,
/// PagerDuty resolve `incident.resolution`.
pub fn attribute_plan(plan: &mut crate::ops::Plan, actor: &str, reason: &str) {
    use serde_json::Value;
    let is_default = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .is_some_and(|s| s.contains(DEFAULT_REASON_MARK))
    };
    let reason_ok = !reason.trim().is_empty();
    // A note's text is content, never a placeholder.
    let is_note = matches!(plan.op, crate::ops::WriteOp::IncidentNote { .. });
    for r in &mut plan.requests {
        let Some(body) = r.body.as_mut().and_then(|b| b.as_object_mut()) else {
            continue;
        };
        for key in ["createdBy", "user"] {
            if body.contains_key(key) && !actor.trim().is_empty() {
                body.insert(key.into(), Value::String(actor.into()));
            }
        }
        for key in ["comment", "note"] {
            if reason_ok && !is_note && is_default(body.get(key)) {
                body.insert(key.into(), Value::String(reason.into()));
            }
        }
        if let Some(inc) = body.get_mut("incident").and_then(|i| i.as_object_mut())
            && reason_ok
            && is_default(inc.get("resolution"))
        {
            inc.insert("resolution".into(), Value::String(reason.into()));
        }
    }
}

/// Who acts when nobody said: `[identity] name`, else `$USER@hostname`.
pub fn default_actor(config: &crate::config::Config) -> String {
    if let Some(n) = config
        .identity
        .name
        .as_ref()
        .filter(|n| !n.trim().is_empty())
    {
        return n.trim().to_string();
    }
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    format!("{user}@{host}")
}

/// One page of an offset/limit list.
#[derive(Debug)]
pub struct OffsetPage<T> {
    pub items: Vec<T>,
    pub more: bool,
    /// The total, when the API reports it (PagerDuty `total=true`).
    pub total: Option<usize>,
}

/// All items of an offset/limit list (PagerDuty classic pagination).
///
/// The first page is fetched alone; when it reports a total, the remaining
/// pages are fetched `concurrency` at a time (in order), then any growth
/// since is followed sequentially while `more`. `offset + limit` never
/// exceeds `cap` (PagerDuty: 10000, beyond → 400). Returns the items and
/// whether the list was cut at the cap.
pub async fn offset_pages<T, F, Fut>(
    limit: usize,
    cap: usize,
    concurrency: usize,
    fetch: F,
) -> Result<(Vec<T>, bool), ProviderError>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<OffsetPage<T>, ProviderError>>,
{
    let limit = limit.max(1);
    let max_offset = cap.saturating_sub(limit);
    let first = fetch(0).await?;
    let mut items = first.items;
    let mut more = first.more;
    let mut next = limit;
    if more && let Some(total) = first.total {
        let offsets: Vec<usize> = (limit..total.min(cap))
            .step_by(limit)
            .filter(|o| *o <= max_offset)
            .collect();
        if let Some(last) = offsets.last() {
            next = last + limit;
        }
        let mut pages =
            futures::stream::iter(offsets.into_iter().map(&fetch)).buffered(concurrency.max(1));
        while let Some(p) = pages.next().await {
            let p = p?;
            more = p.more;
            items.extend(p.items);
        }
    }
    while more && next <= max_offset {
        let p = fetch(next).await?;
        more = p.more && !p.items.is_empty();
        items.extend(p.items);
        next += limit;
    }
    Ok((items, more))
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn fast() -> HttpConfig {
        let mut c = HttpConfig::from_timeout(Duration::from_millis(500));
        c.retry.base = Duration::from_millis(5);
        c.retry.cap = Duration::from_millis(20);
        c
    }

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = at(1_445_412_480); // Wed, 21 Oct 2015 07:28:00 GMT
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after(" 120 ", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Wednesday, 21-Oct-15 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed Oct 21 07:29:00 2015", now),
            Some(Duration::from_secs(60))
        );
        // In the past → no wait; garbage → none.
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }

    #[test]
    fn waits_are_clamped() {
        let p = RetryPolicy::default();
        assert_eq!(
            clamp_wait(&p, Duration::from_secs(999_999)),
            Duration::from_secs(300)
        );
        assert_eq!(clamp_wait(&p, Duration::ZERO), Duration::from_secs(1));
        assert_eq!(
            clamp_wait(&p, Duration::from_secs(7)),
            Duration::from_secs(7)
        );
        // A date in 2099 is clamped too.
        let mut h = HeaderMap::new();
        h.insert(
            "retry-after",
            HeaderValue::from_static("Thu, 01 Jan 2099 00:00:00 GMT"),
        );
        let w = server_wait(&h, SystemTime::now()).unwrap();
        assert_eq!(clamp_wait(&p, w), Duration::from_secs(300));
    }

    #[test]
    fn http_date_uses_the_server_date_header() {
        // Client clock is an hour off; the server's Date header wins.
        let mut h = HeaderMap::new();
        h.insert(
            "date",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        h.insert(
            "retry-after",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:07 GMT"),
        );
        let skewed = at(1_445_412_480 - 3600);
        assert_eq!(server_wait(&h, skewed), Some(Duration::from_secs(7)));
    }

    #[test]
    fn vendor_reset_headers_in_their_units() {
        let now = at(1_700_000_000);
        let one = |name: &'static str, v: &str| {
            let mut h = HeaderMap::new();
            h.insert(name, HeaderValue::from_str(v).unwrap());
            server_wait(&h, now)
        };
        // PagerDuty: seconds to wait.
        assert_eq!(one("ratelimit-reset", "20"), Some(Duration::from_secs(20)));
        // GitHub: epoch seconds.
        assert_eq!(
            one("x-ratelimit-reset", "1700000042"),
            Some(Duration::from_secs(42))
        );
        // LaunchDarkly: epoch milliseconds.
        assert_eq!(
            one("X-Ratelimit-Reset", "1700000005000"),
            Some(Duration::from_secs(5))
        );
        // Sentry: epoch seconds.
        assert_eq!(
            one("x-sentry-rate-limit-reset", "1700000003"),
            Some(Duration::from_secs(3))
        );
        // Datadog: seconds until reset.
        assert_eq!(one("X-RateLimit-Reset", "9"), Some(Duration::from_secs(9)));
        // Retry-After wins over the reset headers.
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("2"));
        h.insert("ratelimit-reset", HeaderValue::from_static("20"));
        assert_eq!(server_wait(&h, now), Some(Duration::from_secs(2)));
        assert_eq!(server_wait(&HeaderMap::new(), now), None);
    }

    #[test]
    fn backoff_is_full_jitter_capped() {
        let p = RetryPolicy::default();
        assert_eq!(backoff_ceiling(&p, 0), Duration::from_millis(500));
        assert_eq!(backoff_ceiling(&p, 1), Duration::from_secs(1));
        assert_eq!(backoff_ceiling(&p, 3), Duration::from_secs(4));
        assert_eq!(backoff_ceiling(&p, 10), Duration::from_secs(30));
        assert_eq!(backoff_ceiling(&p, 1000), Duration::from_secs(30));
        let mut small = 0;
        for _ in 0..2000 {
            let d = full_jitter(&p, 2);
            assert!(d <= Duration::from_secs(2));
            if d < Duration::from_millis(200) {
                small += 1;
            }
        }
        // Full jitter spreads over [0, ceiling]: ~10 % land in the first tenth.
        assert!((80..=350).contains(&small), "{small}");
    }

    #[test]
    fn full_jitter_spreads_a_thundering_herd() {
        // 1,000 clients retrying at once (ceiling 5 s): no 100 ms bucket holds > 5 %.
        let p = RetryPolicy {
            base: Duration::from_millis(625),
            ..RetryPolicy::default()
        };
        let mut buckets = [0u32; 51];
        for _ in 0..1000 {
            let d = full_jitter(&p, 3);
            buckets[(d.as_millis() / 100) as usize] += 1;
        }
        assert!(buckets.iter().all(|b| *b <= 50), "{buckets:?}");
    }

    #[test]
    fn breaker_opens_fails_fast_and_half_opens() {
        let b = CircuitBreaker::new(BreakerPolicy {
            consecutive_failures: 5,
            open_for: Duration::from_secs(30),
            ..BreakerPolicy::default()
        });
        let t0 = Instant::now();
        for i in 0..4 {
            assert_eq!(b.admit(t0), Ok(Admit::Call));
            b.record(t0 + Duration::from_millis(i), false);
        }
        assert_eq!(b.state(t0), BreakerState::Closed);
        b.record(t0, false);
        assert_eq!(b.state(t0), BreakerState::Open);
        let left = b.admit(t0 + Duration::from_secs(10)).unwrap_err();
        assert_eq!(left, Duration::from_secs(20));
        // After open_for: exactly one probe.
        let t1 = t0 + Duration::from_secs(30);
        assert_eq!(b.state(t1), BreakerState::HalfOpen);
        assert_eq!(b.admit(t1), Ok(Admit::Probe));
        assert!(b.admit(t1).is_err(), "only one probe at a time");
        // Probe fails → open again for open_for.
        b.record(t1, false);
        assert!(b.admit(t1 + Duration::from_secs(29)).is_err());
        let t2 = t1 + Duration::from_secs(30);
        assert_eq!(b.admit(t2), Ok(Admit::Probe));
        b.record(t2, true);
        assert_eq!(b.state(t2), BreakerState::Closed);
        assert_eq!(b.admit(t2), Ok(Admit::Call));
    }

    #[test]
    fn breaker_opens_on_failure_ratio() {
        let b = CircuitBreaker::new(BreakerPolicy {
            consecutive_failures: 100,
            min_calls: 20,
            ..BreakerPolicy::default()
        });
        let t0 = Instant::now();
        for i in 0..20 {
            b.record(t0 + Duration::from_millis(i), i % 2 == 0);
        }
        assert_eq!(b.state(t0), BreakerState::Open);
        // A cancelled probe does not wedge the breaker.
        let t1 = t0 + Duration::from_secs(31);
        assert_eq!(b.admit(t1), Ok(Admit::Probe));
        assert!(b.admit(t1 + Duration::from_secs(1)).is_err());
        assert_eq!(b.admit(t1 + Duration::from_secs(61)), Ok(Admit::Probe));
    }

    #[test]
    fn link_next_parses_sentry_and_github() {
        let sentry = r#"<https://sentry.io/api/0/organizations/acme/issues/?query=is%3Aunresolved&limit=25&cursor=1724300000000:0:1>; rel="previous"; results="false"; cursor="1724300000000:0:1", <https://sentry.io/api/0/organizations/acme/issues/?query=is%3Aunresolved&limit=25&cursor=1724300000000:25:0>; rel="next"; results="true"; cursor="1724300000000:25:0""#;
        assert_eq!(
            link_next(sentry).as_deref(),
            Some(
                "https://sentry.io/api/0/organizations/acme/issues/?query=is%3Aunresolved&limit=25&cursor=1724300000000:25:0"
            )
        );
        let last = sentry.replace(
            r#"rel="next"; results="true""#,
            r#"rel="next"; results="false""#,
        );
        assert_eq!(link_next(&last), None);
        let gh = r#"<https://api.github.com/repositories/1/deployments?page=2>; rel="next", <https://api.github.com/repositories/1/deployments?page=5>; rel="last""#;
        assert_eq!(
            link_next(gh).as_deref(),
            Some("https://api.github.com/repositories/1/deployments?page=2")
        );
        assert_eq!(link_next(r#"<https://x/?page=1>; rel="prev""#), None);
        assert_eq!(link_next("garbage <"), None);
    }

    #[test]
    fn excerpts_are_short_sanitized_and_scrubbed() {
        let pd =
            br#"{"error":{"message":"Authentication failed","code":2006,"errors":["bad key"]}}"#;
        assert_eq!(
            error_excerpt(pd, &[]),
            "Authentication failed: bad key: code 2006"
        );
        assert_eq!(
            error_excerpt(br#""bad matcher format: x""#, &[]),
            "bad matcher format: x"
        );
        assert_eq!(
            error_excerpt(br#"{"detail":"Internal Error","errorId":"e1"}"#, &[]),
            "Internal Error"
        );
        assert_eq!(
            error_excerpt(br#"{"errors":["Forbidden"]}"#, &[]),
            "Forbidden"
        );
        let echoed = b"invalid token tok-SECRET-123 \x1b[31mred";
        let e = error_excerpt(echoed, &["tok-SECRET-123"]);
        assert!(!e.contains("tok-SECRET") && !e.contains('\x1b'), "{e}");
        let long = "x".repeat(5000);
        assert!(error_excerpt(long.as_bytes(), &[]).chars().count() <= EXCERPT_CAP + 1);
    }

    #[test]
    fn decode_names_truncated_malformed_and_shape() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct L {
            items: Vec<u32>,
        }
        let e = decode_json::<L>("p", "GET /x", br#"{"items":[1,2"#).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Malformed);
        assert!(e.to_string().contains("truncated JSON"), "{e}");
        let e = decode_json::<L>("p", "GET /x", b"<html>oops").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Malformed);
        let e = decode_json::<L>("p", "GET /x", br#"{"items":"no"}"#).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Shape);
        assert!(
            e.to_string().starts_with("p: unexpected response shape"),
            "{e}"
        );
    }

    #[test]
    fn redacted_headers_never_show_the_token() {
        let c = HttpClient::new(
            "pd",
            "https://api.pagerduty.com/",
            Auth::PagerDuty(Secret::new("s3cr3t-token")),
            HttpConfig::default(),
        )
        .unwrap();
        let h = c.redacted_headers(&[("From", "a@b.c")]);
        let all = format!("{h:?} {c:?}");
        assert!(!all.contains("s3cr3t"), "{all}");
        assert!(h.contains(&("Authorization".into(), "Token token=<redacted>".into())));
        assert_eq!(c.url("/incidents"), "https://api.pagerduty.com/incidents");
        let dd = Auth::Headers(vec![
            ("DD-API-KEY".into(), Secret::new("k1k1k1")),
            ("DD-APPLICATION-KEY".into(), Secret::new("k2k2k2")),
        ]);
        assert_eq!(dd.redacted().len(), 2);
        assert!(!format!("{:?}", dd.redacted()).contains("k1k1"));
    }

    #[test]
    fn next_urls_stay_on_the_configured_origin() {
        let c = HttpClient::new(
            "s",
            "http://127.0.0.1:9/",
            Auth::None,
            HttpConfig::default(),
        )
        .unwrap();
        assert_eq!(
            c.same_origin("https://acme.sentry.io/api/0/x/?cursor=1:2:0")
                .unwrap(),
            "http://127.0.0.1:9/api/0/x/?cursor=1:2:0"
        );
        assert_eq!(
            c.same_origin("/v2/alerts?offset=20").unwrap(),
            "http://127.0.0.1:9/v2/alerts?offset=20"
        );
        assert_eq!(seg("a b/c"), "a%20b%2Fc");
    }

    #[tokio::test]
    async fn reads_retry_5xx_then_succeed() {
        let s = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/x"))
            .respond_with(ResponseTemplate::new(503))
            .up_to_n_times(2)
            .expect(2)
            .mount(&s)
            .await;
        Mock::given(method("GET"))
            .and(path("/x"))
            .respond_with(ResponseTemplate::new(200).set_body_string("[1,2]"))
            .expect(1)
            .mount(&s)
            .await;
        let c = HttpClient::new("p", &s.uri(), Auth::None, fast()).unwrap();
        let v: Vec<u32> = c.get_json(&c.url("/x"), &[]).await.unwrap();
        assert_eq!(v, [1, 2]);
    }

    #[tokio::test]
    async fn retry_after_seconds_and_date_are_honoured_by_reads() {
        // An HTTP-date is measured against the response's Date header, so
        // both forms ask for exactly 1 s; the waits are recorded, not slept.
        let date = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let fmt =
            |d: chrono::DateTime<chrono::Utc>| d.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        let in_1s = fmt(date + chrono::Duration::seconds(1));
        for value in ["1".to_string(), in_1s] {
            let s = MockServer::start().await;
            Mock::given(method("GET"))
                .respond_with(
                    ResponseTemplate::new(503)
                        .insert_header("Date", fmt(date).as_str())
                        .insert_header("Retry-After", value.as_str()),
                )
                .up_to_n_times(1)
                .with_priority(1)
                .mount(&s)
                .await;
            Mock::given(method("GET"))
                .respond_with(ResponseTemplate::new(200).set_body_string("[]"))
                .mount(&s)
                .await;
            let waits = Arc::new(Mutex::new(Vec::new()));
            let mut cfg = fast();
            cfg.retry.base = Duration::ZERO; // no jitter on top of the server's wait
            let w = waits.clone();
            cfg.sleeper = Sleeper::custom(move |d| {
                w.lock().unwrap().push(d);
                Box::pin(std::future::ready(()))
            });
            let c = HttpClient::new("p", &s.uri(), Auth::None, cfg).unwrap();
            let v: Vec<u32> = c.get_json(&c.url("/x"), &[]).await.unwrap();
            assert!(v.is_empty());
            assert_eq!(
                *waits.lock().unwrap(),
                [Duration::from_secs(1)],
                "Retry-After {value}"
            );
        }
    }

    #[tokio::test]
    async fn github_403_with_no_remaining_is_a_rate_limit_not_a_bad_token() {
        let reset = (chrono::Utc::now().timestamp() + 100).to_string();
        let s = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(
                ResponseTemplate::new(403)
                    .insert_header("x-ratelimit-remaining", "0")
                    .insert_header("x-ratelimit-reset", reset.as_str())
                    .set_body_string(r#"{"message":"API rate limit exceeded"}"#),
            )
            .expect(1)
            .mount(&s)
            .await;
        let c =
            HttpClient::new("gh", &s.uri(), Auth::Bearer(Secret::new("ghp_x1")), fast()).unwrap();
        let e = c.get(&c.url("/x"), &[]).await.unwrap_err();
        let ErrorKind::RateLimited {
            retry_after: Some(w),
        } = e.kind
        else {
            panic!("{e:?}");
        };
        assert!(
            w > Duration::from_secs(90) && w <= Duration::from_secs(100),
            "{w:?}"
        );
        assert!(e.to_string().contains("API rate limit exceeded"), "{e}");
        // A hostile reset far in the future is clamped to 300 s.
        let s2 = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "999999"))
            .mount(&s2)
            .await;
        let c2 = HttpClient::new("p", &s2.uri(), Auth::None, fast()).unwrap();
        let e = c2.get(&c2.url("/x"), &[]).await.unwrap_err();
        assert_eq!(
            e.kind,
            ErrorKind::RateLimited {
                retry_after: Some(Duration::from_secs(300))
            }
        );
        // A plain 403 is "token rejected".
        let s3 = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(
                ResponseTemplate::new(403).set_body_string(r#"{"message":"Bad credentials"}"#),
            )
            .mount(&s3)
            .await;
        let c3 = HttpClient::new("gh", &s3.uri(), Auth::None, fast()).unwrap();
        let e = c3.get(&c3.url("/x"), &[]).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unauthorized { status: 403 });
        assert!(e.to_string().starts_with("gh: token rejected (403)"), "{e}");
    }

    #[tokio::test]
    async fn the_retry_budget_caps_retries_under_sustained_failure() {
        let s = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(503))
            .mount(&s)
            .await;
        let mut cfg = fast();
        cfg.breaker.consecutive_failures = 1000;
        cfg.breaker.min_calls = 1000;
        let c = HttpClient::new("p", &s.uri(), Auth::None, cfg).unwrap();
        // 10 concurrent callers, 3 attempts each without a budget = 30 requests.
        let url = c.url("/x");
        let calls = (0..10).map(|_| c.get(&url, &[]));
        for r in futures::future::join_all(calls).await {
            assert_eq!(r.unwrap_err().kind, ErrorKind::Server { status: 503 });
        }
        let n = s.received_requests().await.unwrap().len();
        assert_eq!(n, 10 + BUDGET_MIN_RETRIES, "{n} requests");
        assert!(n > 10, "some retries were allowed: {n}");
    }

    #[tokio::test]
    async fn reads_do_not_retry_4xx() {
        let s = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(
                ResponseTemplate::new(400).set_body_string(
                    r#"{"error":{"message":"Invalid Input Provided","code":2001}}"#,
                ),
            )
            .expect(1)
            .mount(&s)
            .await;
        let c = HttpClient::new("p", &s.uri(), Auth::None, fast()).unwrap();
        let e = c.get(&c.url("/x"), &[]).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Http { status: 400 });
        assert!(e.to_string().contains("Invalid Input Provided"), "{e}");
    }

    #[tokio::test]
    async fn writes_are_never_retried() {
        let s = MockServer::start().await;
        Mock::given(method("PUT"))
            .respond_with(ResponseTemplate::new(503))
            .expect(1)
            .mount(&s)
            .await;
        let c = HttpClient::new("p", &s.uri(), Auth::None, fast()).unwrap();
        let e = c
            .send(
                Method::PUT,
                &c.url("/x"),
                Some(&serde_json::json!({})),
                &[],
                Some("k-1"),
            )
            .await
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Server { status: 503 });
    }

    #[tokio::test]
    async fn a_cut_off_write_is_outcome_unknown_and_carries_the_key() {
        let s = MockServer::start().await;
        Mock::given(method("POST"))
            .and(header("Idempotency-Key", "key-42"))
            .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
            .expect(1)
            .mount(&s)
            .await;
        let mut cfg = fast();
        cfg.write_timeout = Duration::from_millis(300);
        let c = HttpClient::new("p", &s.uri(), Auth::None, cfg).unwrap();
        let e = c
            .send(Method::POST, &c.url("/x"), None, &[], Some("key-42"))
            .await
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unknown, "{e}");
        assert!(e.to_string().contains("outcome unknown"), "{e}");
    }

    #[tokio::test]
    async fn body_cap_rejects_large_bodies() {
        let s = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_string("x".repeat(50_000)))
            .expect(1)
            .mount(&s)
            .await;
        let mut cfg = fast();
        cfg.body_cap = 10_000;
        let c = HttpClient::new("p", &s.uri(), Auth::None, cfg).unwrap();
        let e = c.get(&c.url("/big"), &[]).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::TooLarge);
        assert!(e.to_string().contains("too large"), "{e}");
    }

    #[test]
    fn str_or_skip_keeps_strings_and_skips_the_rest() {
        let v: Vec<StrOrSkip> = serde_json::from_str(
            r#"["a", 1, -1, 1.5, true, null, [1, [2]], {"k": {"x": 1}}, "b\u001b"]"#,
        )
        .unwrap();
        let got: Vec<Option<&str>> = v.iter().map(|s| s.0.as_deref()).collect();
        assert_eq!(
            got,
            [
                Some("a"),
                None,
                None,
                None,
                None,
                None,
                None,
                None,
                Some("b\u{1b}")
            ]
        );
    }

    #[test]
    fn the_body_budget_is_shared_by_concurrent_bodies() {
        let b = BodyBudget::new(100);
        let mut one = b.hold();
        let mut two = b.hold();
        assert!(one.grow(60));
        assert!(!two.grow(50), "60 + 50 held at once passes the cap");
        assert!(two.grow(40));
        assert_eq!(b.used(), 100);
        drop(one);
        assert_eq!(b.used(), 40, "a finished body gives its bytes back");
        assert!(two.grow(60));
        drop(two);
        assert_eq!(b.used(), 0);
    }

    #[tokio::test]
    async fn breaker_fails_fast_without_network_io() {
        let s = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(500))
            .expect(3)
            .mount(&s)
            .await;
        let mut cfg = fast();
        cfg.breaker.consecutive_failures = 3;
        let c = HttpClient::new("p", &s.uri(), Auth::None, cfg).unwrap();
        let e = c.get(&c.url("/x"), &[]).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Server { status: 500 });
        let e = c.get(&c.url("/x"), &[]).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::CircuitOpen, "{e}");
        assert!(
            e.to_string().contains("last failure: server error (500)"),
            "{e}"
        );
        assert_eq!(c.breaker().state(Instant::now()), BreakerState::Open);
    }

    #[tokio::test]
    async fn a_long_reset_blocks_later_calls_without_io() {
        let s = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(429).insert_header("ratelimit-reset", "200"))
            .expect(1)
            .mount(&s)
            .await;
        let c = HttpClient::new("p", &s.uri(), Auth::None, fast()).unwrap();
        let e = c.get(&c.url("/x"), &[]).await.unwrap_err();
        assert_eq!(
            e.kind,
            ErrorKind::RateLimited {
                retry_after: Some(Duration::from_secs(200))
            }
        );
        let e = c.get(&c.url("/x"), &[]).await.unwrap_err();
        assert!(matches!(e.kind, ErrorKind::RateLimited { .. }), "{e}");
        assert!(e.to_string().contains("no request sent"), "{e}");
    }

    /// A raw HTTP server that sends `head` and `part` of a body, then
    /// stalls (`stall`) or closes the connection.
    async fn raw_server(head: &'static str, part: &'static [u8], stall: bool) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = l.accept().await {
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 8192];
                    let _ = sock.read(&mut buf).await;
                    let _ = sock.write_all(head.as_bytes()).await;
                    let _ = sock.write_all(part).await;
                    let _ = sock.flush().await;
                    if stall {
                        tokio::time::sleep(Duration::from_secs(30)).await;
                    }
                });
            }
        });
        format!("http://{addr}")
    }

    const HEAD_100: &str =
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n";

    #[tokio::test]
    async fn a_stalled_body_times_out_at_the_read_timeout() {
        let url = raw_server(HEAD_100, b"{\"incidents\":[", true).await;
        let mut cfg = fast();
        cfg.read_timeout = Duration::from_millis(300);
        cfg.total_timeout = Duration::from_secs(10);
        cfg.retry.max_attempts = 1;
        let c = HttpClient::new("p", &url, Auth::None, cfg).unwrap();
        let t = std::time::Instant::now();
        let e = c.get(&c.url("/x"), &[]).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Timeout, "{e}");
        assert!(e.to_string().contains("body stalled"), "{e}");
        let took = t.elapsed();
        assert!(
            took >= Duration::from_millis(250) && took < Duration::from_secs(3),
            "{took:?}"
        );
    }

    #[tokio::test]
    async fn a_cut_off_body_is_malformed_for_reads_and_unknown_for_writes() {
        let url = raw_server(HEAD_100, b"{\"incidents\":[", false).await;
        let mut cfg = fast();
        cfg.retry.max_attempts = 2;
        let c = HttpClient::new("p", &url, Auth::None, cfg).unwrap();
        let e = c.get(&c.url("/x"), &[]).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Malformed, "{e}");
        assert!(e.to_string().contains("body cut off"), "{e}");
        let e = c
            .send(
                Method::POST,
                &c.url("/x"),
                Some(&serde_json::json!({"a": 1})),
                &[],
                None,
            )
            .await
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unknown, "{e}");
        assert!(
            e.to_string().contains("may or may not have been applied"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn a_refused_write_is_known_not_sent() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let c =
            HttpClient::new("p", &format!("http://127.0.0.1:{port}"), Auth::None, fast()).unwrap();
        let e = c
            .send(Method::PUT, &c.url("/x"), None, &[], None)
            .await
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Connect, "{e}");
        assert!(e.to_string().starts_with("p: connection failed"), "{e}");
    }

    #[tokio::test]
    async fn offset_pages_respects_the_cap_and_concurrency() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let calls = AtomicUsize::new(0);
        let (items, truncated) = offset_pages(100, 10_000, 4, |off| {
            calls.fetch_add(1, Ordering::SeqCst);
            async move {
                assert!(off + 100 <= 10_000, "offset {off} beyond the cap");
                Ok(OffsetPage {
                    items: (off..off + 100).collect::<Vec<usize>>(),
                    more: true,
                    total: Some(20_000),
                })
            }
        })
        .await
        .unwrap();
        assert_eq!(items.len(), 10_000);
        assert!(truncated);
        assert_eq!(calls.load(Ordering::SeqCst), 100);
        assert!(
            items.windows(2).all(|w| w[0] + 1 == w[1]),
            "pages kept in order"
        );
        // No total: sequential until more = false.
        let (items, truncated) = offset_pages(10, 10_000, 4, |off| async move {
            Ok(OffsetPage {
                items: (off..(off + 10).min(35)).collect::<Vec<usize>>(),
                more: off + 10 < 35,
                total: None,
            })
        })
        .await
        .unwrap();
        assert_eq!(items.len(), 35);
        assert!(!truncated);
    }
}
