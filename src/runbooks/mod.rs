//! Runbooks (SPEC §7): markdown with YAML front matter, bundled in the
//! binary, overridable from `./runbooks` and `[runbooks] dirs`.
//!
//! - loading and the model live here;
//! - [`action`] parses `sitrep` action blocks into `ops::WriteOp`s;
//! - `crate::present` turns a body into ratatui `Text` or plain text;
//! - [`progress`] keeps walk-mode progress in the data dir.
//!
//! Every string that leaves this module is `SafeText`: the raw file is
//! sanitized as a block when it is read, front-matter values are sanitized
//! again after YAML unescaping (`"\e"` is ESC in YAML), and the renderers
//! sanitize each piece of text markdown hands back (entities such as
//! `&#x1b;` decode to control characters).

pub mod action;
pub mod nesting;
pub mod progress;
pub mod walk;

use crate::config::ServiceConfig;
use crate::model::{Incident, Time};
use crate::text::SafeText;
use chrono::NaiveDate;
use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub use action::{Action, parse_action};
pub use progress::{Progress, load_progress};
pub use walk::Walk;

/// Largest runbook file read, in bytes.
pub const MAX_BYTES: usize = 1024 * 1024;
/// A runbook not reviewed for longer than this is stale.
pub const STALE_DAYS: i64 = 90;

/// The runbooks compiled into the binary: (file name, text).
pub const BUNDLED: [(&str, &str); 8] = [
    (
        "db-failover.md",
        include_str!("../../runbooks/db-failover.md"),
    ),
    (
        "auth-outage.md",
        include_str!("../../runbooks/auth-outage.md"),
    ),
    ("rollback.md", include_str!("../../runbooks/rollback.md")),
    (
        "kill-switch.md",
        include_str!("../../runbooks/kill-switch.md"),
    ),
    (
        "incident-command.md",
        include_str!("../../runbooks/incident-command.md"),
    ),
    ("disk-full.md", include_str!("../../runbooks/disk-full.md")),
    (
        "certificate-expiry.md",
        include_str!("../../runbooks/certificate-expiry.md"),
    ),
    (
        "replication-lag.md",
        include_str!("../../runbooks/replication-lag.md"),
    ),
];

/// Where a runbook came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Compiled into the binary.
    Bundled,
    /// `./runbooks` in the current directory.
    Local,
    /// A `[runbooks] dirs` entry.
    Config,
}

impl Source {
    pub fn label(self) -> &'static str {
        match self {
            Source::Bundled => "bundled",
            Source::Local => "local",
            Source::Config => "config",
        }
    }
}

/// A checkable task-list item of a step.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChecklistItem {
    /// 0-based within the step.
    pub index: u32,
    pub text: SafeText,
    /// Written as `[x]` in the file (progress does not start from it).
    pub checked_in_source: bool,
}

/// A fenced block of a step.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Block {
    /// A code block (`sh`, `sql`, ...): shown, copyable, runnable only with
    /// `[runbooks] allow_exec = true`.
    Code { lang: SafeText, text: SafeText },
    /// A `sitrep` block: an action, or why it does not parse.
    Action {
        text: SafeText,
        #[serde(skip_serializing_if = "Option::is_none")]
        action: Option<Action>,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<SafeText>,
    },
}

/// Something in a step the walk-mode cursor can rest on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "index", rename_all = "snake_case")]
pub enum Focus {
    /// `Step::items[i]`.
    Item(usize),
    /// `Step::blocks[i]`.
    Block(usize),
}

/// A `##` section of a runbook.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Step {
    /// 1-based.
    pub index: u32,
    /// The heading without its leading number (`## 3. Promote` → `Promote`).
    pub title: SafeText,
    pub items: Vec<ChecklistItem>,
    pub blocks: Vec<Block>,
    /// Items and blocks in document order (what walk mode's cursor visits).
    pub order: Vec<Focus>,
    /// 1-based line of the heading in the file.
    pub line: usize,
    /// Byte range of the section in `body` (heading included).
    #[serde(skip)]
    pub range: std::ops::Range<usize>,
}

impl Step {
    /// This step's markdown, heading included.
    pub fn markdown<'a>(&self, rb: &'a Runbook) -> &'a str {
        rb.body.as_str().get(self.range.clone()).unwrap_or("")
    }

    pub fn actions(&self) -> impl Iterator<Item = &Action> {
        self.blocks.iter().filter_map(|b| match b {
            Block::Action { action, .. } => action.as_ref(),
            _ => None,
        })
    }
}

/// One runbook.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Runbook {
    pub id: SafeText,
    pub title: SafeText,
    pub services: Vec<SafeText>,
    /// Severities the runbook is for, e.g. `SEV1`, `SEV2`.
    pub severity: Vec<SafeText>,
    pub tags: Vec<SafeText>,
    pub owner: Option<SafeText>,
    pub last_reviewed: Option<NaiveDate>,
    pub rto: Option<SafeText>,
    pub rpo: Option<SafeText>,
    /// File it was read from (`<bundled>/NAME.md` for the embedded ones).
    pub path: SafeText,
    pub source: Source,
    pub steps: Vec<Step>,
    /// The markdown after the front matter, sanitized.
    #[serde(skip)]
    pub body: SafeText,
    /// 1-based line of the first body line in the file.
    #[serde(skip)]
    pub body_line: usize,
    /// Hex SHA-256 of the file: progress remembers which revision it was made on.
    #[serde(skip)]
    pub revision: String,
}

impl Runbook {
    /// Not reviewed for more than [`STALE_DAYS`] before `now`, or never.
    pub fn is_stale(&self, now: Time) -> bool {
        match self.last_reviewed {
            None => true,
            Some(d) => (now.date_naive() - d).num_days() > STALE_DAYS,
        }
    }

    /// The markdown before the first `##` step (summary, scope, warnings).
    pub fn preamble(&self) -> &str {
        let end = self
            .steps
            .first()
            .map(|s| s.range.start)
            .unwrap_or(self.body.as_str().len());
        self.body.as_str().get(..end).unwrap_or("")
    }

    pub fn step(&self, index: u32) -> Option<&Step> {
        self.steps.iter().find(|s| s.index == index)
    }

    /// The SPEC §4 runbook JSON object, plus extra fields.
    pub fn to_json(&self, now: Time) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "title": self.title,
            "services": self.services,
            "tags": self.tags,
            "last_reviewed": self.last_reviewed.map(|d| d.to_string()),
            "path": self.path,
            "severity": self.severity,
            "owner": self.owner,
            "rto": self.rto,
            "rpo": self.rpo,
            "stale": self.is_stale(now),
            "source": self.source,
            "step_count": self.steps.len(),
        })
    }
}

/// How much of each runbook a catalog load works out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detail {
    /// Everything: steps (checklists, blocks, actions) and the revision.
    Full,
    /// Front matter and body only, for showing the text (`runbook show`):
    /// `steps` is left empty and `revision` blank. The same runbooks load
    /// or break as with `Full` (every error is in the front matter).
    Text,
}

/// A runbook file that could not be read or parsed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Broken {
    pub path: SafeText,
    /// `path:line:column: message` when the position is known.
    pub error: SafeText,
}

/// Every runbook found, later sources overriding earlier ones by id.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    /// Sorted by id.
    pub runbooks: Vec<Runbook>,
    pub broken: Vec<Broken>,
}

impl Catalog {
    /// Bundled, then `./runbooks` (relative to the current directory), then `dirs`.
    pub fn load(dirs: &[PathBuf]) -> Catalog {
        Self::load_from(Path::new("runbooks"), dirs)
    }

    /// [`Catalog::load`] at the given [`Detail`].
    pub fn load_detail(dirs: &[PathBuf], detail: Detail) -> Catalog {
        Self::load_from_detail(Path::new("runbooks"), dirs, detail)
    }

    /// Bundled, then `local` if it exists, then `dirs` (each must exist).
    pub fn load_from(local: &Path, dirs: &[PathBuf]) -> Catalog {
        Self::load_from_detail(local, dirs, Detail::Full)
    }

    /// [`Catalog::load_from`] at the given [`Detail`].
    pub fn load_from_detail(local: &Path, dirs: &[PathBuf], detail: Detail) -> Catalog {
        let mut cat = Catalog::default();
        for (name, text) in BUNDLED {
            let path = format!("<bundled>/{name}");
            cat.add(parse_runbook_detail(
                text,
                &path,
                Source::Bundled,
                name,
                detail,
            ));
        }
        if local.is_dir() {
            cat.add_dir(local, Source::Local, detail);
        }
        for d in dirs {
            if d.is_dir() {
                cat.add_dir(d, Source::Config, detail);
            } else {
                cat.broken.push(Broken {
                    path: SafeText::line(&d.display().to_string()),
                    error: SafeText::line(&format!(
                        "{}: runbook directory not found ([runbooks] dirs)",
                        d.display()
                    )),
                });
            }
        }
        cat.runbooks.sort_by(|a, b| a.id.cmp(&b.id));
        cat
    }

    /// Only the bundled runbooks.
    pub fn bundled() -> Catalog {
        let mut cat = Catalog::default();
        for (name, text) in BUNDLED {
            let path = format!("<bundled>/{name}");
            cat.add(parse_runbook(text, &path, Source::Bundled, name));
        }
        cat.runbooks.sort_by(|a, b| a.id.cmp(&b.id));
        cat
    }

    fn add(&mut self, r: Result<Runbook, Broken>) {
        match r {
            Ok(rb) => {
                if let Some(old) = self.runbooks.iter_mut().find(|o| o.id == rb.id) {
                    *old = rb;
                } else {
                    self.runbooks.push(rb);
                }
            }
            Err(b) => self.broken.push(b),
        }
    }

    fn add_dir(&mut self, dir: &Path, source: Source, detail: Detail) {
        let rd = match std::fs::read_dir(dir) {
            Ok(rd) => rd,
            Err(e) => {
                self.broken.push(Broken {
                    path: SafeText::line(&dir.display().to_string()),
                    error: SafeText::line(&format!("{}: {e}", dir.display())),
                });
                return;
            }
        };
        let mut files: Vec<PathBuf> = rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "md") && p.is_file())
            .collect();
        files.sort();
        for p in files {
            let shown = p.display().to_string();
            let stem = p
                .file_name()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default();
            let r = read_capped(&p)
                .map_err(|e| Broken {
                    path: SafeText::line(&shown),
                    error: SafeText::line(&format!("{shown}: {e}")),
                })
                .and_then(|text| parse_runbook_detail(&text, &shown, source, &stem, detail));
            self.add(r);
        }
    }

    pub fn get(&self, id: &str) -> Option<&Runbook> {
        self.runbooks.iter().find(|r| r.id.as_str() == id)
    }

    /// By id, then case-insensitively, then by file name (`db-failover.md`).
    pub fn find(&self, name: &str) -> Option<&Runbook> {
        let name = name.trim();
        self.get(name)
            .or_else(|| {
                self.runbooks
                    .iter()
                    .find(|r| r.id.as_str().eq_ignore_ascii_case(name))
            })
            .or_else(|| {
                let stem = name.strip_suffix(".md").unwrap_or(name);
                self.runbooks.iter().find(|r| {
                    Path::new(r.path.as_str())
                        .file_stem()
                        .is_some_and(|s| s.to_string_lossy().eq_ignore_ascii_case(stem))
                })
            })
    }

    pub fn ids(&self) -> Vec<&str> {
        self.runbooks.iter().map(|r| r.id.as_str()).collect()
    }
}

/// `[runbooks] dirs` with relative entries resolved against the directory
/// of the config file (so a config and its runbooks can move together) and
/// a leading `~/` against the home directory.
pub fn config_dirs(config_file: &Path, cfg: &crate::config::RunbooksConfig) -> Vec<PathBuf> {
    let base = config_file.parent().unwrap_or(Path::new("."));
    cfg.dirs
        .iter()
        .map(|d| {
            if let Ok(rest) = d.strip_prefix("~")
                && let Some(home) = directories::BaseDirs::new()
            {
                return home.home_dir().join(rest);
            }
            if d.is_absolute() {
                d.clone()
            } else {
                base.join(d)
            }
        })
        .collect()
}

fn read_capped(p: &Path) -> Result<String, String> {
    use std::io::Read;
    let f = std::fs::File::open(p).map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    f.take(MAX_BYTES as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(|e| e.to_string())?;
    if buf.len() > MAX_BYTES {
        return Err(format!(
            "larger than {} KiB; runbooks are capped",
            MAX_BYTES / 1024
        ));
    }
    // Valid UTF-8 (the usual case) is kept without a copy.
    Ok(String::from_utf8(buf)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

#[derive(Deserialize)]
struct FrontMatter {
    id: Option<Scalar>,
    title: Option<Scalar>,
    #[serde(default)]
    services: OneOrMany,
    #[serde(default)]
    severity: OneOrMany,
    #[serde(default)]
    tags: OneOrMany,
    owner: Option<Scalar>,
    last_reviewed: Option<Scalar>,
    rto: Option<Scalar>,
    rpo: Option<Scalar>,
}

/// A YAML scalar read as text (`rpo: 0` is "0").
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    S(String),
    I(i64),
    F(f64),
    B(bool),
}

impl Scalar {
    fn text(&self) -> String {
        match self {
            Scalar::S(s) => s.clone(),
            Scalar::I(i) => i.to_string(),
            Scalar::F(f) => f.to_string(),
            Scalar::B(b) => b.to_string(),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(untagged)]
enum OneOrMany {
    #[default]
    None,
    One(Scalar),
    Many(Vec<Scalar>),
}

impl OneOrMany {
    fn texts(&self) -> Vec<SafeText> {
        match self {
            OneOrMany::None => Vec::new(),
            OneOrMany::One(s) => vec![SafeText::line(&s.text())],
            OneOrMany::Many(v) => v.iter().map(|s| SafeText::line(&s.text())).collect(),
        }
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_' || b == b'.'
        })
        && id.as_bytes()[0].is_ascii_alphanumeric()
}

/// Split `---\n yaml \n---\n body`. Returns (yaml, body, 1-based line of the
/// first yaml line, 1-based line of the first body line).
fn split_front_matter(text: &str) -> Option<(&str, &str, usize)> {
    let rest = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))?;
    let mut off = 0;
    for (lines, line) in (1..).zip(rest.split_inclusive('\n')) {
        let t = line.trim_end();
        if t == "---" || t == "..." {
            let yaml = &rest[..off];
            let body = &rest[off + line.len()..];
            return Some((yaml, body, lines + 2));
        }
        off += line.len();
    }
    None
}

/// Parse one runbook file. `path` names it in errors; `file_name` gives the
/// id when the front matter has none.
pub fn parse_runbook(
    text: &str,
    path: &str,
    source: Source,
    file_name: &str,
) -> Result<Runbook, Broken> {
    parse_runbook_detail(text, path, source, file_name, Detail::Full)
}

/// [`parse_runbook`] at the given [`Detail`].
pub fn parse_runbook_detail(
    text: &str,
    path: &str,
    source: Source,
    file_name: &str,
    detail: Detail,
) -> Result<Runbook, Broken> {
    let shown = SafeText::line(path);
    let broken = |line: usize, msg: String| Broken {
        path: shown.clone(),
        error: SafeText::line(&if line > 0 {
            format!("{path}:{line}: {msg}")
        } else {
            format!("{path}: {msg}")
        }),
    };
    if text.len() > MAX_BYTES {
        return Err(broken(
            0,
            format!("larger than {} KiB; runbooks are capped", MAX_BYTES / 1024),
        ));
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let Some((yaml, body, body_line)) = split_front_matter(text) else {
        return Err(broken(
            1,
            "no YAML front matter (the file must start with a `---` line, and the front matter end with one)".into(),
        ));
    };
    let fm: FrontMatter = serde_yaml_ng::from_str(yaml).map_err(|e| {
        let msg = e.to_string();
        let msg = match msg.rfind(" at line ") {
            Some(i) => msg[..i].to_string(),
            None => msg,
        };
        match e.location() {
            // The YAML starts on line 2 of the file.
            Some(l) => Broken {
                path: shown.clone(),
                error: SafeText::line(&format!(
                    "{path}:{}:{}: front matter: {msg}",
                    l.line() + 1,
                    l.column()
                )),
            },
            None => broken(2, format!("front matter: {msg}")),
        }
    })?;
    let fm_line = |key: &str| -> usize {
        yaml.lines()
            .position(|l| l.starts_with(&format!("{key}:")))
            .map(|i| i + 2)
            .unwrap_or(1)
    };
    let stem = file_name.strip_suffix(".md").unwrap_or(file_name);
    let id = fm
        .id
        .as_ref()
        .map(Scalar::text)
        .unwrap_or_else(|| stem.to_string());
    let id = id.trim().to_string();
    if !valid_id(&id) {
        return Err(broken(
            fm_line("id"),
            format!(
                "id {:?} must be 1-64 lowercase letters, digits, '-', '_' or '.'",
                SafeText::line(&id).as_str()
            ),
        ));
    }
    let Some(title) = fm
        .title
        .as_ref()
        .map(Scalar::text)
        .filter(|t| !t.trim().is_empty())
    else {
        return Err(broken(
            fm_line("title"),
            "front matter needs a `title`".into(),
        ));
    };
    let last_reviewed = match &fm.last_reviewed {
        None => None,
        Some(s) => {
            let t = s.text();
            match NaiveDate::parse_from_str(t.trim(), "%Y-%m-%d") {
                Ok(d) => Some(d),
                Err(_) => {
                    return Err(broken(
                        fm_line("last_reviewed"),
                        format!(
                            "last_reviewed {:?} is not a date (YYYY-MM-DD)",
                            SafeText::line(&t).as_str()
                        ),
                    ));
                }
            }
        }
    };
    for sev in fm.severity.texts() {
        if sev.as_str().parse::<crate::model::Severity>().is_err() {
            return Err(broken(
                fm_line("severity"),
                format!("severity {:?} is not one of SEV1..SEV4", sev.as_str()),
            ));
        }
    }
    let body = SafeText::block(&nesting::defuse_nesting(body));
    let (steps, revision) = match detail {
        Detail::Full => {
            use sha2::{Digest, Sha256};
            (
                extract_steps(body.as_str(), body_line),
                hex::encode(Sha256::digest(text.as_bytes())),
            )
        }
        Detail::Text => (Vec::new(), String::new()),
    };
    let opt = |s: &Option<Scalar>| {
        s.as_ref()
            .map(|s| SafeText::line(s.text().trim()))
            .filter(|s| !s.is_empty())
    };
    Ok(Runbook {
        id: SafeText::line(&id),
        title: SafeText::line(title.trim()),
        services: fm.services.texts(),
        severity: fm
            .severity
            .texts()
            .iter()
            .map(|s| SafeText::line(&s.as_str().to_ascii_uppercase()))
            .collect(),
        tags: fm.tags.texts(),
        owner: opt(&fm.owner),
        last_reviewed,
        rto: opt(&fm.rto),
        rpo: opt(&fm.rpo),
        path: shown,
        source,
        steps,
        body,
        body_line,
        revision,
    })
}

/// `3. Promote` → `Promote`; `Step 3: Promote` → `Promote`.
fn strip_number(t: &str) -> &str {
    let s = t.trim();
    let s2 = s
        .strip_prefix("Step ")
        .or_else(|| s.strip_prefix("step "))
        .unwrap_or(s);
    let digits = s2.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return s;
    }
    let rest = &s2[digits..];
    match rest.strip_prefix(['.', ')', ':']) {
        Some(r) if r.starts_with(' ') => r.trim_start(),
        _ => s,
    }
}

fn md_options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_TASKLISTS | Options::ENABLE_STRIKETHROUGH
}

/// Walk the markdown once: each `##` heading opens a step; task-list items
/// and fenced blocks are attached to the open step.
fn extract_steps(body: &str, body_line: usize) -> Vec<Step> {
    let line_of = {
        // Byte offset → line, via a sorted table of line starts (linear build, log lookup).
        let starts: Vec<usize> = std::iter::once(0)
            .chain(body.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        move |off: usize| starts.partition_point(|&s| s <= off) + body_line - 1
    };
    let mut steps: Vec<Step> = Vec::new();
    let mut heading: Option<(usize, String)> = None;
    // Task item being read: (checked, text, depth of nested lists inside it).
    let mut task: Option<(bool, String)> = None;
    let mut item_depth: Vec<bool> = Vec::new();
    let mut code: Option<(String, String)> = None;
    for (ev, range) in Parser::new_ext(body, md_options()).into_offset_iter() {
        match ev {
            Event::Start(Tag::Heading {
                level: HeadingLevel::H2,
                ..
            }) => {
                if let Some(last) = steps.last_mut() {
                    last.range.end = range.start;
                }
                heading = Some((range.start, String::new()));
            }
            Event::End(TagEnd::Heading(HeadingLevel::H2)) => {
                if let Some((start, text)) = heading.take() {
                    steps.push(Step {
                        index: steps.len() as u32 + 1,
                        title: SafeText::line(strip_number(&text)),
                        items: Vec::new(),
                        blocks: Vec::new(),
                        order: Vec::new(),
                        line: line_of(start),
                        range: start..body.len(),
                    });
                }
            }
            Event::Start(Tag::Item) => item_depth.push(false),
            Event::TaskListMarker(checked) => {
                if let Some(top) = item_depth.last_mut() {
                    *top = true;
                }
                task = Some((checked, String::new()));
            }
            Event::End(TagEnd::Item) => {
                if item_depth.pop() == Some(true)
                    && let Some((checked, text)) = task.take()
                    && let Some(step) = steps.last_mut()
                {
                    step.order.push(Focus::Item(step.items.len()));
                    step.items.push(ChecklistItem {
                        index: step.items.len() as u32,
                        text: SafeText::line(text.trim()),
                        checked_in_source: checked,
                    });
                }
            }
            // A nested list ends the task's own text.
            Event::Start(Tag::List(_)) => {
                if let Some((checked, text)) = task.take()
                    && let Some(step) = steps.last_mut()
                {
                    step.order.push(Focus::Item(step.items.len()));
                    step.items.push(ChecklistItem {
                        index: step.items.len() as u32,
                        text: SafeText::line(text.trim()),
                        checked_in_source: checked,
                    });
                    if let Some(top) = item_depth.last_mut() {
                        *top = false;
                    }
                }
            }
            Event::Start(Tag::CodeBlock(kind)) => {
                let lang = match kind {
                    CodeBlockKind::Fenced(info) => {
                        info.split_whitespace().next().unwrap_or("").to_string()
                    }
                    CodeBlockKind::Indented => String::new(),
                };
                code = Some((lang, String::new()));
            }
            Event::End(TagEnd::CodeBlock) => {
                if let Some((lang, text)) = code.take()
                    && let Some(step) = steps.last_mut()
                {
                    let text = text.trim_end_matches('\n');
                    let block = if lang == "sitrep" {
                        match parse_action(text) {
                            Ok(a) => Block::Action {
                                text: SafeText::block(text),
                                action: Some(a),
                                error: None,
                            },
                            Err(e) => Block::Action {
                                text: SafeText::block(text),
                                action: None,
                                error: Some(SafeText::line(&format!(
                                    "line {}: {e}",
                                    // The command starts after the fence line.
                                    line_of(range.start) + 1
                                ))),
                            },
                        }
                    } else {
                        Block::Code {
                            lang: SafeText::line(&lang),
                            text: SafeText::block(text),
                        }
                    };
                    step.order.push(Focus::Block(step.blocks.len()));
                    step.blocks.push(block);
                }
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some((_, h)) = heading.as_mut() {
                    h.push_str(&t);
                } else if let Some((_, c)) = code.as_mut() {
                    c.push_str(&t);
                } else if let Some((_, s)) = task.as_mut()
                    && s.len() < crate::text::LINE_CAP
                {
                    s.push_str(&t);
                }
            }
            Event::SoftBreak | Event::HardBreak => {
                if let Some((_, s)) = task.as_mut() {
                    s.push(' ');
                }
            }
            _ => {}
        }
    }
    steps
}

/// Which runbook an incident should open: the incident's own `runbook`
/// (alert annotation `runbook`/`runbook_url`, matched by id or by the last
/// path segment of a URL), then the `[[service]] runbooks` of its service
/// (found by name or by one of its `pagerduty_services` ids),
/// then a runbook whose front matter lists the service and whose tags or id
/// words appear in the incident title (most hits, then one made for the
/// incident's severity, then the most specific); no title match, no link.
pub fn runbook_for(
    incident: &Incident,
    services: &[ServiceConfig],
    runbooks: &[Runbook],
) -> Option<SafeText> {
    let known = |id: &str| runbooks.iter().find(|r| r.id.as_str() == id);
    if let Some(hint) = &incident.runbook {
        let h = hint.as_str().trim();
        if let Some(r) = known(h) {
            return Some(r.id.clone());
        }
        // https://wiki/runbooks/db-failover.md?x#y → db-failover
        let no_frag = h.split(['#', '?']).next().unwrap_or(h);
        let last = no_frag
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or("");
        let last = last.strip_suffix(".md").unwrap_or(last);
        if let Some(r) = known(last) {
            return Some(r.id.clone());
        }
    }
    let raw = incident.service.as_ref()?.as_str();
    // The incident's service is a sitrep service name, or a PagerDuty
    // service id that a `[[service]] pagerduty_services` maps to one.
    let mapped: Vec<&ServiceConfig> = services
        .iter()
        .filter(|s| s.name == raw || s.pagerduty_services.iter().any(|p| p == raw))
        .collect();
    for s in &mapped {
        for id in &s.runbooks {
            if let Some(r) = known(id) {
                return Some(r.id.clone());
            }
        }
    }
    let svc = mapped.first().map(|s| s.name.as_str()).unwrap_or(raw);
    let sev = incident.severity.label();
    let mut cands: Vec<&Runbook> = runbooks
        .iter()
        .filter(|r| r.services.iter().any(|s| s.as_str() == svc))
        .collect();
    if cands.is_empty() {
        return None;
    }
    // Words of the incident title that are tags or id parts of a runbook
    // ("replication lag" → replication-lag, "disk will fill" → disk-full).
    let title = incident.title.as_str().to_lowercase();
    let words: std::collections::HashSet<&str> = title
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 2)
        .collect();
    let hits = |r: &Runbook| {
        r.tags
            .iter()
            .map(|t| t.as_str())
            .chain(r.id.as_str().split('-'))
            .filter(|t| words.contains(t.to_lowercase().as_str()))
            .count()
    };
    cands.sort_by_cached_key(|r| {
        (
            std::cmp::Reverse(hits(r)),
            !r.severity.iter().any(|s| s.as_str() == sev),
            r.services.len(),
            r.id.as_str().to_string(),
        )
    });
    // A runbook that merely lists the service is not enough: a wrong
    // runbook at 3 AM is worse than none. It must also match the title.
    cands.first().filter(|r| hits(r) > 0).map(|r| r.id.clone())
}

/// Fuzzy search over title, id, tags and services. Returns (index into
/// `runbooks`, score), best first; an empty query returns all in order.
pub fn search(query: &str, runbooks: &[Runbook]) -> Vec<(usize, u32)> {
    use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
    use nucleo_matcher::{Config, Matcher, Utf32Str};
    if query.trim().is_empty() {
        return (0..runbooks.len()).map(|i| (i, 0)).collect();
    }
    let mut matcher = Matcher::new(Config::DEFAULT);
    let pattern = Pattern::parse(query, CaseMatching::Ignore, Normalization::Smart);
    let mut buf = Vec::new();
    let mut out: Vec<(usize, u32)> = runbooks
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let hay = format!(
                "{} {} {} {}",
                r.title,
                r.id,
                r.tags
                    .iter()
                    .map(SafeText::as_str)
                    .collect::<Vec<_>>()
                    .join(" "),
                r.services
                    .iter()
                    .map(SafeText::as_str)
                    .collect::<Vec<_>>()
                    .join(" ")
            );
            pattern
                .score(Utf32Str::new(&hay, &mut buf), &mut matcher)
                .map(|s| (i, s))
        })
        .collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

/// Fill each incident's `runbook` with the id of its runbook
/// ([`runbook_for`]); an explicit link the catalog does not know is
/// kept as the provider gave it.
pub fn link_incidents(
    incidents: &mut [Incident],
    services: &[ServiceConfig],
    runbooks: &[Runbook],
) {
    for i in incidents.iter_mut() {
        if let Some(id) = runbook_for(i, services, runbooks) {
            i.runbook = Some(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{IncidentStatus, Severity};

    const GOOD: &str = "---\nid: test-rb\ntitle: A test\nservices: [checkout]\nseverity: [SEV1, sev2]\ntags: [x]\nowner: team\nlast_reviewed: 2026-10-01\nrto: 15m\nrpo: 0\n---\nIntro.\n\n## 1. First\n- [ ] one\n- [x] two\n  - [ ] nested\n- plain\n\n```sh\necho hi\n```\n\n## Step 2: Second\n```sitrep\nflag off checkout-writes --reason \"x\"\n```\n```sitrep\nflag off\n```\n";

    fn good() -> Runbook {
        parse_runbook(GOOD, "t.md", Source::Local, "t.md").unwrap()
    }

    #[test]
    fn parses_front_matter_steps_items_blocks() {
        let r = good();
        assert_eq!(r.id.as_str(), "test-rb");
        assert_eq!(r.severity.len(), 2);
        assert_eq!(r.severity[1].as_str(), "SEV2");
        assert_eq!(r.rpo.as_ref().unwrap().as_str(), "0");
        assert_eq!(r.steps.len(), 2);
        let s1 = &r.steps[0];
        assert_eq!(s1.title.as_str(), "First");
        assert_eq!(s1.line, 14);
        let items: Vec<_> = s1.items.iter().map(|i| i.text.as_str()).collect();
        assert_eq!(items, ["one", "two", "nested"]);
        assert!(s1.items[1].checked_in_source);
        assert!(matches!(&s1.blocks[0], Block::Code { lang, .. } if lang.as_str() == "sh"));
        let s2 = &r.steps[1];
        assert_eq!(s2.title.as_str(), "Second");
        assert_eq!(s2.actions().count(), 1);
        assert!(
            matches!(&s2.blocks[1], Block::Action { error: Some(e), .. } if e.as_str().contains("line 29"))
        );
        assert!(r.preamble().contains("Intro."));
        assert!(s2.markdown(&r).starts_with("## Step 2"));
    }

    #[test]
    fn errors_name_file_and_line() {
        let e = parse_runbook(
            "---\nid: x\ntitle: [unclosed\n---\nbody\n",
            "bad.md",
            Source::Local,
            "bad.md",
        )
        .unwrap_err();
        assert!(e.error.as_str().starts_with("bad.md:"), "{e:?}");
        assert!(
            e.error.as_str().contains(":3:") || e.error.as_str().contains(":4:"),
            "{e:?}"
        );
        let e = parse_runbook("no front matter", "n.md", Source::Local, "n.md").unwrap_err();
        assert!(e.error.as_str().contains("n.md:1:"));
        let e = parse_runbook(
            "---\nid: x\ntitle: t\nlast_reviewed: yesterday\n---\n",
            "d.md",
            Source::Local,
            "d.md",
        )
        .unwrap_err();
        assert!(e.error.as_str().contains("d.md:4:"), "{e:?}");
        let e = parse_runbook(
            "---\nid: Bad Id\ntitle: t\n---\n",
            "i.md",
            Source::Local,
            "i.md",
        )
        .unwrap_err();
        assert!(e.error.as_str().contains("i.md:2:"), "{e:?}");
    }

    #[test]
    fn stale_after_90_days() {
        let r = good();
        let at = |s: &str| -> Time { format!("{s}T12:00:00Z").parse().unwrap() };
        assert!(!r.is_stale(at("2026-12-30")));
        assert!(r.is_stale(at("2026-12-31")));
        let mut never = r.clone();
        never.last_reviewed = None;
        assert!(never.is_stale(at("2026-10-02")));
    }

    #[test]
    fn later_sources_win_and_broken_do_not_hide_others() {
        let dir = tempfile::tempdir().unwrap();
        let local = dir.path().join("runbooks");
        std::fs::create_dir(&local).unwrap();
        std::fs::write(
            local.join("rollback.md"),
            "---\nid: rollback\ntitle: Our rollback\n---\n## a\n",
        )
        .unwrap();
        std::fs::write(local.join("broken.md"), "---\ntitle: [\n---\n").unwrap();
        let extra = dir.path().join("extra");
        std::fs::create_dir(&extra).unwrap();
        std::fs::write(
            extra.join("x.md"),
            "---\nid: rollback\ntitle: Config rollback\n---\n",
        )
        .unwrap();
        let cat = Catalog::load_from(&local, &[extra, dir.path().join("missing")]);
        assert_eq!(
            cat.get("rollback").unwrap().title.as_str(),
            "Config rollback"
        );
        assert_eq!(cat.get("rollback").unwrap().source, Source::Config);
        assert!(cat.get("db-failover").is_some());
        assert_eq!(cat.broken.len(), 2);
        assert!(cat.broken[0].error.as_str().contains("broken.md"));
        assert!(cat.find("DB-Failover").is_some());
    }

    #[test]
    fn text_detail_loads_the_same_runbooks_without_steps() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("rollback.md"),
            "---\nid: rollback\ntitle: Our rollback\n---\n## a\n- [ ] x\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("broken.md"), "---\ntitle: [\n---\n").unwrap();
        // Not UTF-8: read lossily, as before.
        std::fs::write(
            dir.path().join("latin1.md"),
            b"---\nid: latin1\ntitle: caf\xe9\n---\nna\xefve\n",
        )
        .unwrap();
        let dirs = [dir.path().to_path_buf(), dir.path().join("missing")];
        let full = Catalog::load_from_detail(Path::new("no-such-dir"), &dirs, Detail::Full);
        let text = Catalog::load_from_detail(Path::new("no-such-dir"), &dirs, Detail::Text);
        assert_eq!(full.ids(), text.ids());
        assert_eq!(full.broken, text.broken);
        assert_eq!(full.broken.len(), 2);
        assert_eq!(full.get("latin1").unwrap().title.as_str(), "caf\u{fffd}");
        for (f, t) in full.runbooks.iter().zip(&text.runbooks) {
            assert!(t.steps.is_empty() && t.revision.is_empty());
            let mut f = f.clone();
            f.steps.clear();
            f.revision.clear();
            assert_eq!(&f, t);
        }
    }

    #[test]
    fn hostile_yaml_is_an_error_not_a_hang() {
        // Billion laughs and deep nesting in the front matter.
        let mut laughs = String::from(
            "---\nid: x\ntitle: t\na0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
        );
        for i in 1..10 {
            let p = i - 1;
            laughs.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        laughs.push_str("tags: *a9\n---\n## a\n");
        let t = std::time::Instant::now();
        let r = parse_runbook(&laughs, "l.md", Source::Local, "l.md");
        assert!(t.elapsed() < std::time::Duration::from_secs(5));
        assert!(r.is_err(), "alias explosion accepted");
        let deep = format!(
            "---\nid: x\ntitle: t\ntags: {}{}\n---\n",
            "[".repeat(10_000),
            "]".repeat(10_000)
        );
        assert!(parse_runbook(&deep, "d.md", Source::Local, "d.md").is_err());
    }

    #[test]
    fn config_dirs_are_relative_to_the_config_file() {
        let cfg = crate::config::RunbooksConfig {
            dirs: vec![PathBuf::from("team-runbooks"), PathBuf::from("/abs/rb")],
            allow_exec: false,
        };
        let d = config_dirs(Path::new("/etc/sitrep/config.toml"), &cfg);
        assert_eq!(d[0], PathBuf::from("/etc/sitrep/team-runbooks"));
        assert_eq!(d[1], PathBuf::from("/abs/rb"));
    }

    #[test]
    fn oversized_file_is_broken() {
        let dir = tempfile::tempdir().unwrap();
        let big = format!(
            "---\nid: big\ntitle: t\n---\n{}",
            "x".repeat(MAX_BYTES + 10)
        );
        std::fs::write(dir.path().join("big.md"), big).unwrap();
        let cat = Catalog::load_from(dir.path(), &[]);
        assert!(cat.get("big").is_none());
        assert!(cat.broken[0].error.as_str().contains("capped"));
    }

    fn incident(service: Option<&str>, runbook: Option<&str>, sev: Severity) -> Incident {
        Incident {
            provider: SafeText::line("pd"),
            id: SafeText::line("Q1"),
            title: SafeText::line("t"),
            severity: sev,
            status: IncidentStatus::Triggered,
            service: service.map(SafeText::line),
            created_at: chrono::Utc::now(),
            url: None,
            assignee: None,
            runbook: runbook.map(SafeText::line),
        }
    }

    #[test]
    fn linking_order() {
        let cat = Catalog::bundled();
        let rbs = &cat.runbooks;
        let svc: ServiceConfig =
            toml::from_str("name = \"checkout\"\nrunbooks = [\"db-failover\"]").unwrap();
        let id =
            |i: &Incident, s: &[ServiceConfig]| runbook_for(i, s, rbs).map(|x| x.into_string());
        // Annotation first, by id or URL.
        let i = incident(Some("checkout"), Some("auth-outage"), Severity::Sev1);
        assert_eq!(
            id(&i, std::slice::from_ref(&svc)).as_deref(),
            Some("auth-outage")
        );
        let i = incident(
            Some("checkout"),
            Some("https://wiki.acme.internal/runbooks/rollback.md#step-3"),
            Severity::Sev1,
        );
        assert_eq!(
            id(&i, std::slice::from_ref(&svc)).as_deref(),
            Some("rollback")
        );
        // Then the service mapping of the config.
        let i = incident(
            Some("checkout"),
            Some("https://nowhere/unknown"),
            Severity::Sev1,
        );
        assert_eq!(
            id(&i, std::slice::from_ref(&svc)).as_deref(),
            Some("db-failover")
        );
        // A PagerDuty service id maps through the config.
        let pd: ServiceConfig = toml::from_str(
            "name = \"payments\"\npagerduty_services = [\"PSRV9\"]\nrunbooks = [\"replication-lag\"]",
        )
        .unwrap();
        let i = incident(Some("PSRV9"), None, Severity::Sev2);
        assert_eq!(
            id(&i, std::slice::from_ref(&pd)).as_deref(),
            Some("replication-lag")
        );
        let mut pd2 = pd.clone();
        pd2.runbooks.clear();
        // ...and then to the runbooks that list the mapped service and
        // match the title; a title that names nothing links nothing.
        assert_eq!(id(&i, std::slice::from_ref(&pd2)), None);
        let mut i = i;
        i.title = SafeText::line("replication lag on the payments database");
        let got = id(&i, std::slice::from_ref(&pd2)).unwrap();
        assert!(
            cat.get(&got)
                .unwrap()
                .services
                .iter()
                .any(|s| s.as_str() == "payments"),
            "{got}"
        );
        // Then front matter services, when the title names the runbook.
        let mut i = incident(Some("auth"), None, Severity::Sev1);
        assert_eq!(id(&i, &[]), None, "a service alone links nothing");
        i.title = SafeText::line("login failures: token refresh errors");
        assert_eq!(id(&i, &[]).as_deref(), Some("auth-outage"));
        // Among the service's runbooks, the title's words decide.
        let mut i = incident(Some("payments"), None, Severity::Sev2);
        i.title = SafeText::line("payments-db primary replication lag 94s on replica-2");
        assert_eq!(id(&i, &[]).as_deref(), Some("replication-lag"));
        i.title = SafeText::line("payments-db primary down, failover needed");
        assert_eq!(id(&i, &[]).as_deref(), Some("db-failover"));
        let mut i = incident(Some("search"), None, Severity::Sev3);
        i.title = SafeText::line("search-indexer-3 /var/lib/search disk will fill in 4h");
        assert_eq!(id(&i, &[]).as_deref(), Some("disk-full"));
        let i = incident(Some("no-such-service"), None, Severity::Sev1);
        assert_eq!(id(&i, &[]), None);
        let i = incident(None, None, Severity::Sev1);
        assert_eq!(id(&i, &[]), None);
    }

    #[test]
    fn fuzzy_search_finds_by_title_tag_service() {
        let cat = Catalog::bundled();
        let top = |q: &str| {
            let r = search(q, &cat.runbooks);
            cat.runbooks[r[0].0].id.as_str().to_string()
        };
        assert_eq!(top("failover"), "db-failover");
        assert_eq!(top("postgres promote"), "db-failover");
        assert_eq!(top("jwks"), "auth-outage");
        assert_eq!(search("", &cat.runbooks).len(), cat.runbooks.len());
        assert!(search("zzzzqqqq", &cat.runbooks).is_empty());
    }
}
