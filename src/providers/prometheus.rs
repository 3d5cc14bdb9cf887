//! Prometheus: SLO burn rates and error budgets from the HTTP API
//! (`/api/v1/query`, `/api/v1/query_range`), for the `[[slo]]` entries that
//! name this provider and the Sloth spec files.
//!
//! Per SLO, at one evaluation time: the error ratio over each burn window
//! (5m … 3d), over the SLO window (budget) and over the last 7 days
//! (budget burned), then the maths of [`crate::slo`]. Query shapes:
//! - events (`errors` / `total`, Sloth `events`): the two queries are read
//!   separately with `{{.window}}` substituted and divided here. An empty
//!   `errors` result with traffic in `total` is a ratio of 0 (no error
//!   series yet); an empty or zero `total` is no data.
//! - raw (Sloth `raw.error_ratio_query`): the ratio as the server returns it.
//! - Sloth recording rules: `slo:sli_error:ratio_rate<W>{selector}`, the
//!   SLO window from `slo:sli_error:ratio_rate<window>` and the 7 days from
//!   `avg_over_time(slo:sli_error:ratio_rate5m{selector}[7d])`.
//!
//! The two charts are range queries of the same shapes: the 1h ratio over
//! the last 24 h at 30 min steps (the burn history), and the 1d ratio at
//! daily steps over the SLO window (the shape of the budget burndown,
//! [`crate::slo::budget_burndown`]).
//!
//! Missing series, NaN and ±Inf are "no data" (`None`), never NaN.
//!
//! Fetching: one lead query first (the first SLO's 5m ratio, or its Sloth
//! probe), so a failing server answers with its own error instead of a
//! burst of failures; then every window and both charts of every SLO at
//! once, at most [`QUERY_CONCURRENCY`] in flight. A fetch is two round
//! trips (three when a later SLO needs its own Sloth probe).

use super::http::{HttpClient, HttpConfig};
use super::slo_defs::{self, Sli, SloDef, SloProblem, promql_str, subst_window};
use super::{
    Basics, BuildCtx, ErrorKind, Provider, ProviderError, TokenUse, http_client, placeholder_slo,
    slo_fetch_deadline,
};
use crate::config::{ProviderConfig, ProviderKind};
use crate::model::{BURN_WINDOWS, BurnRates, Slo};
use crate::slo;
use crate::text::SafeText;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// Queries in flight at once, over all of the provider's SLOs. Every
/// window of every SLO is asked for at once: one round trip for a fetch
/// after the lead query, not one per window or per wave. On a far link
/// every wave costs a round trip, so the bound is set high enough for six
/// SLOs' 120 queries to go in one; Prometheus itself runs
/// `--query.max-concurrency` (default 20) at a time and queues the rest
/// in its own memory, which costs it no more work than waves would. The
/// bound only keeps a config with dozens of SLOs from opening hundreds of
/// connections to one server.
pub const QUERY_CONCURRENCY: usize = 128;
/// The chart: 1h burn over the last 24 h at 30 min steps.
pub const HISTORY_SPAN_SECS: f64 = 24.0 * 3600.0;
pub const HISTORY_STEP_SECS: f64 = 1800.0;
const DAY_SECS: f64 = 86_400.0;
/// Days of a budget burndown at most (a year-long window is cut to its
/// last 400 days; the level is still the window's own figure).
const MAX_BURNDOWN_DAYS: usize = 400;

// ---------------------------------------------------------------------------
// Wire shapes (docs/querying/api.md)

#[derive(Deserialize, Debug)]
struct Envelope {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    warnings: Vec<String>,
}

#[derive(Debug)]
enum Data {
    Vector(Vec<VectorSample>),
    Matrix(Vec<MatrixSeries>),
    Scalar(Sample),
    String(serde::de::IgnoredAny),
}

impl<'de> Deserialize<'de> for Data {
    /// `{"resultType", "result"}` in either order. `result` is kept as raw
    /// JSON text until `resultType` is known: serde's adjacently tagged
    /// enums buffer the content into a generic tree when it comes before
    /// the tag (measured: +800 MiB for a 30 MiB body), and JSON key order
    /// is not guaranteed by every Prometheus-compatible server.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            #[serde(rename = "resultType")]
            result_type: String,
            result: Box<serde_json::value::RawValue>,
        }
        let raw = Raw::deserialize(d)?;
        let text = raw.result.get();
        let data = match raw.result_type.as_str() {
            "vector" => serde_json::from_str(text).map(Data::Vector),
            "matrix" => serde_json::from_str(text).map(Data::Matrix),
            "scalar" => serde_json::from_str(text).map(Data::Scalar),
            "string" => Ok(Data::String(serde::de::IgnoredAny)),
            other => {
                return Err(serde::de::Error::unknown_variant(
                    other,
                    &["vector", "matrix", "scalar", "string"],
                ));
            }
        };
        data.map_err(serde::de::Error::custom)
    }
}

/// `[unix_seconds, "value"]`.
type Sample = (f64, SampleValue);

/// A sample's value, parsed while decoding (see [`value`]): no string is
/// kept per sample, so a large answer costs 16 bytes per sample.
#[derive(Debug, Clone, Copy)]
struct SampleValue(f64);

impl<'de> Deserialize<'de> for SampleValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s: std::borrow::Cow<'de, str> = Deserialize::deserialize(d)?;
        Ok(SampleValue(value(&s)))
    }
}

#[derive(Deserialize, Debug)]
struct VectorSample {
    value: Sample,
}

#[derive(Deserialize, Debug)]
struct MatrixSeries {
    #[serde(default)]
    values: Vec<Sample>,
}

/// A sample value string: "NaN", "+Inf" and garbage are not finite.
fn value(s: &str) -> f64 {
    s.trim().parse::<f64>().unwrap_or(f64::NAN)
}

/// Sum of an instant vector: `None` when empty; NaN when any value is not
/// finite (the caller turns it into no data).
fn sum(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    Some(values.iter().sum())
}

/// Largest value of a ratio vector (Sloth alerts take `max without
/// (sloth_window)`); `None` when empty or any value is not finite.
fn max_ratio(values: &[f64]) -> Option<f64> {
    if values.is_empty() || values.iter().any(|v| !v.is_finite()) {
        return None;
    }
    values
        .iter()
        .copied()
        .reduce(f64::max)
        .filter(|v| *v >= 0.0)
}

/// errors ÷ total with the "no error series = 0 errors" rule.
fn events_ratio(errors: Option<f64>, total: Option<f64>) -> Option<f64> {
    let total = total?;
    slo::error_ratio(errors.unwrap_or(0.0), total)
}

// ---------------------------------------------------------------------------
// The provider

pub struct Prometheus {
    basics: Basics,
    http: HttpClient,
    slos: Vec<SloDef>,
    problems: Vec<SloProblem>,
    /// Fixed evaluation time (unix seconds) instead of "now": tests over
    /// backfilled data, and replaying a past moment.
    eval_time: Mutex<Option<f64>>,
    /// Queries in flight ([`QUERY_CONCURRENCY`]).
    in_flight: tokio::sync::Semaphore,
}

impl Prometheus {
    /// Build from the provider config, picking up the `[[slo]]` entries that
    /// name it and (for the first Prometheus provider) the Sloth files.
    pub fn with_http_config(
        pc: &ProviderConfig,
        ctx: &BuildCtx<'_>,
        cfg: HttpConfig,
    ) -> Result<Self, ProviderError> {
        // Prometheus itself has no auth; a token is only sent when one is
        // configured (a reverse proxy in front).
        let no_base = "a prometheus provider needs `base_url`";
        let http = http_client(pc, ctx, cfg, no_base, TokenUse::OptionalBearer)?;
        let (slos, problems) = slo_defs::for_provider(ctx.config, &pc.name);
        for p in &problems {
            tracing::warn!("{}: {}", pc.name, p.message);
        }
        Ok(Prometheus {
            basics: Basics::new(pc, ProviderKind::Prometheus),
            http,
            slos,
            problems,
            in_flight: tokio::sync::Semaphore::new(QUERY_CONCURRENCY),
            eval_time: Mutex::new(None),
        })
    }

    new_with_default_http!();

    /// Evaluate at a fixed time (unix seconds) instead of now.
    pub fn set_eval_time(&self, t: Option<f64>) {
        *self.eval_time.lock().unwrap_or_else(|p| p.into_inner()) = t;
    }

    pub fn slo_defs(&self) -> &[SloDef] {
        &self.slos
    }

    pub fn problems(&self) -> &[SloProblem] {
        &self.problems
    }

    fn now(&self) -> f64 {
        let fixed = *self.eval_time.lock().unwrap_or_else(|p| p.into_inner());
        fixed.unwrap_or_else(|| chrono::Utc::now().timestamp_millis() as f64 / 1000.0)
    }

    fn envelope_error(&self, env: &Envelope, what: &str) -> ProviderError {
        let kind = match env.error_type.as_deref() {
            Some("bad_data") => ErrorKind::Config,
            Some("timeout") => ErrorKind::Timeout,
            Some("unavailable" | "internal") => ErrorKind::Server { status: 500 },
            _ => ErrorKind::Shape,
        };
        ProviderError::new(
            &self.basics.name,
            kind,
            format!(
                "{what}: {} ({})",
                env.error.as_deref().unwrap_or("error without message"),
                env.error_type.as_deref().unwrap_or("no errorType")
            ),
        )
    }

    /// Map a failed query to an error that names the SLO and the query.
    /// `bad_data` (400) is a configuration problem of that SLO;
    /// `execution` (422) too; transport failures stay what they are.
    fn query_error(&self, e: ProviderError, slo: &str, query: &str) -> ProviderError {
        match e.kind {
            ErrorKind::Http { status: 400 } => ProviderError::config(
                &self.basics.name,
                format!(
                    "SLO {slo}: Prometheus rejected the query (bad_data) {query}: {}",
                    e.detail
                ),
            ),
            ErrorKind::Http { status: 422 } => ProviderError::new(
                &self.basics.name,
                ErrorKind::Http { status: 422 },
                format!(
                    "SLO {slo}: the query failed to execute (execution) {query}: {}",
                    e.detail
                ),
            ),
            ErrorKind::Config | ErrorKind::Shape => ProviderError::new(
                &self.basics.name,
                e.kind.clone(),
                format!("SLO {slo}: {query}: {}", e.detail),
            ),
            _ => e,
        }
    }

    async fn call(
        &self,
        path: &str,
        query: &[(&str, String)],
        slo: &str,
        q: &str,
    ) -> Result<Data, ProviderError> {
        let url = self.http.url(path);
        // The semaphore is never closed; if it were, the query goes anyway.
        let _permit = self.in_flight.acquire().await.ok();
        let resp = self
            .http
            .get(&url, query)
            .await
            .map_err(|e| self.query_error(e, slo, q))?;
        let env: Envelope = resp.json().map_err(|e| self.query_error(e, slo, q))?;
        if env.status != "success" {
            return Err(self.query_error(self.envelope_error(&env, path), slo, q));
        }
        for w in &env.warnings {
            tracing::debug!("{}: SLO {slo}: query warning: {}", self.basics.name, w);
        }
        env.data.ok_or_else(|| {
            self.query_error(
                ProviderError::new(&self.basics.name, ErrorKind::Shape, "success without data"),
                slo,
                q,
            )
        })
    }

    /// An instant query: the values of the result (empty = no series).
    pub async fn instant(&self, q: &str, t: f64, slo: &str) -> Result<Vec<f64>, ProviderError> {
        let data = self
            .call(
                "/api/v1/query",
                &[("query", q.to_string()), ("time", format!("{t:.3}"))],
                slo,
                q,
            )
            .await?;
        Ok(match data {
            Data::Vector(v) => v.iter().map(|s| s.value.1.0).collect(),
            Data::Scalar(s) => vec![s.1.0],
            Data::Matrix(_) | Data::String(_) => {
                return Err(self.query_error(
                    ProviderError::config(
                        &self.basics.name,
                        "the query returns a range vector or a string; an instant vector or scalar is needed",
                    ),
                    slo,
                    q,
                ));
            }
        })
    }

    /// A range query: per timestamp (ms), the sum over series (NaN if any
    /// series is not finite there).
    pub async fn range(
        &self,
        q: &str,
        start: f64,
        end: f64,
        step: f64,
        slo: &str,
    ) -> Result<BTreeMap<i64, Vec<f64>>, ProviderError> {
        let data = self
            .call(
                "/api/v1/query_range",
                &[
                    ("query", q.to_string()),
                    ("start", format!("{start:.3}")),
                    ("end", format!("{end:.3}")),
                    ("step", format!("{step}")),
                ],
                slo,
                q,
            )
            .await?;
        let mut out: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
        match data {
            Data::Matrix(series) => {
                for s in series {
                    for (t, v) in s.values {
                        out.entry((t * 1000.0).round() as i64)
                            .or_default()
                            .push(v.0);
                    }
                }
            }
            _ => {
                return Err(self.query_error(
                    ProviderError::config(
                        &self.basics.name,
                        "the range query did not return a matrix",
                    ),
                    slo,
                    q,
                ));
            }
        }
        Ok(out)
    }

    /// Which SLI to use now (resolves `SlothAuto` with one probe).
    async fn resolve(&self, def: &SloDef, t: f64) -> Result<Sli, ProviderError> {
        match &def.sli {
            Sli::SlothAuto { sloth_id, fallback } => {
                let q = format!("sloth_slo_info{{sloth_id={}}}", promql_str(sloth_id));
                let found = !self.instant(&q, t, &def.name).await?.is_empty();
                Ok(if found {
                    Sli::SlothRules {
                        selector: format!("sloth_id={}", promql_str(sloth_id)),
                    }
                } else {
                    (**fallback).clone()
                })
            }
            other => Ok(other.clone()),
        }
    }

    /// The error ratio over `window` (a PromQL duration) at `t`.
    async fn ratio(
        &self,
        sli: &Sli,
        window: &str,
        t: f64,
        slo: &str,
    ) -> Result<Option<f64>, ProviderError> {
        match sli {
            Sli::Events { errors, total } => {
                let qe = subst_window(errors, window);
                let qt = subst_window(total, window);
                let (e, tot) =
                    futures::try_join!(self.instant(&qe, t, slo), self.instant(&qt, t, slo))?;
                Ok(events_ratio(sum(&e), sum(&tot)))
            }
            Sli::Raw { error_ratio } => {
                let q = subst_window(error_ratio, window);
                Ok(max_ratio(&self.instant(&q, t, slo).await?))
            }
            Sli::SlothRules { selector } => {
                let q = if window == "7d" {
                    // Sloth records no 7d ratio: average its 5m ratio, the
                    // same optimisation Sloth uses for the period window.
                    format!("avg_over_time(slo:sli_error:ratio_rate5m{{{selector}}}[7d])")
                } else {
                    format!("slo:sli_error:ratio_rate{window}{{{selector}}}")
                };
                Ok(max_ratio(&self.instant(&q, t, slo).await?))
            }
            Sli::SlothAuto { fallback, .. } => Box::pin(self.ratio(fallback, window, t, slo)).await,
        }
    }

    /// The error ratio of `sli` over `window` at each step of [start, end]
    /// (one range query, two for an events SLI), by timestamp in ms; a
    /// step without data has none.
    async fn ratio_range(
        &self,
        sli: &Sli,
        window: &str,
        (start, end, step): (f64, f64, f64),
        slo: &str,
    ) -> Result<BTreeMap<i64, Option<f64>>, ProviderError> {
        let one = |m: BTreeMap<i64, Vec<f64>>| -> BTreeMap<i64, Option<f64>> {
            m.into_iter().map(|(ts, v)| (ts, max_ratio(&v))).collect()
        };
        Ok(match sli {
            Sli::Events { errors, total } => {
                let qe = subst_window(errors, window);
                let qt = subst_window(total, window);
                let (e, tot) = futures::try_join!(
                    self.range(&qe, start, end, step, slo),
                    self.range(&qt, start, end, step, slo)
                )?;
                tot.iter()
                    .map(|(ts, tv)| (*ts, events_ratio(e.get(ts).and_then(|v| sum(v)), sum(tv))))
                    .collect()
            }
            Sli::Raw { error_ratio } => {
                let q = subst_window(error_ratio, window);
                one(self.range(&q, start, end, step, slo).await?)
            }
            Sli::SlothRules { selector } => {
                let q = format!("slo:sli_error:ratio_rate{window}{{{selector}}}");
                one(self.range(&q, start, end, step, slo).await?)
            }
            Sli::SlothAuto { fallback, .. } => {
                return Box::pin(self.ratio_range(fallback, window, (start, end, step), slo)).await;
            }
        })
    }

    /// 1h burn rate over the last 24 h at 30 min steps, oldest first;
    /// points without data are left out.
    async fn history(
        &self,
        sli: &Sli,
        objective: f64,
        t: f64,
        slo: &str,
    ) -> Result<Vec<f64>, ProviderError> {
        let span = (t - HISTORY_SPAN_SECS, t, HISTORY_STEP_SECS);
        Ok(self
            .ratio_range(sli, "1h", span, slo)
            .await?
            .into_values()
            .filter_map(|r| r.and_then(|r| slo::burn_rate(r, objective)))
            .collect())
    }

    /// The error ratio of each day of the SLO window (the 1d ratio at
    /// daily steps ending at `t`), oldest first, `None` for a day without
    /// data: the shape of the budget burndown (`slo::budget_burndown`).
    async fn days(
        &self,
        sli: &Sli,
        window_days: f64,
        t: f64,
        slo: &str,
    ) -> Result<Vec<Option<f64>>, ProviderError> {
        let n = (window_days.ceil() as usize).clamp(1, MAX_BURNDOWN_DAYS);
        let end = (t * 1000.0).round() / 1000.0;
        let start = end - (n - 1) as f64 * DAY_SECS;
        let by_ts = self
            .ratio_range(sli, "1d", (start, end, DAY_SECS), slo)
            .await?;
        Ok((0..n)
            .map(|k| {
                let ts = ((start + k as f64 * DAY_SECS) * 1000.0).round() as i64;
                by_ts.get(&ts).copied().flatten()
            })
            .collect())
    }

    /// Evaluate one SLO at `t`.
    pub async fn evaluate(&self, def: &SloDef, t: f64) -> Result<Slo, ProviderError> {
        let sli = self.resolve(def, t).await?;
        self.evaluate_sli(def, &sli, t).await
    }

    /// Evaluate one SLO at `t` with its SLI already resolved.
    async fn evaluate_sli(&self, def: &SloDef, sli: &Sli, t: f64) -> Result<Slo, ProviderError> {
        let sli = sli.clone();
        let name = def.name.as_str();
        let mut windows: Vec<String> = BURN_WINDOWS.iter().map(|w| w.to_string()).collect();
        windows.push(def.window_promql.clone());
        windows.push("7d".into());
        // Every window and both charts at once (bounded by `in_flight`).
        let (ratios, history, days) = futures::join!(
            futures::future::join_all(windows.iter().map(|w| self.ratio(&sli, w, t, name))),
            self.history(&sli, def.objective, t, name),
            self.days(&sli, def.window_days, t, name)
        );
        let ratios = root_cause(ratios)?;
        let history = history?;
        let days = days?;
        let mut burn = BurnRates::default();
        for (w, r) in BURN_WINDOWS.iter().zip(&ratios) {
            burn.set(w, r.and_then(|r| slo::burn_rate(r, def.objective)));
        }
        let window_ratio = ratios[BURN_WINDOWS.len()];
        let ratio_7d = ratios[BURN_WINDOWS.len() + 1];
        let remaining = window_ratio.and_then(|r| slo::budget_remaining(r, def.objective));
        let burned_7d =
            ratio_7d.and_then(|r| slo::budget_burned_share(r, def.objective, 7.0, def.window_days));
        let alerts = slo::mwmbr_alerts_for_period(&burn, def.window_days);
        let gate = slo::gate(remaining, &alerts);
        Ok(Slo {
            name: SafeText::line(&def.name),
            service: def.service.as_deref().map(SafeText::line),
            objective: def.objective,
            window: def.window.clone(),
            error_budget_remaining: remaining,
            budget_burned_7d: burned_7d,
            burn_rates: burn,
            alerts,
            gate,
            provider: SafeText::line(&self.basics.name),
            history,
            budget_history: slo::budget_burndown(&days, remaining),
            error: None,
        })
    }

    fn placeholder(
        &self,
        name: &str,
        service: Option<&str>,
        objective: f64,
        window: &str,
        error: &str,
    ) -> Slo {
        placeholder_slo(&self.basics.name, name, service, objective, window, error)
    }

    /// Fetch every SLO. A query the server rejects (`bad_data`,
    /// `execution`, a result of the wrong type) marks that SLO only (its
    /// `error`); a transport failure (timeout, refused, 5xx, 401/403, 429,
    /// malformed or wrongly shaped bodies) fails the whole fetch, since no
    /// number can be trusted then.
    pub async fn fetch_slos(&self) -> Result<Vec<Slo>, ProviderError> {
        let t = self.now();
        // One lead query alone first: a failing server answers with its own
        // error (not a circuit opened by a burst of parallel failures) and
        // is not flooded with every SLO's queries.
        // A Sloth probe is a query of its own and serves as the lead; the
        // SLI it resolved is kept for that SLO's evaluation.
        let mut lead_sli = None;
        if let Some(first) = self.slos.first() {
            let lead = match self.resolve(first, t).await {
                Ok(sli) if matches!(first.sli, Sli::SlothAuto { .. }) => {
                    lead_sli = Some(sli);
                    Ok(())
                }
                Ok(sli) => {
                    let r = self.ratio(&sli, "5m", t, &first.name).await.map(|_| ());
                    lead_sli = Some(sli);
                    r
                }
                Err(e) => Err(e),
            };
            if let Err(e) = lead
                && !slo_scoped(&e)
            {
                return Err(e);
            }
        }
        let lead_sli = &lead_sli;
        // Every SLO at once: their queries share `in_flight`.
        let results: Vec<(usize, Result<Slo, ProviderError>)> =
            futures::future::join_all(self.slos.iter().enumerate().map(|(i, d)| async move {
                let r = match lead_sli.as_ref().filter(|_| i == 0) {
                    Some(sli) => self.evaluate_sli(d, sli, t).await,
                    None => self.evaluate(d, t).await,
                };
                (i, r)
            }))
            .await;
        root_cause(
            results
                .iter()
                .filter(|(_, r)| r.as_ref().is_err_and(|e| !slo_scoped(e)))
                .map(|(_, r)| r.clone())
                .collect(),
        )?;
        let mut out = Vec::with_capacity(results.len() + self.problems.len());
        for (i, r) in results {
            match r {
                Ok(s) => out.push(s),
                Err(e) if slo_scoped(&e) => {
                    let d = &self.slos[i];
                    tracing::warn!("{e}");
                    out.push(self.placeholder(
                        &d.name,
                        d.service.as_deref(),
                        d.objective,
                        &d.window,
                        &format!("{}: {}", e.cause(), e.detail),
                    ));
                }
                Err(e) => return Err(e),
            }
        }
        for p in &self.problems {
            out.push(
                self.placeholder(
                    &p.name,
                    p.service.as_deref(),
                    p.objective,
                    p.window
                        .as_deref()
                        .unwrap_or(slo_defs::SLOTH_DEFAULT_PERIOD),
                    &p.message,
                ),
            );
        }
        Ok(out)
    }
}

/// All values, or the error that explains the failure: an open circuit
/// only says that earlier calls failed, so the first other error wins.
fn root_cause<T>(results: Vec<Result<T, ProviderError>>) -> Result<Vec<T>, ProviderError> {
    let mut first: Option<ProviderError> = None;
    let mut out = Vec::with_capacity(results.len());
    for r in results {
        match r {
            Ok(v) => out.push(v),
            Err(e) => {
                let better = match &first {
                    None => true,
                    Some(f) => f.kind == ErrorKind::CircuitOpen && e.kind != ErrorKind::CircuitOpen,
                };
                if better {
                    first = Some(e);
                }
            }
        }
    }
    match first {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// Errors that concern one SLO's definition rather than the server.
fn slo_scoped(e: &ProviderError) -> bool {
    matches!(
        e.kind,
        ErrorKind::Config | ErrorKind::Http { status: 400 | 422 }
    )
}

impl Provider for Prometheus {
    provider_basics!(fetch: slos <- fetch_slos);

    fn fetch_deadline(&self) -> Duration {
        // ~22 queries per SLO (9 windows and 2 charts, 2 each for an events SLI), QUERY_CONCURRENCY at once.
        slo_fetch_deadline(
            self.http.config(),
            self.slos.len(),
            22,
            QUERY_CONCURRENCY,
            2,
        )
    }
}

/// This provider's part of [`super::decode_wire`].
pub fn decode_wire(body: &[u8]) -> Result<(), ProviderError> {
    super::http::decode_json::<Envelope>("fuzz", "GET /api/v1/query", body).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_sums() {
        assert_eq!(value("1.5"), 1.5);
        assert!(value("NaN").is_nan());
        assert!(value("+Inf").is_infinite());
        assert!(value("x").is_nan());
        assert_eq!(sum(&[]), None);
        assert_eq!(sum(&[1.0, 2.0]), Some(3.0));
        assert_eq!(max_ratio(&[0.1, 0.3]), Some(0.3));
        assert_eq!(max_ratio(&[0.1, f64::NAN]), None);
        assert_eq!(max_ratio(&[]), None);
    }

    #[test]
    fn events_no_data_rules() {
        // No error series but traffic: 0 errors.
        assert_eq!(events_ratio(None, Some(10.0)), Some(0.0));
        // No traffic series, zero traffic, NaN (0/0 in PromQL): no data.
        assert_eq!(events_ratio(Some(1.0), None), None);
        assert_eq!(events_ratio(Some(0.0), Some(0.0)), None);
        assert_eq!(events_ratio(Some(f64::NAN), Some(10.0)), None);
        assert_eq!(events_ratio(Some(2.0), Some(10.0)), Some(0.2));
    }

    #[test]
    fn envelope_shapes_decode() {
        let v: Envelope = serde_json::from_str(
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"job":"a"},"value":[1435781451.781,"NaN"]}]},"warnings":["w"]}"#,
        )
        .unwrap();
        assert!(matches!(v.data, Some(Data::Vector(ref r)) if r.len() == 1));
        let m: Envelope = serde_json::from_str(
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"],[2,"+Inf"]]}]}}"#,
        )
        .unwrap();
        assert!(matches!(m.data, Some(Data::Matrix(ref r)) if r[0].values.len() == 2));
        let s: Envelope = serde_json::from_str(
            r#"{"status":"success","data":{"resultType":"scalar","result":[1,"0.5"]}}"#,
        )
        .unwrap();
        assert!(matches!(s.data, Some(Data::Scalar(_))));
        // `result` before `resultType` decodes the same (no buffering).
        let r: Envelope = serde_json::from_str(
            r#"{"status":"success","data":{"result":[{"metric":{},"value":[1,"2"]}],"resultType":"vector"}}"#,
        )
        .unwrap();
        assert!(matches!(r.data, Some(Data::Vector(ref v)) if v[0].value.1.0 == 2.0));
        let bad: Result<Envelope, _> = serde_json::from_str(
            r#"{"status":"success","data":{"resultType":"vector","result":[1,2]}}"#,
        );
        assert!(bad.is_err_and(|e| e.classify() == serde_json::error::Category::Data));
        let e: Envelope = serde_json::from_str(
            r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error"}"#,
        )
        .unwrap();
        assert_eq!(e.error_type.as_deref(), Some("bad_data"));
    }
}
