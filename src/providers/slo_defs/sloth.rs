//! Sloth specs (slok/sloth): the `version: "prometheus/v1"` form
//! (pkg/prometheus/api/v1) and the Kubernetes CRD form (`apiVersion:
//! sloth.slok.dev/v1`, `kind: PrometheusServiceLevel`, pkg/kubernetes/api/
//! sloth/v1), which holds the same fields in camelCase under `spec`. Both
//! give the same SLOs: Sloth's id `{service}-{slo name}`, its objective and
//! its queries. Unknown keys are ignored so newer specs still load. The
//! checks are Sloth's own (`sloth validate`): names, a non-empty service,
//! the objective, one SLI kind, `{{.window}}` in every query, an alert name
//! unless both alerts are disabled.

use super::files::{Obj, file_problem, parse_files};
use super::locate::Pos;
use super::{
    SLOTH_DEFAULT_PERIOD, Sli, SloDef, SloProblem, check_objective, expand_globs, read_all,
    subst_window, window_of,
};
use serde::Deserialize;
use std::path::Path;

#[derive(Deserialize)]
struct SlothSpec {
    version: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    slos: Vec<SlothSlo>,
}

#[derive(Deserialize)]
struct SlothCrd {
    kind: Option<String>,
    #[serde(default)]
    spec: Option<SlothCrdSpec>,
}

#[derive(Deserialize)]
struct SlothCrdSpec {
    #[serde(default)]
    service: String,
    #[serde(default)]
    slos: Vec<SlothSlo>,
}

#[derive(Deserialize)]
struct SlothSlo {
    name: String,
    objective: f64,
    #[serde(default)]
    sli: SlothSli,
    #[serde(default)]
    alerting: SlothAlerting,
}

#[derive(Deserialize, Default)]
struct SlothSli {
    events: Option<SlothEvents>,
    raw: Option<SlothRaw>,
    plugin: Option<serde_yaml_ng::Value>,
}

#[derive(Deserialize)]
struct SlothEvents {
    #[serde(alias = "errorQuery")]
    error_query: String,
    #[serde(alias = "totalQuery")]
    total_query: String,
}

#[derive(Deserialize)]
struct SlothRaw {
    #[serde(alias = "errorRatioQuery")]
    error_ratio_query: String,
}

#[derive(Deserialize, Default)]
struct SlothAlerting {
    #[serde(default)]
    name: Option<String>,
    #[serde(default, alias = "pageAlert")]
    page_alert: SlothAlert,
    #[serde(default, alias = "ticketAlert")]
    ticket_alert: SlothAlert,
}

#[derive(Deserialize, Default)]
struct SlothAlert {
    #[serde(default)]
    disable: bool,
}

/// Sloth's name rule: alphanumeric at both ends, `.`, `_` and `-` inside.
fn valid_name(n: &str) -> bool {
    let ok = |c: char| c.is_ascii_alphanumeric();
    n.chars().next().is_some_and(ok)
        && n.chars().last().is_some_and(ok)
        && n.chars().all(|c| ok(c) || matches!(c, '.' | '_' | '-'))
}

/// Parse one Sloth spec file (one or more YAML documents; an OpenSLO
/// document in it is read too, as Sloth does). `source` names the file in
/// messages. SLO names are Sloth's ids: `{service}-{slo name}`.
pub fn parse_sloth(text: &str, source: &str) -> (Vec<SloDef>, Vec<SloProblem>) {
    parse_files(&[(source.to_string(), text.to_string())])
}

/// A `version: ...` document.
pub(super) fn read_v1(obj: &Obj<'_>) -> (Vec<SloDef>, Vec<SloProblem>) {
    let spec: SlothSpec = match obj.typed() {
        Ok(s) => s,
        Err(m) => return (vec![], vec![file_problem(obj.source, m)]),
    };
    if spec.version != "prometheus/v1" {
        let pos = obj.pos(obj.start(), "version", None);
        return (
            vec![],
            vec![file_problem(
                obj.source,
                obj.msg(
                    pos,
                    &format!(
                        "version {:?} is not supported (expected \"prometheus/v1\")",
                        spec.version
                    ),
                ),
            )],
        );
    }
    read_slos(obj, &spec.service, spec.slos)
}

/// An `apiVersion: sloth.slok.dev/...` document.
pub(super) fn read_crd(obj: &Obj<'_>, api: &str) -> (Vec<SloDef>, Vec<SloProblem>) {
    let refuse = |pos: Pos, m: String| (vec![], vec![file_problem(obj.source, obj.msg(pos, &m))]);
    if api != "sloth.slok.dev/v1" {
        let pos = obj.pos(obj.start(), "apiVersion", None);
        return refuse(
            pos,
            format!("apiVersion {api:?} is not supported (expected \"sloth.slok.dev/v1\")"),
        );
    }
    let crd: SlothCrd = match obj.typed() {
        Ok(c) => c,
        Err(m) => return (vec![], vec![file_problem(obj.source, m)]),
    };
    match crd.kind.as_deref() {
        Some("PrometheusServiceLevel") => {}
        // Alert window settings (`--slo-period-windows-path`): no SLOs in it.
        Some("AlertWindows") => return (vec![], vec![]),
        other => {
            let pos = obj.pos(obj.start(), "kind", None);
            return refuse(
                pos,
                format!(
                    "kind {} of sloth.slok.dev/v1 holds no SLOs (expected PrometheusServiceLevel)",
                    other.map_or("(missing)".to_string(), |k| format!("{k:?}"))
                ),
            );
        }
    }
    let Some(spec) = crd.spec else {
        return refuse(obj.start(), "PrometheusServiceLevel has no `spec`".into());
    };
    read_slos(obj, &spec.service, spec.slos)
}

fn read_slos(obj: &Obj<'_>, service: &str, slos: Vec<SlothSlo>) -> (Vec<SloDef>, Vec<SloProblem>) {
    let mut defs = Vec::new();
    let mut problems = Vec::new();
    let service_pos = obj.pos(obj.start(), "service", None);
    if service.trim().is_empty() {
        problems.push(file_problem(
            obj.source,
            obj.msg(
                service_pos,
                "`service` is empty; Sloth needs a service name",
            ),
        ));
        return (defs, problems);
    }
    if !valid_name(service) {
        problems.push(file_problem(
            obj.source,
            obj.msg(
                service_pos,
                &format!(
                    "service {service:?}: a name must start and end with a letter or digit and hold only letters, digits, '.', '_' and '-'"
                ),
            ),
        ));
        return (defs, problems);
    }
    let (window_promql, window_days) = match window_of(SLOTH_DEFAULT_PERIOD) {
        Ok(w) => w,
        Err(e) => return (defs, vec![file_problem(obj.source, e)]),
    };
    let slos_pos = obj.pos(obj.start(), "slos", None);
    for slo in slos {
        let id = format!("{service}-{}", slo.name);
        let slo_pos = obj.pos(slos_pos, "name", Some(&slo.name));
        let problem = |pos: Pos, message: &str| SloProblem {
            name: id.clone(),
            service: Some(service.to_string()),
            objective: slo.objective,
            window: None,
            message: obj.msg(pos, &format!("SLO {:?}: {message}", slo.name)),
        };
        if !valid_name(&slo.name) {
            problems.push(problem(
                slo_pos,
                "a name must start and end with a letter or digit and hold only letters, digits, '.', '_' and '-'",
            ));
            continue;
        }
        if let Err(e) = check_objective(slo.objective) {
            problems.push(problem(obj.pos(slo_pos, "objective", None), &e));
            continue;
        }
        let sli_pos = obj.pos(slo_pos, "sli", None);
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
                    obj.pos(sli_pos, "plugin", None),
                    "SLI plugins are not supported; use `events` or `raw`, or load Sloth's recording rules and set `sloth_id` in an [[slo]] entry",
                ));
                continue;
            }
            _ => {
                problems.push(problem(
                    sli_pos,
                    "`sli` needs exactly one of `events`, `raw` or `plugin`",
                ));
                continue;
            }
        };
        let queries: Vec<&String> = match &fallback {
            Sli::Events { errors, total } => vec![errors, total],
            Sli::Raw { error_ratio } => vec![error_ratio],
            _ => vec![],
        };
        if let Some(q) = queries
            .iter()
            .find(|q| q.trim().is_empty() || subst_window(q, "1m") == q.as_str())
        {
            let what = if q.trim().is_empty() {
                "a query is empty".to_string()
            } else {
                format!(
                    "query {q:?} has no {{{{.window}}}} (Sloth fills in each burn-rate window there)"
                )
            };
            problems.push(problem(sli_pos, &what));
            continue;
        }
        let alerts_on = !(slo.alerting.page_alert.disable && slo.alerting.ticket_alert.disable);
        if alerts_on
            && slo
                .alerting
                .name
                .as_deref()
                .is_none_or(|n| n.trim().is_empty())
        {
            problems.push(problem(
                obj.pos(slo_pos, "alerting", None),
                "`alerting.name` is required unless both the page and the ticket alert are disabled",
            ));
            continue;
        }
        defs.push(SloDef {
            name: id.clone(),
            service: Some(service.to_string()),
            objective: slo.objective,
            window: SLOTH_DEFAULT_PERIOD.into(),
            window_promql: window_promql.clone(),
            window_days,
            sli: Sli::SlothAuto {
                sloth_id: id,
                fallback: Box::new(fallback),
            },
            source: obj.place(slo_pos),
        });
    }
    (defs, problems)
}

/// Expand the `[slo_files] sloth` globs (relative ones against `base`)
/// and parse every file, sorted by path.
pub fn load_sloth_files(globs: &[String], base: Option<&Path>) -> (Vec<SloDef>, Vec<SloProblem>) {
    let mut problems = Vec::new();
    let files = expand_globs(globs, base, "sloth", &mut problems);
    let texts = read_all(files, &mut problems);
    let (defs, p) = parse_files(&texts);
    problems.extend(p);
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
