//! OpenSLO (`apiVersion: openslo/v1` and `openslo/v1alpha`). A file holds
//! one or more YAML documents, each an object or a list of objects (as
//! oslo and the OpenSLO SDK accept them); kinds other than SLO and SLI
//! (Service, AlertPolicy, DataSource...) are skipped.
//!
//! v1: kind SLO with an inline `indicator` or an `indicatorRef` to a kind
//! SLI in any of the files. Supported: ratioMetric with `counter: true` over
//! Prometheus sources (bad/total or good/total), `budgetingMethod:
//! Occurrences`, one rolling time window in m/h/d/w.
//!
//! v1alpha (read as Sloth reads it): each of an SLO's `objectives` is one
//! SLO, named `{service}-{name}-{index}` like Sloth's id, with
//! `ratioMetrics` good/total PromQL queries (source `prometheus` or
//! `sloth`, `queryType: promql`); `timeWindows` one entry in days (30 days
//! when absent). A query without `{{.window}}` is taken as a counter when
//! the metric is `incremental: true`.
//!
//! Other apiVersions (such as `openslo.com/v2alpha`) are refused per SLO
//! object, with its line.

use super::files::{Obj, file_problem, parse_files};
use super::locate::Pos;
use super::{
    Sli, SloDef, SloProblem, check_objective, expand_globs, read_all, subst_window, window_of,
};
use serde::Deserialize;
use serde_yaml_ng::Value;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OsSloSpec {
    #[serde(default)]
    service: Option<String>,
    #[serde(default)]
    indicator: Option<OsIndicator>,
    #[serde(default)]
    indicator_ref: Option<String>,
    #[serde(default)]
    time_window: Vec<OsWindow>,
    #[serde(default)]
    budgeting_method: Option<String>,
    #[serde(default)]
    objectives: Vec<OsObjective>,
}

#[derive(Deserialize, Clone)]
struct OsIndicator {
    spec: OsSliSpec,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct OsSliSpec {
    #[serde(default)]
    ratio_metric: Option<OsRatio>,
    #[serde(default)]
    threshold_metric: Option<serde_yaml_ng::Value>,
}

#[derive(Deserialize, Clone)]
struct OsRatio {
    #[serde(default)]
    counter: bool,
    good: Option<OsMetric>,
    bad: Option<OsMetric>,
    total: Option<OsMetric>,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct OsMetric {
    metric_source: OsSource,
}

#[derive(Deserialize, Clone)]
struct OsSource {
    #[serde(default, rename = "type")]
    source_type: Option<String>,
    #[serde(default)]
    spec: BTreeMap<String, serde_yaml_ng::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OsWindow {
    duration: String,
    #[serde(default)]
    is_rolling: Option<bool>,
    #[serde(default)]
    calendar: Option<serde_yaml_ng::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OsObjective {
    #[serde(default)]
    target: Option<f64>,
    #[serde(default)]
    target_percent: Option<f64>,
}

/// A counter query as a rate over `{{.window}}`: kept as is when it already
/// has the template, else `sum(rate(<selector>[{{.window}}]))`.
fn os_counter_query(m: &OsMetric) -> Result<String, String> {
    if let Some(t) = &m.metric_source.source_type
        && !t.eq_ignore_ascii_case("prometheus")
    {
        return Err(format!("metric source type {t:?} is not Prometheus"));
    }
    let q = m
        .metric_source
        .spec
        .get("query")
        .and_then(|v| v.as_str())
        .ok_or("metricSource.spec.query is missing")?
        .trim()
        .to_string();
    if q.contains("{{") {
        Ok(q)
    } else {
        Ok(format!("sum(rate({q}[{{{{.window}}}}]))"))
    }
}

fn os_sli(ind: &OsIndicator) -> Result<Sli, String> {
    if ind.spec.threshold_metric.is_some() {
        return Err("thresholdMetric SLIs are not supported (use ratioMetric)".into());
    }
    let r = ind
        .spec
        .ratio_metric
        .as_ref()
        .ok_or("the indicator has no ratioMetric")?;
    if !r.counter {
        return Err("only `counter: true` ratio metrics are supported".into());
    }
    let total = os_counter_query(r.total.as_ref().ok_or("ratioMetric.total is missing")?)?;
    match (&r.bad, &r.good) {
        (Some(bad), _) => Ok(Sli::Events {
            errors: os_counter_query(bad)?,
            total,
        }),
        (None, Some(good)) => Ok(Sli::Events {
            errors: format!("({total}) - ({})", os_counter_query(good)?),
            total,
        }),
        (None, None) => Err("ratioMetric needs `bad` or `good`".into()),
    }
}

/// A fault in an SLO: the key it is about (for the line) and the words.
struct Fault {
    key: Option<&'static str>,
    msg: String,
}

fn fault(key: &'static str, msg: impl Into<String>) -> Fault {
    Fault {
        key: Some(key),
        msg: msg.into(),
    }
}

impl From<String> for Fault {
    fn from(msg: String) -> Self {
        Fault { key: None, msg }
    }
}

impl From<&str> for Fault {
    fn from(msg: &str) -> Self {
        Fault {
            key: None,
            msg: msg.into(),
        }
    }
}

fn os_def(
    name: &str,
    spec: OsSloSpec,
    slis: &BTreeMap<String, OsIndicator>,
    source: String,
) -> Result<SloDef, Fault> {
    match spec.budgeting_method.as_deref() {
        None | Some("Occurrences") => {}
        Some(m) => {
            return Err(fault(
                "budgetingMethod",
                format!("budgetingMethod {m:?} is not supported (Occurrences only)"),
            ));
        }
    }
    let obj = spec
        .objectives
        .first()
        .ok_or_else(|| fault("objectives", "no objectives"))?;
    let objective = match (obj.target_percent, obj.target) {
        (Some(p), _) => p,
        (None, Some(t)) => t * 100.0,
        (None, None) => {
            return Err(fault(
                "objectives",
                "the objective has no target or targetPercent",
            ));
        }
    };
    check_objective(objective).map_err(|m| fault("objectives", m))?;
    let w = match spec.time_window.as_slice() {
        [w] => w,
        _ => return Err(fault("timeWindow", "timeWindow needs exactly one entry")),
    };
    if w.calendar.is_some() || w.is_rolling == Some(false) || w.duration.ends_with(['M', 'Q', 'Y'])
    {
        return Err(fault(
            "timeWindow",
            format!(
                "calendar window {:?} is not supported (rolling m/h/d/w only)",
                w.duration
            ),
        ));
    }
    let (window_promql, window_days) =
        window_of(&w.duration).map_err(|m| fault("timeWindow", m))?;
    let sli = match (&spec.indicator, &spec.indicator_ref) {
        (Some(i), _) => os_sli(i).map_err(|m| fault("indicator", m))?,
        (None, Some(r)) => os_sli(slis.get(r).ok_or_else(|| {
            fault(
                "indicatorRef",
                format!("indicatorRef {r:?}: no SLI of that name"),
            )
        })?)
        .map_err(|m| fault("indicatorRef", m))?,
        (None, None) => return Err("no indicator or indicatorRef".into()),
    };
    Ok(SloDef {
        name: name.to_string(),
        service: spec.service,
        objective,
        window: w.duration.clone(),
        window_promql,
        window_days,
        sli,
        source,
    })
}

// v1alpha (github.com/OpenSLO/oslo pkg/manifest/v1alpha), the parts Sloth reads.

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AlphaSpec {
    #[serde(default)]
    service: String,
    #[serde(default)]
    budgeting_method: Option<String>,
    #[serde(default)]
    indicator: Option<Value>,
    #[serde(default)]
    objectives: Vec<AlphaObjective>,
    #[serde(default)]
    time_windows: Vec<AlphaWindow>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AlphaObjective {
    #[serde(default)]
    ratio_metrics: Option<AlphaRatio>,
    #[serde(default)]
    target: Option<f64>,
}

#[derive(Deserialize)]
struct AlphaRatio {
    #[serde(default)]
    incremental: bool,
    good: AlphaQuery,
    total: AlphaQuery,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AlphaQuery {
    #[serde(default)]
    source: String,
    #[serde(default)]
    query_type: String,
    #[serde(default)]
    query: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AlphaWindow {
    #[serde(default)]
    count: Option<u64>,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    is_rolling: Option<bool>,
    #[serde(default)]
    calendar: Option<Value>,
}

fn alpha_query(q: &AlphaQuery, which: &str, incremental: bool) -> Result<String, String> {
    if q.source != "prometheus" && q.source != "sloth" {
        return Err(format!(
            "ratioMetrics.{which}.source {:?}: only `prometheus` (or `sloth`) sources are read",
            q.source
        ));
    }
    if q.query_type != "promql" {
        return Err(format!(
            "ratioMetrics.{which}.queryType {:?}: only `promql` is read",
            q.query_type
        ));
    }
    let query = q.query.trim();
    if query.is_empty() {
        return Err(format!("ratioMetrics.{which}.query is empty"));
    }
    if subst_window(query, "1m") != query {
        Ok(query.to_string())
    } else if incremental {
        Ok(format!("sum(rate({query}[{{{{.window}}}}]))"))
    } else {
        Err(format!(
            "ratioMetrics.{which}.query has no {{{{.window}}}} and the metric is not `incremental: true`, so no burn-rate window can be put in it"
        ))
    }
}

/// The SLOs of a v1alpha SLO object, one per objective.
fn alpha_defs(obj: &Obj<'_>, name: &str, problems: &mut Vec<SloProblem>) -> Vec<SloDef> {
    let start = obj.start();
    let name_pos = obj.pos(start, "name", Some(name));
    let spec_pos = obj.pos(start, "spec", None);
    let spec_value = obj.value.get("spec").cloned().unwrap_or(Value::Null);
    let whole = |pos: Pos, service: Option<String>, objective: f64, m: String| SloProblem {
        name: name.to_string(),
        service,
        objective,
        window: None,
        message: obj.msg(pos, &format!("SLO {name:?}: {m}")),
    };
    let spec: AlphaSpec = match serde_yaml_ng::from_value(spec_value) {
        Ok(s) => s,
        Err(e) => {
            problems.push(whole(
                spec_pos,
                None,
                0.0,
                super::locate::humanize(&e.to_string()),
            ));
            return vec![];
        }
    };
    let service = (!spec.service.is_empty()).then(|| spec.service.clone());
    let first_objective = spec
        .objectives
        .first()
        .and_then(|o| o.target)
        .map_or(0.0, |t| t * 100.0);
    let mut refuse = |key: &str, m: String| {
        problems.push(whole(
            obj.pos(spec_pos, key, None),
            service.clone(),
            first_objective,
            m,
        ));
        vec![]
    };
    if spec.service.trim().is_empty() {
        return refuse("service", "`spec.service` is empty".into());
    }
    match spec.budgeting_method.as_deref() {
        None | Some("Occurrences") => {}
        Some(m) => {
            return refuse(
                "budgetingMethod",
                format!("budgetingMethod {m:?} is not supported (Occurrences only)"),
            );
        }
    }
    if spec
        .indicator
        .as_ref()
        .is_some_and(|i| i.get("thresholdMetric").is_some())
    {
        return refuse(
            "indicator",
            "thresholdMetric SLIs are not supported (use ratioMetrics)".into(),
        );
    }
    let days = match spec.time_windows.as_slice() {
        [] => 30,
        [w] => {
            if w.calendar.is_some() || w.is_rolling == Some(false) {
                return refuse(
                    "timeWindows",
                    "calendar windows are not supported (rolling windows in days only)".into(),
                );
            }
            if !w.unit.eq_ignore_ascii_case("day") {
                return refuse(
                    "timeWindows",
                    format!("time window unit {:?} is not supported (Day only)", w.unit),
                );
            }
            match w.count {
                Some(c) if c > 0 => c,
                _ => {
                    return refuse(
                        "timeWindows",
                        "timeWindows[0].count must be at least 1".into(),
                    );
                }
            }
        }
        _ => return refuse("timeWindows", "only one time window is supported".into()),
    };
    if spec.objectives.is_empty() {
        return refuse("objectives", "no objectives".into());
    }
    let window = format!("{days}d");
    let (window_promql, window_days) = match window_of(&window) {
        Ok(w) => w,
        Err(e) => return refuse("timeWindows", e),
    };
    let objectives_pos = obj.pos(spec_pos, "objectives", None);
    let mut defs = Vec::new();
    for (idx, o) in spec.objectives.iter().enumerate() {
        let id = format!("{}-{name}-{idx}", spec.service);
        let objective = o.target.map_or(0.0, |t| t * 100.0);
        let result = (|| -> Result<Sli, String> {
            let Some(target) = o.target else {
                return Err(format!("objectives[{idx}] has no target"));
            };
            check_objective(target * 100.0)?;
            let r = o.ratio_metrics.as_ref().ok_or_else(|| {
                format!("objectives[{idx}] has no ratioMetrics (only ratio SLIs are read)")
            })?;
            let good = alpha_query(&r.good, "good", r.incremental)?;
            let total = alpha_query(&r.total, "total", r.incremental)?;
            Ok(Sli::SlothAuto {
                sloth_id: id.clone(),
                fallback: Box::new(Sli::Events {
                    errors: format!("({total}) - ({good})"),
                    total,
                }),
            })
        })();
        match result {
            Ok(sli) => defs.push(SloDef {
                name: id,
                service: service.clone(),
                objective,
                window: window.clone(),
                window_promql: window_promql.clone(),
                window_days,
                sli,
                source: obj.place(name_pos),
            }),
            Err(m) => problems.push(SloProblem {
                name: id,
                service: service.clone(),
                objective,
                window: Some(window.clone()),
                message: obj.msg(objectives_pos, &format!("SLO {name:?}: {m}")),
            }),
        }
    }
    defs
}

/// A v1 SLO waiting for every SLI of the files to be known.
struct Pending {
    name: String,
    spec: Value,
    place: String,
    pos: Pos,
    /// Where each key of the spec is, for messages.
    keys: BTreeMap<&'static str, Pos>,
    source: String,
}

/// OpenSLO objects of all files, read together.
#[derive(Default)]
pub(super) struct Reader {
    slis: BTreeMap<String, OsIndicator>,
    slos: Vec<Pending>,
    defs: Vec<SloDef>,
    problems: Vec<SloProblem>,
}

const SPEC_KEYS: [&str; 6] = [
    "budgetingMethod",
    "objectives",
    "timeWindow",
    "indicator",
    "indicatorRef",
    "service",
];

impl Reader {
    pub(super) fn add(&mut self, obj: &Obj<'_>, api: &str) {
        let start = obj.start();
        let kind = obj.value.get("kind").and_then(Value::as_str);
        let name = obj.str_at(&["metadata", "name"]);
        let is_slo = kind == Some("SLO");
        if !matches!(kind, Some("SLO" | "SLI")) {
            return; // Service, AlertPolicy, DataSource...: nothing to evaluate
        }
        let kind = kind.unwrap_or_default();
        let Some(name) = name else {
            let pos = obj.pos(start, "metadata", None);
            self.problems.push(file_problem(
                obj.source,
                obj.msg(pos, &format!("{kind} without a `metadata.name`")),
            ));
            return;
        };
        let pos = obj.pos(start, "name", Some(name));
        match api {
            "openslo/v1" => {}
            "openslo/v1alpha" if is_slo => {
                let defs = alpha_defs(obj, name, &mut self.problems);
                self.defs.extend(defs);
                return;
            }
            // v1alpha has no kind SLI.
            "openslo/v1alpha" => return,
            other => {
                if is_slo {
                    let pos = obj.pos(start, "apiVersion", None);
                    self.problems.push(SloProblem {
                        name: name.to_string(),
                        service: obj.str_at(&["spec", "service"]).map(str::to_string),
                        objective: 0.0,
                        window: None,
                        message: obj.msg(
                            pos,
                            &format!(
                                "SLO {name:?}: apiVersion {other:?} is not supported (openslo/v1 and openslo/v1alpha are read)"
                            ),
                        ),
                    });
                }
                return;
            }
        }
        let spec = obj.value.get("spec").cloned().unwrap_or(Value::Null);
        if !is_slo {
            match serde_yaml_ng::from_value::<OsSliSpec>(spec) {
                Ok(spec) => {
                    self.slis.insert(name.to_string(), OsIndicator { spec });
                }
                Err(e) => self.problems.push(file_problem(
                    obj.source,
                    obj.msg(
                        obj.pos(pos, "spec", None),
                        &format!("SLI {name:?}: {}", super::locate::humanize(&e.to_string())),
                    ),
                )),
            }
            return;
        }
        let spec_pos = obj.pos(start, "spec", None);
        let keys = SPEC_KEYS
            .iter()
            .filter_map(|k| {
                obj.src
                    .key(obj.src.from(obj.range, spec_pos), k, None)
                    .map(|p| (*k, p))
            })
            .collect();
        self.slos.push(Pending {
            name: name.to_string(),
            spec,
            place: obj.place(pos),
            pos,
            keys,
            source: obj.source.to_string(),
        });
    }

    pub(super) fn finish(mut self) -> (Vec<SloDef>, Vec<SloProblem>) {
        for p in std::mem::take(&mut self.slos) {
            let service = p
                .spec
                .get("service")
                .and_then(Value::as_str)
                .map(str::to_string);
            let objective = p
                .spec
                .get("objectives")
                .and_then(|o| o.get(0))
                .and_then(|o| {
                    o.get("targetPercent")
                        .and_then(Value::as_f64)
                        .or_else(|| o.get("target").and_then(Value::as_f64).map(|t| t * 100.0))
                })
                .unwrap_or(0.0);
            let window = p
                .spec
                .get("timeWindow")
                .and_then(|w| w.get(0))
                .and_then(|w| w.get("duration"))
                .and_then(Value::as_str)
                .map(str::to_string);
            let r = serde_yaml_ng::from_value::<OsSloSpec>(p.spec)
                .map_err(|e| Fault::from(super::locate::humanize(&e.to_string())))
                .and_then(|spec| os_def(&p.name, spec, &self.slis, p.place.clone()));
            match r {
                Ok(d) => self.defs.push(d),
                Err(f) => {
                    let pos = f.key.and_then(|k| p.keys.get(k).copied()).unwrap_or(p.pos);
                    self.problems.push(SloProblem {
                        name: p.name.clone(),
                        service,
                        objective,
                        window,
                        message: format!(
                            "{}:{}:{}: SLO {:?}: {}",
                            p.source, pos.line, pos.col, p.name, f.msg
                        ),
                    });
                }
            }
        }
        (self.defs, self.problems)
    }
}

/// Parse OpenSLO texts `(source, text)` together (an `indicatorRef` may
/// point into another file). Sloth documents among them are read too.
pub fn parse_openslo(files: &[(String, String)]) -> (Vec<SloDef>, Vec<SloProblem>) {
    parse_files(files)
}

/// Read the `[slo_files] openslo` globs.
pub fn load_openslo_files(globs: &[String], base: Option<&Path>) -> (Vec<SloDef>, Vec<SloProblem>) {
    let mut problems = Vec::new();
    let files = expand_globs(globs, base, "openslo", &mut problems);
    let texts = read_all(files, &mut problems);
    let (defs, p) = parse_files(&texts);
    problems.extend(p);
    (defs, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPENSLO: &str = r#"
apiVersion: openslo/v1
kind: Service
metadata:
  name: checkout
spec:
  description: Checkout
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: checkout-availability
  displayName: Checkout availability
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
    - duration: 28d
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - displayName: Good
      target: 0.999
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: by-ref
spec:
  indicatorRef: good-ratio
  timeWindow: [{duration: 7d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{targetPercent: 99.5}]
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: calendar
spec:
  indicatorRef: good-ratio
  timeWindow: [{duration: 1M, calendar: {startTime: "2020-01-21 12:30:00", timeZone: UTC}}]
  budgetingMethod: Timeslices
  objectives: [{target: 0.99}]
"#;

    const OPENSLO_SLI: &str = r#"
apiVersion: openslo/v1
kind: SLI
metadata:
  name: good-ratio
spec:
  ratioMetric:
    counter: true
    good: {metricSource: {type: Prometheus, spec: {query: 'ok_total'}}}
    total: {metricSource: {type: Prometheus, spec: {query: 'all_total'}}}
"#;

    #[test]
    fn openslo_v1_ratio_metrics() {
        let (defs, problems) = parse_openslo(&[
            ("a.yaml".into(), OPENSLO.into()),
            ("sli.yaml".into(), OPENSLO_SLI.into()),
        ]);
        assert_eq!(defs.len(), 2, "{problems:?}");
        let d = &defs[0];
        assert_eq!(d.name, "checkout-availability");
        assert_eq!(d.service.as_deref(), Some("checkout"));
        assert!((d.objective - 99.9).abs() < 1e-9);
        assert_eq!(d.window, "28d");
        assert_eq!(d.window_days, 28.0);
        assert_eq!(
            d.sli,
            Sli::Events {
                errors:
                    "sum(rate(http_requests_total{job=\"checkout\",code=~\"5..\"}[{{.window}}]))"
                        .into(),
                total: "sum(rate(http_requests_total{job=\"checkout\"}[{{.window}}]))".into(),
            }
        );
        assert_eq!(defs[1].objective, 99.5);
        assert_eq!(
            defs[1].sli,
            Sli::Events {
                errors: "(sum(rate(all_total[{{.window}}]))) - (sum(rate(ok_total[{{.window}}])))"
                    .into(),
                total: "sum(rate(all_total[{{.window}}]))".into(),
            }
        );
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].message.contains("a.yaml") && problems[0].message.contains("calendar"),
            "{problems:?}"
        );
    }
}
