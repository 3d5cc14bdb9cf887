//! OpenSLO v1 (`apiVersion: openslo/v1`, kind SLO, inline `indicator` or an
//! `indicatorRef` to a kind SLI in any of the files). Supported: ratioMetric
//! with `counter: true` over Prometheus sources (bad/total or good/total),
//! `budgetingMethod: Occurrences`, one rolling time window in m/h/d/w.

use super::{
    Sli, SloDef, SloProblem, check_objective, expand_globs, read_all, window_of, yaml_error,
};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OsDoc {
    api_version: String,
    kind: String,
    metadata: OsMeta,
    #[serde(default)]
    spec: serde_yaml_ng::Value,
}

#[derive(Deserialize)]
struct OsMeta {
    name: String,
}

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

fn os_def(
    name: &str,
    spec: OsSloSpec,
    slis: &BTreeMap<String, OsIndicator>,
    source: &str,
) -> Result<SloDef, String> {
    match spec.budgeting_method.as_deref() {
        None | Some("Occurrences") => {}
        Some(m) => {
            return Err(format!(
                "budgetingMethod {m:?} is not supported (Occurrences only)"
            ));
        }
    }
    let obj = spec.objectives.first().ok_or("no objectives")?;
    let objective = match (obj.target_percent, obj.target) {
        (Some(p), _) => p,
        (None, Some(t)) => t * 100.0,
        (None, None) => return Err("the objective has no target or targetPercent".into()),
    };
    check_objective(objective)?;
    let w = match spec.time_window.as_slice() {
        [w] => w,
        _ => return Err("timeWindow needs exactly one entry".into()),
    };
    if w.calendar.is_some() || w.is_rolling == Some(false) || w.duration.ends_with(['M', 'Q', 'Y'])
    {
        return Err(format!(
            "calendar window {:?} is not supported (rolling m/h/d/w only)",
            w.duration
        ));
    }
    let (window_promql, window_days) = window_of(&w.duration)?;
    let sli = match (&spec.indicator, &spec.indicator_ref) {
        (Some(i), _) => os_sli(i)?,
        (None, Some(r)) => os_sli(
            slis.get(r)
                .ok_or_else(|| format!("indicatorRef {r:?}: no SLI of that name"))?,
        )?,
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
        source: source.to_string(),
    })
}

/// Parse OpenSLO v1 texts `(source, text)` together (an `indicatorRef` may
/// point into another file). Other kinds (Service, DataSource...) are skipped.
pub fn parse_openslo(files: &[(String, String)]) -> (Vec<SloDef>, Vec<SloProblem>) {
    let mut problems = Vec::new();
    let mut slis: BTreeMap<String, OsIndicator> = BTreeMap::new();
    let mut slos: Vec<(String, String, serde_yaml_ng::Value)> = Vec::new();
    let file_problem = |source: &str, message: String| SloProblem {
        name: source.to_string(),
        service: None,
        objective: 0.0,
        message,
    };
    for (source, text) in files {
        for doc in serde_yaml_ng::Deserializer::from_str(text) {
            let value = match serde_yaml_ng::Value::deserialize(doc) {
                Ok(v) if v.is_null() => continue,
                Ok(v) => v,
                Err(e) => {
                    problems.push(file_problem(source, yaml_error(source, &e)));
                    break;
                }
            };
            let d: OsDoc = match serde_yaml_ng::from_value(value) {
                Ok(d) => d,
                Err(e) => {
                    problems.push(file_problem(source, yaml_error(source, &e)));
                    continue;
                }
            };
            if d.api_version != "openslo/v1" {
                problems.push(file_problem(
                    source,
                    format!(
                        "{source}: apiVersion {:?} is not supported (expected \"openslo/v1\")",
                        d.api_version
                    ),
                ));
                continue;
            }
            match d.kind.as_str() {
                "SLI" => match serde_yaml_ng::from_value::<OsSliSpec>(d.spec) {
                    Ok(spec) => {
                        slis.insert(d.metadata.name, OsIndicator { spec });
                    }
                    Err(e) => problems.push(file_problem(
                        source,
                        format!("{source}: SLI {:?}: {e}", d.metadata.name),
                    )),
                },
                "SLO" => slos.push((source.clone(), d.metadata.name, d.spec)),
                _ => {}
            }
        }
    }
    let mut defs = Vec::new();
    for (source, name, spec) in slos {
        let r = serde_yaml_ng::from_value::<OsSloSpec>(spec)
            .map_err(|e| e.to_string())
            .and_then(|spec| os_def(&name, spec, &slis, &source));
        match r {
            Ok(d) => defs.push(d),
            Err(e) => problems.push(SloProblem {
                name: name.clone(),
                service: None,
                objective: 0.0,
                message: format!("{source}: SLO {name:?}: {e}"),
            }),
        }
    }
    (defs, problems)
}

/// Read the `[slo_files] openslo` globs.
pub fn load_openslo_files(globs: &[String], base: Option<&Path>) -> (Vec<SloDef>, Vec<SloProblem>) {
    let mut problems = Vec::new();
    let files = expand_globs(globs, base, "openslo", &mut problems);
    let texts = read_all(files, &mut problems);
    let (defs, p) = parse_openslo(&texts);
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
