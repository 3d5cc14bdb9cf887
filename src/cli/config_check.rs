//! `sitrep config check [--strict]`: everything that can be checked
//! without the network. Faults (exit 2): the config itself, `base_url`
//! schemes, zero durations, SLO spec files and `[[slo]]` entries, flagd
//! files, runbook directories. Token sources (env var set, keyring entry
//! present) are warnings, faults with `--strict`, so one config can be
//! linted in CI without its secrets. No token value is ever printed.

use crate::config::{Config, ProviderKind, SecretRef};
use crate::providers::flagd::Doc;
use crate::providers::slo_defs;
use crate::text::SafeText;
use std::path::Path;

/// What the check found: faults and warnings, each one line.
#[derive(Default, Debug)]
pub struct Report {
    pub faults: Vec<String>,
    pub warnings: Vec<String>,
}

/// The line of the config that holds `needle` (for `file:line:` prefixes).
fn line_of(text: &str, needle: &str) -> Option<usize> {
    text.lines().position(|l| l.contains(needle)).map(|i| i + 1)
}

fn at(path: &Path, text: &str, needle: &str, msg: String) -> String {
    match line_of(text, needle) {
        Some(l) => format!("{}:{l}: {msg}", path.display()),
        None => format!("{}: {msg}", path.display()),
    }
}

/// Whether a token reference resolves, without reading its value out.
fn token_present(r: &SecretRef) -> Result<(), String> {
    match r {
        SecretRef::Env(var) => match std::env::var_os(var) {
            Some(v) if !v.is_empty() => Ok(()),
            Some(_) => Err(format!("environment variable {var} is empty")),
            None => Err(format!("environment variable {var} is not set")),
        },
        SecretRef::Keyring(_) => {
            use crate::secrets::SecretSource;
            crate::secrets::SystemSecrets.get(r).map(drop)
        }
    }
}

/// Check a config already parsed from `path` (whose text is `text`).
pub fn check(
    cfg: &Config,
    path: &Path,
    text: &str,
    catalog_dirs: &[std::path::PathBuf],
    today: chrono::NaiveDate,
) -> Report {
    let mut r = Report::default();
    for p in cfg.providers() {
        let name = &p.name;
        let provider_line = format!("name = \"{name}\"");
        if let Some(b) = &p.base_url {
            match url::Url::parse(b) {
                Ok(u) if u.scheme() == "http" || u.scheme() == "https" => {}
                Ok(u) => r.faults.push(at(
                    path,
                    text,
                    b,
                    format!(
                        "provider {name}: base_url scheme {:?} is not http or https",
                        u.scheme()
                    ),
                )),
                Err(e) => r.faults.push(at(
                    path,
                    text,
                    b,
                    format!(
                        "provider {name}: base_url {:?} is not a URL ({e}); write it as https://host[:port]",
                        SafeText::line(b).as_str()
                    ),
                )),
            }
        }
        for (what, d) in [("poll", p.poll), ("timeout", p.timeout)] {
            if d.is_some_and(|d| d.is_zero()) {
                r.faults.push(at(
                    path,
                    text,
                    &provider_line,
                    format!("provider {name}: `{what}` must be longer than 0s"),
                ));
            }
        }
        if p.kind == ProviderKind::Flagd
            && let Some(f) = &p.path
        {
            let f = match (f.is_absolute(), cfg.base_dir.as_deref()) {
                (false, Some(b)) => b.join(f),
                _ => f.clone(),
            };
            match std::fs::read(&f) {
                Ok(bytes) => {
                    if let Err(e) = Doc::parse(name, &f, bytes) {
                        r.faults.push(format!("provider {name}: {}", e.detail));
                    }
                }
                Err(e) => r.faults.push(format!(
                    "provider {name}: {}: cannot read: {e}",
                    f.display()
                )),
            }
        }
        if p.kind.needs_token() || p.token.is_some() {
            let tr = p.token_ref();
            if let Err(e) = token_present(&tr) {
                r.warnings.push(at(
                    path,
                    text,
                    &provider_line,
                    format!("provider {name}: token: {e}"),
                ));
            }
        }
    }
    // SLOs: the [[slo]] entries of every Prometheus provider and the files.
    let proms: Vec<&str> = cfg
        .providers()
        .filter(|p| p.kind == ProviderKind::Prometheus)
        .map(|p| p.name.as_str())
        .collect();
    let has_files = !(cfg.slo_files.sloth.is_empty() && cfg.slo_files.openslo.is_empty());
    if proms.is_empty() && has_files {
        r.faults.push(at(
            path,
            text,
            "[slo_files]",
            "[slo_files] is set but no prometheus provider evaluates SLO files".into(),
        ));
    }
    for p in &proms {
        let (_, problems) = slo_defs::for_provider(cfg, p);
        r.faults.extend(problems.into_iter().map(|p| p.message));
    }
    if proms.is_empty() && has_files {
        let (_, problems) = slo_defs::load_spec_files(cfg);
        r.faults.extend(problems.into_iter().map(|p| p.message));
    }
    // Runbook directories.
    for d in catalog_dirs {
        if !d.is_dir() {
            r.faults.push(at(
                path,
                text,
                "dirs",
                format!("[runbooks] dirs: {} is not a directory", d.display()),
            ));
        }
    }
    // Every runbook in them, as `runbook check --config` sees it; a review
    // date past due is a warning here.
    let dirs: Vec<std::path::PathBuf> = catalog_dirs
        .iter()
        .filter(|d| d.is_dir())
        .cloned()
        .collect();
    if !dirs.is_empty() {
        let rep = crate::runbooks::check::check_paths(
            &dirs,
            &crate::runbooks::check::CheckOptions {
                today,
                config: Some(cfg),
            },
        );
        for f in rep.faults {
            let line = SafeText::line(&f.to_string()).as_str().to_string();
            if f.stale {
                r.warnings.push(line);
            } else {
                r.faults.push(line);
            }
        }
    }
    r
}
