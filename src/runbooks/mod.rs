//! Runbooks (SPEC §7): markdown with YAML front matter, bundled in the
//! binary, overridable from `./runbooks` and `[runbooks] dirs`.
//!
//! - [`model`] holds the types: a runbook, its steps and blocks;
//! - [`catalog`] loads the bundled and on-disk runbooks and searches them;
//! - [`frontmatter`] parses one file (YAML front matter, then the body);
//! - [`steps`] extracts the `##` steps, checklists and blocks of a body;
//! - [`link`] decides which runbook an incident opens;
//! - [`bind`] binds the placeholders (`{service}`, `{env}`, ...) of actions and commands;
//! - [`check`] lints runbook files (`sitrep runbook check`);
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
pub mod bind;
pub mod catalog;
pub mod check;
pub mod frontmatter;
pub mod link;
pub mod model;
pub mod nesting;
pub mod progress;
pub mod steps;
pub mod walk;

pub use action::{Action, BindError, parse_action};
pub use bind::{BindContext, Bindings, Origin};
pub use catalog::{BUNDLED, Catalog, MAX_BYTES, config_dirs, search};
pub use frontmatter::{parse_runbook, parse_runbook_detail};
pub use link::{link_incidents, runbook_for};
pub use model::{Block, Broken, ChecklistItem, Detail, Focus, Runbook, STALE_DAYS, Source, Step};
pub use progress::{Progress, load_progress};
pub use walk::Walk;
