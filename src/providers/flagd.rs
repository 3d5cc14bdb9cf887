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

use super::{BoxFut, ErrorKind, Provider, ProviderError};
use crate::config::{ProviderConfig, ProviderKind};
use crate::fsutil::{self, LockError};
use crate::model::{Fetched, Flag, Time};
use crate::ops::{ExecResult, Plan, PlannedRequest, WriteOp};
use crate::text::SafeText;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
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

const OFF_WORDS: [&str; 3] = ["off", "disabled", "false"];
const ON_WORDS: [&str; 3] = ["on", "enabled", "true"];

pub struct Flagd {
    name: String,
    path: PathBuf,
    poll: Duration,
}

impl Flagd {
    pub fn new(pc: &ProviderConfig) -> Result<Self, ProviderError> {
        let path = pc
            .path
            .clone()
            .ok_or_else(|| ProviderError::config(&pc.name, "flagd provider needs `path`"))?;
        let path = std::path::absolute(&path).unwrap_or(path);
        Ok(Flagd {
            name: pc.name.clone(),
            path,
            poll: pc.poll(),
        })
    }

    /// A provider for `path` (tests, tools).
    pub fn with_path(name: &str, path: &Path) -> Self {
        Flagd {
            name: name.to_string(),
            path: std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
            poll: Duration::from_secs(30),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, kind: ErrorKind, detail: impl AsRef<str>) -> ProviderError {
        ProviderError::new(&self.name, kind, detail)
    }

    fn io_err(&self, what: &str, e: &std::io::Error) -> ProviderError {
        self.err(
            ErrorKind::Io,
            format!("{}: {what}: {e}", self.path.display()),
        )
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
        let mut doc = Doc::parse(&self.name, &self.path, bytes)?;
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
                    provider: SafeText::line(&self.name),
                    key: SafeText::line(key),
                    name: SafeText::line(text("name").or(text("description")).unwrap_or(key)),
                    environment: None,
                    on: evaluates_on(flag),
                    kill_switch: is_kill_switch(flag),
                    updated_at: doc.mtime,
                    url: Some(SafeText::line(&url)),
                    service: text("service").map(SafeText::line),
                }
            })
            .collect();
        Ok(Fetched {
            flags,
            ..Default::default()
        })
    }

    fn make_plan(
        &self,
        key: &str,
        environment: Option<&str>,
        on: bool,
        op: &WriteOp,
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
        let changes = doc.changes_for(&self.name, key, on)?;
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
            provider: self.name.clone(),
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
            }),
        })
    }

    /// Carry out a plan (blocking): lock, re-read, compare the hash, edit,
    /// verify, write atomically.
    fn apply(&self, plan: &Plan) -> Result<ExecResult, ProviderError> {
        let WriteOp::FlagSet { key, on, .. } = &plan.op else {
            return Err(ProviderError::unsupported(
                &self.name,
                plan.op.action_name(),
            ));
        };
        let planned_hash = plan
            .detail
            .get("sha256")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                self.err(
                    ErrorKind::Config,
                    "the plan records no file hash; plan again",
                )
            })?;
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
        let doc = Doc::parse(&self.name, &self.path, bytes)?;
        if doc.sha256 != planned_hash {
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
        let changes = doc.changes_for(&self.name, key, *on)?;
        let change_json: Vec<Value> = changes.iter().map(Change::to_json).collect();
        if plan.detail.get("changes") != Some(&Value::Array(change_json.clone())) {
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
        let new_text = doc.edit(&self.name, &changes)?;
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

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// One step of a path into the document.
#[derive(Clone, Debug, PartialEq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// One planned edit.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    /// Where, from the document root.
    pub path: Vec<Seg>,
    /// The value before (`None` = absent).
    pub from: Option<Value>,
    /// The value after (`None` = removed).
    pub to: Option<Value>,
}

impl Change {
    /// The JSON pointer (RFC 6901), sanitized for display: a hostile flag
    /// key shows as inert text.
    fn pointer(&self) -> String {
        let raw: String = self
            .path
            .iter()
            .map(|s| match s {
                Seg::Key(k) => format!("/{}", k.replace('~', "~0").replace('/', "~1")),
                Seg::Index(i) => format!("/{i}"),
            })
            .collect();
        SafeText::line(&raw).into_string()
    }

    fn is_state(&self) -> bool {
        matches!(self.path.last(), Some(Seg::Key(k)) if k == "state")
    }

    /// JSON-patch-like description (RFC 6902 ops plus the old value).
    pub fn to_json(&self) -> Value {
        let op = match (&self.from, &self.to) {
            (None, _) => "add",
            (Some(_), None) => "remove",
            _ => "replace",
        };
        let mut v = json!({"op": op, "path": self.pointer()});
        if let Some(f) = &self.from {
            v["from_value"] = f.clone();
        }
        if let Some(t) = &self.to {
            v["value"] = t.clone();
        }
        v
    }

    fn describe(&self) -> String {
        let show = |v: &Option<Value>| {
            v.as_ref()
                .map(Value::to_string)
                .unwrap_or_else(|| "(absent)".into())
        };
        let s = format!(
            "{}: {} → {}",
            self.pointer(),
            show(&self.from),
            show(&self.to)
        );
        SafeText::line(&s).into_string()
    }
}

/// A parsed flag file.
pub struct Doc {
    pub text: String,
    pub sha256: String,
    pub value: Value,
    /// Where the JSON starts (after a UTF-8 BOM).
    base: usize,
    pub mtime: Option<Time>,
}

impl Doc {
    /// Parse file bytes; errors name the file and the line/column.
    pub fn parse(provider: &str, path: &Path, bytes: Vec<u8>) -> Result<Doc, ProviderError> {
        let sha256 = sha256_hex(&bytes);
        let text = String::from_utf8(bytes).map_err(|e| {
            ProviderError::new(
                provider,
                ErrorKind::Malformed,
                format!(
                    "{}: not UTF-8 (byte {})",
                    path.display(),
                    e.utf8_error().valid_up_to()
                ),
            )
        })?;
        let base = if text.starts_with('\u{feff}') {
            '\u{feff}'.len_utf8()
        } else {
            0
        };
        let value: Value = serde_json::from_str(&text[base..]).map_err(|e| {
            let msg = e.to_string();
            let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
            ProviderError::new(
                provider,
                ErrorKind::Malformed,
                format!("{}:{}:{}: {msg}", path.display(), e.line(), e.column()),
            )
        })?;
        let shape = |m: String| {
            ProviderError::new(
                provider,
                ErrorKind::Shape,
                format!("{}: {m}", path.display()),
            )
        };
        let flags = value
            .get("flags")
            .ok_or_else(|| shape("no `flags` (is this a flagd flag-definition file?)".into()))?;
        match flags {
            Value::Object(m) => {
                for (k, f) in m {
                    check_flag(k, f).map_err(shape)?;
                }
            }
            Value::Array(a) => {
                for (i, f) in a.iter().enumerate() {
                    let k = f
                        .get("key")
                        .and_then(Value::as_str)
                        .ok_or_else(|| shape(format!("flags[{i}] has no string `key`")))?;
                    check_flag(k, f).map_err(shape)?;
                }
            }
            _ => return Err(shape("`flags` is neither an object nor an array".into())),
        }
        Ok(Doc {
            text,
            sha256,
            value,
            base,
            mtime: None,
        })
    }

    /// Every flag: key, path segment under `flags`, definition.
    pub fn flags(&self) -> Box<dyn Iterator<Item = (&str, Seg, &Value)> + '_> {
        match self.value.get("flags") {
            Some(Value::Object(m)) => {
                Box::new(m.iter().map(|(k, v)| (k.as_str(), Seg::Key(k.clone()), v)))
            }
            Some(Value::Array(a)) => Box::new(a.iter().enumerate().filter_map(|(i, v)| {
                v.get("key")
                    .and_then(Value::as_str)
                    .map(|k| (k, Seg::Index(i), v))
            })),
            _ => Box::new(std::iter::empty()),
        }
    }

    /// The flag named `key`: the raw key, or else the one flag whose
    /// sanitized key (as shown on screen) is `key`.
    pub fn find(&self, key: &str) -> Option<(&str, Seg, &Value)> {
        if let Some(f) = self.flags().filter(|(k, _, _)| *k == key).last() {
            return Some(f);
        }
        let mut shown = self
            .flags()
            .filter(|(k, _, _)| SafeText::line(k).as_str() == key);
        match (shown.next(), shown.next()) {
            (Some(f), None) => Some(f),
            _ => None,
        }
    }

    /// The edits that make `key` evaluate `on` (empty: already so).
    pub fn changes_for(
        &self,
        provider: &str,
        key: &str,
        on: bool,
    ) -> Result<Vec<Change>, ProviderError> {
        let (_, seg, flag) = self.find(key).ok_or_else(|| {
            ProviderError::new(provider, ErrorKind::NotFound, format!("no flag {key}"))
        })?;
        let at = |field: &str| {
            vec![
                Seg::Key("flags".into()),
                seg.clone(),
                Seg::Key(field.into()),
            ]
        };
        let mut out = Vec::new();
        if evaluates_on(flag) == on {
            return Ok(out);
        }
        let default = flag.get("defaultVariant").cloned();
        let state = flag.get("state").cloned();
        if !on {
            match off_variant(flag) {
                Some(off) => {
                    let prev = default.as_ref().and_then(Value::as_str).map(str::to_string);
                    out.push(Change {
                        path: at("defaultVariant"),
                        from: default,
                        to: Some(Value::String(off)),
                    });
                    if !is_boolean(flag)
                        && on_variant(flag).is_none()
                        && let Some(prev) = prev
                    {
                        out.push(restore_memo_change(flag, &at("metadata"), Some(prev)));
                    }
                }
                None => out.push(Change {
                    path: at("state"),
                    from: state,
                    to: Some(json!("DISABLED")),
                }),
            }
            return Ok(out);
        }
        if state.as_ref().and_then(Value::as_str) != Some("ENABLED") {
            out.push(Change {
                path: at("state"),
                from: state,
                to: Some(json!("ENABLED")),
            });
        }
        let memo = flag
            .get("metadata")
            .and_then(|m| m.get(RESTORE_KEY))
            .and_then(Value::as_str)
            .filter(|v| variant(flag, v).is_some())
            .map(str::to_string);
        let default_is_on = default
            .as_ref()
            .and_then(Value::as_str)
            .and_then(|d| variant(flag, d).map(|v| !is_off_like(flag, d, v)))
            .unwrap_or(false);
        if !default_is_on {
            let target = memo.clone().or_else(|| on_variant(flag)).or_else(|| {
                let candidates: Vec<&String> = variants(flag)
                    .filter(|(n, v)| !is_off_like(flag, n, v))
                    .map(|(n, _)| n)
                    .collect();
                match candidates.as_slice() {
                    [one] => Some((*one).clone()),
                    _ => None,
                }
            });
            let Some(target) = target else {
                return Err(ProviderError::new(
                    provider,
                    ErrorKind::Conflict { status: 409 },
                    format!(
                        "cannot tell which variant turns {key} on (no `true`/`on` variant and no remembered one); edit the file"
                    ),
                ));
            };
            out.push(Change {
                path: at("defaultVariant"),
                from: default,
                to: Some(Value::String(target)),
            });
        }
        if flag
            .get("metadata")
            .and_then(|m| m.get(RESTORE_KEY))
            .is_some()
        {
            out.push(restore_memo_change(flag, &at("metadata"), None));
        }
        Ok(out)
    }

    /// Apply `changes` to the text, touching only their bytes, and verify
    /// the result is the original document with exactly those changes.
    pub fn edit(&self, provider: &str, changes: &[Change]) -> Result<String, ProviderError> {
        let fail = |m: &str| {
            ProviderError::new(
                provider,
                ErrorKind::Unknown,
                format!("refusing to write: {m}; the file was not changed"),
            )
        };
        let mut text = self.text.clone();
        let mut expected = self.value.clone();
        for c in changes {
            let tree = spans::parse(&text, self.base)
                .ok_or_else(|| fail("cannot locate values in the file"))?;
            text = spans::apply(&text, &tree, c)
                .ok_or_else(|| fail("cannot locate the value to change"))?;
            apply_value(&mut expected, c).ok_or_else(|| fail("cannot apply the change"))?;
        }
        let got: Value = serde_json::from_str(&text[self.base..])
            .map_err(|_| fail("the edited file does not parse"))?;
        if got != expected {
            return Err(fail("the edited file differs from the planned change"));
        }
        Ok(text)
    }
}

/// The change that sets (`Some`) or removes (`None`) the remembered variant.
fn restore_memo_change(flag: &Value, meta_path: &[Seg], prev: Option<String>) -> Change {
    let meta = flag.get("metadata").and_then(Value::as_object);
    match (meta, prev) {
        // Removing the only key: drop the metadata object it was added in.
        (Some(m), None) if m.len() == 1 && m.contains_key(RESTORE_KEY) => Change {
            path: meta_path.to_vec(),
            from: flag.get("metadata").cloned(),
            to: None,
        },
        (Some(m), prev) => {
            let mut path = meta_path.to_vec();
            path.push(Seg::Key(RESTORE_KEY.into()));
            Change {
                path,
                from: m.get(RESTORE_KEY).cloned(),
                to: prev.map(Value::String),
            }
        }
        (None, prev) => Change {
            path: meta_path.to_vec(),
            from: flag.get("metadata").cloned(),
            to: prev.map(|p| json!({ RESTORE_KEY: p })),
        },
    }
}

fn apply_value(root: &mut Value, c: &Change) -> Option<()> {
    let (last, parents) = c.path.split_last()?;
    let mut cur = root;
    for s in parents {
        cur = match s {
            Seg::Key(k) => cur.get_mut(k.as_str())?,
            Seg::Index(i) => cur.get_mut(*i)?,
        };
    }
    let Seg::Key(k) = last else { return None };
    let obj = cur.as_object_mut()?;
    match &c.to {
        Some(v) => {
            obj.insert(k.clone(), v.clone());
        }
        None => {
            obj.remove(k);
        }
    }
    Some(())
}

fn check_flag(key: &str, f: &Value) -> Result<(), String> {
    if !f.is_object() {
        return Err(format!("flag {key:?} is not an object"));
    }
    match f.get("variants") {
        Some(Value::Object(_)) => Ok(()),
        _ => Err(format!("flag {key:?} has no `variants` object")),
    }
}

fn variants(flag: &Value) -> impl Iterator<Item = (&String, &Value)> {
    flag.get("variants")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|m| m.iter())
}

fn variant<'a>(flag: &'a Value, name: &str) -> Option<&'a Value> {
    flag.get("variants").and_then(|v| v.get(name))
}

/// Every variant value is a bool.
pub fn is_boolean(flag: &Value) -> bool {
    let mut any = false;
    for (_, v) in variants(flag) {
        if !v.is_boolean() {
            return false;
        }
        any = true;
    }
    any
}

fn word_in(s: &str, words: &[&str]) -> bool {
    words.iter().any(|w| s.eq_ignore_ascii_case(w))
}

fn is_off_like(flag: &Value, name: &str, value: &Value) -> bool {
    if is_boolean(flag) {
        return value == &Value::Bool(false);
    }
    word_in(name, &OFF_WORDS) || value.as_str().is_some_and(|s| word_in(s, &OFF_WORDS))
}

fn is_on_like(flag: &Value, name: &str, value: &Value) -> bool {
    if is_boolean(flag) {
        return value == &Value::Bool(true);
    }
    word_in(name, &ON_WORDS) || value.as_str().is_some_and(|s| word_in(s, &ON_WORDS))
}

/// Pick among matching variants: prefer the one named `preferred`.
fn pick(flag: &Value, pred: impl Fn(&str, &Value) -> bool, preferred: &str) -> Option<String> {
    let all: Vec<&String> = variants(flag)
        .filter(|(n, v)| pred(n, v))
        .map(|(n, _)| n)
        .collect();
    all.iter()
        .find(|n| n.eq_ignore_ascii_case(preferred))
        .or(all.first())
        .map(|n| (*n).clone())
}

pub fn off_variant(flag: &Value) -> Option<String> {
    pick(flag, |n, v| is_off_like(flag, n, v), "off")
}

pub fn on_variant(flag: &Value) -> Option<String> {
    pick(flag, |n, v| is_on_like(flag, n, v), "on")
}

/// The flag evaluates on by default (see the module docs).
pub fn evaluates_on(flag: &Value) -> bool {
    if flag.get("state").and_then(Value::as_str) != Some("ENABLED") {
        return false;
    }
    let Some(d) = flag.get("defaultVariant").and_then(Value::as_str) else {
        return false;
    };
    match variant(flag, d) {
        Some(v) => !is_off_like(flag, d, v),
        None => false,
    }
}

fn targeting_is_set(flag: &Value) -> bool {
    match flag.get("targeting") {
        None | Some(Value::Null) => false,
        Some(Value::Object(m)) => !m.is_empty(),
        Some(_) => true,
    }
}

/// The kill-switch rule (see the module docs).
pub fn is_kill_switch(flag: &Value) -> bool {
    let Some(m) = flag.get("metadata").and_then(Value::as_object) else {
        return false;
    };
    let truthy = |k: &str| match m.get(k) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    };
    if truthy("killSwitch") || truthy("kill-switch") || truthy("kill_switch") {
        return true;
    }
    if m.get("type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.eq_ignore_ascii_case("kill-switch"))
    {
        return true;
    }
    match m.get("tags") {
        Some(Value::String(s)) => s
            .split(|c: char| c == ',' || c.is_whitespace())
            .any(|t| t.eq_ignore_ascii_case("kill-switch")),
        Some(Value::Array(a)) => a.iter().any(|t| {
            t.as_str()
                .is_some_and(|t| t.eq_ignore_ascii_case("kill-switch"))
        }),
        _ => false,
    }
}

impl Provider for Flagd {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> ProviderKind {
        ProviderKind::Flagd
    }
    fn poll_interval(&self) -> Duration {
        self.poll
    }
    fn fetch(&self) -> BoxFut<'_, Result<Fetched, ProviderError>> {
        Box::pin(async move {
            let me = Flagd {
                name: self.name.clone(),
                path: self.path.clone(),
                poll: self.poll,
            };
            tokio::task::spawn_blocking(move || me.snapshot())
                .await
                .unwrap_or_else(|_| Err(self.err(ErrorKind::Unknown, "file reader task failed")))
        })
    }
    fn supports(&self, op: &WriteOp) -> bool {
        matches!(op, WriteOp::FlagSet { .. })
    }
    fn plan<'a>(&'a self, op: &'a WriteOp) -> BoxFut<'a, Result<Plan, ProviderError>> {
        Box::pin(async move {
            let WriteOp::FlagSet {
                key,
                environment,
                on,
                ..
            } = op
            else {
                return Err(ProviderError::op_unsupported(&self.name, "flagd files", op));
            };
            let me = Flagd {
                name: self.name.clone(),
                path: self.path.clone(),
                poll: self.poll,
            };
            let (key, env, on, op2) = (key.clone(), environment.clone(), *on, op.clone());
            tokio::task::spawn_blocking(move || me.make_plan(&key, env.as_deref(), on, &op2))
                .await
                .unwrap_or_else(|_| Err(self.err(ErrorKind::Unknown, "file reader task failed")))
        })
    }
    fn execute<'a>(
        &'a self,
        plan: &'a Plan,
        _idempotency_key: &'a str,
    ) -> BoxFut<'a, Result<ExecResult, ProviderError>> {
        Box::pin(async move {
            let me = Flagd {
                name: self.name.clone(),
                path: self.path.clone(),
                poll: self.poll,
            };
            let plan = plan.clone();
            tokio::task::spawn_blocking(move || me.apply(&plan))
                .await
                .unwrap_or_else(|_| {
                    Err(self.err(
                        ErrorKind::Unknown,
                        "file writer task failed; check the file",
                    ))
                })
        })
    }
}

/// A minimal JSON scanner that records where every value is, so an edit can
/// replace exactly the bytes of one value. It runs only on text serde_json
/// has already accepted, and answers `None` rather than guess.
mod spans {
    use super::{Change, Seg};

    #[derive(Debug, Clone)]
    pub enum Node {
        Object { start: usize, members: Vec<Member> },
        Array { items: Vec<Node> },
        Scalar,
    }

    #[derive(Debug, Clone)]
    pub struct Member {
        pub key: String,
        pub key_start: usize,
        pub key_end: usize,
        pub value_start: usize,
        pub value_end: usize,
        pub value: Node,
    }

    pub fn parse(text: &str, from: usize) -> Option<Node> {
        let mut p = Parser {
            text,
            b: text.as_bytes(),
            i: from,
        };
        p.ws();
        let (n, _, _) = p.value(0)?;
        p.ws();
        (p.i == p.b.len()).then_some(n)
    }

    struct Parser<'a> {
        text: &'a str,
        b: &'a [u8],
        i: usize,
    }

    impl Parser<'_> {
        fn ws(&mut self) {
            while matches!(self.b.get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
                self.i += 1;
            }
        }

        fn peek(&self) -> Option<u8> {
            self.b.get(self.i).copied()
        }

        fn string(&mut self) -> Option<()> {
            if self.peek()? != b'"' {
                return None;
            }
            self.i += 1;
            loop {
                match self.peek()? {
                    b'\\' => self.i += 2,
                    b'"' => {
                        self.i += 1;
                        return Some(());
                    }
                    _ => self.i += 1,
                }
            }
        }

        /// A value and its byte span.
        fn value(&mut self, depth: usize) -> Option<(Node, usize, usize)> {
            if depth > 512 {
                return None;
            }
            let start = self.i;
            let node = match self.peek()? {
                b'{' => {
                    self.i += 1;
                    let mut members = Vec::new();
                    self.ws();
                    if self.peek()? == b'}' {
                        self.i += 1;
                    } else {
                        loop {
                            self.ws();
                            let key_start = self.i;
                            self.string()?;
                            let key_end = self.i;
                            let key: String =
                                serde_json::from_str(self.text.get(key_start..key_end)?).ok()?;
                            self.ws();
                            if self.peek()? != b':' {
                                return None;
                            }
                            self.i += 1;
                            self.ws();
                            let (value, value_start, value_end) = self.value(depth + 1)?;
                            members.push(Member {
                                key,
                                key_start,
                                key_end,
                                value_start,
                                value_end,
                                value,
                            });
                            self.ws();
                            match self.peek()? {
                                b',' => self.i += 1,
                                b'}' => {
                                    self.i += 1;
                                    break;
                                }
                                _ => return None,
                            }
                        }
                    }
                    Node::Object { start, members }
                }
                b'[' => {
                    self.i += 1;
                    let mut items = Vec::new();
                    self.ws();
                    if self.peek()? == b']' {
                        self.i += 1;
                    } else {
                        loop {
                            self.ws();
                            let (v, _, _) = self.value(depth + 1)?;
                            items.push(v);
                            self.ws();
                            match self.peek()? {
                                b',' => self.i += 1,
                                b']' => {
                                    self.i += 1;
                                    break;
                                }
                                _ => return None,
                            }
                        }
                    }
                    Node::Array { items }
                }
                b'"' => {
                    self.string()?;
                    Node::Scalar
                }
                _ => {
                    while let Some(c) = self.peek() {
                        if matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                            break;
                        }
                        self.i += 1;
                    }
                    if self.i == start {
                        return None;
                    }
                    Node::Scalar
                }
            };
            Some((node, start, self.i))
        }
    }

    fn child<'n>(n: &'n Node, s: &Seg) -> Option<&'n Node> {
        match (n, s) {
            // Last one wins, as in serde_json.
            (Node::Object { members, .. }, Seg::Key(k)) => {
                members.iter().rev().find(|m| &m.key == k).map(|m| &m.value)
            }
            (Node::Array { items }, Seg::Index(i)) => items.get(*i),
            _ => None,
        }
    }

    /// The text with `c` applied, or `None` if it cannot be located.
    pub fn apply(text: &str, root: &Node, c: &Change) -> Option<String> {
        let (Seg::Key(key), parents) = c.path.split_last()? else {
            return None;
        };
        let mut cur = root;
        for s in parents {
            cur = child(cur, s)?;
        }
        let Node::Object { start, members } = cur else {
            return None;
        };
        let idx = members.iter().rposition(|m| &m.key == key);
        let splice = |from: usize, to: usize, with: &str| -> Option<String> {
            let mut out = String::with_capacity(text.len() + with.len());
            out.push_str(text.get(..from)?);
            out.push_str(with);
            out.push_str(text.get(to..)?);
            Some(out)
        };
        match (idx, &c.to) {
            (Some(i), Some(v)) => {
                let m = &members[i];
                splice(m.value_start, m.value_end, &serde_json::to_string(v).ok()?)
            }
            (None, Some(v)) => {
                let member = format!(
                    "{}{}{}",
                    serde_json::to_string(key).ok()?,
                    members
                        .last()
                        .and_then(|m| text.get(m.key_end..m.value_start))
                        .unwrap_or(": "),
                    serde_json::to_string(v).ok()?
                );
                match members.last() {
                    Some(last) => {
                        // Same whitespace as before the last member's key
                        // (a single member on the `{` line: one space when
                        // the file puts a space after its colons).
                        let before = text.get(..last.key_start)?;
                        let ws_start = before.trim_end_matches([' ', '\t', '\n', '\r']).len();
                        let mut ws = text.get(ws_start..last.key_start)?;
                        let colon = text.get(last.key_end..last.value_start).unwrap_or("");
                        if ws.is_empty() && members.len() == 1 && colon.ends_with(' ') {
                            ws = " ";
                        }
                        splice(last.value_end, last.value_end, &format!(",{ws}{member}"))
                    }
                    None => splice(start + 1, start + 1, &member),
                }
            }
            (Some(i), None) => {
                let m = &members[i];
                if i + 1 < members.len() {
                    splice(m.key_start, members[i + 1].key_start, "")
                } else if i > 0 {
                    splice(members[i - 1].value_end, m.value_end, "")
                } else {
                    splice(m.key_start, m.value_end, "")
                }
            }
            (None, None) => Some(text.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(s: &str) -> Doc {
        Doc::parse("t", Path::new("f.json"), s.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn on_rule_for_boolean_and_other_flags() {
        let d = doc(r#"{"flags":{
            "a":{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"on"},
            "b":{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"off"},
            "c":{"state":"DISABLED","variants":{"on":true,"off":false},"defaultVariant":"on"},
            "d":{"state":"ENABLED","variants":{"v1":"x","v2":"y"},"defaultVariant":"v2"},
            "e":{"state":"ENABLED","variants":{"red":"r","off":"none"},"defaultVariant":"off"},
            "f":{"state":"ENABLED","variants":{"yes":true,"no":false},"defaultVariant":null}}}"#);
        let on: Vec<(&str, bool)> = d.flags().map(|(k, _, f)| (k, evaluates_on(f))).collect();
        assert_eq!(
            on,
            vec![
                ("a", true),
                ("b", false),
                ("c", false),
                ("d", true),
                ("e", false),
                ("f", false)
            ]
        );
    }

    #[test]
    fn insert_and_remove_members_keep_the_rest() {
        let text = "{\n  \"flags\": {\n    \"s\": {\n      \"state\": \"ENABLED\",\n      \"variants\": {\"a\": \"1\", \"b\": \"2\", \"off\": \"0\"},\n      \"defaultVariant\": \"b\"\n    }\n  }\n}\n";
        let d = doc(text);
        let off = d.changes_for("t", "s", false).unwrap();
        assert_eq!(off.len(), 2, "{off:?}");
        let t1 = d.edit("t", &off).unwrap();
        assert!(t1.contains("\"defaultVariant\": \"off\",\n      \"metadata\": {\"sitrepRestoreVariant\":\"b\"}\n"), "{t1}");
        let d1 = doc(&t1);
        assert!(!evaluates_on(d1.value["flags"].get("s").unwrap()));
        let on = d1.changes_for("t", "s", true).unwrap();
        let t2 = d1.edit("t", &on).unwrap();
        assert_eq!(t2, text);
    }

    #[test]
    fn memo_goes_into_existing_metadata_and_comes_out_again() {
        let text = "\u{feff}{\"flags\": {\"s\": {\"state\": \"ENABLED\", \"variants\": {\"a\": 1, \"b\": 2, \"disabled\": 0},\n  \"defaultVariant\": \"a\", \"metadata\": {\"owner\": \"x\"}}}}";
        let d = doc(text);
        let off = d.changes_for("t", "s", false).unwrap();
        let t1 = d.edit("t", &off).unwrap();
        assert!(
            t1.contains(r#""metadata": {"owner": "x", "sitrepRestoreVariant": "a"}"#),
            "{t1}"
        );
        let d1 = doc(&t1);
        let t2 = d1
            .edit("t", &d1.changes_for("t", "s", true).unwrap())
            .unwrap();
        assert_eq!(t2, text);
    }

    #[test]
    fn ambiguous_restore_is_refused() {
        let d = doc(
            r#"{"flags":{"s":{"state":"ENABLED","variants":{"a":"1","b":"2","off":"0"},"defaultVariant":"off"}}}"#,
        );
        let e = d.changes_for("t", "s", true).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Conflict { status: 409 });
        assert!(e.to_string().contains("cannot tell which variant"), "{e}");
        // One candidate: it is chosen.
        let d = doc(
            r#"{"flags":{"s":{"state":"DISABLED","variants":{"a":"1","off":"0"},"defaultVariant":"off"}}}"#,
        );
        let c = d.changes_for("t", "s", true).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[1].to, Some(json!("a")));
    }

    #[test]
    fn edit_verification_rejects_a_wrong_change() {
        let d = doc(
            r#"{"flags":{"a":{"state":"ENABLED","variants":{"on":true},"defaultVariant":"on"}}}"#,
        );
        let c = Change {
            path: vec![
                Seg::Key("flags".into()),
                Seg::Key("zz".into()),
                Seg::Key("state".into()),
            ],
            from: None,
            to: Some(json!("DISABLED")),
        };
        assert!(d.edit("t", &[c]).is_err());
    }
}
