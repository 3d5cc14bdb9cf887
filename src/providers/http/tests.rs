//! Tests of the HTTP layer as a whole.

use super::*;
use crate::providers::ErrorKind;
use crate::secrets::Secret;
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderValue};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::time::Instant;
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
    let pd = br#"{"error":{"message":"Authentication failed","code":2006,"errors":["bad key"]}}"#;
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
    let fmt = |d: chrono::DateTime<chrono::Utc>| d.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
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
    let c = HttpClient::new("gh", &s.uri(), Auth::Bearer(Secret::new("ghp_x1")), fast()).unwrap();
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
            ResponseTemplate::new(400)
                .set_body_string(r#"{"error":{"message":"Invalid Input Provided","code":2001}}"#),
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
    let c = HttpClient::new("p", &format!("http://127.0.0.1:{port}"), Auth::None, fast()).unwrap();
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
    let wide = Fanout {
        wide: 4,
        near_rtt: Duration::ZERO,
        near_in_flight: 1,
    };
    let (items, truncated) = offset_pages(100, 10_000, wide, |off| {
        calls.fetch_add(1, Ordering::SeqCst);
        async move {
            assert!(off + 100 <= 10_000, "offset {off} beyond the cap");
            Ok(OffsetPage {
                items: (off..off + 100).collect::<Vec<usize>>(),
                more: true,
                total: Some(20_000),
                budget: None,
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
    let (items, truncated) = offset_pages(10, 10_000, wide, |off| async move {
        Ok(OffsetPage {
            items: (off..(off + 10).min(35)).collect::<Vec<usize>>(),
            more: off + 10 < 35,
            total: None,
            budget: None,
        })
    })
    .await
    .unwrap();
    assert_eq!(items.len(), 35);
    assert!(!truncated);
}

/// A cursor that leads back to a page already read is a loop: an error
/// saying the list is incomplete, never a list that looks whole.
#[tokio::test]
async fn pages_that_loop_are_an_error() {
    use wiremock::matchers::query_param;
    let s = MockServer::start().await;
    let next = |c: &str| format!("<{}/items?cursor={c}>; rel=\"next\"", s.uri());
    Mock::given(method("GET"))
        .and(path("/items"))
        .and(query_param("cursor", "a"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json([2])
                .insert_header("link", next("a")),
        )
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path("/items"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json([1])
                .insert_header("link", next("a")),
        )
        .with_priority(10)
        .mount(&s)
        .await;
    let c = HttpClient::new("p", &s.uri(), Auth::None, fast()).unwrap();
    let e = c
        .get_link_pages::<u32>(&c.url("/items"), &[])
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Shape);
    assert!(e.to_string().contains("loop"), "{e}");
}

/// A write is not cut off by a short read timeout: it has its own, at
/// least 30 s, or 1.5 × the provider's `timeout` when that is longer.
#[test]
fn writes_have_their_own_timeout_of_at_least_30s() {
    let short = HttpConfig::from_timeout(Duration::from_secs(1));
    assert_eq!(short.write_timeout, Duration::from_secs(30));
    assert!(short.total_timeout < short.write_timeout);
    let long = HttpConfig::from_timeout(Duration::from_secs(40));
    assert_eq!(long.write_timeout, Duration::from_secs(60));
    assert!(long.write_timeout <= crate::actions::EXECUTE_TIMEOUT);
}
