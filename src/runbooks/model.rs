//! The runbook model: a runbook, its `##` steps, their checklist items and
//! fenced blocks, and what a load that failed leaves behind.

use super::Action;
use crate::model::Time;
use crate::text::SafeText;
use chrono::NaiveDate;
use serde::Serialize;

/// A runbook not reviewed for longer than this is stale.
pub const STALE_DAYS: i64 = 90;

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
    /// A code block (`sh`, `sql`, ...): shown, copyable, run only when
    /// marked runnable (```` ```sh run ````) and `[runbooks] allow_exec = true`.
    Code {
        lang: SafeText,
        text: SafeText,
        /// The info string after the language (`run`, `on=HOST`, `interactive`).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        attrs: Vec<SafeText>,
        /// Marked `run`: sitrep may execute it on this machine.
        run: bool,
        /// Marked `on=HOST`: it belongs on that host, never run from here.
        #[serde(skip_serializing_if = "Option::is_none")]
        host: Option<SafeText>,
        /// Marked `interactive`: it prompts, never run by sitrep.
        interactive: bool,
        /// 1-based line of the opening fence in the file.
        line: usize,
    },
    /// A `sitrep` block: an action, or why it does not parse.
    Action {
        /// 1-based line of the opening fence in the file.
        line: usize,
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
    /// `review_every` in days (default [`STALE_DAYS`]).
    pub review_every_days: Option<i64>,
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
    /// Not reviewed for more than `review_every` (default [`STALE_DAYS`])
    /// days before `now`, or never.
    pub fn is_stale(&self, now: Time) -> bool {
        match self.last_reviewed {
            None => true,
            Some(d) => (now.date_naive() - d).num_days() > self.review_days(),
        }
    }

    /// Days between reviews: `review_every`, else [`STALE_DAYS`].
    pub fn review_days(&self) -> i64 {
        self.review_every_days.unwrap_or(STALE_DAYS)
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
