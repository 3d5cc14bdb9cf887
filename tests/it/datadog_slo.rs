//! A Datadog fake (wiremock) following providers.md §12: both key headers
//! required (403 with Datadog's error body otherwise), limit/offset paging
//! of `GET /api/v1/slo`, history shapes (healthy, zero traffic, 404), 429
//! with `X-RateLimit-*` headers, the `site` → base URL rule.

use sitrep::config::{Config, SecretRef};
use sitrep::model::{AlertSeverity, Gate, Slo};
use sitrep::providers::datadog::Datadog;
use sitrep::providers::http::HttpConfig;
use sitrep::providers::{BuildCtx, ErrorKind, build_one};
use sitrep::secrets::{Secret, SecretSource};
use std::path::Path;
use std::time::Duration;
use wiremock::matchers::{header, method, path, path_regex, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const API: &str = "api-key-0123456789abcdef";
const APP: &str = "app-key-fedcba9876543210";
const NOW: i64 = 1_700_000_000;
const A: &str = "c2ce7fb6030c5c0b8035d1ce94dec12c";
const B: &str = "18101ab6982f547faba6c9bdc6de9413";
const C: &str = "0000000000000000000000000000dead";

struct Keys(&'static str, &'static str);
impl SecretSource for Keys {
    fn get(&self, r: &SecretRef) -> Result<Secret, String> {
        match r {
            SecretRef::Env(k) if k == "DD_API_KEY" => Ok(Secret::new(self.0)),
            SecretRef::Env(k) if k == "DD_APP_KEY" => Ok(Secret::new(self.1)),
            other => Err(format!("no secret {other:?}")),
        }
    }
}

fn config(base: &str, extra: &str) -> Config {
    sitrep::config::parse(
        &format!(
            r#"
[[provider]]
name = "dd"
kind = "datadog"
base_url = "{base}"
token = {{ env = "DD_API_KEY" }}
app_key = {{ env = "DD_APP_KEY" }}
{extra}
"#
        ),
        Path::new("test.toml"),
    )
    .unwrap()
}

fn fast() -> HttpConfig {
    let mut c = HttpConfig::from_timeout(Duration::from_secs(2));
    c.retry.base = Duration::from_millis(10);
    c.retry.cap = Duration::from_millis(50);
    c.retry.max_inline_wait = Duration::from_secs(5);
    c
}

fn provider(cfg: &Config, keys: &Keys) -> Datadog {
    provider_with(cfg, keys, fast())
}

fn provider_with(cfg: &Config, keys: &Keys, http: HttpConfig) -> Datadog {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let pc = cfg.provider_named("dd").unwrap();
    let ctx = BuildCtx {
        config: cfg,
        secrets: keys,
    };
    let d = Datadog::with_http_config(pc, &ctx, http)
        .unwrap()
        .with_page_limit(2);
    d.set_now(Some(NOW));
    d
}

fn slo_json(id: &str, name: &str, tf: &str, target: f64, tags: &[&str]) -> serde_json::Value {
    serde_json::json!({
        "id": id, "name": name, "tags": tags, "monitor_tags": [],
        "thresholds": [{"timeframe": tf, "target": target, "target_display": target.to_string()}],
        "type": "metric", "type_id": 1, "description": "", "timeframe": tf,
        "target_threshold": target,
        "query": {"numerator": "sum:hits{code:2xx}.as_count()", "denominator": "sum:hits{*}.as_count()"},
        "creator": {"name": null, "handle": "frog@datadoghq.com", "email": "frog@datadoghq.com"},
        "created_at": 1704322487, "modified_at": 1704322487
    })
}

/// SLI (percent) of SLO A for a history span, by span length.
fn sli_for_span(span: i64) -> f64 {
    match span {
        300 => 98.5,        // 5m: burn 15
        1800 => 98.5,       // 30m: 15
        3600 => 98.4,       // 1h: 16
        7200 => 99.0,       // 2h: 10
        21_600 => 99.5,     // 6h: 5
        86_400 => 99.65,    // 1d: 3.5
        259_200 => 99.8,    // 3d: 2
        604_800 => 99.9,    // 7d: 1
        2_592_000 => 99.95, // 30d: 0.5
        _ => 50.0,
    }
}

fn history_a(req: &Request) -> ResponseTemplate {
    let q: std::collections::HashMap<String, String> = req.url.query_pairs().into_owned().collect();
    let from: i64 = q["from_ts"].parse().unwrap();
    let to: i64 = q["to_ts"].parse().unwrap();
    assert_eq!(to, NOW);
    let span = to - from;
    let mut overall = serde_json::json!({
        "sli_value": sli_for_span(span), "span_precision": 2, "precision": {"30d": 2},
        "uptime": sli_for_span(span), "errors": [], "corrections": [], "state": "ok"
    });
    if span == 2_592_000 {
        // Datadog's own figure wins over the one computed from the SLI.
        overall["error_budget_remaining"] = serde_json::json!({"30d": 48.7});
    }
    ResponseTemplate::new(200).set_body_json(serde_json::json!({
        "data": {"from_ts": from, "to_ts": to, "type": "metric", "type_id": 1,
                 "thresholds": {"30d": {"timeframe": "30d", "target": 99.9, "target_display": "99.9"}},
                 "overall": overall, "series": {"times": [], "numerator": {}, "denominator": {}},
                 "group_by": []},
        "errors": null
    }))
}

async fn fake() -> MockServer {
    let server = MockServer::start().await;
    let auth = |m: wiremock::MockBuilder| {
        m.and(header("DD-API-KEY", API))
            .and(header("DD-APPLICATION-KEY", APP))
            .and(header("Accept", "application/json"))
    };
    auth(
        Mock::given(method("GET"))
            .and(path("/api/v1/slo"))
            .and(query_param("limit", "2"))
            .and(query_param("offset", "0")),
    )
    .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
        "data": [slo_json(A, "checkout availability", "30d", 99.9, &["service:checkout", "env:prod"]),
                 slo_json(B, "search availability", "7d", 95.0, &["env:prod"])],
        "error": null,
        "metadata": {"page": {"total_count": 3, "total_filtered_count": 3}}
    })))
    .with_priority(2)
    .mount(&server)
    .await;
    auth(
        Mock::given(method("GET"))
            .and(path("/api/v1/slo"))
            .and(query_param("limit", "2"))
            .and(query_param("offset", "2")),
    )
    .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
        "data": [slo_json(C, "deleted meanwhile", "30d", 99.0, &[])],
        "error": null
    })))
    .with_priority(2)
    .mount(&server)
    .await;
    auth(Mock::given(method("GET")).and(path(format!("/api/v1/slo/{A}/history"))))
        .respond_with(history_a)
        .with_priority(2)
        .mount(&server)
        .await;
    // Zero traffic (recorded shape): sli_value null, ZERO_VALUED_DENOMINATOR.
    auth(Mock::given(method("GET")).and(path(format!("/api/v1/slo/{B}/history"))))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "data": {"thresholds": {"7d": {"timeframe": "7d", "target": 95.0, "target_display": "95."}},
                     "from_ts": NOW - 86_400, "to_ts": NOW, "type": "metric", "type_id": 1, "group_by": [],
                     "overall": {"errors": [{"error_message": "The denominator is zero valued", "error_type": "ZERO_VALUED_DENOMINATOR"}],
                                 "sli_value": null, "span_precision": 2, "precision": {"7d": 0}, "uptime": null,
                                 "corrections": [], "state": "no_data"}},
            "errors": null
        })))
        .with_priority(2)
        .mount(&server)
        .await;
    auth(Mock::given(method("GET")).and(path(format!("/api/v1/slo/{C}/history"))))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(serde_json::json!({"errors": ["SLO not found"]})),
        )
        .with_priority(2)
        .mount(&server)
        .await;
    // Anything without both keys: Datadog's 403.
    Mock::given(path_regex("^/api/"))
        .respond_with(
            ResponseTemplate::new(403).set_body_json(serde_json::json!({"errors": ["Forbidden"]})),
        )
        .with_priority(10)
        .mount(&server)
        .await;
    server
}

fn find<'a>(slos: &'a [Slo], name: &str) -> &'a Slo {
    slos.iter().find(|s| s.name.as_str() == name).unwrap()
}

fn approx(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() <= 1e-9 * b.abs().max(1.0))
}

#[tokio::test]
async fn slos_from_paged_list_and_history() {
    let server = fake().await;
    let cfg = config(&server.uri(), "");
    let keys = Keys(API, APP);
    let dd = provider(&cfg, &keys);
    let slos = dd.fetch_slos().await.unwrap();
    assert_eq!(slos.len(), 3, "{slos:?}");

    let a = find(&slos, "checkout availability");
    assert_eq!(a.error, None);
    assert_eq!(a.service.as_ref().map(|s| s.as_str()), Some("checkout"));
    assert_eq!(a.objective, 99.9);
    assert_eq!(a.window, "30d");
    assert_eq!(a.provider.as_str(), "dd");
    for (w, burn) in [
        ("5m", 15.0),
        ("30m", 15.0),
        ("1h", 16.0),
        ("2h", 10.0),
        ("6h", 5.0),
        ("1d", 3.5),
        ("3d", 2.0),
    ] {
        let got = a.burn_rates.get(w);
        assert!(got.is_some_and(|g| (g - burn).abs() < 1e-6), "{w}: {got:?}");
    }
    // Datadog's own error_budget_remaining (48.7 %), not 1 − 0.5.
    assert!(approx(a.error_budget_remaining, 0.487));
    // 7 days at burn 1 of a 30-day window: 7/30 of the budget.
    assert!(
        a.budget_burned_7d
            .is_some_and(|b| (b - 7.0 / 30.0).abs() < 1e-6)
    );
    let firing: Vec<(AlertSeverity, &str, bool)> = a
        .alerts
        .iter()
        .map(|x| (x.severity, x.long.as_str(), x.firing))
        .collect();
    assert_eq!(
        firing,
        vec![
            (AlertSeverity::Page, "1h", true),
            (AlertSeverity::Page, "6h", false),
            (AlertSeverity::Ticket, "1d", true),
            (AlertSeverity::Ticket, "3d", true),
        ]
    );
    assert_eq!(a.gate, Gate::Frozen);

    // Zero traffic: no data, never NaN; the 7d window factors are scaled.
    let b = find(&slos, "search availability");
    assert_eq!(b.window, "7d");
    assert!(b.burn_rates.iter().all(|(_, v)| v.is_none()));
    assert_eq!(b.error_budget_remaining, None);
    assert_eq!(b.gate, Gate::Open);
    assert!(!b.has_data());
    assert!((b.alerts[0].factor - 0.02 * 7.0 * 24.0).abs() < 1e-9);

    // A 404 on one SLO's history marks that SLO only.
    let c = find(&slos, "deleted meanwhile");
    let e = c.error.as_ref().unwrap().as_str();
    assert!(e.contains("SLO not found"), "{e}");

    // Paging: limit=2 at offset 0 then offset 2, both keys on every call.
    let reqs = server.received_requests().await.unwrap();
    let offsets: Vec<String> = reqs
        .iter()
        .filter(|r| r.url.path() == "/api/v1/slo")
        .filter_map(|r| {
            r.url
                .query_pairs()
                .find(|(k, _)| k == "offset")
                .map(|(_, v)| v.into_owned())
        })
        .collect();
    assert_eq!(offsets, ["0", "2"]);
    assert!(
        reqs.iter().all(|r| r.headers.contains_key("dd-api-key")
            && r.headers.contains_key("dd-application-key"))
    );
    // 9 history windows per SLO (7 burn windows, the SLO window, 7 days).
    let hist_a = reqs
        .iter()
        .filter(|r| r.url.path().ends_with(&format!("{A}/history")))
        .count();
    assert_eq!(hist_a, 9);
}

#[tokio::test]
async fn configured_ids_select_rename_and_set_the_service() {
    let server = fake().await;
    let cfg = config(
        &server.uri(),
        &format!(
            r#"
[[slo]]
name = "checkout-availability"
service = "payments"
provider = "dd"
objective = 99.9
datadog_id = "{A}"

[[slo]]
name = "no-id"
provider = "dd"
objective = 99.0
"#
        ),
    );
    let keys = Keys(API, APP);
    let dd = provider(&cfg, &keys);
    let slos = dd.fetch_slos().await.unwrap();
    let names: Vec<&str> = slos.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["checkout-availability", "no-id"]);
    assert_eq!(
        slos[0].service.as_ref().map(|s| s.as_str()),
        Some("payments")
    );
    assert!(approx(slos[0].error_budget_remaining, 0.487));
    assert!(
        slos[1]
            .error
            .as_ref()
            .unwrap()
            .as_str()
            .contains("datadog_id")
    );
    let reqs = server.received_requests().await.unwrap();
    let ids: Vec<String> = reqs
        .iter()
        .filter(|r| r.url.path() == "/api/v1/slo")
        .filter_map(|r| {
            r.url
                .query_pairs()
                .find(|(k, _)| k == "ids")
                .map(|(_, v)| v.into_owned())
        })
        .collect();
    assert_eq!(ids.first().map(String::as_str), Some(A));
}

#[tokio::test]
async fn both_keys_are_required_and_never_leak() {
    let server = fake().await;
    let cfg = config(&server.uri(), "");
    let keys = Keys(API, "wrong-app-key-000000");
    let dd = provider(&cfg, &keys);
    let e = dd.fetch_slos().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized { status: 403 });
    let msg = e.to_string();
    assert!(msg.contains("Forbidden"), "{msg}");
    assert!(
        !msg.contains(API) && !msg.contains("wrong-app-key"),
        "{msg}"
    );

    // No app_key in the config: a configuration error, no request sent.
    let cfg = sitrep::config::parse(
        &format!(
            "[[provider]]\nname = \"dd\"\nkind = \"datadog\"\nbase_url = \"{}\"\ntoken = {{ env = \"DD_API_KEY\" }}\n",
            server.uri()
        ),
        Path::new("t.toml"),
    )
    .unwrap();
    let ctx = BuildCtx {
        config: &cfg,
        secrets: &keys,
    };
    let p = build_one(cfg.provider_named("dd").unwrap(), &ctx);
    let e = p.fetch().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Config);
    assert!(e.to_string().contains("DD-APPLICATION-KEY"), "{e}");
}

#[tokio::test]
async fn html_403_from_the_edge_is_an_auth_error() {
    let server = MockServer::start().await;
    Mock::given(path("/api/v1/slo"))
        .respond_with(ResponseTemplate::new(403).set_body_raw(
            "<html><body><h1>403 Forbidden</h1>Request forbidden by administrative rules.</body></html>",
            "text/html",
        ))
        .mount(&server)
        .await;
    let cfg = config(&server.uri(), "");
    let keys = Keys(API, APP);
    let e = provider(&cfg, &keys).fetch_slos().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized { status: 403 });
    assert!(e.to_string().contains("administrative rules"), "{e}");
}

fn rate_limited(reset: &str) -> ResponseTemplate {
    ResponseTemplate::new(429)
        .insert_header("X-RateLimit-Limit", "1000")
        .insert_header("X-RateLimit-Period", "60")
        .insert_header("X-RateLimit-Remaining", "0")
        .insert_header("X-RateLimit-Reset", reset)
        .insert_header("X-RateLimit-Name", "slo_get_all")
        .set_body_json(serde_json::json!({"errors": ["Rate limit of 1000 requests in 60 seconds reached. Please try again later."]}))
}

#[tokio::test]
async fn rate_limit_429_waits_for_the_reset() {
    let server = fake().await;
    // The first list call is limited for 1 s (a delta, not an epoch).
    Mock::given(path("/api/v1/slo"))
        .respond_with(rate_limited("1"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let cfg = config(&server.uri(), "");
    let keys = Keys(API, APP);
    let (http, waits) = crate::common::recorded_http();
    let dd = provider_with(&cfg, &keys, http);
    let slos = dd.fetch_slos().await.unwrap();
    assert_eq!(waits.get(), [Duration::from_secs(1)]);
    assert_eq!(slos.len(), 3);
}

#[tokio::test]
async fn long_rate_limit_fails_fast_with_the_wait() {
    let server = MockServer::start().await;
    Mock::given(path("/api/v1/slo"))
        .respond_with(rate_limited("120"))
        .mount(&server)
        .await;
    let cfg = config(&server.uri(), "");
    let keys = Keys(API, APP);
    let (http, waits) = crate::common::recorded_http();
    let dd = provider_with(&cfg, &keys, http);
    let e = dd.fetch_slos().await.unwrap_err();
    assert!(waits.get().is_empty(), "slept {:?}", waits.get());
    match e.kind {
        ErrorKind::RateLimited { retry_after } => {
            let w = retry_after.unwrap();
            assert!(
                w > Duration::from_secs(100) && w <= Duration::from_secs(120),
                "{w:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    // The next fetch does not hit the server until the reset.
    let before = server.received_requests().await.unwrap().len();
    assert!(dd.fetch_slos().await.is_err());
    assert_eq!(server.received_requests().await.unwrap().len(), before);
}

#[test]
fn site_picks_the_api_host() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let keys = Keys(API, APP);
    for (site, url) in [
        ("datadoghq.com", "https://api.datadoghq.com"),
        ("datadoghq.eu", "https://api.datadoghq.eu"),
        ("us3.datadoghq.com", "https://api.us3.datadoghq.com"),
        ("us5.datadoghq.com", "https://api.us5.datadoghq.com"),
        ("ap1.datadoghq.com", "https://api.ap1.datadoghq.com"),
        ("ddog-gov.com", "https://api.ddog-gov.com"),
    ] {
        let cfg = sitrep::config::parse(
            &format!(
                "[[provider]]\nname = \"dd\"\nkind = \"datadog\"\nsite = \"{site}\"\ntoken = {{ env = \"DD_API_KEY\" }}\napp_key = {{ env = \"DD_APP_KEY\" }}\n"
            ),
            Path::new("t.toml"),
        )
        .unwrap();
        let ctx = BuildCtx {
            config: &cfg,
            secrets: &keys,
        };
        let dd = Datadog::new(cfg.provider_named("dd").unwrap(), &ctx).unwrap();
        assert_eq!(dd.base_url(), url, "{site}");
    }
    // No site and no base_url: US1.
    let cfg = sitrep::config::parse(
        "[[provider]]\nname = \"dd\"\nkind = \"datadog\"\ntoken = { env = \"DD_API_KEY\" }\napp_key = { env = \"DD_APP_KEY\" }\n",
        Path::new("t.toml"),
    )
    .unwrap();
    let ctx = BuildCtx {
        config: &cfg,
        secrets: &keys,
    };
    let dd = Datadog::new(cfg.provider_named("dd").unwrap(), &ctx).unwrap();
    assert_eq!(dd.base_url(), "https://api.datadoghq.com");
}

/// A metric SLO whose events are 1 bad in 1,000 every hour but 20 in the
/// last two hours, and a monitor SLO down for the last hour: the charts
/// come from the history calls already made (the 3-day one for the burn
/// history, the window's for the budget burndown), no call of their own.
#[tokio::test]
async fn the_charts_come_from_the_events_and_monitor_states_of_the_history_calls() {
    const M: &str = "00000000000000000000000000metric";
    const S: &str = "0000000000000000000000000monitor";
    let server = MockServer::start().await;
    let auth = |m: wiremock::MockBuilder| {
        m.and(header("DD-API-KEY", API))
            .and(header("DD-APPLICATION-KEY", APP))
    };
    let mut monitor = slo_json(S, "login uptime", "30d", 99.9, &[]);
    monitor["type"] = serde_json::json!("monitor");
    // Pages of 2: the two SLOs, then an empty page.
    auth(
        Mock::given(method("GET"))
            .and(path("/api/v1/slo"))
            .and(query_param("offset", "0")),
    )
    .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
        "data": [slo_json(M, "checkout events", "30d", 99.9, &[]), monitor],
        "error": null
    })))
    .mount(&server)
    .await;
    auth(
        Mock::given(method("GET"))
            .and(path("/api/v1/slo"))
            .and(query_param("offset", "2")),
    )
    .respond_with(
        ResponseTemplate::new(200).set_body_json(serde_json::json!({"data": [], "error": null})),
    )
    .mount(&server)
    .await;
    let span_of = |req: &Request| {
        let q: std::collections::HashMap<String, String> =
            req.url.query_pairs().into_owned().collect();
        let from: i64 = q["from_ts"].parse().unwrap();
        let to: i64 = q["to_ts"].parse().unwrap();
        (from, to)
    };
    auth(Mock::given(method("GET")).and(path(format!("/api/v1/slo/{M}/history"))))
        .respond_with(move |req: &Request| {
            let (from, to) = span_of(req);
            // One bucket an hour from `from`, 1,000 events each.
            let (mut times, mut good, mut all) = (vec![], vec![], vec![]);
            let mut t = from;
            while t < to {
                let bad = if to - t <= 7200 { 20 } else { 1 };
                times.push(t * 1000);
                good.push(1000 - bad);
                all.push(1000);
                t += 3600;
            }
            let mut overall = serde_json::json!({"sli_value": 99.9, "errors": []});
            if to - from == 2_592_000 {
                overall["error_budget_remaining"] = serde_json::json!({"30d": 40.0});
            }
            ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "data": {"from_ts": from, "to_ts": to, "type": "metric", "overall": overall,
                         "series": {"res_type": "time_series", "interval": 3600, "times": times,
                                    "numerator": {"count": 1, "sum": 0, "values": good},
                                    "denominator": {"count": 1, "sum": 0, "values": all}}},
                "errors": null
            }))
        })
        .mount(&server)
        .await;
    auth(Mock::given(method("GET")).and(path(format!("/api/v1/slo/{S}/history"))))
        .respond_with(move |req: &Request| {
            let (from, to) = span_of(req);
            // Up from the start, down for the last hour.
            let history = if to - from > 3600 {
                serde_json::json!([[from, 0], [to - 3600, 1]])
            } else {
                serde_json::json!([[from, 1]])
            };
            ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "data": {"from_ts": from, "to_ts": to, "type": "monitor",
                         "overall": {"sli_value": 99.0, "history": history, "errors": [],
                                     "error_budget_remaining": {"30d": 90.0}}},
                "errors": null
            }))
        })
        .mount(&server)
        .await;
    let cfg = config(&server.uri(), "");
    let keys = Keys(API, APP);
    let dd = provider(&cfg, &keys);
    let slos = dd.fetch_slos().await.unwrap();

    // 1h burn every 30 min over 24 h: 1x (1 in 1,000 at 99.9 %) until the
    // 1h windows reach the last two hours, then 20x.
    let m = find(&slos, "checkout events");
    assert_eq!(m.history.len(), 49, "{:?}", m.history);
    assert!(
        m.history[..45].iter().all(|b| (b - 1.0).abs() < 1e-9),
        "{:?}",
        m.history
    );
    assert!(
        m.history[45..].iter().all(|b| (b - 20.0).abs() < 1e-9),
        "{:?}",
        m.history
    );
    // The burndown: 31 points from 100 % to Datadog's 40 %, each of the
    // first 29 days spending 0.024 of the 0.0318 parts, the last the rest.
    assert_eq!(m.budget_history.len(), 31, "{:?}", m.budget_history);
    assert_eq!(m.budget_history[0], 1.0);
    let parts = 29.0 * 24.0 + 22.0 + 40.0;
    for (k, want) in [(1, 24.0), (15, 15.0 * 24.0), (29, 29.0 * 24.0)] {
        let want = 1.0 - 0.6 * want / parts;
        let got = m.budget_history[k];
        assert!((got - want).abs() < 1e-9, "day {k}: {got} vs {want}");
    }
    assert!((m.budget_history[30] - 0.4).abs() < 1e-9);

    // The monitor: down the last hour, so the 1h burn is 1,000x at now,
    // 500x half an hour before, 0 before that; the whole window's spend
    // falls on the last day.
    let s = find(&slos, "login uptime");
    assert_eq!(s.history.len(), 49, "{:?}", s.history);
    assert!((s.history[48] - 1000.0).abs() < 1e-6, "{:?}", s.history);
    assert!((s.history[47] - 500.0).abs() < 1e-6, "{:?}", s.history);
    assert!(s.history[..47].iter().all(|b| *b == 0.0), "{:?}", s.history);
    assert_eq!(s.budget_history.len(), 31);
    assert!(s.budget_history[..30].iter().all(|b| *b == 1.0));
    assert!((s.budget_history[30] - 0.9).abs() < 1e-9);

    // No request beyond the two list pages and 9 history calls per SLO.
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 2 + 2 * 9, "{}", reqs.len());
}
