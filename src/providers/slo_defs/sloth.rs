//! Sloth prometheus/v1 (slok/sloth pkg/prometheus/api/v1). Unknown keys are
//! ignored so newer specs still load.

use super::{
    SLOTH_DEFAULT_PERIOD, Sli, SloDef, SloProblem, check_objective, expand_globs, read_all,
    window_of, yaml_error,
};
use serde::Deserialize;
use std::path::Path;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
