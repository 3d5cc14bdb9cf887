//! flagd flag files: the OpenFeature flagd flag-definition JSON
//! (`$schema: https://flagd.dev/schema/v0/flags.json`), read from `path`.
//!
//! Reading:
//! - `flags` is a map key → flag (flagd also accepts an array of flags, each
//!   with `key`; both forms are read and edited).
//! - A flag is **on** when it evaluates on by default: `state` is
//!   `"ENABLED"` and `defaultVariant` names an existing variant that is not
//!   off-like. For a boolean flag (every variant value a bool) off-like means
//!   the value `false`; for any other flag it means a variant whose name or
//!   string value is `off`, `disabled` or `false` (case-insensitive). A
//!   `defaultVariant` of `null` (use the code default) counts as off: the
//!   file does not turn the flag on.
//! - A flag is a **kill switch** when its own `metadata` has
//!   `killSwitch: true` (also `kill-switch`/`kill_switch: true`),
//!   `type: "kill-switch"`, or `tags` (a comma- or space-separated string)
//!   containing `kill-switch`.
//!
//! Writing (`FlagSet`): off sets `defaultVariant` to the off variant, or
//! `state: "DISABLED"` when there is none; on sets `state: "ENABLED"` and, if
//! the default variant is off-like, the on variant (value `true`, or named
//! `on`/`enabled`/`true`). When a non-boolean flag is turned off and its on
//! variant could not be told apart later, the variant it had is remembered in
//! the flag's metadata under [`RESTORE_KEY`] and removed again on restore.
//!
//! The edit is textual: only the bytes of the changed values are replaced,
//! so key order, formatting, `$evaluators`, targeting, metadata, other flags
//! and unknown keys stay exactly as they were. The result is re-parsed and
//! must equal the original document with exactly the planned changes applied,
//! or nothing is written. The file is written atomically (temp file in the
//! same directory, fsync, rename, fsync of the directory) under an exclusive
//! lock, and only if its SHA-256 still matches the one recorded in the plan.
//!
//! The parts: this file is the provider (reading, planning, the locked
//! write); `doc` is the edit model (the parsed file, [`Change`], and
//! working out and applying the edits); `rules` says what on, off and a
//! kill switch mean for a flag; `spans` finds the bytes of each value so
//! that an edit touches only those.

mod doc;
mod rules;
mod spans;
mod yaml_edit;

pub use doc::{Change, Doc, Format, Seg, sha256_hex};
pub use rules::{evaluates_on, is_boolean, is_kill_switch, off_variant, on_variant};

use super::{Basics, BoxFut, BuildCtx, ErrorKind, Provider, ProviderError, is_flag_set};
use crate::config::{ProviderConfig, ProviderKind};
use crate::fsutil::{self, LockError};
use crate::model::{Fetched, Flag, Time};
use crate::ops::{ExecResult, Plan, PlanCtx, PlannedRequest, Precondition, WriteOp};
use crate::text::SafeText;
use rules::targeting_is_set;
use serde_json::{Value, json};
use std::fs::{self, File, OpenOptions};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Largest flag file read.
pub const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;
/// Metadata key holding the variant to restore (non-boolean flags only).
pub const RESTORE_KEY: &str = "sitrepRestoreVariant";
/// How long `execute` waits for another sitrep process holding the file lock.
const LOCK_WAIT: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct Flagd {
    basics: Basics,
    path: PathBuf,
    /// What the file serves (`environment = "production"`): the
    /// production guard applies to its writes.
    environment: Option<String>,
    /// Flag key → `[[service]]` (`flags`, `kill_switch`), for flags whose
    /// metadata names no service.
    services: std::collections::BTreeMap<String, String>,
}

impl Flagd {
    pub fn new(pc: &ProviderConfig, ctx: &BuildCtx<'_>) -> Result<Self, ProviderError> {
        let path = pc
            .path
            .clone()
            .ok_or_else(|| ProviderError::config(&pc.name, "flagd provider needs `path`"))?;
        let path = std::path::absolute(&path).unwrap_or(path);
        // A kill switch cut off mid-write left its temp file: tidy it.
        let real = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        for p in crate::fsutil::remove_stale_temps(&real) {
            tracing::warn!(
                "flagd {}: removed {}, left by an edit that was killed midway",
                pc.name,
                p.display()
            );
        }
        Ok(Flagd {
            basics: Basics::new(pc, ProviderKind::Flagd),
            path,
            environment: pc.environment.clone(),
            services: super::flag_services(ctx.config),
        })
    }

    /// A provider for `path` (tests, tools).
    pub fn with_path(name: &str, path: &Path) -> Self {
        Flagd {
            basics: Basics {
                name: name.to_string(),
                kind: ProviderKind::Flagd,
                poll: Duration::from_secs(30),
            },
            path: std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
            environment: None,
            services: Default::default(),
        }
    }

    /// Mark the file as serving `env` (tests, tools).
    pub fn with_environment(mut self, env: &str) -> Self {
        self.environment = Some(env.to_string());
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, kind: ErrorKind, detail: impl AsRef<str>) -> ProviderError {
        ProviderError::new(&self.basics.name, kind, detail)
    }

    fn io_err(&self, what: &str, e: &std::io::Error) -> ProviderError {
        let path = self.path.display();
        let detail = match e.kind() {
            std::io::ErrorKind::NotFound => format!("no such file {path}"),
            std::io::ErrorKind::PermissionDenied => format!("permission denied: {path} ({what})"),
            _ => format!("{path}: {what}: {e}"),
        };
        self.err(ErrorKind::Io, detail)
    }

    fn url(&self) -> String {
        url::Url::from_file_path(&self.path)
            .map(|u| u.to_string())
            .unwrap_or_else(|_| format!("file://{}", self.path.display()))
    }

    /// Read and parse the file (blocking).
    fn load(&self) -> Result<Doc, ProviderError> {
        let mut f = File::open(&self.path).map_err(|e| self.io_err("cannot open", &e))?;
        let meta = f.metadata().map_err(|e| self.io_err("cannot stat", &e))?;
        let bytes = read_capped(&mut f, meta.len()).map_err(|e| match e {
            ReadErr::Io(e) => self.io_err("cannot read", &e),
            ReadErr::TooLarge => self.err(
                ErrorKind::TooLarge,
                format!(
                    "{} is larger than {} MiB",
                    self.path.display(),
                    MAX_FILE_BYTES / 1024 / 1024
                ),
            ),
        })?;
        let mut doc = Doc::parse(&self.basics.name, &self.path, bytes)?;
        doc.mtime = meta.modified().ok().map(Time::from);
        Ok(doc)
    }

    fn snapshot(&self) -> Result<Fetched, ProviderError> {
        let doc = self.load()?;
        let url = self.url();
        let flags = doc
            .flags()
            .map(|(key, _, flag)| {
                let meta = flag.get("metadata");
                let text = |k: &str| meta.and_then(|m| m.get(k)).and_then(Value::as_str);
                Flag {
                    provider: SafeText::line(&self.basics.name),
                    key: SafeText::line(key),
                    name: SafeText::line(text("name").or(text("description")).unwrap_or(key)),
                    environment: None,
                    on: evaluates_on(flag),
                    kill_switch: is_kill_switch(flag),
                    updated_at: doc.mtime,
                    url: Some(SafeText::line(&url)),
                    service: text("service")
                        .or_else(|| self.services.get(key).map(String::as_str))
                        .map(SafeText::line),
                }
            })
            .collect();
        Ok(Fetched {
            flags,
            ..Default::default()
        })
    }

    /// The edits for `flag on/off`: on after a recorded kill switch undoes
    /// exactly what it did (`restore`, see [`PlanCtx::restore`]); else the
    /// flag's own variants decide. The second value says which, for the plan.
    fn changes(
        &self,
        doc: &Doc,
        key: &str,
        on: bool,
        restore: Option<&Value>,
    ) -> Result<(Vec<Change>, Option<String>), ProviderError> {
        if let (true, Some(r)) = (on, restore) {
            let when = format!(
                "the kill switch of {} (audit record {})",
                r.get("ts").and_then(Value::as_str).unwrap_or("?"),
                r.get("seq").and_then(Value::as_u64).unwrap_or(0)
            );
            let result = r.get("result");
            if result.and_then(|v| v.get("changed")) == Some(&Value::Bool(false)) {
                return Ok((
                    vec![],
                    Some(format!(
                        "as before {when}: it was already OFF then, so nothing changes (run `flag on` again to turn it on)"
                    )),
                ));
            }
            let recorded = result
                .and_then(|v| v.get("changes"))
                .and_then(Value::as_array);
            if let Some(changes) = recorded.and_then(|c| doc.restore_changes(key, c)) {
                return Ok((changes, Some(format!("exactly as before {when}"))));
            }
            let changes = doc.changes_for(&self.basics.name, key, on)?;
            return Ok((
                changes,
                Some(format!(
                    "the flag changed since {when}, so it is turned on by its variants instead"
                )),
            ));
        }
        Ok((doc.changes_for(&self.basics.name, key, on)?, None))
    }

    fn make_plan(
        &self,
        key: &str,
        environment: Option<&str>,
        on: bool,
        op: &WriteOp,
        restore: Option<Value>,
    ) -> Result<Plan, ProviderError> {
        if let Some(env) = environment {
            return Err(self.err(
                ErrorKind::NotFound,
                format!(
                    "flagd file {} has no environments (asked for {env:?}); leave out --env or name the provider",
                    self.path.display()
                ),
            ));
        }
        let doc = self.load()?;
        let not_found = || {
            self.err(
                ErrorKind::NotFound,
                format!("no flag {key} in {}", self.path.display()),
            )
        };
        let (_, _, flag) = doc.find(key).ok_or_else(not_found)?;
        let (changes, restoring) = self.changes(&doc, key, on, restore.as_ref())?;
        let shown = SafeText::line(key);
        let was_on = evaluates_on(flag);
        let change_json: Vec<Value> = changes.iter().map(Change::to_json).collect();
        let mut stakes = vec![
            (
                "now".to_string(),
                if was_on { "ON" } else { "OFF" }.to_string(),
            ),
            ("file".to_string(), self.path.display().to_string()),
        ];
        if let Some(r) = &restoring {
            stakes.push(("restore".into(), r.clone()));
        }
        if changes.is_empty() {
            stakes.push((
                "change".into(),
                format!("none: already {}", if on { "ON" } else { "OFF" }),
            ));
        }
        for c in &changes {
            stakes.push(("edit".into(), c.describe()));
        }
        if !on && targeting_is_set(flag) && !changes.iter().any(|c| c.is_state()) {
            stakes.push((
                "note".into(),
                "this flag has targeting rules: contexts they match may still get other variants"
                    .into(),
            ));
        }
        let stakes = stakes
            .into_iter()
            .map(|(k, v)| (k, SafeText::line(&v).into_string()))
            .collect();
        let body = json!({
            "file": self.path.display().to_string(),
            "sha256": doc.sha256,
            "flag": shown.as_str(),
            "changes": change_json,
        });
        Ok(Plan {
            op: op.clone(),
            provider: self.basics.name.clone(),
            summary: SafeText::line(&format!(
                "turn flag {shown} {} in flagd file {}",
                if on { "ON" } else { "OFF" },
                self.path.display()
            ))
            .into_string(),
            stakes,
            requests: vec![PlannedRequest {
                method: "EDIT".into(),
                url: self.url(),
                headers: vec![],
                body: Some(body),
            }],
            detail: json!({
                "file": self.path.display().to_string(),
                "sha256": doc.sha256,
                "was_on": was_on,
                "changes": change_json,
                "restore": restore,
            }),
            environment: self.environment.clone(),
            precondition: Precondition::FileUnchanged {
                sha256: doc.sha256.clone(),
                changes: Value::Array(change_json.clone()),
            },
        })
    }

    /// Carry out a plan (blocking): lock, re-read, compare the hash, edit,
    /// verify, write atomically.
    fn apply(&self, plan: &Plan) -> Result<ExecResult, ProviderError> {
        let WriteOp::FlagSet { key, on, .. } = &plan.op else {
            return Err(ProviderError::unsupported(
                &self.basics.name,
                plan.op.action_name(),
            ));
        };
        let Precondition::FileUnchanged {
            sha256: planned_hash,
            changes: planned_changes,
        } = &plan.precondition
        else {
            return Err(self.err(
                ErrorKind::Config,
                "the plan records no file hash; plan again",
            ));
        };
        // Write to the real file behind a symlink, keeping the link.
        let real = fs::canonicalize(&self.path).map_err(|e| self.io_err("cannot resolve", &e))?;
        let (mut file, meta) = self.lock(&real)?;
        let bytes = read_capped(&mut file, meta.len()).map_err(|e| match e {
            ReadErr::Io(e) => self.io_err("cannot read", &e),
            ReadErr::TooLarge => self.err(
                ErrorKind::TooLarge,
                format!("{} is too large", self.path.display()),
            ),
        })?;
        let doc = Doc::parse(&self.basics.name, &self.path, bytes)?;
        if doc.sha256 != *planned_hash {
            return Err(self.err(
                ErrorKind::Conflict { status: 409 },
                format!(
                    "{} changed since planned (sha256 {} when planned, {} now); nothing was written, plan again",
                    self.path.display(),
                    short_hash(planned_hash),
                    short_hash(&doc.sha256)
                ),
            ));
        }
        let restore = plan.detail.get("restore").filter(|r| !r.is_null());
        let (changes, _) = self.changes(&doc, key, *on, restore)?;
        let change_json: Vec<Value> = changes.iter().map(Change::to_json).collect();
        if *planned_changes != Value::Array(change_json.clone()) {
            return Err(self.err(
                ErrorKind::Conflict { status: 409 },
                "the edit worked out now differs from the plan; nothing was written, plan again",
            ));
        }
        let state = if *on { "ON" } else { "OFF" };
        if changes.is_empty() {
            return Ok(ExecResult {
                message: format!(
                    "flag {} was already {state}; {} unchanged",
                    SafeText::line(key),
                    self.path.display()
                ),
                detail: json!({"file": self.path.display().to_string(), "sha256_before": doc.sha256, "changed": false}),
            });
        }
        let new_text = doc.edit(&self.basics.name, &changes)?;
        // Last check right before the rename: a writer that ignores our lock.
        let now_bytes = fs::read(&real).map_err(|e| self.io_err("cannot re-read", &e))?;
        if sha256_hex(&now_bytes) != doc.sha256 {
            return Err(self.err(
                ErrorKind::Conflict { status: 409 },
                format!(
                    "{} changed while it was being edited; nothing was written, plan again",
                    self.path.display()
                ),
            ));
        }
        fsutil::write_atomic(&real, new_text.as_bytes(), file_mode(&meta))
            .map_err(|e| self.io_err("cannot write", &e))?;
        drop(file);
        Ok(ExecResult {
            message: format!(
                "flag {} is now {state} in {}",
                SafeText::line(key),
                self.path.display()
            ),
            detail: json!({
                "file": self.path.display().to_string(),
                "sha256_before": doc.sha256,
                "sha256_after": sha256_hex(new_text.as_bytes()),
                "changes": change_json,
                "changed": true,
            }),
        })
    }

    /// Open `real` and take an exclusive lock on it, making sure the locked
    /// file is still the one at the path (a rename by another sitrep may
    /// have replaced it while we waited).
    fn lock(&self, real: &Path) -> Result<(File, fs::Metadata), ProviderError> {
        let deadline = std::time::Instant::now() + LOCK_WAIT;
        loop {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .open(real)
                .map_err(|e| self.io_err("cannot open for writing", &e))?;
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match fsutil::lock_with_timeout(&file, left) {
                Ok(()) => {}
                Err(LockError::TimedOut) => {
                    return Err(self.err(
                        ErrorKind::Conflict { status: 423 },
                        format!(
                            "{} is locked by another process for more than {}s; nothing was written",
                            self.path.display(),
                            LOCK_WAIT.as_secs()
                        ),
                    ));
                }
                Err(LockError::Io(e)) => return Err(self.io_err("cannot lock", &e)),
            }
            let meta = file
                .metadata()
                .map_err(|e| self.io_err("cannot stat", &e))?;
            if same_file(&meta, real) {
                return Ok((file, meta));
            }
            if std::time::Instant::now() >= deadline {
                return Err(self.err(
                    ErrorKind::Conflict { status: 423 },
                    format!(
                        "{} keeps being replaced; nothing was written",
                        self.path.display()
                    ),
                ));
            }
        }
    }
}

#[cfg(unix)]
fn same_file(meta: &fs::Metadata, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(path).is_ok_and(|m| m.dev() == meta.dev() && m.ino() == meta.ino())
}

#[cfg(not(unix))]
fn same_file(_meta: &fs::Metadata, path: &Path) -> bool {
    path.exists()
}

/// The permission bits to give the rewritten file: the ones it had.
#[cfg(unix)]
fn file_mode(meta: &fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o7777
}

#[cfg(not(unix))]
fn file_mode(_meta: &fs::Metadata) -> u32 {
    0o644
}

fn short_hash(h: &str) -> &str {
    h.get(..12).unwrap_or(h)
}

enum ReadErr {
    Io(std::io::Error),
    TooLarge,
}

fn read_capped(f: &mut File, len_hint: u64) -> Result<Vec<u8>, ReadErr> {
    if len_hint > MAX_FILE_BYTES {
        return Err(ReadErr::TooLarge);
    }
    let mut buf = Vec::with_capacity(len_hint as usize);
    f.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut buf)
        .map_err(ReadErr::Io)?;
    if buf.len() as u64 > MAX_FILE_BYTES {
        return Err(ReadErr::TooLarge);
    }
    Ok(buf)
}

impl Flagd {
    /// Run `f` on a copy of this provider on the blocking pool (file I/O);
    /// `failed` is the error when the task itself fails.
    async fn blocking<T: Send + 'static>(
        &self,
        failed: &'static str,
        f: impl FnOnce(Flagd) -> Result<T, ProviderError> + Send + 'static,
    ) -> Result<T, ProviderError> {
        let me = self.clone();
        crate::spawn::blocking(move || f(me))
            .await
            .unwrap_or_else(|_| Err(self.err(ErrorKind::Unknown, failed)))
    }

    /// `Provider::plan`: a flag set, worked out from the file as it is.
    async fn plan_write(&self, op: &WriteOp, ctx: &PlanCtx) -> Result<Plan, ProviderError> {
        let WriteOp::FlagSet {
            key,
            environment,
            on,
            ..
        } = op
        else {
            return Err(ProviderError::op_unsupported(
                &self.basics.name,
                "flagd files",
                op,
            ));
        };
        let (key, env, on, op2) = (key.clone(), environment.clone(), *on, op.clone());
        let restore = ctx.restore.get(&self.basics.name).cloned();
        self.blocking("file reader task failed", move |me| {
            me.make_plan(&key, env.as_deref(), on, &op2, restore)
        })
        .await
    }

    /// `Provider::execute`: the planned edit of the file.
    async fn execute_write(
        &self,
        plan: &Plan,
        _idempotency_key: &str,
    ) -> Result<ExecResult, ProviderError> {
        let plan = plan.clone();
        self.blocking("file writer task failed; check the file", move |me| {
            me.apply(&plan)
        })
        .await
    }
}

impl Provider for Flagd {
    provider_basics!();
    fn fetch(&self) -> BoxFut<'_, Result<Fetched, ProviderError>> {
        Box::pin(self.blocking("file reader task failed", |me| me.snapshot()))
    }
    fn supports(&self, op: &WriteOp) -> bool {
        is_flag_set(op)
    }
    delegate_writes!(plan_write, execute_write);
}
