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

use super::{Action, Block, Focus, Progress, Runbook, Step};
use crate::model::Time;
use crate::ops::WriteOp;
use crate::text::SafeText;
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
        Walk {
            runbook: rb.clone(),
            progress,
            cursor: 0,
            warning,
        }
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

    /// Tick or untick the item under the cursor. Returns the
    /// `runbook.step` op to audit, or None when the cursor is not on an
    /// item. Call [`Walk::save`] after.
    pub fn toggle(&mut self) -> Option<WriteOp> {
        let Focus::Item(i) = self.focus()? else {
            return None;
        };
        let step = self.progress.current_step;
        let item = self.step()?.items.get(i)?.index;
        self.progress.toggle(step, item);
        self.progress.stamp(&self.runbook);
        Some(self.progress.step_op(step, Some(item)))
    }

    pub fn save(&mut self, data_dir: &Path, now: Time) -> Result<(), String> {
        self.progress.save(data_dir, now)
    }

    /// The action under the cursor, with `{incident}` bound to the walk's
    /// incident. `Err` when the block does not parse, or when it needs an
    /// incident and the walk has none (the view asks for one).
    pub fn selected_action(&self) -> Option<Result<Action, SafeText>> {
        let Focus::Block(i) = self.focus()? else {
            return None;
        };
        match self.step()?.blocks.get(i)? {
            Block::Action { action, error, .. } => Some(match (action, error) {
                (Some(a), _) => match self.incident() {
                    Some(inc) => Ok(a.bind_incident(inc)),
                    None if a.needs_incident() => Err(SafeText::trusted(
                        "this action names {incident}: open the runbook from an incident, or pick one",
                    )),
                    None => Ok(a.clone()),
                },
                (None, Some(e)) => Err(e.clone()),
                (None, None) => Err(SafeText::trusted("not a valid sitrep action")),
            }),
            Block::Code { .. } => None,
        }
    }

    /// The code block under the cursor: (language, text).
    pub fn selected_code(&self) -> Option<(&SafeText, &SafeText)> {
        let Focus::Block(i) = self.focus()? else {
            return None;
        };
        match self.step()?.blocks.get(i)? {
            Block::Code { lang, text } => Some((lang, text)),
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
        // Down to the action block of step 1 (after 4 items and 1 code block).
        w.move_cursor(100);
        let a = w.selected_action().unwrap().unwrap();
        assert!(
            matches!(a.op, WriteOp::IncidentNote { ref id, .. } if id == "Q1PAY7LAG2"),
            "{a:?}"
        );
        assert!(w.toggle().is_none(), "not on an item");
        w.move_cursor(-1);
        assert!(w.selected_code().is_some());
        assert!(w.next_step());
        w.save(dir.path(), now()).unwrap();

        let w2 = Walk::open(dir.path(), &rb, Some("Q1PAY7LAG2"));
        assert_eq!(w2.step_index(), 2);
        assert!(w2.progress.is_checked(1, 0));
        let text = crate::present::render_walk(&w2, &crate::theme::Theme::default_theme(), 80);
        assert!(!text.lines.is_empty());
    }

    #[test]
    fn incident_placeholder_needs_an_incident() {
        let dir = tempfile::tempdir().unwrap();
        let rb = Catalog::bundled().get("db-failover").cloned().unwrap();
        let mut w = Walk::open(dir.path(), &rb, None);
        w.move_cursor(100);
        assert!(w.selected_action().unwrap().is_err());
        w.go_to_step(2);
        w.move_cursor(100);
        let a = w.selected_action().unwrap().unwrap();
        assert!(
            matches!(a.op, WriteOp::FlagSet { ref key, on: false, .. } if key == "payments-ledger-async")
        );
        assert!(!w.prev_step() || w.step_index() == 1);
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
}
