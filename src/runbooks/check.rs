//! `sitrep runbook check [PATH…]`: lint runbook files for a team's CI.
//!
//! Each fault names `file:line`. Checked:
//! - the file parses (front matter, dates, severities, id);
//! - the front matter is complete: `title`, `services` (or the `process`
//!   tag), `severity`, `tags`, `owner`, `last_reviewed`, `rto`, `rpo`;
//! - `last_reviewed` is no older than `review_every` (default 90 days)
//!   before *today*, which the caller passes in (tests inject it);
//! - every `sitrep` action parses and names only placeholders sitrep binds;
//! - code blocks name only placeholders sitrep binds, carry only known
//!   markers (`run`, `on=HOST`, `interactive`), and a `run` block is a
//!   shell block for this machine that starts with `set -eu` and holds no
//!   interactive command and no `<LIKE_THIS>` value;
//! - relative links resolve (a file beside the runbook, or a runbook id);
//! - with a config: every literal flag, service and provider an action or
//!   the front matter names exists in it;
//! - no two files share an id.

use super::bind;
use super::{Block, Runbook, Source, parse_runbook};
use crate::config::Config;
use crate::ops::WriteOp;
use chrono::NaiveDate;
use pulldown_cmark::{Event, Options, Parser, Tag};
use std::path::{Path, PathBuf};

/// One fault, `path:line: message`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    pub path: String,
    /// 1-based; 0 when the file as a whole is at fault.
    pub line: usize,
    pub message: String,
    /// Only the review date is at fault (`config check` warns about it).
    pub stale: bool,
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}: {}", self.path, self.line, self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// What a check compares against.
#[derive(Clone, Copy, Debug)]
pub struct CheckOptions<'a> {
    /// The day staleness is measured from.
    pub today: NaiveDate,
    /// With a config, literal flags, services and providers must exist in it.
    pub config: Option<&'a Config>,
}

/// The result of checking a set of files.
#[derive(Clone, Debug, Default)]
pub struct CheckReport {
    pub files: usize,
    pub faults: Vec<Fault>,
}

/// The `*.md` files a path names: the file itself, or those directly in a
/// directory (file-name order). A path that is neither is a fault.
fn expand(paths: &[PathBuf], faults: &mut Vec<Fault>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut files: Vec<PathBuf> = match std::fs::read_dir(p) {
                Ok(rd) => rd
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|f| f.is_file() && f.extension().is_some_and(|x| x == "md"))
                    .collect(),
                Err(e) => {
                    faults.push(Fault {
                        path: p.display().to_string(),
                        line: 0,
                        message: format!("cannot read the directory: {e}"),
                        stale: false,
                    });
                    continue;
                }
            };
            crate::order::sort(&mut files);
            out.extend(files);
        } else if p.is_file() {
            out.push(p.clone());
        } else {
            faults.push(Fault {
                path: p.display().to_string(),
                line: 0,
                message: "no such file or directory".into(),
                stale: false,
            });
        }
    }
    out
}

/// Check files and directories on disk.
pub fn check_paths(paths: &[PathBuf], opts: &CheckOptions) -> CheckReport {
    let mut report = CheckReport::default();
    let files = expand(paths, &mut report.faults);
    let mut texts = Vec::new();
    for f in &files {
        let shown = f.display().to_string();
        match std::fs::metadata(f) {
            Ok(m) if m.len() > super::MAX_BYTES as u64 => {
                report.faults.push(Fault {
                    path: shown,
                    line: 0,
                    message: format!("larger than {} KiB", super::MAX_BYTES / 1024),
                    stale: false,
                });
                continue;
            }
            Err(e) => {
                report.faults.push(Fault {
                    path: shown,
                    line: 0,
                    message: e.to_string(),
                    stale: false,
                });
                continue;
            }
            Ok(_) => {}
        }
        match std::fs::read(f) {
            Ok(bytes) => texts.push((
                shown,
                f.parent().map(Path::to_path_buf),
                String::from_utf8_lossy(&bytes).into_owned(),
            )),
            Err(e) => report.faults.push(Fault {
                path: shown,
                line: 0,
                message: e.to_string(),
                stale: false,
            }),
        }
    }
    let inputs: Vec<Input> = texts
        .iter()
        .map(|(p, d, t)| Input {
            path: p,
            dir: d.as_deref(),
            text: t,
        })
        .collect();
    let r = check_texts(&inputs, opts);
    report.files = r.files;
    report.faults.extend(r.faults);
    report
}

/// One file to check: its name (as shown), its directory (for links),
/// its text.
#[derive(Clone, Copy, Debug)]
pub struct Input<'a> {
    pub path: &'a str,
    pub dir: Option<&'a Path>,
    pub text: &'a str,
}

/// Check runbook texts (the bundle, or files already read).
pub fn check_texts(inputs: &[Input], opts: &CheckOptions) -> CheckReport {
    let mut report = CheckReport {
        files: inputs.len(),
        faults: Vec::new(),
    };
    let mut parsed: Vec<(Input, Runbook)> = Vec::new();
    for inp in inputs {
        let file_name = Path::new(inp.path)
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        match parse_runbook(inp.text, inp.path, Source::Local, &file_name) {
            Ok(rb) => parsed.push((*inp, rb)),
            Err(b) => report.faults.push(broken_fault(inp.path, b.error.as_str())),
        }
    }
    // Ids a link may name: the checked files and the bundle.
    let mut ids: Vec<String> = parsed
        .iter()
        .map(|(_, rb)| rb.id.as_str().to_string())
        .collect();
    ids.extend(
        super::BUNDLED
            .iter()
            .map(|(name, _)| name.trim_end_matches(".md").to_string()),
    );
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for (inp, rb) in &parsed {
        if let Some((_, first)) = seen.iter().find(|(id, _)| *id == rb.id.as_str()) {
            report.faults.push(Fault {
                path: inp.path.to_string(),
                line: fm_line(inp.text, "id"),
                message: format!("id {:?} is also the id of {first}", rb.id.as_str()),
                stale: false,
            });
        } else {
            seen.push((rb.id.as_str(), inp.path));
        }
        check_one(inp, rb, &ids, opts, &mut report.faults);
    }
    report
}

/// A [`super::Broken`] error (`path:line[:col]: message`) as a fault.
fn broken_fault(path: &str, error: &str) -> Fault {
    let rest = error.strip_prefix(path).unwrap_or(error);
    let rest = rest.strip_prefix(':').unwrap_or(rest);
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let line = digits.parse().unwrap_or(0);
    let message = if line > 0 {
        let r = &rest[digits.len()..];
        let r = r.strip_prefix(':').unwrap_or(r);
        // Drop a column number.
        let col: String = r.chars().take_while(char::is_ascii_digit).collect();
        let r = if col.is_empty() {
            r
        } else {
            r[col.len()..].strip_prefix(':').unwrap_or(&r[col.len()..])
        };
        r.trim().to_string()
    } else {
        rest.trim().to_string()
    };
    Fault {
        path: path.to_string(),
        line,
        message,
        stale: false,
    }
}

/// The 1-based file line of front-matter key `key` (1 when absent).
fn fm_line(text: &str, key: &str) -> usize {
    let prefix = format!("{key}:");
    text.lines()
        .take_while({
            let mut dashes = 0;
            move |l| {
                if l.trim_end() == "---" {
                    dashes += 1;
                }
                dashes < 2 || l.trim_end() != "---"
            }
        })
        .position(|l| l.starts_with(&prefix))
        .map(|i| i + 1)
        .unwrap_or(1)
}

/// Words that make a shell line prompt or take over the terminal.
fn interactive_reason(line: &str) -> Option<&'static str> {
    let l = line.trim();
    let words: Vec<&str> = l.split_whitespace().collect();
    let has = |w: &str| words.contains(&w);
    if words.first() == Some(&"psql") && !has("-c") && !has("-f") && !has("--command") {
        return Some("psql without -c or -f opens a prompt");
    }
    if words.first() == Some(&"read") {
        return Some("read waits for input");
    }
    if has("exec") && (has("-it") || has("-ti")) {
        return Some("exec -it opens a terminal");
    }
    if l.starts_with("vault login") {
        return Some("vault login prompts");
    }
    if has("--manual") {
        return Some("--manual prompts");
    }
    if l.starts_with("gh issue create") && !has("-b") && !has("--body") && !has("--body-file") {
        return Some("gh issue create without --body prompts");
    }
    if matches!(
        words.first(),
        Some(&("vi" | "vim" | "nano" | "less" | "more" | "top" | "htop"))
    ) {
        return Some("it takes over the terminal");
    }
    None
}

fn check_one(inp: &Input, rb: &Runbook, ids: &[String], opts: &CheckOptions, out: &mut Vec<Fault>) {
    let fault = |line: usize, message: String| Fault {
        path: inp.path.to_string(),
        line,
        message,
        stale: false,
    };
    // Front matter complete.
    let process = rb.tags.iter().any(|t| t.as_str() == "process");
    let missing: Vec<&str> = [
        ("services", rb.services.is_empty() && !process),
        ("severity", rb.severity.is_empty()),
        ("tags", rb.tags.is_empty()),
        ("owner", rb.owner.is_none()),
        ("last_reviewed", rb.last_reviewed.is_none()),
        ("rto", rb.rto.is_none()),
        ("rpo", rb.rpo.is_none()),
    ]
    .into_iter()
    .filter(|(_, m)| *m)
    .map(|(k, _)| k)
    .collect();
    if !missing.is_empty() {
        out.push(fault(
            1,
            format!("front matter lacks {}", missing.join(", ")),
        ));
    }
    // Staleness against the injected day.
    if let Some(d) = rb.last_reviewed {
        let age = (opts.today - d).num_days();
        if age > rb.review_days() {
            out.push(Fault {
                stale: true,
                ..fault(
                    fm_line(inp.text, "last_reviewed"),
                    format!(
                        "last reviewed {d}, {age} days ago: review it (review_every is {} days)",
                        rb.review_days()
                    ),
                )
            });
        } else if age < 0 {
            out.push(fault(
                fm_line(inp.text, "last_reviewed"),
                format!("last_reviewed {d} is in the future"),
            ));
        }
    }
    // Steps and blocks.
    if rb.steps.is_empty() {
        out.push(fault(rb.body_line, "no `##` step".into()));
    }
    for s in &rb.steps {
        for b in &s.blocks {
            match b {
                Block::Action {
                    line,
                    action,
                    error,
                    ..
                } => {
                    if let Some(e) = error {
                        // The parse error names the line already; keep the message.
                        let msg = e.as_str();
                        let msg = msg
                            .split_once(": ")
                            .filter(|(p, _)| p.starts_with("line "))
                            .map(|(_, m)| m)
                            .unwrap_or(msg);
                        out.push(fault(line + 1, format!("action: {msg}")));
                    }
                    if let (Some(a), Some(cfg)) = (action, opts.config) {
                        check_literals(&a.op, cfg, *line + 1, &fault, out);
                    }
                }
                Block::Code {
                    lang,
                    text,
                    attrs,
                    run,
                    host,
                    interactive,
                    line,
                } => {
                    for n in bind::unknown_in(text.as_str()) {
                        out.push(fault(
                            *line,
                            format!(
                                "{{{n}}} is not a placeholder sitrep binds ({})",
                                bind::known_list()
                            ),
                        ));
                    }
                    for a in attrs {
                        let a = a.as_str();
                        if !(a == "run" || a == "interactive" || a.starts_with("on=")) {
                            out.push(fault(
                                *line,
                                format!("unknown block marker {a:?} (run, on=HOST, interactive)"),
                            ));
                        }
                    }
                    if host.as_ref().is_some_and(|h| h.is_empty()) {
                        out.push(fault(*line, "on= names no host".into()));
                    }
                    if *run {
                        if host.is_some() {
                            out.push(fault(
                                *line,
                                "a block for another host (on=) cannot be marked run".into(),
                            ));
                        }
                        if *interactive {
                            out.push(fault(
                                *line,
                                "an interactive block cannot be marked run".into(),
                            ));
                        }
                        if !matches!(lang.as_str(), "sh" | "bash") {
                            out.push(fault(
                                *line,
                                format!("only sh blocks can be marked run, not {lang:?}"),
                            ));
                        }
                        let first = text
                            .as_str()
                            .lines()
                            .map(str::trim)
                            .find(|l| !l.is_empty() && !l.starts_with('#'));
                        if !first.is_some_and(|l| l.starts_with("set -eu")) {
                            out.push(fault(
                                *line,
                                "a runnable block starts with `set -eu`".into(),
                            ));
                        }
                        if let Some(p) = super::walk::angle_placeholder(text.as_str()) {
                            out.push(fault(
                                *line,
                                format!("a runnable block cannot hold {p}: sitrep never runs it"),
                            ));
                        }
                        for (i, l) in text.as_str().lines().enumerate() {
                            if let Some(why) = interactive_reason(l) {
                                out.push(fault(
                                    line + 1 + i,
                                    format!("runnable block holds an interactive command: {why}"),
                                ));
                            }
                        }
                    }
                }
            }
        }
    }
    // Front-matter services against the config.
    if let Some(cfg) = opts.config {
        for s in &rb.services {
            if !cfg.service.iter().any(|c| c.name == s.as_str()) {
                out.push(fault(
                    fm_line(inp.text, "services"),
                    format!(
                        "service {:?} is not a [[service]] of the config",
                        s.as_str()
                    ),
                ));
            }
        }
    }
    // Links.
    check_links(inp, rb, ids, &fault, out);
}

fn check_literals(
    op: &WriteOp,
    cfg: &Config,
    line: usize,
    fault: &dyn Fn(usize, String) -> Fault,
    out: &mut Vec<Fault>,
) {
    let literal = |s: &str| bind::find(s).is_empty();
    let provider = match op {
        WriteOp::FlagSet { provider, .. }
        | WriteOp::Rollback { provider, .. }
        | WriteOp::IncidentAck { provider, .. }
        | WriteOp::IncidentResolve { provider, .. }
        | WriteOp::IncidentNote { provider, .. }
        | WriteOp::SilenceCreate { provider, .. } => provider.as_deref(),
        _ => None,
    };
    if let Some(p) = provider
        && literal(p)
        && cfg.provider_named(p).is_none()
    {
        out.push(fault(line, format!("provider {p:?} is not in the config")));
    }
    match op {
        WriteOp::FlagSet { key, .. } if literal(key) => {
            let known = cfg
                .service
                .iter()
                .any(|s| s.flags.iter().any(|f| f == key) || s.kill_switch.as_deref() == Some(key));
            if !known {
                out.push(fault(
                    line,
                    format!(
                        "flag {key:?} is not in the config (no [[service]] lists it in flags or kill_switch)"
                    ),
                ));
            }
        }
        WriteOp::Rollback { service, .. }
            if literal(service) && !cfg.service.iter().any(|s| &s.name == service) =>
        {
            out.push(fault(
                line,
                format!("service {service:?} is not a [[service]] of the config"),
            ));
        }
        _ => {}
    }
}

fn check_links(
    inp: &Input,
    rb: &Runbook,
    ids: &[String],
    fault: &dyn Fn(usize, String) -> Fault,
    out: &mut Vec<Fault>,
) {
    let body = rb.body.as_str();
    let starts: Vec<usize> = std::iter::once(0)
        .chain(body.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let line_of = |off: usize| starts.partition_point(|&s| s <= off) + rb.body_line - 1;
    let opts = Options::ENABLE_TABLES | Options::ENABLE_TASKLISTS;
    for (ev, range) in Parser::new_ext(body, opts).into_offset_iter() {
        let Event::Start(Tag::Link { dest_url, .. }) = ev else {
            continue;
        };
        let url = dest_url.as_ref();
        if url.is_empty() {
            out.push(fault(line_of(range.start), "link with no target".into()));
            continue;
        }
        if url.starts_with('#') || url.contains("://") || url.starts_with("mailto:") {
            continue;
        }
        let target = url.split(['#', '?']).next().unwrap_or(url);
        let exists_file = inp.dir.is_some_and(|d| d.join(target).exists());
        let stem = target
            .rsplit('/')
            .next()
            .unwrap_or(target)
            .trim_end_matches(".md");
        if !exists_file && !ids.iter().any(|i| i == stem) {
            out.push(fault(
                line_of(range.start),
                format!("link {target:?} names no file beside the runbook and no runbook id"),
            ));
        }
    }
}

/// Check the runbooks compiled into the binary.
pub fn check_bundled(opts: &CheckOptions) -> CheckReport {
    let paths: Vec<String> = super::BUNDLED
        .iter()
        .map(|(name, _)| format!("<bundled>/{name}"))
        .collect();
    let inputs: Vec<Input> = super::BUNDLED
        .iter()
        .zip(&paths)
        .map(|((_, text), path)| Input {
            path,
            dir: None,
            text,
        })
        .collect();
    check_texts(&inputs, opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_bundle_passes_until_its_review_is_due() {
        // Measured from the bundle's own review dates, not a frozen day:
        // the bundle passes on the day after its newest review and within
        // each runbook's review interval.
        let cat = super::super::Catalog::bundled();
        let newest = cat
            .runbooks
            .iter()
            .filter_map(|r| r.last_reviewed)
            .max()
            .unwrap();
        let r = check_bundled(&CheckOptions {
            today: newest,
            config: None,
        });
        let shown: Vec<String> = r.faults.iter().map(ToString::to_string).collect();
        assert!(shown.is_empty(), "{}", shown.join("\n"));
        assert_eq!(r.files, super::super::BUNDLED.len());
        // A year later every runbook is due, and the fault names the line.
        let late = check_bundled(&CheckOptions {
            today: newest + chrono::Days::new(366),
            config: None,
        });
        assert_eq!(late.faults.len(), super::super::BUNDLED.len());
        assert!(late.faults.iter().all(|f| f.stale && f.line > 1));
        let _ = day("2026-01-01");
    }
}
