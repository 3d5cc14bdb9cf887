//! Datadog SLOs (API v1): the list from `GET /api/v1/slo` (limit/offset
//! paging) and the numbers from `GET /api/v1/slo/{id}/history`, shown in
//! the same `Slo` model as the Prometheus ones.
//!
//! Datadog has no burn-rate read endpoint, so the burn rate of each window
//! W (5m … 3d) is computed from one history call over [now − W, now]:
//! error ratio = 1 − `sli_value`/100, burn = ratio ÷ (1 − target/100).
//! The budget left is Datadog's own `error_budget_remaining[<timeframe>]`
//! over the SLO timeframe (computed from that window's SLI when absent);
//! the budget burned in 7 days comes from a 7-day history call. The
//! charts need no call of their own: the 1h burn history (24 h at 30 min
//! steps) comes from the 3-day call's events (metric SLOs: `series`) or
//! monitor states (`overall.history`), the budget burndown from the
//! window call's, one day at a time. The target
//! and timeframe are Datadog's (what Datadog itself shows); the `[[slo]]`
//! entries that name this provider with a `datadog_id` select SLOs and may
//! rename them or set their service (else the `service:` tag).

use super::http::{Auth, HttpClient, HttpConfig, seg};
use super::{
    Basics, BuildCtx, ErrorKind, Provider, ProviderError, placeholder_slo, slo_fetch_deadline,
};
use crate::config::{ProviderConfig, ProviderKind, SecretRef, parse_duration};
use crate::model::{BURN_WINDOWS, BurnRates, Slo};
use crate::slo;
use crate::text::SafeText;
use futures::StreamExt;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// Items per list page (Datadog's default and maximum documented value).
pub const PAGE_LIMIT: usize = 1000;
const HISTORY_CONCURRENCY: usize = 3;
const SLO_CONCURRENCY: usize = 2;

#[derive(Deserialize, Debug)]
struct ListResp {
    #[serde(default)]
    data: Option<Vec<DdSlo>>,
}

#[derive(Deserialize, Debug, Clone)]
struct DdSlo {
    id: String,
    name: String,
    #[serde(default)]
    tags: Option<Vec<String>>,
    #[serde(default)]
    thresholds: Option<Vec<Threshold>>,
    #[serde(default)]
    timeframe: Option<String>,
    #[serde(default)]
    target_threshold: Option<f64>,
}

#[derive(Deserialize, Debug, Clone)]
struct Threshold {
    timeframe: String,
    target: f64,
}

#[derive(Deserialize, Debug)]
struct HistoryResp {
    #[serde(default)]
    data: Option<HistoryData>,
}

#[derive(Deserialize, Debug)]
struct HistoryData {
    #[serde(default)]
    overall: Option<Overall>,
    /// Metric SLOs: good and total events per interval.
    #[serde(default)]
    series: Option<Series>,
}

#[derive(Deserialize, Debug, Default)]
struct Overall {
    #[serde(default)]
    sli_value: Option<f64>,
    /// timeframe → percent; a `null` inside is tolerated.
    #[serde(default)]
    error_budget_remaining: Option<BTreeMap<String, Option<f64>>>,
    /// Monitor and time-slice SLOs: `[[epoch_s, state]]`, each state (0 up,
    /// 1 down, 2 no data) holding until the next.
    #[serde(default)]
    history: Option<Vec<Vec<Option<f64>>>>,
}

#[derive(Deserialize, Debug, Default)]
struct Series {
    /// Epoch milliseconds, one per interval.
    #[serde(default)]
    times: Vec<Option<f64>>,
    #[serde(default)]
    numerator: Option<SeriesValues>,
    #[serde(default)]
    denominator: Option<SeriesValues>,
}

#[derive(Deserialize, Debug, Default)]
struct SeriesValues {
    #[serde(default)]
    values: Vec<Option<f64>>,
}

/// One history call: the SLI over its span, and what happened inside it.
#[derive(Debug, Default)]
struct Hist {
    overall: Overall,
    series: Option<Series>,
    /// The call's end (epoch seconds): the last monitor state holds until it.
    to: i64,
}

impl Hist {
    /// The error ratio over [from, to) (epoch seconds) from the events or
    /// the monitor states inside the call; `None` without any.
    fn ratio_between(&self, from: f64, to: f64) -> Option<f64> {
        if let Some(s) = &self.series {
            let (num, den) = (s.numerator.as_ref()?, s.denominator.as_ref()?);
            let (mut bad, mut total) = (0.0, 0.0);
            for (i, t) in s.times.iter().enumerate() {
                let Some(t) = t.map(|ms| ms / 1000.0) else {
                    continue;
                };
                if t < from || t >= to {
                    continue;
                }
                let good = num.values.get(i).copied().flatten().unwrap_or(0.0);
                let all = den.values.get(i).copied().flatten().unwrap_or(0.0);
                if good.is_finite() && all.is_finite() && all > 0.0 {
                    total += all;
                    bad += (all - good).max(0.0);
                }
            }
            return slo::error_ratio(bad, total);
        }
        let states = self.overall.history.as_ref()?;
        let points: Vec<(f64, f64)> = states
            .iter()
            .filter_map(|p| Some((p.first().copied()??, p.get(1).copied()??)))
            .collect();
        let (mut down, mut up) = (0.0, 0.0);
        for (i, (start, state)) in points.iter().enumerate() {
            let end = points.get(i + 1).map(|p| p.0).unwrap_or(self.to as f64);
            let span = end.min(to) - start.max(from);
            if span > 0.0 {
                match *state as i64 {
                    0 => up += span,
                    1 => down += span,
                    _ => {}
                }
            }
        }
        slo::error_ratio(down, down + up)
    }
}

/// One selected SLO from `[[slo]]`.
#[derive(Clone, Debug)]
struct Wanted {
    id: String,
    name: String,
    service: Option<String>,
}

pub struct Datadog {
    basics: Basics,
    http: HttpClient,
    wanted: Vec<Wanted>,
    /// `[[slo]]` entries naming this provider without a `datadog_id`.
    misconfigured: Vec<(String, Option<String>, f64)>,
    now: Mutex<Option<i64>>,
    page_limit: usize,
}

impl Datadog {
    /// The `[[slo]]` entries with a `datadog_id`, read with the API and
    /// application keys; `cfg` replaces the HTTP settings of `timeout`.
    pub fn with_http_config(
        pc: &ProviderConfig,
        ctx: &BuildCtx<'_>,
        cfg: HttpConfig,
    ) -> Result<Self, ProviderError> {
        // base_url, else https://api.<site>, else US1 (datadoghq.com).
        let base = pc
            .base_url()
            .or_else(|| ProviderKind::Datadog.default_base_url().map(str::to_string))
            .ok_or_else(|| {
                ProviderError::config(&pc.name, "a datadog provider needs `site` or `base_url`")
            })?;
        let api = ctx.token(pc, "API key (DD-API-KEY)")?;
        let app_ref: &SecretRef = pc.app_key.as_ref().ok_or_else(|| {
            ProviderError::config(
                &pc.name,
                "reads need an application key: set `app_key = { env = \"DD_APP_KEY\" }` (sent as DD-APPLICATION-KEY)",
            )
        })?;
        let app = ctx.secret(pc, app_ref, "application key (DD-APPLICATION-KEY)")?;
        let http = HttpClient::new(
            &pc.name,
            &base,
            Auth::Headers(vec![
                ("DD-API-KEY".into(), api),
                ("DD-APPLICATION-KEY".into(), app),
            ]),
            cfg,
        )?;
        let mut wanted = Vec::new();
        let mut misconfigured = Vec::new();
        for s in ctx.config.slo.iter().filter(|s| s.provider == pc.name) {
            match &s.datadog_id {
                Some(id) => wanted.push(Wanted {
                    id: id.clone(),
                    name: s.name.clone(),
                    service: s.service.clone(),
                }),
                None => misconfigured.push((s.name.clone(), s.service.clone(), s.objective)),
            }
        }
        Ok(Datadog {
            basics: Basics {
                // 9 history calls per SLO: poll every 2 min unless configured.
                poll: pc.poll.unwrap_or(Duration::from_secs(120)),
                ..Basics::new(pc, ProviderKind::Datadog)
            },
            http,
            wanted,
            misconfigured,
            now: Mutex::new(None),
            page_limit: PAGE_LIMIT,
        })
    }

    new_with_default_http!();

    /// Items per list page (default [`PAGE_LIMIT`]).
    pub fn with_page_limit(mut self, n: usize) -> Self {
        self.page_limit = n.max(1);
        self
    }

    /// The API root in use (after the `site` rule).
    pub fn base_url(&self) -> &str {
        self.http.base_url()
    }

    /// Evaluate at a fixed time (epoch seconds) instead of now.
    pub fn set_now(&self, t: Option<i64>) {
        *self.now.lock().unwrap_or_else(|p| p.into_inner()) = t;
    }

    fn now(&self) -> i64 {
        let fixed = *self.now.lock().unwrap_or_else(|p| p.into_inner());
        fixed.unwrap_or_else(|| chrono::Utc::now().timestamp())
    }

    /// All SLOs (or the configured ids), `offset += limit` until a short page.
    async fn list(&self) -> Result<Vec<DdSlo>, ProviderError> {
        let url = self.http.url("/api/v1/slo");
        let ids: Vec<&str> = self.wanted.iter().map(|w| w.id.as_str()).collect();
        let mut out = Vec::new();
        let mut offset = 0usize;
        for _ in 0..self.http.config().max_pages.max(1) {
            let mut q = vec![
                ("limit", self.page_limit.to_string()),
                ("offset", offset.to_string()),
            ];
            if !ids.is_empty() {
                q.push(("ids", ids.join(",")));
            }
            let page: ListResp = self.http.get_json(&url, &q).await?;
            let items = page.data.ok_or_else(|| {
                ProviderError::new(
                    &self.basics.name,
                    ErrorKind::Shape,
                    "GET /api/v1/slo: no `data` list",
                )
            })?;
            let n = items.len();
            out.extend(items);
            if n < self.page_limit {
                return Ok(out);
            }
            offset += self.page_limit;
        }
        tracing::warn!(
            "{}: SLO list cut after {} items",
            self.basics.name,
            out.len()
        );
        Ok(out)
    }

    async fn history(&self, id: &str, from: i64, to: i64) -> Result<Hist, ProviderError> {
        let url = self.http.url(&format!("/api/v1/slo/{}/history", seg(id)));
        let r: HistoryResp = self
            .http
            .get_json(
                &url,
                &[("from_ts", from.to_string()), ("to_ts", to.to_string())],
            )
            .await?;
        let (overall, series) = r
            .data
            .map(|d| (d.overall.unwrap_or_default(), d.series))
            .unwrap_or_default();
        Ok(Hist {
            overall,
            series,
            to,
        })
    }

    async fn evaluate(
        &self,
        s: &DdSlo,
        want: Option<&Wanted>,
        now: i64,
    ) -> Result<Slo, ProviderError> {
        let shape = |m: String| ProviderError::config(&self.basics.name, m);
        let (timeframe, target) = primary_threshold(s)
            .ok_or_else(|| shape("no threshold (timeframe and target) in the SLO".into()))?;
        let window_secs = parse_duration(&timeframe)
            .map_err(|e| shape(format!("timeframe {timeframe:?}: {e}")))?
            .as_secs() as i64;
        let window_days = window_secs as f64 / 86_400.0;
        let mut spans: Vec<i64> = BURN_WINDOWS
            .iter()
            .filter_map(|w| parse_duration(w).ok())
            .map(|d| d.as_secs() as i64)
            .collect();
        spans.push(window_secs);
        spans.push(7 * 86_400);
        let overalls: Vec<Result<Hist, ProviderError>> = futures::stream::iter(
            spans
                .iter()
                .map(|span| self.history(&s.id, now - span, now))
                .collect::<Vec<_>>(),
        )
        .buffered(HISTORY_CONCURRENCY)
        .collect()
        .await;
        let mut got = Vec::with_capacity(overalls.len());
        for o in overalls {
            got.push(o?);
        }
        let mut burn = BurnRates::default();
        for (w, o) in BURN_WINDOWS.iter().zip(&got) {
            burn.set(w, sli_burn(&o.overall, target));
        }
        let win = &got[BURN_WINDOWS.len()].overall;
        let remaining = win
            .error_budget_remaining
            .as_ref()
            .and_then(|m| m.get(&timeframe).copied().flatten())
            .filter(|v| v.is_finite())
            .map(|pct| pct / 100.0)
            .or_else(|| {
                win.sli_value
                    .and_then(slo::ratio_from_sli_pct)
                    .and_then(|r| slo::budget_remaining(r, target))
            });
        let burned_7d = got[BURN_WINDOWS.len() + 1]
            .overall
            .sli_value
            .and_then(slo::ratio_from_sli_pct)
            .and_then(|r| slo::budget_burned_share(r, target, 7.0, window_days));
        let alerts = slo::mwmbr_alerts_for_period(&burn, window_days);
        let gate = slo::gate(remaining, &alerts);
        let service = want
            .and_then(|w| w.service.clone())
            .or_else(|| service_tag(s));
        Ok(Slo {
            name: SafeText::line(want.map(|w| w.name.as_str()).unwrap_or(&s.name)),
            service: service.as_deref().map(SafeText::line),
            objective: target,
            window: timeframe,
            error_budget_remaining: remaining,
            budget_burned_7d: burned_7d,
            burn_rates: burn,
            alerts,
            gate,
            provider: SafeText::line(&self.basics.name),
            history: burn_history(&got[BURN_WINDOWS.len() - 1], target, now),
            budget_history: slo::budget_burndown(
                &days(&got[BURN_WINDOWS.len()], window_days, now),
                remaining,
            ),
            error: None,
        })
    }

    fn placeholder(&self, name: &str, service: Option<&str>, objective: f64, error: &str) -> Slo {
        placeholder_slo(&self.basics.name, name, service, objective, "30d", error)
    }

    pub async fn fetch_slos(&self) -> Result<Vec<Slo>, ProviderError> {
        let now = self.now();
        let mut list = self.list().await?;
        if !self.wanted.is_empty() {
            // Keep the configured order; the API may return more or fewer.
            let by_id: BTreeMap<String, DdSlo> =
                list.drain(..).map(|s| (s.id.clone(), s)).collect();
            list = self
                .wanted
                .iter()
                .filter_map(|w| by_id.get(&w.id).cloned())
                .collect();
        }
        let futs: Vec<_> = list
            .iter()
            .enumerate()
            .map(|(i, s)| async move {
                let want = self.wanted.iter().find(|w| w.id == s.id);
                (i, self.evaluate(s, want, now).await)
            })
            .collect();
        let results: Vec<(usize, Result<Slo, ProviderError>)> = futures::stream::iter(futs)
            .buffer_unordered(SLO_CONCURRENCY)
            .collect()
            .await;
        let mut results = results;
        crate::order::sort_by_key(&mut results, |(i, _)| *i);
        let mut out = Vec::new();
        for (i, r) in results {
            match r {
                Ok(s) => out.push(s),
                // A per-SLO failure (404, 400, an SLO without a usable
                // threshold) marks that SLO; auth, rate limits, transport
                // and bodies of the wrong shape fail the fetch.
                Err(e)
                    if matches!(
                        e.kind,
                        ErrorKind::NotFound | ErrorKind::Http { status: 400 } | ErrorKind::Config
                    ) =>
                {
                    let s = &list[i];
                    let want = self.wanted.iter().find(|w| w.id == s.id);
                    out.push(
                        self.placeholder(
                            want.map(|w| w.name.as_str()).unwrap_or(&s.name),
                            want.and_then(|w| w.service.clone())
                                .or_else(|| service_tag(s))
                                .as_deref(),
                            primary_threshold(s).map(|t| t.1).unwrap_or(0.0),
                            &format!("{}: {}", e.cause(), e.detail),
                        ),
                    );
                }
                Err(e) => return Err(e),
            }
        }
        for w in &self.wanted {
            if !list.iter().any(|s| s.id == w.id) {
                out.push(self.placeholder(
                    &w.name,
                    w.service.as_deref(),
                    0.0,
                    &format!(
                        "Datadog SLO {} was not found (deleted, or the keys cannot read it)",
                        w.id
                    ),
                ));
            }
        }
        for (name, service, objective) in &self.misconfigured {
            out.push(self.placeholder(
                name,
                service.as_deref(),
                *objective,
                &format!(
                    "[[slo]] {name:?} names datadog provider {:?} but has no `datadog_id`",
                    self.basics.name
                ),
            ));
        }
        Ok(out)
    }
}

/// The 1h burn rate over the last 24 h at 30 min steps, oldest first, from
/// the events or monitor states of the 3-day history call (no extra
/// request); points without data are left out, as for Prometheus.
fn burn_history(three_days: &Hist, target: f64, now: i64) -> Vec<f64> {
    use super::prometheus::{HISTORY_SPAN_SECS, HISTORY_STEP_SECS};
    let n = (HISTORY_SPAN_SECS / HISTORY_STEP_SECS).round() as usize;
    (0..=n)
        .filter_map(|k| {
            let t = now as f64 - HISTORY_SPAN_SECS + k as f64 * HISTORY_STEP_SECS;
            three_days
                .ratio_between(t - 3600.0, t)
                .and_then(|r| slo::burn_rate(r, target))
        })
        .collect()
}

/// Each day's error ratio over the SLO window, oldest first, from the
/// window's history call: the shape of the budget burndown.
fn days(window: &Hist, window_days: f64, now: i64) -> Vec<Option<f64>> {
    let n = (window_days.ceil() as usize).clamp(1, 400);
    (0..n)
        .map(|k| {
            let end = now as f64 - (n - 1 - k) as f64 * 86_400.0;
            window.ratio_between(end - 86_400.0, end)
        })
        .collect()
}

/// Burn rate from one history window; `None` when Datadog has no SLI.
fn sli_burn(o: &Overall, target: f64) -> Option<f64> {
    o.sli_value
        .and_then(slo::ratio_from_sli_pct)
        .and_then(|r| slo::burn_rate(r, target))
}

/// The primary (timeframe, target): the top-level pair, else the first threshold.
fn primary_threshold(s: &DdSlo) -> Option<(String, f64)> {
    let ths = s.thresholds.as_deref().unwrap_or_default();
    match (&s.timeframe, s.target_threshold) {
        (Some(tf), Some(t)) => Some((tf.clone(), t)),
        (Some(tf), None) => ths
            .iter()
            .find(|t| &t.timeframe == tf)
            .map(|t| (tf.clone(), t.target)),
        _ => ths.first().map(|t| (t.timeframe.clone(), t.target)),
    }
    .filter(|(_, t)| t.is_finite() && *t > 0.0 && *t < 100.0)
}

fn service_tag(s: &DdSlo) -> Option<String> {
    s.tags
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find_map(|t| t.strip_prefix("service:").map(str::to_string))
}

impl Provider for Datadog {
    provider_basics!(fetch: slos <- fetch_slos);

    fn fetch_deadline(&self) -> Duration {
        // 9 history calls per SLO (budgeted for at least 4 SLOs), plus 2 rounds.
        let n = self.wanted.len().max(4);
        slo_fetch_deadline(
            self.http.config(),
            n,
            9,
            HISTORY_CONCURRENCY * SLO_CONCURRENCY,
            2,
        )
    }
}

/// This provider's part of [`super::decode_wire`].
pub fn decode_wire(body: &[u8]) -> Result<(), ProviderError> {
    super::http::first_error([
        super::http::decode_json::<ListResp>("fuzz", "GET /api/v1/slo", body).map(drop),
        super::http::decode_json::<HistoryResp>("fuzz", "GET /api/v1/slo/{id}/history", body)
            .map(drop),
    ])
}
