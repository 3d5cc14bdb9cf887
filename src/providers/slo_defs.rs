//! SLOs as code for the Prometheus provider: `[[slo]]` entries of the
//! config and Sloth `prometheus/v1` spec files (`[slo_files] sloth`), read
//! as they are. A problem in one file or one SLO becomes an [`SloProblem`]
//! that names the file (and line where the YAML parser gives it); it never
//! hides the other SLOs.

use crate::config::{Config, ProviderKind, SloConfig, parse_duration};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Sloth's default SLO period (`--default-slo-period`): the spec itself has none.
pub const SLOTH_DEFAULT_PERIOD: &str = "30d";

/// Where an SLO's error ratio comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum Sli {
    /// Error and total queries with `{{.window}}`; ratio = errors ÷ total.
    Events { errors: String, total: String },
    /// A query that already is a 0–1 error ratio, with `{{.window}}`.
    Raw { error_ratio: String },
    /// Sloth's recording rules (`slo:sli_error:ratio_rate<W>`), selected by
    /// these label matchers, e.g. `sloth_id="checkout-availability"`.
    SlothRules { selector: String },
    /// A Sloth spec SLO: the recording rules when Sloth's rules for
    /// `sloth_id` are loaded on the server (`sloth_slo_info` exists), else
    /// the spec's own queries.
    SlothAuto {
        sloth_id: String,
        fallback: Box<Sli>,
    },
}

/// One SLO the Prometheus provider evaluates.
#[derive(Clone, Debug, PartialEq)]
pub struct SloDef {
    pub name: String,
    pub service: Option<String>,
    /// Percent, e.g. 99.9.
    pub objective: f64,
    /// As configured, e.g. "30d".
    pub window: String,
    /// The window as a PromQL duration, e.g. "30d" or "90000s".
    pub window_promql: String,
    pub window_days: f64,
    pub sli: Sli,
    /// "config" or the spec file path.
    pub source: String,
}

/// An SLO (or a whole file) that could not be read.
#[derive(Clone, Debug, PartialEq)]
pub struct SloProblem {
    /// The SLO name when known, else the file name.
    pub name: String,
    pub service: Option<String>,
    pub objective: f64,
    pub message: String,
}

/// Replace Sloth's Go-template `{{.window}}` (spaces allowed inside the
/// braces) with a PromQL duration.
pub fn subst_window(template: &str, window: &str) -> String {
    let mut out = String::with_capacity(template.len() + 8);
    let mut rest = template;
    while let Some(i) = rest.find("{{") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        match after.find("}}") {
            Some(j) if after[..j].trim() == ".window" => {
                out.push_str(window);
                rest = &after[j + 2..];
            }
            _ => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A PromQL label-value string literal.
pub fn promql_str(v: &str) -> String {
    let mut s = String::with_capacity(v.len() + 2);
    s.push('"');
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

/// A duration as PromQL writes it: whole days as `Nd`, whole hours as
/// `Nh`, else seconds.
pub fn promql_duration(secs: u64) -> String {
    if secs > 0 && secs.is_multiple_of(86_400) {
        format!("{}d", secs / 86_400)
    } else if secs > 0 && secs.is_multiple_of(3_600) {
        format!("{}h", secs / 3_600)
    } else {
        format!("{secs}s")
    }
}

fn window_of(window: &str) -> Result<(String, f64), String> {
    let d = parse_duration(window)?;
    let secs = d.as_secs();
    if secs < 300 {
        return Err(format!("window {window:?} is shorter than 5m"));
    }
    Ok((promql_duration(secs), secs as f64 / 86_400.0))
}

fn check_objective(objective: f64) -> Result<(), String> {
    if objective.is_finite() && objective > 0.0 && objective < 100.0 {
        Ok(())
    } else {
        Err(format!(
            "objective {objective} must be a percentage between 0 and 100 (e.g. 99.9)"
        ))
    }
}

/// The `[[slo]]` entries that name provider `provider`.
///
/// Rule: `sloth_id` set → Sloth's recording rules selected by
/// `sloth_id`; else `errors` + `total` → raw queries. Both missing is a
/// problem for that SLO only.
pub fn from_config(cfg: &Config, provider: &str) -> (Vec<SloDef>, Vec<SloProblem>) {
    let mut defs = Vec::new();
    let mut problems = Vec::new();
    for s in cfg.slo.iter().filter(|s| s.provider == provider) {
        match config_def(s) {
            Ok(d) => defs.push(d),
            Err(message) => problems.push(SloProblem {
                name: s.name.clone(),
                service: s.service.clone(),
                objective: s.objective,
                message: format!("[[slo]] {:?}: {message}", s.name),
            }),
        }
    }
    (defs, problems)
}

fn config_def(s: &SloConfig) -> Result<SloDef, String> {
    check_objective(s.objective)?;
    let (window_promql, window_days) = window_of(&s.window)?;
    let sli = match (&s.sloth_id, &s.errors, &s.total) {
        (Some(id), _, _) => Sli::SlothRules {
            selector: format!("sloth_id={}", promql_str(id)),
        },
        (None, Some(e), Some(t)) => Sli::Events {
            errors: e.clone(),
            total: t.clone(),
        },
        (None, _, _) => {
            return Err(
                "needs `errors` and `total` queries (with {{.window}}) or a `sloth_id`".into(),
            );
        }
    };
    Ok(SloDef {
        name: s.name.clone(),
        service: s.service.clone(),
        objective: s.objective,
        window: s.window.clone(),
        window_promql,
        window_days,
        sli,
        source: "config".into(),
    })
}

// ---------------------------------------------------------------------------
// Sloth prometheus/v1 (slok/sloth pkg/prometheus/api/v1). Unknown keys are
// ignored so newer specs still load.

#[derive(Deserialize)]
struct SlothSpec {
    version: String,
    service: String,
    #[serde(default)]
    slos: Vec<SlothSlo>,
}

#[derive(Deserialize)]
struct SlothSlo {
    name: String,
    objective: f64,
    sli: SlothSli,
}

#[derive(Deserialize)]
struct SlothSli {
    events: Option<SlothEvents>,
    raw: Option<SlothRaw>,
    plugin: Option<serde_yaml_ng::Value>,
}

#[derive(Deserialize)]
struct SlothEvents {
    error_query: String,
    total_query: String,
}

#[derive(Deserialize)]
struct SlothRaw {
    error_ratio_query: String,
}

fn yaml_error(source: &str, e: &serde_yaml_ng::Error) -> String {
    match e.location() {
        Some(l) => format!("{source}:{}:{}: {e}", l.line(), l.column()),
        None => format!("{source}: {e}"),
    }
}

/// Parse one Sloth spec file (one or more YAML documents). `source` names
/// the file in messages. SLO names are Sloth's ids: `{service}-{slo name}`.
pub fn parse_sloth(text: &str, source: &str) -> (Vec<SloDef>, Vec<SloProblem>) {
    let mut defs = Vec::new();
    let mut problems = Vec::new();
    let file_problem = |message: String| SloProblem {
        name: source.to_string(),
        service: None,
        objective: 0.0,
        message,
    };
    let (window_promql, window_days) = match window_of(SLOTH_DEFAULT_PERIOD) {
        Ok(w) => w,
        Err(e) => return (defs, vec![file_problem(e)]),
    };
    for doc in serde_yaml_ng::Deserializer::from_str(text) {
        let value = match serde_yaml_ng::Value::deserialize(doc) {
            Ok(v) => v,
            Err(e) => {
                problems.push(file_problem(yaml_error(source, &e)));
                // The parser cannot resume after a syntax error.
                break;
            }
        };
        if value.is_null() {
            continue; // an empty document (`---` at the end)
        }
        if value.get("apiVersion").is_some() && value.get("version").is_none() {
            // A Kubernetes PrometheusServiceLevel CRD or an OpenSLO file.
            problems.push(file_problem(format!(
                "{source}: not a Sloth `version: \"prometheus/v1\"` spec (apiVersion {:?})",
                value
                    .get("apiVersion")
                    .and_then(|v| v.as_str())
                    .unwrap_or("?")
            )));
            continue;
        }
        let spec: SlothSpec = match serde_yaml_ng::from_value(value) {
            Ok(s) => s,
            Err(e) => {
                problems.push(file_problem(yaml_error(source, &e)));
                continue;
            }
        };
        if spec.version != "prometheus/v1" {
            problems.push(file_problem(format!(
                "{source}: version {:?} is not supported (expected \"prometheus/v1\")",
                spec.version
            )));
            continue;
        }
        if spec.service.trim().is_empty() {
            problems.push(file_problem(format!("{source}: `service` is empty")));
            continue;
        }
        for slo in spec.slos {
            let id = format!("{}-{}", spec.service, slo.name);
            let problem = |message: String| SloProblem {
                name: id.clone(),
                service: Some(spec.service.clone()),
                objective: slo.objective,
                message: format!("{source}: SLO {:?}: {message}", slo.name),
            };
            if let Err(e) = check_objective(slo.objective) {
                problems.push(problem(e));
                continue;
            }
            let fallback = match (slo.sli.events, slo.sli.raw, slo.sli.plugin) {
                (Some(ev), None, None) => Sli::Events {
                    errors: ev.error_query,
                    total: ev.total_query,
                },
                (None, Some(raw), None) => Sli::Raw {
                    error_ratio: raw.error_ratio_query,
                },
                (None, None, Some(_)) => {
                    problems.push(problem(
                        "SLI plugins are not supported; use `events` or `raw`, or load Sloth's recording rules and set `sloth_id` in an [[slo]] entry".into(),
                    ));
                    continue;
                }
                _ => {
                    problems.push(problem(
                        "`sli` needs exactly one of `events`, `raw` or `plugin`".into(),
                    ));
                    continue;
                }
            };
            defs.push(SloDef {
                name: id.clone(),
                service: Some(spec.service.clone()),
                objective: slo.objective,
                window: SLOTH_DEFAULT_PERIOD.into(),
                window_promql: window_promql.clone(),
                window_days,
                sli: Sli::SlothAuto {
                    sloth_id: id,
                    fallback: Box::new(fallback),
                },
                source: source.to_string(),
            });
        }
    }
    (defs, problems)
}

/// Expand the `[slo_files] sloth` globs (relative ones against `base`)
/// and parse every file, sorted by path.
pub fn load_sloth_files(globs: &[String], base: Option<&Path>) -> (Vec<SloDef>, Vec<SloProblem>) {
    let mut defs = Vec::new();
    let mut problems = Vec::new();
    let files = expand_globs(globs, base, "sloth", &mut problems);
    for (source, text) in read_all(files, &mut problems) {
        let (d, p) = parse_sloth(&text, &source);
        defs.extend(d);
        problems.extend(p);
    }
    (defs, problems)
}

// ---------------------------------------------------------------------------
// OpenSLO v1 (`apiVersion: openslo/v1`, kind SLO, inline `indicator` or an
// `indicatorRef` to a kind SLI in any of the files). Supported: ratioMetric
// with `counter: true` over Prometheus sources (bad/total or good/total),
// `budgetingMethod: Occurrences`, one rolling time window in m/h/d/w.

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

/// Expand globs (relative ones against `base`) into sorted, unique files.
fn expand_globs(
    globs: &[String],
    base: Option<&Path>,
    what: &str,
    problems: &mut Vec<SloProblem>,
) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = Vec::new();
    for g in globs {
        let pattern = if Path::new(g).is_absolute() {
            g.clone()
        } else {
            match base {
                Some(b) => b.join(g).to_string_lossy().into_owned(),
                None => g.clone(),
            }
        };
        match glob::glob(&pattern) {
            Ok(paths) => {
                let mut matched = 0;
                for p in paths {
                    match p {
                        Ok(p) => {
                            matched += 1;
                            files.push(p);
                        }
                        Err(e) => problems.push(SloProblem {
                            name: g.clone(),
                            service: None,
                            objective: 0.0,
                            message: format!("[slo_files] {what} {g:?}: {e}"),
                        }),
                    }
                }
                if matched == 0 {
                    tracing::warn!("[slo_files] {what} glob {g:?} matched no file");
                }
            }
            Err(e) => problems.push(SloProblem {
                name: g.clone(),
                service: None,
                objective: 0.0,
                message: format!("[slo_files] {what} glob {g:?}: {e}"),
            }),
        }
    }
    files.sort();
    files.dedup();
    files
}

fn read_all(files: Vec<PathBuf>, problems: &mut Vec<SloProblem>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for f in files {
        let source = f.to_string_lossy().into_owned();
        match std::fs::read_to_string(&f) {
            Ok(text) => out.push((source, text)),
            Err(e) => problems.push(SloProblem {
                name: source.clone(),
                service: None,
                objective: 0.0,
                message: format!("{source}: cannot read: {e}"),
            }),
        }
    }
    out
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

/// Every SLO the Prometheus provider `provider` evaluates: its `[[slo]]`
/// entries, plus the Sloth and OpenSLO files when it is the first
/// Prometheus provider of the config (those files name no provider).
/// Duplicate names: the first one wins, the others are problems.
pub fn for_provider(cfg: &Config, provider: &str) -> (Vec<SloDef>, Vec<SloProblem>) {
    let (mut defs, mut problems) = from_config(cfg, provider);
    let first_prom = cfg
        .providers()
        .find(|p| p.kind == ProviderKind::Prometheus)
        .map(|p| p.name.as_str());
    if first_prom == Some(provider) {
        let base = cfg.base_dir.as_deref();
        if !cfg.slo_files.sloth.is_empty() {
            let (d, p) = load_sloth_files(&cfg.slo_files.sloth, base);
            defs.extend(d);
            problems.extend(p);
        }
        if !cfg.slo_files.openslo.is_empty() {
            let (d, p) = load_openslo_files(&cfg.slo_files.openslo, base);
            defs.extend(d);
            problems.extend(p);
        }
    }
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let mut unique = Vec::with_capacity(defs.len());
    for d in defs {
        if let Some(first) = seen.get(&d.name) {
            problems.push(SloProblem {
                name: format!("{} ({})", d.name, d.source),
                service: d.service.clone(),
                objective: d.objective,
                message: format!(
                    "{}: SLO {:?} is already defined in {first}; this one is ignored",
                    d.source, d.name
                ),
            });
            continue;
        }
        seen.insert(d.name.clone(), d.source.clone());
        unique.push(d);
    }
    (unique, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_template_is_substituted() {
        assert_eq!(
            subst_window(
                "sum(rate(x[{{.window}}])) / sum(rate(y[{{ .window }}]))",
                "5m"
            ),
            "sum(rate(x[5m])) / sum(rate(y[5m]))"
        );
        assert_eq!(subst_window("a{{.other}}b", "5m"), "a{{.other}}b");
        assert_eq!(
            subst_window("unclosed {{.window", "5m"),
            "unclosed {{.window"
        );
    }

    #[test]
    fn durations_and_strings() {
        assert_eq!(promql_duration(30 * 86_400), "30d");
        assert_eq!(promql_duration(7_200), "2h");
        assert_eq!(promql_duration(90_061), "90061s");
        assert_eq!(promql_str("a\"b\\c"), "\"a\\\"b\\\\c\"");
    }

    const SPEC: &str = r#"
version: "prometheus/v1"
service: "myservice"
labels:
  owner: "myteam"
slos:
  - name: "requests-availability"
    objective: 99.9
    description: "Common SLO based on availability for HTTP request responses."
    sli:
      events:
        error_query: sum(rate(http_request_duration_seconds_count{job="myservice",code=~"(5..|429)"}[{{.window}}]))
        total_query: sum(rate(http_request_duration_seconds_count{job="myservice"}[{{.window}}]))
    alerting:
      name: MyServiceHighErrorRate
      page_alert:
        labels:
          severity: pageteam
      ticket_alert:
        labels:
          severity: "slack"
  - name: "latency"
    objective: 99
    sli:
      raw:
        error_ratio_query: 1 - (sum(rate(ok[{{.window}}])) / sum(rate(all[{{.window}}])))
    alerting:
      name: Lat
  - name: "plugged"
    objective: 99
    sli:
      plugin:
        id: "sloth-common/kubernetes/apiserver/availability"
    alerting:
      name: P
---
version: "prometheus/v1"
service: "other"
slos:
  - name: "broken-objective"
    objective: 120
    sli: {raw: {error_ratio_query: "x"}}
"#;

    #[test]
    fn sloth_spec_reads_as_sloth_names_it() {
        let (defs, problems) = parse_sloth(SPEC, "slos/a.yaml");
        let names: Vec<_> = defs.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(
            names,
            ["myservice-requests-availability", "myservice-latency"]
        );
        assert_eq!(defs[0].objective, 99.9);
        assert_eq!(defs[0].window, "30d");
        assert_eq!(defs[0].window_days, 30.0);
        assert_eq!(defs[0].service.as_deref(), Some("myservice"));
        match &defs[0].sli {
            Sli::SlothAuto { sloth_id, fallback } => {
                assert_eq!(sloth_id, "myservice-requests-availability");
                assert!(matches!(**fallback, Sli::Events { .. }));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].message.contains("slos/a.yaml"));
        assert!(problems[0].message.contains("plugin"));
        assert_eq!(problems[0].name, "myservice-plugged");
        assert!(problems[1].message.contains("objective 120"));
        assert_eq!(problems[1].name, "other-broken-objective");
    }

    #[test]
    fn broken_yaml_names_file_and_line() {
        let text = "version: \"prometheus/v1\"\nservice: x\nslos:\n  - name: a\n    objective: [\n";
        let (defs, problems) = parse_sloth(text, "slos/bad.yaml");
        assert!(defs.is_empty());
        assert_eq!(problems.len(), 1);
        let m = &problems[0].message;
        assert!(m.starts_with("slos/bad.yaml:"), "{m}");
        assert!(
            m.split(':')
                .nth(1)
                .is_some_and(|l| l.parse::<u32>().is_ok()),
            "{m}"
        );
        // A missing required key.
        let (_, p) = parse_sloth("version: \"prometheus/v1\"\nslos: []\n", "s.yaml");
        assert!(p[0].message.contains("service"), "{:?}", p);
        let (_, p) = parse_sloth("version: \"prometheus/v2\"\nservice: a\n", "s.yaml");
        assert!(p[0].message.contains("prometheus/v2"), "{:?}", p);
    }

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

    #[test]
    fn config_rule_sloth_id_wins() {
        let cfg = crate::config::parse(
            r#"
[[provider]]
name = "prom"
kind = "prometheus"
base_url = "http://127.0.0.1:9"

[[slo]]
name = "a"
provider = "prom"
objective = 99.9
errors = 'sum(rate(e[{{.window}}]))'
total = 'sum(rate(t[{{.window}}]))'

[[slo]]
name = "b"
provider = "prom"
objective = 99.5
window = "28d"
sloth_id = "svc-b"

[[slo]]
name = "c"
provider = "prom"
objective = 99.5
"#,
            Path::new("c.toml"),
        )
        .unwrap();
        let (defs, problems) = for_provider(&cfg, "prom");
        assert_eq!(defs.len(), 2);
        assert!(matches!(defs[0].sli, Sli::Events { .. }));
        assert_eq!(
            defs[1].sli,
            Sli::SlothRules {
                selector: "sloth_id=\"svc-b\"".into()
            }
        );
        assert_eq!(defs[1].window_promql, "28d");
        assert_eq!(problems.len(), 1);
        assert!(problems[0].message.contains("\"c\""));
    }
}
