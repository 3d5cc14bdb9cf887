//! Walk-mode progress: which checklist items are ticked and which step is
//! open, per (runbook, incident), kept across restarts.
//!
//! Layout: `<data dir>/runbooks/progress/<runbook id>/<incident>.json`,
//! where `<incident>` is `none` when the runbook is walked outside an
//! incident, else the incident id with every byte outside `[A-Za-z0-9._-]`
//! written as `%XX` (a long id is cut and suffixed with its SHA-256). The
//! file is written to a temporary sibling, fsynced, then renamed over the
//! old one (and the directory fsynced), so a crash leaves the old or the
//! new progress, never half of one.

use super::Runbook;
use crate::model::Time;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const FORMAT: u32 = 1;
/// Progress files larger than this are not read (they are ours and tiny).
const MAX_FILE: u64 = 256 * 1024;

/// Progress of one walk through a runbook.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub version: u32,
    pub runbook: String,
    /// The incident walked for; `None` = outside an incident.
    pub incident: Option<String>,
    /// The open step (1-based).
    pub current_step: u32,
    /// Ticked items: step index → item indices.
    #[serde(default)]
    pub checked: BTreeMap<u32, BTreeSet<u32>>,
    /// The runbook revision the ticks were made on (see [`Progress::revision_changed`]).
    #[serde(default)]
    pub revision: String,
    #[serde(default)]
    pub updated_at: Option<Time>,
    /// Placeholder values given for this walk (the selected row, typed in
    /// the walk), so a reader of the progress (the hand-off) binds the
    /// checklist as the walk did; the incident's own values are bound
    /// again from the incident.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub given: BTreeMap<String, String>,
}

/// Load the progress of `runbook` for `incident` from `data_dir`, or a
/// fresh one when there is none. A corrupt file is an error (the caller
/// shows it and may start fresh with [`Progress::new`]).
pub fn load_progress(
    data_dir: &Path,
    runbook: &str,
    incident: Option<&str>,
) -> Result<Progress, String> {
    Progress::load(data_dir, runbook, incident)
}

/// A file-name-safe form of an id.
fn encode(id: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || (b == b'.' && !out.is_empty()) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    if out.is_empty() {
        return "%".into();
    }
    if out.len() > 120 {
        use sha2::{Digest, Sha256};
        let h = hex::encode(Sha256::digest(id.as_bytes()));
        let mut cut = 64;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push('~');
        out.push_str(&h[..32]);
    }
    out
}

impl Progress {
    pub fn new(runbook: &str, incident: Option<&str>) -> Progress {
        Progress {
            version: FORMAT,
            runbook: runbook.to_string(),
            incident: incident.map(str::to_string),
            current_step: 1,
            checked: BTreeMap::new(),
            revision: String::new(),
            updated_at: None,
            given: BTreeMap::new(),
        }
    }

    /// `<data dir>/runbooks/progress/<runbook>/<incident or none>.json`.
    pub fn path_for(data_dir: &Path, runbook: &str, incident: Option<&str>) -> PathBuf {
        let file = match incident {
            None => "none".to_string(),
            Some(i) => encode(i),
        };
        data_dir
            .join("runbooks")
            .join("progress")
            .join(encode(runbook))
            .join(format!("{file}.json"))
    }

    pub fn path(&self, data_dir: &Path) -> PathBuf {
        Self::path_for(data_dir, &self.runbook, self.incident.as_deref())
    }

    pub fn load(
        data_dir: &Path,
        runbook: &str,
        incident: Option<&str>,
    ) -> Result<Progress, String> {
        use std::io::Read;
        let p = Self::path_for(data_dir, runbook, incident);
        let f = match std::fs::File::open(&p) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Progress::new(runbook, incident));
            }
            Err(e) => return Err(format!("{}: {e}", p.display())),
        };
        let mut buf = Vec::new();
        f.take(MAX_FILE)
            .read_to_end(&mut buf)
            .map_err(|e| format!("{}: {e}", p.display()))?;
        let mut pr: Progress = serde_json::from_slice(&buf)
            .map_err(|e| format!("{}: corrupt progress file: {e}", p.display()))?;
        if pr.version != FORMAT {
            return Err(format!(
                "{}: progress format {} is not supported",
                p.display(),
                pr.version
            ));
        }
        // The file names the walk; trust the name we asked for.
        pr.runbook = runbook.to_string();
        pr.incident = incident.map(str::to_string);
        pr.current_step = pr.current_step.max(1);
        Ok(pr)
    }

    /// Write atomically: temp file, fsync, rename, fsync the directory.
    pub fn save(&mut self, data_dir: &Path, now: Time) -> Result<(), String> {
        self.updated_at = Some(now);
        let p = self.path(data_dir);
        let dir = p
            .parent()
            .ok_or_else(|| format!("{}: no parent directory", p.display()))?;
        crate::fsutil::create_private_dir_all(dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut bytes = serde_json::to_vec_pretty(self).map_err(|e| e.to_string())?;
        bytes.push(b'\n');
        crate::fsutil::write_atomic(&p, &bytes, 0o600)
            .map_err(|e| format!("cannot save progress to {}: {e}", p.display()))
    }

    /// Tick or untick an item; returns its new state.
    pub fn toggle(&mut self, step: u32, item: u32) -> bool {
        let set = self.checked.entry(step).or_default();
        let now = if set.remove(&item) {
            false
        } else {
            set.insert(item);
            true
        };
        if set.is_empty() {
            self.checked.remove(&step);
        }
        now
    }

    /// The audit record of a tick (`runbook.step`, SPEC §6), for the executor.
    pub fn step_op(&self, step: u32, item: Option<u32>) -> crate::ops::WriteOp {
        crate::ops::WriteOp::RunbookStep {
            runbook: self.runbook.clone(),
            step,
            item,
            checked: item.is_none_or(|i| self.is_checked(step, i)),
        }
    }

    pub fn is_checked(&self, step: u32, item: u32) -> bool {
        self.checked.get(&step).is_some_and(|s| s.contains(&item))
    }

    /// Open a step (clamped to the runbook's steps).
    pub fn set_step(&mut self, rb: &Runbook, step: u32) {
        let max = rb.steps.len().max(1) as u32;
        self.current_step = step.clamp(1, max);
    }

    /// (ticked, total) items of a step.
    pub fn step_counts(&self, rb: &Runbook, step: u32) -> (usize, usize) {
        let Some(s) = rb.step(step) else {
            return (0, 0);
        };
        let done = s
            .items
            .iter()
            .filter(|i| self.is_checked(step, i.index))
            .count();
        (done, s.items.len())
    }

    /// Every item of every step ticked.
    pub fn is_complete(&self, rb: &Runbook) -> bool {
        rb.steps.iter().all(|s| {
            let (d, t) = self.step_counts(rb, s.index);
            d == t
        })
    }

    /// Record the runbook revision the walk is made on.
    pub fn stamp(&mut self, rb: &Runbook) {
        self.revision = rb.revision.clone();
    }

    /// The runbook changed since the ticks were made: item numbers may have
    /// moved, the TUI should say so.
    pub fn revision_changed(&self, rb: &Runbook) -> bool {
        !self.revision.is_empty() && self.revision != rb.revision
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_is_safe() {
        assert_eq!(encode("Q1CHK5XZ01"), "Q1CHK5XZ01");
        assert_eq!(encode("../etc/passwd"), "%2E.%2Fetc%2Fpasswd");
        assert_eq!(encode("a/b c"), "a%2Fb%20c");
        assert_eq!(encode(""), "%");
        let long = encode(&"é".repeat(100));
        assert!(long.len() < 110 && long.contains('~'));
    }

    #[test]
    fn toggle_and_counts() {
        let rb = super::super::Catalog::bundled()
            .get("db-failover")
            .cloned()
            .unwrap();
        let mut p = Progress::new("db-failover", None);
        assert!(p.toggle(1, 0));
        assert!(p.is_checked(1, 0));
        assert!(matches!(
            p.step_op(1, Some(0)),
            crate::ops::WriteOp::RunbookStep {
                step: 1,
                item: Some(0),
                checked: true,
                ..
            }
        ));
        assert!(!p.toggle(1, 0));
        assert!(p.checked.is_empty());
        p.toggle(1, 1);
        assert_eq!(p.step_counts(&rb, 1).0, 1);
        p.set_step(&rb, 999);
        assert_eq!(p.current_step as usize, rb.steps.len());
        p.set_step(&rb, 0);
        assert_eq!(p.current_step, 1);
        assert!(!p.is_complete(&rb));
    }

    #[test]
    fn corrupt_file_is_an_error_missing_is_fresh() {
        let d = tempfile::tempdir().unwrap();
        let p = load_progress(d.path(), "x", Some("I1")).unwrap();
        assert_eq!(p, Progress::new("x", Some("I1")));
        let path = Progress::path_for(d.path(), "x", Some("I1"));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "{not json").unwrap();
        assert!(
            load_progress(d.path(), "x", Some("I1"))
                .unwrap_err()
                .contains("corrupt")
        );
    }
}
