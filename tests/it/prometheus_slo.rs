//! A real Prometheus (Debian package) over a TSDB backfilled with
//! `promtool tsdb create-blocks-from openmetrics` from 31 days of generated
//! request counters with known error ratios per period. sitrep's burn
//! rates, budget, alerts and gate must equal what PromQL says on the same
//! server, and what was generated; a Sloth spec for the same SLO must give
//! the same numbers.

use crate::common::{self, Tool};
use sitrep::config::SecretRef;
use sitrep::model::{AlertSeverity, BURN_WINDOWS, Gate, Slo};
use sitrep::providers::BuildCtx;
use sitrep::providers::prometheus::Prometheus;
use sitrep::secrets::{Secret, SecretSource};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PROMETHEUS: &str = "/usr/bin/prometheus";
const PROMTOOL: &str = "/usr/bin/promtool";
/// Requests per minute of the generated service.
const RPM: u64 = 10_000;
const DAYS: u64 = 31;
const OBJECTIVE: f64 = 99.9;

struct NoSecrets;
impl SecretSource for NoSecrets {
    fn get(&self, r: &SecretRef) -> Result<Secret, String> {
        Err(format!("no secret {r:?}"))
    }
}

/// Error ratio of the minute that ends `age_s` seconds before the end.
fn ratio_at_age(age_s: u64) -> f64 {
    match age_s {
        a if a < 3_600 => 0.02,        // sharp burn: the last hour
        a if a < 3 * 86_400 => 0.0025, // moderate: 1h .. 3d ago
        _ => 0.0002,                   // quiet baseline before
    }
}

fn errors_per_minute(age_s: u64) -> u64 {
    (ratio_at_age(age_s) * RPM as f64).round() as u64
}

/// The generated error ratio over the `window_s` seconds before the end
/// (the increments of the samples inside the window).
fn generated_ratio(window_s: u64) -> f64 {
    generated_between(0, window_s)
}

/// The generated error ratio of the minutes aged [from_s, to_s).
fn generated_between(from_s: u64, to_s: u64) -> f64 {
    let (mut e, mut t) = (0u64, 0u64);
    let mut age = from_s;
    while age < to_s {
        e += errors_per_minute(age);
        t += RPM;
        age += 60;
    }
    e as f64 / t as f64
}

fn secs(w: &str) -> u64 {
    sitrep::config::parse_duration(w).unwrap().as_secs()
}

/// The Sloth id whose recording rules are backfilled (as if Sloth's rules
/// for slos/legacy.yaml had been running for 7 days).
const RECORDED_ID: &str = "legacy-availability";
const RECORDED_WINDOWS: [(&str, u64); 8] = [
    ("5m", 5),
    ("30m", 30),
    ("1h", 60),
    ("2h", 120),
    ("6h", 360),
    ("1d", 1440),
    ("3d", 4320),
    ("30d", 43200),
];

/// OpenMetrics families: (header, samples as (unix seconds, line)).
/// checkout: 31 days of 1-minute counters, 200 and 500; quiet (flat
/// counters: zero traffic) and noerr (no error series at all) for the last
/// 2 days; Sloth's recorded `slo:sli_error:ratio_rate<W>` and
/// `sloth_slo_info` for [`RECORDED_ID`] over the last 7 days, with the
/// checkout ratios.
fn families(end: u64) -> Vec<(String, Vec<(u64, String)>)> {
    let minutes = DAYS * 1440;
    let start = end - minutes * 60;
    let mut http = Vec::with_capacity(100_000);
    // cum_err[k] = errors counted by sample k.
    let mut cum_err = vec![0u64; minutes as usize + 1];
    for k in 1..=minutes as usize {
        cum_err[k] = cum_err[k - 1] + errors_per_minute(end - (start + k as u64 * 60));
    }
    for code in ["200", "500"] {
        for k in 0..=minutes {
            let t = start + k * 60;
            let e = cum_err[k as usize];
            let c = if code == "500" { e } else { k * RPM - e };
            http.push((
                t,
                format!("http_requests_total{{job=\"checkout\",code=\"{code}\"}} {c} {t}\n"),
            ));
        }
    }
    let recent = 2 * 1440;
    for k in 0..=recent {
        let t = end - (recent - k) * 60;
        http.push((
            t,
            format!("http_requests_total{{job=\"quiet\",code=\"200\"}} 5 {t}\n"),
        ));
        http.push((
            t,
            format!("http_requests_total{{job=\"quiet\",code=\"500\"}} 1 {t}\n"),
        ));
        http.push((
            t,
            format!(
                "http_requests_total{{job=\"noerr\",code=\"200\"}} {} {t}\n",
                k * 1000
            ),
        ));
    }
    let mut out = vec![(
        "# HELP http_requests Requests.\n# TYPE http_requests counter\n".to_string(),
        http,
    )];
    let labels =
        format!("sloth_id=\"{RECORDED_ID}\",sloth_service=\"legacy\",sloth_slo=\"availability\"");
    let first = minutes - 7 * 1440 - 60;
    for (w, wm) in RECORDED_WINDOWS {
        let name = format!("slo:sli_error:ratio_rate{w}");
        let mut v = Vec::new();
        for k in first.max(wm)..=minutes {
            let e = cum_err[k as usize] - cum_err[(k - wm) as usize];
            let ratio = e as f64 / (RPM * wm) as f64;
            let t = start + k * 60;
            v.push((
                t,
                format!("{name}{{{labels},sloth_window=\"{w}\"}} {ratio} {t}\n"),
            ));
        }
        out.push((format!("# TYPE {name} gauge\n"), v));
    }
    let info = (first..=minutes)
        .map(|k| {
            let t = start + k * 60;
            (
                t,
                format!("sloth_slo_info{{{labels},sloth_mode=\"cli-gen-prom\",sloth_objective=\"99.9\",sloth_spec=\"prometheus/v1\",sloth_version=\"v0.16.0\"}} 1 {t}\n"),
            )
        })
        .collect();
    out.push(("# TYPE sloth_slo_info gauge\n".to_string(), info));
    out
}

/// One OpenMetrics file per UTC day (day boundaries are 2h-block
/// boundaries): promtool 2.42 re-reads its whole input for every 2-hour
/// block, so one 31-day file costs 372 passes; daily files cost 12 each.
fn openmetrics_files(dir: &Path, end: u64) -> Vec<std::path::PathBuf> {
    let fams = families(end);
    let mut by_day: std::collections::BTreeMap<u64, Vec<String>> = Default::default();
    for (i, (header, samples)) in fams.iter().enumerate() {
        for (t, line) in samples {
            let day = by_day
                .entry(t / 86_400)
                .or_insert_with(|| vec![String::new(); fams.len()]);
            if day[i].is_empty() {
                day[i].push_str(header);
            }
            day[i].push_str(line);
        }
    }
    by_day
        .into_iter()
        .map(|(day, parts)| {
            let mut text = parts.concat();
            text.push_str("# EOF\n");
            let p = dir.join(format!("day-{day}.om"));
            std::fs::write(&p, text).unwrap();
            p
        })
        .collect()
}

struct PromServer {
    child: Child,
    url: String,
    end: u64,
    dir: tempfile::TempDir,
}

impl Drop for PromServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

fn start_prometheus() -> PromServer {
    let dir = tempfile::tempdir().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // End on a whole minute, a little in the past.
    let end = now / 60 * 60 - 60;
    let om_dir = dir.path().join("om");
    std::fs::create_dir_all(&om_dir).unwrap();
    let files = openmetrics_files(&om_dir, end);
    let tsdb = dir.path().join("tsdb");
    // Two promtool processes at a time.
    for pair in files.chunks(2) {
        let children: Vec<_> = pair
            .iter()
            .map(|f| {
                Command::new(PROMTOOL)
                    .args(["tsdb", "create-blocks-from", "openmetrics", "-q"])
                    .arg(f)
                    .arg(&tsdb)
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("promtool (apt-get install prometheus)")
            })
            .collect();
        for c in children {
            let out = c.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "promtool failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(&cfg, "global:\n  scrape_interval: 1m\nscrape_configs: []\n").unwrap();
    let port = free_port();
    let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
    let child = Command::new(PROMETHEUS)
        .arg(format!("--config.file={}", cfg.display()))
        .arg(format!("--storage.tsdb.path={}", tsdb.display()))
        .arg("--storage.tsdb.retention.time=60d")
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("prometheus (apt-get install prometheus)");
    let url = format!("http://127.0.0.1:{port}");
    let server = PromServer {
        child,
        url,
        end,
        dir,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if http_ok(&format!("{}/-/ready", server.url)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "prometheus not ready: {}",
            std::fs::read_to_string(server.dir.path().join("prometheus.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    server
}

/// `GET url` answered 2xx (blocking; used before any runtime exists).
fn http_ok(url: &str) -> bool {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return false;
    };
    rt.block_on(async {
        reqwest::get(url)
            .await
            .is_ok_and(|r| r.status().is_success())
    })
}

/// PromQL evaluated directly on the server: one instant value.
async fn promql(url: &str, q: &str, t: u64) -> Option<f64> {
    let v: serde_json::Value = reqwest::Client::new()
        .get(format!("{url}/api/v1/query"))
        .query(&[("query", q), ("time", &t.to_string())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["status"], "success", "{v}");
    let r = v["data"]["result"].as_array().unwrap();
    r.first()
        .and_then(|s| s["value"][1].as_str())
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|x| x.is_finite())
}

const ERRORS: &str = r#"sum(rate(http_requests_total{job="checkout",code=~"5.."}[{{.window}}]))"#;
const TOTAL: &str = r#"sum(rate(http_requests_total{job="checkout"}[{{.window}}]))"#;

fn write_files(dir: &Path, url: &str) -> std::path::PathBuf {
    let slos = dir.join("slos");
    std::fs::create_dir_all(&slos).unwrap();
    std::fs::write(
        slos.join("checkout.yaml"),
        format!(
            r#"version: "prometheus/v1"
service: "checkout"
labels:
  owner: "payments"
slos:
  - name: "requests-availability"
    objective: 99.9
    description: "Checkout availability."
    sli:
      events:
        error_query: {ERRORS}
        total_query: {TOTAL}
    alerting:
      name: CheckoutHighErrorRate
      page_alert:
        labels:
          severity: page
      ticket_alert:
        labels:
          severity: ticket
  - name: "requests-availability-raw"
    objective: 99.9
    sli:
      raw:
        error_ratio_query: ({ERRORS}) / ({TOTAL})
    alerting:
      name: CheckoutHighErrorRateRaw
"#
        ),
    )
    .unwrap();
    // Sloth's rules for this one are loaded (backfilled): its own queries
    // name a metric that does not exist, so numbers prove the rules were used.
    std::fs::write(
        slos.join("legacy.yaml"),
        r#"version: "prometheus/v1"
service: "legacy"
slos:
  - name: "availability"
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(legacy_requests_total{code=~"5.."}[{{.window}}]))
        total_query: sum(rate(legacy_requests_total[{{.window}}]))
    alerting:
      name: LegacyHighErrorRate
"#,
    )
    .unwrap();
    // The same SLO as OpenSLO v1.
    let os = dir.join("openslo");
    std::fs::create_dir_all(&os).unwrap();
    std::fs::write(
        os.join("checkout.yaml"),
        r#"apiVersion: openslo/v1
kind: SLO
metadata:
  name: checkout-openslo
spec:
  service: checkout
  indicator:
    metadata:
      name: checkout-errors
    spec:
      ratioMetric:
        counter: true
        bad:
          metricSource:
            type: Prometheus
            spec:
              query: http_requests_total{job="checkout",code=~"5.."}
        total:
          metricSource:
            type: Prometheus
            spec:
              query: http_requests_total{job="checkout"}
  timeWindow:
    - duration: 30d
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - target: 0.999
"#,
    )
    .unwrap();
    // A broken spec file: named with its line, never hides the others.
    std::fs::write(
        slos.join("zz-broken.yaml"),
        "version: \"prometheus/v1\"\nservice: \"search\"\nslos:\n  - name: x\n    objective: [\n",
    )
    .unwrap();
    let config = format!(
        r#"
[[provider]]
name = "prom"
kind = "prometheus"
base_url = "{url}"
timeout = "20s"

[[slo]]
name = "checkout-availability"
service = "checkout"
provider = "prom"
objective = 99.9
window = "30d"
errors = '{ERRORS}'
total  = '{TOTAL}'

[[slo]]
name = "quiet-availability"
service = "quiet"
provider = "prom"
objective = 99.9
errors = 'sum(rate(http_requests_total{{job="quiet",code=~"5.."}}[{{{{.window}}}}]))'
total  = 'sum(rate(http_requests_total{{job="quiet"}}[{{{{.window}}}}]))'

[[slo]]
name = "noerr-availability"
service = "noerr"
provider = "prom"
objective = 99.9
window = "2d"
errors = 'sum(rate(http_requests_total{{job="noerr",code=~"5.."}}[{{{{.window}}}}]))'
total  = 'sum(rate(http_requests_total{{job="noerr"}}[{{{{.window}}}}]))'

[[slo]]
name = "missing-availability"
service = "missing"
provider = "prom"
objective = 99.9
errors = 'sum(rate(http_requests_total{{job="nothing",code=~"5.."}}[{{{{.window}}}}]))'
total  = 'sum(rate(http_requests_total{{job="nothing"}}[{{{{.window}}}}]))'

[[slo]]
name = "typo-availability"
service = "checkout"
provider = "prom"
objective = 99.9
errors = 'sum(rate(http_requests_total{{job="checkout"}}[{{{{.window}}}}])'
total  = 'sum(rate(http_requests_total{{job="checkout"}}[{{{{.window}}}}]))'

[[slo]]
name = "checkout-sloth-rules"
service = "checkout"
provider = "prom"
objective = 99.9
sloth_id = "{RECORDED_ID}"

[slo_files]
sloth = ["slos/*.yaml"]
openslo = ["openslo/*.yaml"]
"#
    );
    let path = dir.join("config.toml");
    std::fs::write(&path, config).unwrap();
    path
}

fn rel(a: f64, b: f64) -> f64 {
    if a == b {
        0.0
    } else {
        (a - b).abs() / b.abs().max(1e-12)
    }
}

fn find<'a>(slos: &'a [Slo], name: &str) -> &'a Slo {
    slos.iter()
        .find(|s| s.name.as_str() == name)
        .unwrap_or_else(|| {
            panic!(
                "no SLO {name}: {:?}",
                slos.iter().map(|s| s.name.as_str()).collect::<Vec<_>>()
            )
        })
}

#[test]
fn burn_rates_budget_and_alerts_equal_promql_on_a_real_prometheus() {
    if !common::have(&[Tool::Prometheus, Tool::Promtool]) {
        return;
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let server = start_prometheus();
    let cfg_path = write_files(server.dir.path(), &server.url);
    let config = sitrep::config::load(&cfg_path).unwrap();
    let pc = config.provider_named("prom").unwrap().clone();
    let ctx = BuildCtx {
        config: &config,
        secrets: &NoSecrets,
    };
    let prom = Prometheus::new(&pc, &ctx).unwrap();
    prom.set_eval_time(Some(server.end as f64));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let slos = rt.block_on(prom.fetch_slos()).unwrap();
    let end = server.end;

    // 1. checkout: every window against PromQL on the same server and the
    //    generated ratios.
    let s = find(&slos, "checkout-availability");
    assert_eq!(s.error, None);
    let mut worst_server = 0.0f64;
    let mut worst_generated = 0.0f64;
    for w in BURN_WINDOWS {
        let q = format!(
            "({}) / ({})",
            ERRORS.replace("{{.window}}", w),
            TOTAL.replace("{{.window}}", w)
        );
        let server_ratio = rt.block_on(promql(&server.url, &q, end)).unwrap();
        let gen_ratio = generated_ratio(secs(w));
        let burn = s.burn_rates.get(w).unwrap();
        let ours = burn * (1.0 - OBJECTIVE / 100.0);
        let d_server = rel(ours, server_ratio);
        let d_gen = rel(ours, gen_ratio);
        eprintln!(
            "{w:>4}: sitrep burn {burn:.4} ratio {ours:.6}  promql {server_ratio:.6} (Δ {:.2e})  generated {gen_ratio:.6} (Δ {:.2e})",
            d_server, d_gen
        );
        assert!(d_server < 0.01, "{w}: {ours} vs PromQL {server_ratio}");
        assert!(d_gen < 0.01, "{w}: {ours} vs generated {gen_ratio}");
        worst_server = worst_server.max(d_server);
        worst_generated = worst_generated.max(d_gen);
    }
    // Budget over the 30-day window and the 7-day burn share.
    let q30 = format!(
        "1 - (({}) / ({})) / (1 - 0.999)",
        ERRORS.replace("{{.window}}", "30d"),
        TOTAL.replace("{{.window}}", "30d")
    );
    let server_remaining = rt.block_on(promql(&server.url, &q30, end)).unwrap();
    let gen_remaining = 1.0 - generated_ratio(30 * 86_400) / 0.001;
    let remaining = s.error_budget_remaining.unwrap();
    eprintln!(
        "budget remaining: sitrep {remaining:.6} promql {server_remaining:.6} generated {gen_remaining:.6}"
    );
    assert!(rel(remaining, server_remaining) < 0.01);
    assert!(rel(remaining, gen_remaining) < 0.01);
    worst_server = worst_server.max(rel(remaining, server_remaining));
    worst_generated = worst_generated.max(rel(remaining, gen_remaining));
    let gen_7d = generated_ratio(7 * 86_400) / 0.001 * 7.0 / 30.0;
    let burned_7d = s.budget_burned_7d.unwrap();
    eprintln!("budget burned 7d: sitrep {burned_7d:.6} generated {gen_7d:.6}");
    assert!(rel(burned_7d, gen_7d) < 0.01);
    eprintln!(
        "worst relative difference: vs PromQL {worst_server:.2e}, vs generated {worst_generated:.2e}"
    );

    // Expected by construction: burns 20, 20, 20, 11.25, 5.42, 3.23, 2.74.
    // Page 1h/5m fires, page 6h/30m does not (5.42 < 6), both tickets fire.
    let firing: Vec<(AlertSeverity, &str, bool)> = s
        .alerts
        .iter()
        .map(|a| (a.severity, a.long.as_str(), a.firing))
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
    // The page alert agrees with Sloth's page expression on the server.
    let b = 0.001;
    let r = |w: &str| {
        format!(
            "(({}) / ({}))",
            ERRORS.replace("{{.window}}", w),
            TOTAL.replace("{{.window}}", w)
        )
    };
    let page_expr = format!(
        "({} > 14.4 * {b} and {} > 14.4 * {b}) or ({} > 6 * {b} and {} > 6 * {b})",
        r("5m"),
        r("1h"),
        r("30m"),
        r("6h")
    );
    assert!(rt.block_on(promql(&server.url, &page_expr, end)).is_some());
    let page_6h = format!("({} > 6 * {b} and {} > 6 * {b})", r("30m"), r("6h"));
    assert!(rt.block_on(promql(&server.url, &page_6h, end)).is_none());
    assert_eq!(s.gate, Gate::Frozen);

    // History: 1h burn over 24 h at 30 min steps, oldest first.
    assert_eq!(s.history.len(), 49, "{:?}", s.history);
    assert!(rel(s.history[0], 2.5) < 0.01, "{:?}", s.history);
    assert!(rel(s.history[47], 11.25) < 0.01, "{:?}", s.history);
    assert!(rel(s.history[48], 20.0) < 0.01, "{:?}", s.history);

    // Budget burndown: a point a day over the 30-day window, from 100 %
    // to the window's own figure, shaped by each day's generated ratio.
    let b = &s.budget_history;
    assert_eq!(b.len(), 31, "{b:?}");
    assert_eq!(b[0], 1.0);
    assert!(rel(b[30], remaining) < 1e-9, "{b:?}");
    let day = |k: u64| generated_between((29 - k) * 86_400, (30 - k) * 86_400);
    let total: f64 = (0..30).map(day).sum();
    for k in [10u64, 27, 28, 29] {
        let cum: f64 = (0..k).map(day).sum();
        let want = (1.0 - remaining) * cum / total;
        let got = 1.0 - b[k as usize];
        eprintln!("burndown day {k}: spent {got:.6}, generated {want:.6}");
        assert!(rel(got, want) < 0.02, "day {k}: spent {got} vs {want}");
    }
    assert!(b.windows(2).all(|w| w[1] <= w[0]), "{b:?}");

    // 2. The Sloth spec (events and raw) and the OpenSLO file for the same
    //    SLO give the same numbers.
    for name in [
        "checkout-requests-availability",
        "checkout-requests-availability-raw",
        "checkout-openslo",
    ] {
        let sl = find(&slos, name);
        assert_eq!(sl.error, None, "{name}");
        assert_eq!(sl.service.as_ref().map(|s| s.as_str()), Some("checkout"));
        assert_eq!(sl.window, "30d");
        for w in BURN_WINDOWS {
            let (a, b) = (sl.burn_rates.get(w).unwrap(), s.burn_rates.get(w).unwrap());
            assert!(rel(a, b) < 1e-9, "{name} {w}: {a} vs {b}");
        }
        assert!(rel(sl.error_budget_remaining.unwrap(), remaining) < 1e-9);
        assert!(rel(sl.budget_burned_7d.unwrap(), burned_7d) < 1e-9);
        assert_eq!(sl.alerts, s.alerts);
        assert_eq!(sl.gate, s.gate);
        assert_eq!(sl.history.len(), s.history.len());
        assert_eq!(sl.budget_history.len(), 31, "{name}");
    }

    // 2b. Sloth's recording rules (explicit `sloth_id`, and a spec whose
    //     rules are loaded) give the same numbers within 1 %.
    for name in ["checkout-sloth-rules", "legacy-availability"] {
        let sl = find(&slos, name);
        assert_eq!(sl.error, None, "{name}");
        for w in BURN_WINDOWS {
            let (a, b) = (sl.burn_rates.get(w).unwrap(), s.burn_rates.get(w).unwrap());
            assert!(rel(a, b) < 0.01, "{name} {w}: {a} vs {b}");
        }
        let d_budget = rel(sl.error_budget_remaining.unwrap(), remaining);
        let d_7d = rel(sl.budget_burned_7d.unwrap(), burned_7d);
        eprintln!("{name}: budget Δ {d_budget:.2e}, burned 7d Δ {d_7d:.2e}");
        assert!(d_budget < 0.01);
        assert!(d_7d < 0.01);
        assert_eq!(sl.alerts, s.alerts);
        assert_eq!(sl.gate, s.gate);
        assert_eq!(sl.history.len(), 49, "{name}");
        assert!(rel(sl.history[48], 20.0) < 0.01);
    }

    // 3. Zero traffic and missing series: no data, never NaN, never a panic.
    for name in ["quiet-availability", "missing-availability"] {
        let q = find(&slos, name);
        assert!(
            q.burn_rates.iter().all(|(_, v)| v.is_none()),
            "{name}: {q:?}"
        );
        assert_eq!(q.error_budget_remaining, None, "{name}");
        assert!(q.alerts.iter().all(|a| !a.firing));
        assert_eq!(q.gate, Gate::Open);
        assert!(!q.has_data());
    }
    // No error series at all but traffic: 0 errors, budget untouched.
    let n = find(&slos, "noerr-availability");
    assert!(n.burn_rates.iter().all(|(_, v)| v == Some(0.0)), "{n:?}");
    assert_eq!(n.error_budget_remaining, Some(1.0));
    assert_eq!(n.gate, Gate::Open);

    // 4. A query Prometheus rejects (bad_data) names the SLO and the query;
    //    a broken spec file names the file and line; neither hides the rest.
    let typo = find(&slos, "typo-availability");
    assert_eq!(typo.state_label(), "ERROR");
    assert_eq!(find(&slos, "quiet-availability").state_label(), "NO DATA");
    assert_eq!(s.state_label(), "PAGE FROZEN");
    let e = typo.error.as_ref().unwrap().as_str();
    assert!(
        e.contains("bad_data") && e.contains("typo-availability"),
        "{e}"
    );
    assert!(e.contains("http_requests_total"), "{e}");
    let broken = slos
        .iter()
        .find(|s| s.name.as_str().ends_with("zz-broken.yaml"))
        .unwrap();
    let e = broken.error.as_ref().unwrap().as_str();
    let line = e
        .split("zz-broken.yaml:")
        .nth(1)
        .and_then(|r| r.split(':').next());
    assert!(line.is_some_and(|l| l.parse::<u32>().is_ok()), "{e}");

    // `sitrep slo --json`: the SPEC §4 keys, history left out.
    let snap = sitrep::model::Snapshot::assemble(
        chrono::Utc::now(),
        vec![],
        [&sitrep::model::Fetched {
            slos: slos.clone(),
            ..Default::default()
        }],
    );
    let doc: serde_json::Value = serde_json::from_str(
        &sitrep::cli::output::rendered(|w| sitrep::cli::output::slos(&snap, true, w)).unwrap(),
    )
    .unwrap();
    let first = &doc["slos"][0];
    for k in [
        "name",
        "service",
        "objective",
        "window",
        "error_budget_remaining",
        "budget_burned_7d",
        "burn_rates",
        "alerts",
        "gate",
    ] {
        assert!(first.get(k).is_some(), "{k} missing: {first}");
    }
    assert!(first.get("history").is_none());
    assert!(first.get("budget_history").is_none());
    // Frozen SLOs sort first.
    assert_eq!(first["gate"], "frozen");

    // 5. The JSON shape of SPEC §4, with null (not NaN) for no data.
    let v = serde_json::to_value(find(&slos, "quiet-availability")).unwrap();
    assert!(v["burn_rates"]["5m"].is_null());
    assert_eq!(v["burn_rates"].as_object().unwrap().len(), 7);
    assert_eq!(v["gate"], "open");
}

// ---------------------------------------------------------------------------
// Failure shapes against a fake (wiremock): what the server says is mapped,
// never a panic, never NaN.

mod fake {
    use super::*;
    use sitrep::providers::ErrorKind;
    use sitrep::providers::http::HttpConfig;
    use wiremock::matchers::{method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn fast() -> HttpConfig {
        let mut c = HttpConfig::from_timeout(Duration::from_secs(2));
        c.retry.base = Duration::from_millis(5);
        c.retry.cap = Duration::from_millis(20);
        c
    }

    fn prom(url: &str) -> (sitrep::config::Config, Prometheus) {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let cfg = sitrep::config::parse(
            &format!(
                r#"
[[provider]]
name = "prom"
kind = "prometheus"
base_url = "{url}"

[[slo]]
name = "api"
provider = "prom"
objective = 99.9
errors = 'sum(rate(e[{{{{.window}}}}]))'
total = 'sum(rate(t[{{{{.window}}}}]))'
"#
            ),
            Path::new("t.toml"),
        )
        .unwrap();
        let pc = cfg.provider_named("prom").unwrap().clone();
        let ctx = BuildCtx {
            config: &cfg,
            secrets: &NoSecrets,
        };
        let p = Prometheus::with_http_config(&pc, &ctx, fast()).unwrap();
        p.set_eval_time(Some(1_700_000_000.0));
        (cfg, p)
    }

    fn vector(v: &str) -> serde_json::Value {
        serde_json::json!({"status":"success","data":{"resultType":"vector","result":[
            {"metric":{},"value":[1_700_000_000.0, v]}]}})
    }

    #[tokio::test]
    async fn nan_inf_and_empty_results_are_no_data() {
        let server = MockServer::start().await;
        // errors: NaN for 5m, +Inf for 1h; total: 0 for 30m; else empty.
        Mock::given(path("/api/v1/query"))
            .and(query_param("query", "sum(rate(e[5m]))"))
            .respond_with(ResponseTemplate::new(200).set_body_json(vector("NaN")))
            .mount(&server)
            .await;
        Mock::given(path("/api/v1/query"))
            .and(query_param("query", "sum(rate(e[1h]))"))
            .respond_with(ResponseTemplate::new(200).set_body_json(vector("+Inf")))
            .mount(&server)
            .await;
        Mock::given(path("/api/v1/query"))
            .and(query_param("query", "sum(rate(t[30m]))"))
            .respond_with(ResponseTemplate::new(200).set_body_json(vector("0")))
            .mount(&server)
            .await;
        Mock::given(path("/api/v1/query"))
            .and(query_param("query", "sum(rate(t[5m]))"))
            .respond_with(ResponseTemplate::new(200).set_body_json(vector("10")))
            .mount(&server)
            .await;
        Mock::given(path("/api/v1/query"))
            .and(query_param("query", "sum(rate(t[1h]))"))
            .respond_with(ResponseTemplate::new(200).set_body_json(vector("10")))
            .mount(&server)
            .await;
        Mock::given(path("/api/v1/query_range"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!(
                {"status":"success","data":{"resultType":"matrix","result":[
                    {"metric":{},"values":[[1_699_998_200.0,"NaN"],[1_700_000_000.0,"+Inf"]]}]}}
            )))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                serde_json::json!({"status":"success","data":{"resultType":"vector","result":[]}}),
            ))
            .with_priority(10)
            .mount(&server)
            .await;
        let (_c, p) = prom(&server.uri());
        let slos = p.fetch_slos().await.unwrap();
        let s = &slos[0];
        assert_eq!(s.error, None);
        assert!(s.burn_rates.iter().all(|(_, v)| v.is_none()), "{s:?}");
        assert_eq!(s.error_budget_remaining, None);
        assert!(s.history.is_empty(), "{:?}", s.history);
        let json = serde_json::to_string(s).unwrap();
        assert!(!json.contains("NaN") && !json.contains("inf"), "{json}");
    }

    #[tokio::test]
    async fn server_errors_fail_the_fetch_query_errors_mark_the_slo() {
        // 503 errorType timeout: the provider fails (numbers untrustworthy).
        let server = MockServer::start().await;
        Mock::given(path("/api/v1/query"))
            .respond_with(ResponseTemplate::new(503).set_body_json(serde_json::json!(
                {"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"})))
            .mount(&server)
            .await;
        let (_c, p) = prom(&server.uri());
        let e = p.fetch_slos().await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Server { status: 503 });
        assert!(e.to_string().contains("query timed out"), "{e}");

        // 422 execution: that SLO carries the error, naming SLO and query.
        let server = MockServer::start().await;
        Mock::given(path("/api/v1/query"))
            .respond_with(ResponseTemplate::new(422).set_body_json(serde_json::json!(
                {"status":"error","errorType":"execution","error":"many-to-many matching not allowed"})))
            .mount(&server)
            .await;
        let (_c, p) = prom(&server.uri());
        let slos = p.fetch_slos().await.unwrap();
        let e = slos[0].error.as_ref().unwrap().as_str();
        assert!(
            e.contains("SLO api") && e.contains("execution") && e.contains("rate("),
            "{e}"
        );
        assert!(e.contains("many-to-many"), "{e}");

        // A cut-off body and a body of the wrong shape fail the fetch.
        for (body, kind) in [
            (
                "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"value\":[1,",
                ErrorKind::Malformed,
            ),
            (
                "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"value\":\"x\"}]}}",
                ErrorKind::Shape,
            ),
        ] {
            let server = MockServer::start().await;
            Mock::given(path("/api/v1/query"))
                .respond_with(ResponseTemplate::new(200).set_body_string(body))
                .mount(&server)
                .await;
            let (_c, p) = prom(&server.uri());
            let e = p.fetch_slos().await.unwrap_err();
            assert_eq!(e.kind, kind);
        }

        // A query returning a range vector: that SLO's configuration.
        let server = MockServer::start().await;
        Mock::given(path("/api/v1/query"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!(
                {"status":"success","data":{"resultType":"matrix","result":[]}})))
            .mount(&server)
            .await;
        let (_c, p) = prom(&server.uri());
        let slos = p.fetch_slos().await.unwrap();
        let e = slos[0].error.as_ref().unwrap().as_str();
        assert!(e.contains("SLO api") && e.contains("instant vector"), "{e}");

        // Nothing listening.
        let port = free_port();
        let (_c, p) = prom(&format!("http://127.0.0.1:{port}"));
        let e = p.fetch_slos().await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Connect);
    }
}
