//! SLOs as code for the Prometheus provider: `[[slo]]` entries of the
//! config and Sloth `prometheus/v1` spec files (`[slo_files] sloth`), read
//! as they are. A problem in one file or one SLO becomes an [`SloProblem`]
//! that names the file (and line where the YAML parser gives it); it never
//! hides the other SLOs.
//! OpenSLO files (`[slo_files] openslo`) are read the same way. Both globs
//! go to one reader, which tells the forms apart by their content (see
//! `files`): a Sloth glob may hold OpenSLO files and the other way round,
//! as Sloth itself reads both.
//!
//! The parts: this file holds the definitions ([`SloDef`], [`Sli`],
//! [`SloProblem`]), the PromQL helpers, the `[[slo]]` entries of the config,
//! finding the spec files and [`for_provider`], which puts them together;
//! `files` splits files into objects and hands each to `sloth` (Sloth
//! specs and CRDs) or `openslo` (OpenSLO objects); `locate` finds lines
//! and words messages.

mod files;
mod locate;
mod openslo;
mod sloth;

pub use files::parse_files;
pub use locate::humanize;

pub use openslo::{load_openslo_files, parse_openslo};
pub use sloth::{load_sloth_files, parse_sloth};

use crate::config::{Config, ProviderKind, SloConfig, parse_duration};
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
    /// The window the file gives, when it gives one.
    pub window: Option<String>,
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

pub(super) fn window_of(window: &str) -> Result<(String, f64), String> {
    let d = parse_duration(window)?;
    let secs = d.as_secs();
    if secs < 300 {
        return Err(format!("window {window:?} is shorter than 5m"));
    }
    Ok((promql_duration(secs), secs as f64 / 86_400.0))
}

pub(super) fn check_objective(objective: f64) -> Result<(), String> {
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
                window: Some(s.window.clone()),
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

/// Expand globs (relative ones against `base`) into sorted, unique files.
pub(super) fn expand_globs(
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
                        Err(e) => problems.push(files::file_problem(
                            g,
                            format!("[slo_files] {what} {g:?}: {e}"),
                        )),
                    }
                }
                if matched == 0 {
                    problems.push(files::file_problem(
                        g,
                        format!(
                            "[slo_files] {what} glob {g:?} matches no file (looked for {pattern:?})"
                        ),
                    ));
                }
            }
            Err(e) => problems.push(files::file_problem(
                g,
                format!("[slo_files] {what} glob {g:?}: {e}"),
            )),
        }
    }
    crate::order::sort(&mut files);
    files.dedup();
    files
}

/// Read every file; one that cannot be read becomes a problem.
pub(super) fn read_all(
    files: Vec<PathBuf>,
    problems: &mut Vec<SloProblem>,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for f in files {
        let source = f.to_string_lossy().into_owned();
        match std::fs::read_to_string(&f) {
            Ok(text) => out.push((source, text)),
            Err(e) => problems.push(files::file_problem(
                &source,
                format!("{source}: cannot read: {e}"),
            )),
        }
    }
    out
}

/// Every SLO of the `[slo_files]` globs, read together (an OpenSLO
/// `indicatorRef` may name an SLI in another file).
pub fn load_spec_files(cfg: &Config) -> (Vec<SloDef>, Vec<SloProblem>) {
    let base = cfg.base_dir.as_deref();
    let mut problems = Vec::new();
    let mut files = expand_globs(&cfg.slo_files.sloth, base, "sloth", &mut problems);
    files.extend(expand_globs(
        &cfg.slo_files.openslo,
        base,
        "openslo",
        &mut problems,
    ));
    crate::order::sort(&mut files);
    files.dedup();
    let texts = read_all(files, &mut problems);
    let (defs, p) = parse_files(&texts);
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
        let (d, p) = load_spec_files(cfg);
        defs.extend(d);
        problems.extend(p);
    }
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let mut unique = Vec::with_capacity(defs.len());
    for d in defs {
        if let Some(first) = seen.get(&d.name) {
            problems.push(SloProblem {
                name: format!("{} ({})", d.name, d.source),
                service: d.service.clone(),
                objective: d.objective,
                window: Some(d.window.clone()),
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
