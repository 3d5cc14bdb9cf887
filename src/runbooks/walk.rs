//! Walk mode as a model the TUI view drives: one step at a time, a cursor
//! over the step's checklist items and fenced blocks (document order),
//! ticks kept in [`Progress`] and saved in the data dir.
//!
//! The view owns the keys and the executor; this type owns the state:
//! - `space` → [`Walk::toggle`], then audit the returned `runbook.step` op
//!   and [`Walk::save`];
//! - `Enter` on an action → [`Walk::selected_action`] (bound to the
//!   incident) → plan, confirm, execute, audit with the runbook id and
//!   [`Walk::step_index`];
//! - `y` on a code block → [`Walk::selected_code`] (copy with OSC 52);
//!   run it only with `[runbooks] allow_exec = true`.

use super::{Action, BindError, Bindings, Block, Focus, Origin, Progress, Runbook, Step};
use crate::model::Time;
use crate::ops::WriteOp;
use crate::team::Tick;
use crate::text::SafeText;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

#[derive(Clone, Debug)]
pub struct Walk {
    pub runbook: Runbook,
    pub progress: Progress,
    /// Index into the current step's [`Step::order`].
    pub cursor: usize,
    /// Shown by the view: the progress file could not be read (a fresh
    /// walk was started), or the runbook changed since the ticks were made.
    pub warning: Option<SafeText>,
    /// Placeholder values (`{service}`, `{env}`, ...) for this walk: from
    /// the context it was opened in, plus what the responder typed.
    pub bindings: Bindings,
    /// Team mode: the newest shared tick of each item (step, item), for
    /// who ticked it (docs/TEAM.md).
    pub shared: BTreeMap<(u32, u32), Tick>,
    /// Items ticked here whose tick the team has not echoed back yet:
    /// that tick reaches the database after any other tick heard before
    /// the echo, and wins there.
    unechoed: BTreeSet<(u32, u32)>,
}

/// Why the action under the cursor cannot run yet.
#[derive(Clone, Debug, PartialEq)]
pub enum ActionIssue {
    /// These placeholders have no value: ask for the first one.
    Unbound(Vec<String>),
    /// The block does not parse, or does not once bound.
    Invalid(SafeText),
}

impl std::fmt::Display for ActionIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ActionIssue::Unbound(v) => {
                let names: Vec<String> = v.iter().map(|n| format!("{{{n}}}")).collect();
                write!(f, "needs a value for {}", names.join(", "))
            }
            ActionIssue::Invalid(e) => write!(f, "{e}"),
        }
    }
}

/// The code block under the cursor, bound.
#[derive(Clone, Debug, PartialEq)]
pub struct SelectedCode {
    pub lang: SafeText,
    /// The text with bound placeholders substituted.
    pub text: String,
    /// What `y` copies: unbound placeholders written `<UNBOUND:name>`, so
    /// a pasted command fails instead of acting.
    pub copy: String,
    /// Known placeholders left unbound.
    pub unbound: Vec<String>,
    pub run: bool,
    pub host: Option<SafeText>,
    pub interactive: bool,
}

impl SelectedCode {
    /// Why sitrep must not execute this block, if it must not. Only a
    /// block marked `run`, for this machine, not interactive, fully bound
    /// and holding no `<PLACEHOLDER>` runs.
    pub fn refuse_exec(&self) -> Option<String> {
        if let Some(h) = &self.host {
            return Some(format!("this block runs on {h}, not here: y copies it"));
        }
        if self.interactive {
            return Some("this block is interactive: run it in a terminal (y copies it)".into());
        }
        if !self.run {
            return Some("this block is not marked runnable (```sh run): y copies it".into());
        }
        if !self.unbound.is_empty() {
            let names: Vec<String> = self.unbound.iter().map(|n| format!("{{{n}}}")).collect();
            return Some(format!("bind {} first", names.join(", ")));
        }
        if let Some(p) = angle_placeholder(&self.text) {
            return Some(format!("replace {p} first: y copies it"));
        }
        None
    }
}

/// The first `<LIKE_THIS>` placeholder in a command (upper-case letters,
/// digits, `_` and `-` between angle brackets).
pub fn angle_placeholder(text: &str) -> Option<&str> {
    let mut rest = text;
    let mut base = 0;
    while let Some(i) = rest.find('<') {
        let after = &rest[i + 1..];
        let n = after
            .bytes()
            .take_while(|b| {
                b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_' || *b == b'-'
            })
            .count();
        if n > 0 && after.as_bytes().get(n) == Some(&b'>') {
            let start = base + i;
            return text.get(start..start + n + 2);
        }
        base += i + 1;
        rest = after;
    }
    None
}

impl Walk {
    /// Open the walk of `rb` for `incident` (None = outside an incident),
    /// resuming saved progress.
    pub fn open(data_dir: &Path, rb: &Runbook, incident: Option<&str>) -> Walk {
        let id = rb.id.as_str();
        let (mut progress, mut warning) = match Progress::load(data_dir, id, incident) {
            Ok(p) => (p, None),
            Err(e) => (
                Progress::new(id, incident),
                Some(SafeText::line(&format!("{e}; starting a fresh walk"))),
            ),
        };
        if warning.is_none() && progress.revision_changed(rb) {
            warning = Some(SafeText::trusted(
                "this runbook changed since the last walk: check the ticked items",
            ));
        }
        let step = progress.current_step;
        progress.set_step(rb, step);
        let mut bindings = Bindings::default();
        if let Some(inc) = incident {
            let _ = bindings.set("incident", inc, Origin::Incident);
        }
        Walk {
            runbook: rb.clone(),
            progress,
            cursor: 0,
            warning,
            bindings,
            shared: BTreeMap::new(),
            unechoed: BTreeSet::new(),
        }
    }

    /// Add the values the context gives. Order: the walk's own values,
    /// then what the context gives explicitly (the selected row, the
    /// command line), then the values given earlier in this walk (kept in
    /// its progress: a resumed walk for an incident does not ask again),
    /// then the rest of the context (incident, config, providers).
    ///
    /// Outside an incident nothing is resumed: that progress is shared by
    /// every walk of the runbook without an incident, and last week's host
    /// must not be bound to today's walk.
    pub fn with_bindings(mut self, b: &Bindings) -> Walk {
        let mut explicit = Bindings::default();
        for (name, value, origin) in b.iter() {
            if matches!(origin, Origin::Given | Origin::Selection) {
                let _ = explicit.set(name, value, origin);
            }
        }
        self.bindings.merge_missing(&explicit);
        let saved: Vec<(String, String)> = match self.progress.incident {
            Some(_) => self
                .progress
                .given
                .iter()
                .map(|(n, v)| (n.clone(), v.clone()))
                .collect(),
            None => Vec::new(),
        };
        for (name, value) in saved {
            if self.bindings.get(&name).is_none() {
                // A value that no longer passes (a hand-edited file) is asked for.
                let _ = self.bindings.set(&name, &value, Origin::Given);
            }
        }
        self.bindings.merge_missing(b);
        self.remember_given();
        self
    }

    /// Bind `name` to a value the responder typed.
    pub fn set_binding(&mut self, name: &str, value: &str) -> Result<(), String> {
        self.bindings.set(name, value.trim(), Origin::Given)?;
        self.remember_given();
        Ok(())
    }

    /// Keep the values given for this walk (selected row, typed) in its
    /// progress, so the hand-off binds the checklist as the walk does.
    fn remember_given(&mut self) {
        self.progress.given = self
            .bindings
            .iter()
            .filter(|(_, _, o)| matches!(o, Origin::Given | Origin::Selection))
            .map(|(n, v, _)| (n.to_string(), v.to_string()))
            .collect();
    }

    pub fn incident(&self) -> Option<&str> {
        self.progress.incident.as_deref()
    }

    /// The open step's index (1-based), as recorded in the audit log.
    pub fn step_index(&self) -> u32 {
        self.progress.current_step
    }

    pub fn step(&self) -> Option<&Step> {
        self.runbook.step(self.progress.current_step)
    }

    pub fn step_count(&self) -> usize {
        self.runbook.steps.len()
    }

    /// Open step `n` (clamped), cursor on its first item or block.
    pub fn go_to_step(&mut self, n: u32) {
        self.progress.set_step(&self.runbook, n);
        self.cursor = 0;
    }

    /// Returns false at the last step.
    pub fn next_step(&mut self) -> bool {
        let cur = self.progress.current_step;
        if (cur as usize) < self.step_count() {
            self.go_to_step(cur + 1);
            true
        } else {
            false
        }
    }

    /// Returns false at the first step.
    pub fn prev_step(&mut self) -> bool {
        let cur = self.progress.current_step;
        if cur > 1 {
            self.go_to_step(cur - 1);
            true
        } else {
            false
        }
    }

    pub fn focus(&self) -> Option<Focus> {
        self.step()?.order.get(self.cursor).copied()
    }

    /// Move the cursor by `delta` within the step (clamped).
    pub fn move_cursor(&mut self, delta: isize) {
        let n = self.step().map(|s| s.order.len()).unwrap_or(0);
        if n == 0 {
            self.cursor = 0;
            return;
        }
        let c = self.cursor as isize + delta;
        self.cursor = c.clamp(0, n as isize - 1) as usize;
    }

    /// After `op` ran from step `step` of this walk: tick the first
    /// unticked item of that step that names what it did ("Ack the
    /// incident" for an ack, "Roll back ..." for a rollback, "Turn it off"
    /// for a flag off). Returns the `runbook.step` op to audit, or None
    /// when no item of the step speaks of it (nothing is ticked by guess).
    pub fn tick_for(&mut self, step: u32, op: &WriteOp) -> Option<WriteOp> {
        let words: &[&str] = match op {
            WriteOp::IncidentAck { .. } => &["ack", "acknowledge"],
            WriteOp::IncidentResolve { .. } => &["resolve"],
            WriteOp::IncidentNote { .. } => &["note"],
            WriteOp::IncidentEscalate { .. } => &["escalate"],
            WriteOp::IncidentSnooze { .. } => &["snooze"],
            WriteOp::IncidentReassign { .. } => &["reassign"],
            WriteOp::IncidentAddResponders { .. } => &["responder", "responders"],
            WriteOp::IncidentBulkAck { .. } => &["ack", "acknowledge"],
            WriteOp::SilenceCreate { .. } => &["silence"],
            WriteOp::SilenceExpire { .. } => &["expire", "unsilence"],
            WriteOp::Rollback { .. } => &["roll back", "rollback", "roll it back"],
            WriteOp::FlagSet { on: false, .. } => &[
                "turn it off",
                "turn off",
                "flag off",
                "switch off",
                "kill switch",
            ],
            WriteOp::FlagSet { on: true, .. } => {
                &["turn it on", "turn on", "flag on", "switch on", "back on"]
            }
            WriteOp::RunbookStep { .. } | WriteOp::RunbookExec { .. } | WriteOp::Watch { .. } => {
                &[]
            }
        };
        // Whole words only: "ack" is not in "roll back".
        let phrase = |t: &str| {
            let words: Vec<String> = t
                .to_lowercase()
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(str::to_string)
                .collect();
            format!(" {} ", words.join(" "))
        };
        let item = self.runbook.step(step)?.items.iter().find(|i| {
            let text = phrase(i.text.as_str());
            !self.progress.is_checked(step, i.index)
                && words.iter().any(|w| text.contains(&format!(" {w} ")))
        })?;
        let index = item.index;
        self.shared.remove(&(step, index));
        self.unechoed.insert((step, index));
        self.progress.toggle(step, index);
        self.progress.stamp(&self.runbook);
        Some(self.progress.step_op(step, Some(index)))
    }

    /// Tick or untick the item under the cursor. Returns the
    /// `runbook.step` op to audit, or None when the cursor is not on an
    /// item. Call [`Walk::save`] after.
    pub fn toggle(&mut self) -> Option<WriteOp> {
        let Focus::Item(i) = self.focus()? else {
            return None;
        };
        let step = self.progress.current_step;
        let item = self.step()?.items.get(i)?.index;
        self.shared.remove(&(step, item));
        self.unechoed.insert((step, item));
        self.progress.toggle(step, item);
        self.progress.stamp(&self.runbook);
        Some(self.progress.step_op(step, Some(item)))
    }

    pub fn save(&mut self, data_dir: &Path, now: Time) -> Result<(), String> {
        self.progress.save(data_dir, now)
    }

    /// Team mode: a tick shared by a console of the team (this one's
    /// echoed back too), in the database's order. It sets the item,
    /// unless a tick made here is still on its way to the database (it
    /// will arrive later and win): then only its own echo, agreeing with
    /// the item, counts (and names who ticked). Older than the item's
    /// last shared tick (database time): ignored. Returns (redraw, save
    /// the progress).
    pub fn apply_shared(&mut self, t: &Tick) -> (bool, bool) {
        if self.runbook.id.as_str() != t.runbook || self.incident() != Some(t.incident.as_str()) {
            return (false, false);
        }
        let key = (t.step, t.item);
        if self
            .runbook
            .step(t.step)
            .is_none_or(|s| !s.items.iter().any(|i| i.index == t.item))
        {
            return (false, false);
        }
        if let Some(seen) = self.shared.get(&key)
            && seen.at > t.at
        {
            return (false, false);
        }
        let now = self.progress.is_checked(t.step, t.item);
        if self.unechoed.contains(&key) {
            if !t.own || now != t.checked {
                return (false, false);
            }
            self.unechoed.remove(&key);
        }
        self.shared.insert(key, t.clone());
        if now != t.checked {
            self.progress.toggle(t.step, t.item);
            self.progress.stamp(&self.runbook);
            return (true, true);
        }
        (true, false)
    }

    /// Who ticked each item of step `step`, in item order (team mode).
    pub fn ticked_by(&self, step: u32) -> Vec<Option<String>> {
        self.runbook
            .step(step)
            .map(|s| {
                s.items
                    .iter()
                    .map(|i| self.shared.get(&(step, i.index)).map(Tick::by_line))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The action under the cursor with every placeholder bound from the
    /// walk's [`Bindings`]. `Err(Unbound)` names the placeholders still
    /// without a value (the view asks for them: an action with an unbound
    /// placeholder cannot run); `Err(Invalid)` when the block does not parse.
    pub fn selected_action(&self) -> Option<Result<Action, ActionIssue>> {
        let Focus::Block(i) = self.focus()? else {
            return None;
        };
        match self.step()?.blocks.get(i)? {
            Block::Action { action, error, .. } => Some(match (action, error) {
                (Some(a), _) => a.bind(&self.bindings).map_err(|e| match e {
                    BindError::Unbound(v) => ActionIssue::Unbound(v),
                    BindError::Invalid(e) => ActionIssue::Invalid(SafeText::line(&e)),
                }),
                (None, Some(e)) => Err(ActionIssue::Invalid(e.clone())),
                (None, None) => Err(ActionIssue::Invalid(SafeText::trusted(
                    "not a valid sitrep action",
                ))),
            }),
            Block::Code { .. } => None,
        }
    }

    /// The code block under the cursor, its placeholders bound.
    pub fn selected_code(&self) -> Option<SelectedCode> {
        let Focus::Block(i) = self.focus()? else {
            return None;
        };
        match self.step()?.blocks.get(i)? {
            Block::Code {
                lang,
                text,
                run,
                host,
                interactive,
                ..
            } => {
                let (bound, unbound) = super::bind::substitute(text.as_str(), &self.bindings);
                let host = host.as_ref().map(|h| {
                    SafeText::line(&super::bind::substitute(h.as_str(), &self.bindings).0)
                });
                let copy = super::bind::substitute_marked(text.as_str(), &self.bindings).0;
                Some(SelectedCode {
                    lang: lang.clone(),
                    copy,
                    text: bound,
                    unbound,
                    run: *run,
                    host,
                    interactive: *interactive,
                })
            }
            Block::Action { .. } => None,
        }
    }

    /// "Step 3/8 · Promote the candidate · 1/3 done".
    pub fn status_line(&self) -> String {
        let Some(s) = self.step() else {
            return "this runbook has no steps".into();
        };
        let (done, total) = self.progress.step_counts(&self.runbook, s.index);
        format!(
            "Step {}/{} · {} · {done}/{total} done",
            s.index,
            self.step_count(),
            s.title
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runbooks::Catalog;

    fn now() -> Time {
        "2026-11-22T03:00:00Z".parse().unwrap()
    }

    #[test]
    fn walk_ticks_saves_and_resumes() {
        let dir = tempfile::tempdir().unwrap();
        let rb = Catalog::bundled().get("db-failover").cloned().unwrap();
        let mut w = Walk::open(dir.path(), &rb, Some("Q1PAY7LAG2"));
        assert!(w.warning.is_none());
        assert_eq!(w.step_index(), 1);
        assert_eq!(w.focus(), Some(Focus::Item(0)));
        let op = w.toggle().unwrap();
        assert_eq!(
            op,
            WriteOp::RunbookStep {
                runbook: "db-failover".into(),
                step: 1,
                item: Some(0),
                checked: true
            }
        );
        assert!(w.status_line().contains("1/4 done"), "{}", w.status_line());
        // Down to the last block of step 1: the note, bound to the incident
        // and the database cluster.
        w.move_cursor(100);
        assert_eq!(
            w.selected_action().unwrap(),
            Err(ActionIssue::Unbound(vec!["db_cluster".into()]))
        );
        w.set_binding("db_cluster", "pg-main").unwrap();
        let a = w.selected_action().unwrap().unwrap();
        assert!(
            matches!(a.op, WriteOp::IncidentNote { ref id, ref text, .. }
                if id == "Q1PAY7LAG2" && text.contains("pg-main")),
            "{a:?}"
        );
        assert!(w.toggle().is_none(), "not on an item");
        w.move_cursor(-1);
        let code = w.selected_code().unwrap();
        assert!(code.text.contains("pg-main"), "{}", code.text);
        assert!(code.refuse_exec().is_some(), "not marked runnable");
        assert!(w.next_step());
        w.save(dir.path(), now()).unwrap();

        let w2 = Walk::open(dir.path(), &rb, Some("Q1PAY7LAG2"));
        assert_eq!(w2.step_index(), 2);
        assert!(w2.progress.is_checked(1, 0));
        let text = crate::present::render_walk(&w2, &crate::theme::Theme::default_theme(), 80);
        assert!(!text.lines.is_empty());
    }

    #[test]
    fn unbound_placeholders_block_the_action_until_given() {
        let dir = tempfile::tempdir().unwrap();
        let rb = Catalog::bundled().get("db-failover").cloned().unwrap();
        let mut w = Walk::open(dir.path(), &rb, None);
        w.go_to_step(2);
        w.move_cursor(100);
        // flag off {flag} --env {env} --reason "... {db_cluster} ...": nothing
        // binds them outside an incident.
        assert_eq!(
            w.selected_action().unwrap(),
            Err(ActionIssue::Unbound(vec![
                "flag".into(),
                "env".into(),
                "db_cluster".into()
            ]))
        );
        assert!(w.set_binding("flag", "$(reboot)").is_err());
        w.set_binding("flag", "orders-write-path").unwrap();
        w.set_binding("env", "production").unwrap();
        w.set_binding("db_cluster", "pg-main").unwrap();
        let a = w.selected_action().unwrap().unwrap();
        assert!(
            matches!(a.op, WriteOp::FlagSet { ref key, on: false, ref environment, .. }
                if key == "orders-write-path" && environment.as_deref() == Some("production")),
            "{a:?}"
        );
        assert!(!w.prev_step() || w.step_index() == 1);
    }

    #[test]
    fn runnable_blocks_are_the_only_ones_that_may_run() {
        let code = |run, host: Option<&str>, interactive, text: &str| SelectedCode {
            lang: SafeText::line("sh"),
            text: text.into(),
            copy: text.into(),
            unbound: vec![],
            run,
            host: host.map(SafeText::line),
            interactive,
        };
        assert_eq!(
            code(true, None, false, "set -eu\nsitrep slo").refuse_exec(),
            None
        );
        assert!(
            code(false, None, false, "sitrep slo")
                .refuse_exec()
                .is_some()
        );
        let other = code(true, Some("old-primary"), false, "set -eu").refuse_exec();
        assert!(other.unwrap().contains("old-primary"));
        assert!(code(true, None, true, "set -eu").refuse_exec().is_some());
        assert!(
            code(true, None, false, "set -eu\nkill <PID>")
                .refuse_exec()
                .unwrap()
                .contains("<PID>")
        );
        assert_eq!(angle_placeholder("a <b> <PID> c"), Some("<PID>"));
        assert_eq!(angle_placeholder("x < y > z"), None);
    }

    #[test]
    fn changed_runbook_and_corrupt_progress_warn() {
        let dir = tempfile::tempdir().unwrap();
        let rb = Catalog::bundled().get("rollback").cloned().unwrap();
        let mut w = Walk::open(dir.path(), &rb, None);
        w.toggle();
        w.save(dir.path(), now()).unwrap();
        let mut changed = rb.clone();
        changed.revision = "other".into();
        assert!(Walk::open(dir.path(), &changed, None).warning.is_some());
        let p = Progress::path_for(dir.path(), "rollback", None);
        std::fs::write(&p, "garbage").unwrap();
        let w = Walk::open(dir.path(), &rb, None);
        assert!(w.warning.unwrap().as_str().contains("fresh"));
        assert!(w.progress.checked.is_empty());
    }

    #[test]
    fn values_given_in_a_walk_are_kept_and_resumed() {
        let dir = tempfile::tempdir().unwrap();
        let rb = Catalog::bundled().get("disk-full").cloned().unwrap();
        let inc = Some("INC-7");
        let mut w = Walk::open(dir.path(), &rb, inc).with_bindings(&Bindings::default());
        w.set_binding("instance", "db-7:9100").unwrap();
        w.set_binding("service", "typed-svc").unwrap();
        assert_eq!(
            w.progress.given.get("instance").map(String::as_str),
            Some("db-7:9100")
        );
        w.save(dir.path(), now()).unwrap();

        // Resumed without a selection: the typed values come back.
        let w2 = Walk::open(dir.path(), &rb, inc).with_bindings(&Bindings::default());
        assert_eq!(w2.bindings.get("instance"), Some("db-7:9100"));
        assert_eq!(w2.bindings.origin("instance"), Some(Origin::Given));
        assert_eq!(w2.bindings.get("service"), Some("typed-svc"));

        // Resumed from a selected row: the selection wins over the saved
        // service, the saved instance still fills the gap, and what the
        // context derived (config, providers) comes last.
        let mut ctx = Bindings::default();
        ctx.set("service", "selected-svc", Origin::Selection)
            .unwrap();
        ctx.set("instance", "from-incident:9100", Origin::Incident)
            .unwrap();
        let w3 = Walk::open(dir.path(), &rb, inc).with_bindings(&ctx);
        assert_eq!(w3.bindings.get("service"), Some("selected-svc"));
        assert_eq!(w3.bindings.get("instance"), Some("db-7:9100"));
        assert_eq!(
            w3.progress.given.get("service").map(String::as_str),
            Some("selected-svc")
        );

        // Outside an incident the saved values are not bound again.
        let mut o = Walk::open(dir.path(), &rb, None).with_bindings(&Bindings::default());
        o.set_binding("instance", "old-host:9100").unwrap();
        o.save(dir.path(), now()).unwrap();
        let o2 = Walk::open(dir.path(), &rb, None).with_bindings(&Bindings::default());
        assert_eq!(o2.bindings.get("instance"), None);
    }
}
