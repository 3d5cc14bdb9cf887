//! Waits: full-jitter backoff, `Retry-After`, vendor rate-limit reset
//! headers, and the clamp on what a server may ask for.

use super::RetryPolicy;
use reqwest::header::HeaderMap;
use std::time::{Duration, SystemTime};

/// The full-jitter ceiling before retry number `retry` (0 = first retry):
/// `min(cap, base · 2^retry)`.
pub fn backoff_ceiling(p: &RetryPolicy, retry: u32) -> Duration {
    let factor = 2u32.saturating_pow(retry.min(30));
    p.base.saturating_mul(factor).min(p.cap)
}

/// A full-jitter backoff: uniform in `[0, backoff_ceiling]`.
pub fn full_jitter(p: &RetryPolicy, retry: u32) -> Duration {
    let ceil = backoff_ceiling(p, retry);
    ceil.mul_f64(crate::util::random_unit())
}

/// Clamp a server-requested wait to `[min_wait, max_wait]`.
pub fn clamp_wait(p: &RetryPolicy, d: Duration) -> Duration {
    d.clamp(p.min_wait, p.max_wait.max(p.min_wait))
}

/// An HTTP-date (IMF-fixdate, or the obsolete RFC 850 and asctime forms
/// RFC 9110 still allows).
fn parse_http_date(s: &str) -> Option<SystemTime> {
    httpdate::parse_http_date(s.trim()).ok()
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

pub(super) fn header_str<'h>(h: &'h HeaderMap, name: &str) -> Option<&'h str> {
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

/// GitHub's rate limits (providers.md §4.2), read from a 403 or 429:
/// a **secondary** limit is an answer whose message says "secondary rate
/// limit" (waited for `retry-after`, else the reset, else at least a
/// minute: the returned wait); an exhausted **primary** limit is
/// `x-ratelimit-remaining: 0` without that message. Returns the note for
/// the error detail and the wait to use when the answer names none; `None`
/// when the answer is neither. A 429 is a rate limit whatever this says.
pub(super) fn github_limit(
    status: u16,
    h: &HeaderMap,
    body: &[u8],
) -> Option<(String, Option<Duration>)> {
    if !matches!(status, 403 | 429) {
        return None;
    }
    let head = String::from_utf8_lossy(&body[..body.len().min(4096)]).to_ascii_lowercase();
    if head.contains("secondary rate limit") {
        return Some(("secondary rate limit".into(), Some(Duration::from_secs(60))));
    }
    if header_str(h, "x-ratelimit-remaining") != Some("0") {
        return None;
    }
    // `x-ratelimit-resource` is GitHub's; a 429 without it (Vercel also
    // sends `x-ratelimit-remaining`) is a plain rate limit.
    match header_str(h, "x-ratelimit-resource") {
        Some(r) => Some((
            format!("primary rate limit exhausted ({r}, x-ratelimit-remaining 0)"),
            None,
        )),
        None if status == 403 => Some((
            "primary rate limit exhausted (core, x-ratelimit-remaining 0)".into(),
            None,
        )),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_rate_limits_are_read_from_403s() {
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-remaining", "0".parse().unwrap());
        let (note, wait) = github_limit(403, &h, b"{}").unwrap();
        assert!(
            note.starts_with("primary rate limit exhausted (core"),
            "{note}"
        );
        assert_eq!(wait, None);
        // A 429 without GitHub's resource header is a plain rate limit.
        assert!(github_limit(429, &h, b"{}").is_none());
        let secondary = br#"{"message":"You have exceeded a secondary rate limit."}"#;
        let (note, wait) = github_limit(403, &HeaderMap::new(), secondary).unwrap();
        assert_eq!(note, "secondary rate limit");
        assert_eq!(wait, Some(Duration::from_secs(60)));
        assert!(github_limit(403, &HeaderMap::new(), b"{}").is_none());
        assert!(github_limit(500, &h, secondary).is_none());
    }
}
