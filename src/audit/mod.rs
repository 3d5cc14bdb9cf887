//! The tamper-evident audit log (SPEC §6): JSON Lines, one record a line,
//! keys sorted, compact, no floats, each record chained to the previous one
//! by `prev` and `hash`:
//!
//! `hash = hex(sha256(prev + "\n" + canonical(record without "hash")))`
//!
//! Writer protocol (RELIABILITY §2.4): open read+append (create 0600, fsync
//! the directory on create), take an exclusive `flock` with a bounded wait,
//! read the tail, move a torn last line aside to `audit.jsonl.torn-<time>`,
//! append the whole record with one `write_all`, `fdatasync`, unlock. Any
//! write or sync error poisons the writer: no further record is written and
//! every action is refused (fail closed). See docs/AUDIT.md.

pub mod webhook;

use crate::text::SafeText;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// `prev` of the first record.
pub const ZERO_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// How much of the file end is read to find the last record.
const TAIL_WINDOW: u64 = 64 * 1024;
/// How long to wait for another writer's lock.
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Intent,
    Result,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Pending,
    Ok,
    Error,
    DryRun,
    Refused,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pending => "pending",
            Outcome::Ok => "ok",
            Outcome::Error => "error",
            Outcome::DryRun => "dry-run",
            Outcome::Refused => "refused",
        }
    }
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Intent => "intent",
            Phase::Result => "result",
        }
    }
}

/// The runbook step an action came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunbookRef {
    pub id: String,
    pub step: u32,
}

/// One audit record, as stored (SPEC §6). Field order here is the sorted
/// key order on disk.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub action: String,
    pub actor: String,
    pub detail: Value,
    pub hash: String,
    pub host: String,
    pub idempotency_key: Option<String>,
    pub incident: Option<String>,
    pub outcome: Outcome,
    pub phase: Phase,
    pub prev: String,
    pub provider: Option<String>,
    pub reason: String,
    pub runbook: Option<RunbookRef>,
    pub seq: u64,
    pub target: String,
    pub ts: String,
}

/// What the caller supplies; the writer adds `seq`, `ts`, `prev`, `hash`
/// and sanitizes every string.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub action: String,
    pub actor: String,
    pub detail: Value,
    pub host: String,
    pub idempotency_key: Option<String>,
    pub incident: Option<String>,
    pub outcome: Outcome,
    pub phase: Phase,
    pub provider: Option<String>,
    pub reason: String,
    pub runbook: Option<RunbookRef>,
    pub target: String,
}

// ---------------------------------------------------------------------------
// Canonical serialization

/// A float was found where SPEC §6 forbids one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FloatFound;

/// Serialize `v` compactly with keys sorted (by code point, which is the
/// UTF-8 byte order). Refuses floats.
pub fn canonical_into(v: &Value, out: &mut Vec<u8>) -> Result<(), FloatFound> {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            if let Some(i) = n.as_u64() {
                out.extend_from_slice(i.to_string().as_bytes());
            } else if let Some(i) = n.as_i64() {
                out.extend_from_slice(i.to_string().as_bytes());
            } else {
                return Err(FloatFound);
            }
        }
        Value::String(s) => write_str(s, out),
        Value::Array(a) => {
            out.push(b'[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonical_into(x, out)?;
            }
            out.push(b']');
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort_unstable();
            out.push(b'{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(k, out);
                out.push(b':');
                if let Some(x) = m.get(k.as_str()) {
                    canonical_into(x, out)?;
                }
            }
            out.push(b'}');
        }
    }
    Ok(())
}

/// A JSON string: `"` `\` and C0 controls escaped (`\b \t \n \f \r`, else
/// `\u00xx` lowercase), everything else (DEL, non-ASCII) as UTF-8. This is
/// what serde_json and Python's `json.dumps(ensure_ascii=False)` both emit.
fn write_str(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if esc.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[(b >> 4) as usize]);
            out.push(HEX[(b & 0xf) as usize]);
        } else {
            out.extend_from_slice(esc);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Canonical bytes of a value (floats refused).
pub fn canonical(v: &Value) -> Result<Vec<u8>, FloatFound> {
    let mut out = Vec::with_capacity(256);
    canonical_into(v, &mut out)?;
    Ok(out)
}

/// Canonical bytes of a top-level object, returning the byte range of its
/// `"hash"` member together with one adjacent comma, so that cutting the
/// range out leaves the canonical form of the object without `hash`.
fn canonical_top(v: &Value, out: &mut Vec<u8>) -> Result<Option<(usize, usize)>, FloatFound> {
    let Value::Object(m) = v else {
        canonical_into(v, out)?;
        return Ok(None);
    };
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort_unstable();
    let n = keys.len();
    let mut range = None;
    out.push(b'{');
    for (i, k) in keys.into_iter().enumerate() {
        let start = out.len();
        if i > 0 {
            out.push(b',');
        }
        write_str(k, out);
        out.push(b':');
        if let Some(x) = m.get(k.as_str()) {
            canonical_into(x, out)?;
        }
        if k == "hash" {
            range = Some(if i == 0 && n > 1 {
                // First member: take the comma that follows instead.
                (start, out.len() + 1)
            } else {
                (start, out.len())
            });
        }
    }
    out.push(b'}');
    Ok(range)
}

/// `hash` of a record whose canonical form without `hash` is `body`.
pub fn chain_hash(prev: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(b"\n");
    h.update(body);
    hex::encode(h.finalize())
}

/// Make a `detail` value fit for the log: every string sanitized (single
/// line), every float turned into its decimal string, keys sanitized.
pub fn sanitize_detail(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(SafeText::line(s).into_string()),
        Value::Number(n) if n.as_u64().is_none() && n.as_i64().is_none() => {
            Value::String(n.to_string())
        }
        Value::Array(a) => Value::Array(a.iter().map(sanitize_detail).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| (SafeText::line(k).into_string(), sanitize_detail(x)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn line_text(s: &str) -> String {
    SafeText::line(s).into_string()
}

impl Entry {
    /// Seal the entry into a record at `seq` after `prev`: returns the
    /// record and its line (canonical JSON + `\n`).
    fn seal(&self, seq: u64, prev: &str, ts: String) -> Result<(Record, Vec<u8>), AuditError> {
        let mut rec = Record {
            action: line_text(&self.action),
            actor: line_text(&self.actor),
            detail: sanitize_detail(&self.detail),
            hash: String::new(),
            host: line_text(&self.host),
            idempotency_key: self.idempotency_key.as_deref().map(line_text),
            incident: self.incident.as_deref().map(line_text),
            outcome: self.outcome,
            phase: self.phase,
            prev: prev.to_string(),
            provider: self.provider.as_deref().map(line_text),
            reason: line_text(&self.reason),
            runbook: self.runbook.as_ref().map(|r| RunbookRef {
                id: line_text(&r.id),
                step: r.step,
            }),
            seq,
            target: line_text(&self.target),
            ts,
        };
        let mut v = serde_json::to_value(&rec)
            .map_err(|e| AuditError::Encode(format!("cannot encode record: {e}")))?;
        if let Value::Object(m) = &mut v {
            m.remove("hash");
        }
        let body = canonical(&v)
            .map_err(|_| AuditError::Encode("a float reached the audit record".into()))?;
        rec.hash = chain_hash(prev, &body);
        if let Value::Object(m) = &mut v {
            m.insert("hash".into(), Value::String(rec.hash.clone()));
        }
        let mut line = canonical(&v)
            .map_err(|_| AuditError::Encode("a float reached the audit record".into()))?;
        line.push(b'\n');
        Ok((rec, line))
    }
}

/// RFC 3339 UTC with milliseconds and `Z`.
pub fn now_ts() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

// ---------------------------------------------------------------------------
// Errors

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditError {
    /// A previous write or sync failed: this writer refuses everything.
    Poisoned,
    /// Another process held the lock for longer than the timeout.
    Busy,
    /// The file could not be opened, locked or read (nothing was written).
    Open(String),
    /// Writing or syncing failed (the writer is now poisoned).
    Write(String),
    /// The last whole record does not verify: refuse to chain onto it.
    Broken(String),
    /// The record could not be encoded.
    Encode(String),
}

impl fmt::Display for AuditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuditError::Poisoned => f.write_str(
                "audit log writer disabled after an earlier write/fsync failure (restart sitrep and run `sitrep audit verify`)",
            ),
            AuditError::Busy => f.write_str("audit log busy (held by another sitrep)"),
            AuditError::Open(e) => write!(f, "audit log unavailable: {e}"),
            AuditError::Write(e) => write!(f, "audit log write failed: {e}"),
            AuditError::Broken(e) => write!(f, "audit log is damaged: {e}"),
            AuditError::Encode(e) => write!(f, "audit record: {e}"),
        }
    }
}

impl std::error::Error for AuditError {}

// ---------------------------------------------------------------------------
// Failure injection (tests)

/// Test hook: fail the n-th record write or sync (0-based, counted over
/// this writer's life). A failed write first writes half of the record, as
/// a short write would, then errors.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Faults {
    pub fail_write_at: Option<u32>,
    pub fail_sync_at: Option<u32>,
}

#[derive(Default)]
struct FaultState {
    plan: Faults,
    writes: u32,
    syncs: u32,
}

// ---------------------------------------------------------------------------
// Writer

/// A torn tail found and moved aside.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recovery {
    /// Where the fragment's bytes were kept.
    pub moved_to: PathBuf,
    pub bytes: u64,
    /// Offset at which the log was truncated.
    pub at: u64,
}

impl fmt::Display for Recovery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "audit log had a torn last line ({} bytes at offset {}, from an interrupted write); moved it to {}",
            self.bytes,
            self.at,
            self.moved_to.display()
        )
    }
}

/// A record made durable.
#[derive(Clone, Debug)]
pub struct Appended {
    pub record: Record,
    /// The exact line written, without the newline.
    pub line: String,
    pub recovered: Option<Recovery>,
}

/// The audit log writer. Cheap to create; every append opens, locks,
/// repairs, writes, syncs and closes, so several processes can share a file.
pub struct AuditLog {
    path: PathBuf,
    poisoned: AtomicBool,
    lock_timeout: Duration,
    faults: Mutex<FaultState>,
}

impl fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditLog")
            .field("path", &self.path)
            .field("poisoned", &self.is_poisoned())
            .finish()
    }
}

fn io_err(what: &str, path: &Path, e: &std::io::Error) -> String {
    format!("{what} {}: {e}", path.display())
}

struct Tail {
    /// `(seq, hash)` of the last whole record.
    last: Option<(u64, String)>,
    /// Start offset of a torn fragment (bytes after the last `\n`).
    torn_from: Option<u64>,
}

impl AuditLog {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        AuditLog {
            path: path.into(),
            poisoned: AtomicBool::new(false),
            lock_timeout: LOCK_TIMEOUT,
            faults: Mutex::new(FaultState::default()),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn is_poisoned(&self) -> bool {
        self.poisoned.load(Ordering::SeqCst)
    }

    pub fn with_lock_timeout(mut self, d: Duration) -> Self {
        self.lock_timeout = d;
        self
    }

    /// Test hook: inject write/sync failures.
    #[doc(hidden)]
    pub fn with_faults(self, plan: Faults) -> Self {
        if let Ok(mut f) = self.faults.lock() {
            f.plan = plan;
        }
        self
    }

    /// Append one record; returns only after it is durable.
    pub fn append(&self, entry: &Entry) -> Result<Appended, AuditError> {
        if self.is_poisoned() {
            return Err(AuditError::Poisoned);
        }
        let r = self.append_inner(entry);
        if let Err(AuditError::Write(e)) = &r {
            tracing::error!("audit log writer poisoned: {e}");
            self.poisoned.store(true, Ordering::SeqCst);
        }
        r
    }

    fn open(&self) -> Result<File, AuditError> {
        let dir = self
            .path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !dir.exists() {
            let mut b = std::fs::DirBuilder::new();
            b.recursive(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt;
                b.mode(0o700);
            }
            b.create(dir)
                .map_err(|e| AuditError::Open(io_err("cannot create", dir, &e)))?;
        }
        let mut create = OpenOptions::new();
        create.read(true).append(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            create.mode(0o600);
        }
        match create.open(&self.path) {
            Ok(f) => {
                // A new file: make its directory entry durable.
                f.sync_all()
                    .map_err(|e| AuditError::Write(io_err("cannot sync", &self.path, &e)))?;
                sync_dir(dir).map_err(|e| AuditError::Write(io_err("cannot sync", dir, &e)))?;
                Ok(f)
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => OpenOptions::new()
                .read(true)
                .append(true)
                .open(&self.path)
                .map_err(|e| AuditError::Open(io_err("cannot open", &self.path, &e))),
            Err(e) => Err(AuditError::Open(io_err("cannot create", &self.path, &e))),
        }
    }

    fn lock(&self, f: &File) -> Result<(), AuditError> {
        let start = Instant::now();
        loop {
            match f.try_lock() {
                Ok(()) => return Ok(()),
                Err(std::fs::TryLockError::WouldBlock) => {
                    if start.elapsed() >= self.lock_timeout {
                        return Err(AuditError::Busy);
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(AuditError::Open(io_err("cannot lock", &self.path, &e)));
                }
            }
        }
    }

    fn append_inner(&self, entry: &Entry) -> Result<Appended, AuditError> {
        let mut f = self.open()?;
        self.lock(&f)?;
        let r = self.locked_append(&mut f, entry);
        let _ = f.unlock();
        r
    }

    fn locked_append(&self, f: &mut File, entry: &Entry) -> Result<Appended, AuditError> {
        let tail = read_tail(f, &self.path)?;
        let recovered = match tail.torn_from {
            Some(at) => Some(self.move_aside(f, at)?),
            None => None,
        };
        if let Some(r) = &recovered {
            tracing::warn!("{r}");
        }
        let (seq, prev) = match &tail.last {
            Some((s, h)) => (s + 1, h.clone()),
            None => (1, ZERO_HASH.to_string()),
        };
        let (record, line) = entry.seal(seq, &prev, now_ts())?;
        self.write_record(f, &line)?;
        self.sync(f)?;
        if tail.last.is_none() {
            // The first record: make sure the file's directory entry is
            // durable even if the process that created it died before
            // syncing the directory.
            let dir = self
                .path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            sync_dir(dir).map_err(|e| AuditError::Write(io_err("cannot sync", dir, &e)))?;
        }
        let mut line = String::from_utf8(line)
            .map_err(|_| AuditError::Encode("record is not UTF-8".into()))?;
        line.pop();
        Ok(Appended {
            record,
            line,
            recovered,
        })
    }

    fn write_record(&self, f: &mut File, line: &[u8]) -> Result<(), AuditError> {
        let fail = match self.faults.lock() {
            Ok(mut s) => {
                let n = s.writes;
                s.writes += 1;
                s.plan.fail_write_at == Some(n)
            }
            Err(_) => false,
        };
        if fail {
            let half = &line[..line.len() / 2];
            let _ = f.write_all(half);
            return Err(AuditError::Write(format!(
                "cannot write {}: injected failure",
                self.path.display()
            )));
        }
        f.write_all(line)
            .map_err(|e| AuditError::Write(io_err("cannot write", &self.path, &e)))
    }

    fn sync(&self, f: &File) -> Result<(), AuditError> {
        let fail = match self.faults.lock() {
            Ok(mut s) => {
                let n = s.syncs;
                s.syncs += 1;
                s.plan.fail_sync_at == Some(n)
            }
            Err(_) => false,
        };
        if fail {
            return Err(AuditError::Write(format!(
                "cannot sync {}: injected failure",
                self.path.display()
            )));
        }
        f.sync_data()
            .map_err(|e| AuditError::Write(io_err("cannot sync", &self.path, &e)))
    }

    /// Keep the torn fragment in `<file>.torn-<time>`, then truncate the log
    /// to the end of its last whole record.
    fn move_aside(&self, f: &mut File, at: u64) -> Result<Recovery, AuditError> {
        let len = f
            .metadata()
            .map_err(|e| AuditError::Open(io_err("cannot stat", &self.path, &e)))?
            .len();
        let mut frag = Vec::with_capacity((len - at) as usize);
        f.seek(SeekFrom::Start(at))
            .and_then(|_| f.take(len - at).read_to_end(&mut frag))
            .map_err(|e| AuditError::Open(io_err("cannot read", &self.path, &e)))?;
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ").to_string();
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_else(|| "audit.jsonl".into());
        let dir = self
            .path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let mut n = 0u32;
        let (moved_to, mut out) = loop {
            let p = if n == 0 {
                dir.join(format!("{name}.torn-{stamp}"))
            } else {
                dir.join(format!("{name}.torn-{stamp}-{n}"))
            };
            let mut o = OpenOptions::new();
            o.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                o.mode(0o600);
            }
            match o.open(&p) {
                Ok(file) => break (p, file),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 1000 => n += 1,
                Err(e) => return Err(AuditError::Write(io_err("cannot create", &p, &e))),
            }
        };
        out.write_all(&frag)
            .and_then(|_| out.sync_all())
            .map_err(|e| AuditError::Write(io_err("cannot write", &moved_to, &e)))?;
        sync_dir(dir).map_err(|e| AuditError::Write(io_err("cannot sync", dir, &e)))?;
        f.set_len(at)
            .map_err(|e| AuditError::Write(io_err("cannot truncate", &self.path, &e)))?;
        self.sync(f)?;
        Ok(Recovery {
            moved_to,
            bytes: frag.len() as u64,
            at,
        })
    }
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

fn read_range(f: &mut File, start: u64, len: u64, path: &Path) -> Result<Vec<u8>, AuditError> {
    let mut buf = Vec::with_capacity(len as usize);
    f.seek(SeekFrom::Start(start))
        .and_then(|_| f.take(len).read_to_end(&mut buf))
        .map_err(|e| AuditError::Open(io_err("cannot read", path, &e)))?;
    Ok(buf)
}

/// Find the last whole record and a torn fragment after it, if any.
fn read_tail(f: &mut File, path: &Path) -> Result<Tail, AuditError> {
    let len = f
        .metadata()
        .map_err(|e| AuditError::Open(io_err("cannot stat", path, &e)))?
        .len();
    if len == 0 {
        return Ok(Tail {
            last: None,
            torn_from: None,
        });
    }
    let mut win = TAIL_WINDOW.min(len);
    loop {
        let start = len - win;
        let buf = read_range(f, start, win, path)?;
        let at_start = start == 0;
        // Where whole lines end, and the torn fragment (if any).
        let (complete_end, torn_from) = if buf.last() == Some(&b'\n') {
            (buf.len(), None)
        } else {
            match buf.iter().rposition(|&b| b == b'\n') {
                Some(i) => (i + 1, Some(start + i as u64 + 1)),
                None if at_start => (0, Some(0)),
                None => {
                    win = len;
                    continue;
                }
            }
        };
        if complete_end == 0 {
            return Ok(Tail {
                last: None,
                torn_from,
            });
        }
        let line_end = complete_end - 1;
        let line_start = match buf[..line_end].iter().rposition(|&b| b == b'\n') {
            Some(j) => j + 1,
            None if at_start => 0,
            None => {
                win = len;
                continue;
            }
        };
        let line = &buf[line_start..line_end];
        let lineno_hint = if at_start {
            Some(buf[..line_start].iter().filter(|&&b| b == b'\n').count() as u64 + 1)
        } else {
            None
        };
        let mut scratch = Vec::new();
        return match check_line(line, &mut scratch) {
            Ok(c) => Ok(Tail {
                last: Some((c.seq, c.hash)),
                torn_from,
            }),
            Err(b) => Err(AuditError::Broken(match lineno_hint {
                Some(n) => format!("last record (line {n}) {}", b.reason),
                None => format!("last record {}", b.reason),
            })),
        };
    }
}

// ---------------------------------------------------------------------------
// Reading and verifying

/// Why a line does not verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakKind {
    /// The file does not end with a newline: an interrupted write.
    Torn,
    /// Not a JSON object.
    Json,
    /// A required field is missing or of the wrong type.
    Schema,
    /// A floating-point number.
    Float,
    /// Valid JSON, but not the canonical (sorted, compact) form.
    NotCanonical,
    /// `hash` does not match the record.
    Hash,
    /// `prev` is not the previous record's `hash`.
    Prev,
    /// `seq` is not the previous `seq` + 1.
    Seq,
}

/// The first broken line of a log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broken {
    /// 1-based line number.
    pub line: u64,
    pub kind: BreakKind,
    pub reason: String,
}

impl fmt::Display for Broken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyError {
    Io(String),
    Broken(Broken),
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyError::Io(e) => f.write_str(e),
            VerifyError::Broken(b) => b.fmt(f),
        }
    }
}

/// A log that verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    pub records: u64,
    /// `hash` of the last record (64 zeros for an empty log).
    pub head: String,
    pub last_seq: u64,
}

struct Checked {
    seq: u64,
    prev: String,
    hash: String,
}

struct LineBreak {
    kind: BreakKind,
    reason: String,
}

fn lb(kind: BreakKind, reason: impl Into<String>) -> LineBreak {
    LineBreak {
        kind,
        reason: reason.into(),
    }
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Check one line on its own: JSON object, schema, canonical form, its own
/// hash. `scratch` is reused across lines.
fn check_line(line: &[u8], scratch: &mut Vec<u8>) -> Result<Checked, LineBreak> {
    let mut v: Value = serde_json::from_slice(line)
        .map_err(|e| lb(BreakKind::Json, format!("not valid JSON ({e})")))?;
    let Value::Object(m) = &mut v else {
        return Err(lb(BreakKind::Json, "not a JSON object"));
    };
    for (key, ok) in [
        ("action", m.get("action").is_some_and(Value::is_string)),
        ("actor", m.get("actor").is_some_and(Value::is_string)),
        ("detail", m.contains_key("detail")),
        ("host", m.get("host").is_some_and(Value::is_string)),
        ("outcome", m.get("outcome").is_some_and(Value::is_string)),
        ("phase", m.get("phase").is_some_and(Value::is_string)),
        ("reason", m.get("reason").is_some_and(Value::is_string)),
        ("target", m.get("target").is_some_and(Value::is_string)),
        ("ts", m.get("ts").is_some_and(Value::is_string)),
        (
            "idempotency_key",
            m.get("idempotency_key")
                .is_some_and(|v| v.is_null() || v.is_string()),
        ),
        (
            "incident",
            m.get("incident")
                .is_some_and(|v| v.is_null() || v.is_string()),
        ),
        (
            "provider",
            m.get("provider")
                .is_some_and(|v| v.is_null() || v.is_string()),
        ),
        (
            "runbook",
            m.get("runbook")
                .is_some_and(|v| v.is_null() || v.is_object()),
        ),
    ] {
        if !ok {
            return Err(lb(
                BreakKind::Schema,
                format!("field {key:?} is missing or has the wrong type"),
            ));
        }
    }
    let seq = m.get("seq").and_then(Value::as_u64).ok_or_else(|| {
        lb(
            BreakKind::Schema,
            "field \"seq\" is missing or not an integer",
        )
    })?;
    let prev = match m.get("prev") {
        Some(Value::String(s)) if is_hex64(s) => s.clone(),
        _ => {
            return Err(lb(
                BreakKind::Schema,
                "field \"prev\" is not 64 lowercase hex",
            ));
        }
    };
    let hash = match m.get("hash") {
        Some(Value::String(s)) if is_hex64(s) => s.clone(),
        _ => {
            return Err(lb(
                BreakKind::Schema,
                "field \"hash\" is not 64 lowercase hex",
            ));
        }
    };
    scratch.clear();
    let member = canonical_top(&v, scratch)
        .map_err(|_| lb(BreakKind::Float, "holds a floating-point number"))?;
    if scratch.as_slice() != line {
        return Err(lb(
            BreakKind::NotCanonical,
            "not in canonical form (sorted keys, compact, minimal escapes)",
        ));
    }
    // The line is canonical, so the record without `hash` is the line with
    // the `hash` member cut out: no second serialization.
    let Some((a, b)) = member else {
        return Err(lb(BreakKind::Schema, "field \"hash\" is missing"));
    };
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(b"\n");
    h.update(&line[..a]);
    h.update(&line[b..]);
    if hex::encode(h.finalize()) != hash {
        return Err(lb(
            BreakKind::Hash,
            "hash does not match the record (the line was changed)",
        ));
    }
    Ok(Checked { seq, prev, hash })
}

/// A streaming verifier: feed lines (without `\n`) in order.
pub struct Verifier {
    line: u64,
    seq: u64,
    head: String,
    scratch: Vec<u8>,
}

impl Default for Verifier {
    fn default() -> Self {
        Self::new()
    }
}

impl Verifier {
    pub fn new() -> Self {
        Verifier {
            line: 0,
            seq: 0,
            head: ZERO_HASH.to_string(),
            scratch: Vec::with_capacity(1024),
        }
    }

    /// Continue after `lines` verified lines whose last record had `seq`
    /// and `head` (e.g. to verify only what was appended since the last
    /// check; the caller vouches for the prefix).
    pub fn resume(lines: u64, seq: u64, head: &str) -> Self {
        Verifier {
            line: lines,
            seq,
            head: head.to_string(),
            scratch: Vec::with_capacity(1024),
        }
    }

    /// Check the next line.
    pub fn push(&mut self, line: &[u8]) -> Result<(), Broken> {
        self.line += 1;
        let n = self.line;
        let c = check_line(line, &mut self.scratch).map_err(|b| Broken {
            line: n,
            kind: b.kind,
            reason: b.reason,
        })?;
        if c.prev != self.head {
            return Err(Broken {
                line: n,
                kind: BreakKind::Prev,
                reason: if self.line == 1 {
                    "first record's prev is not 64 zeros (records before it are missing)".into()
                } else {
                    format!(
                        "prev does not match the hash of line {} (a record was removed, inserted or reordered)",
                        n - 1
                    )
                },
            });
        }
        if c.seq != self.seq + 1 {
            return Err(Broken {
                line: n,
                kind: BreakKind::Seq,
                reason: format!(
                    "seq {} follows seq {} (expected {})",
                    c.seq,
                    self.seq,
                    self.seq + 1
                ),
            });
        }
        self.seq = c.seq;
        self.head = c.hash;
        Ok(())
    }

    /// The file ended without a newline after `fragment`.
    pub fn torn(&mut self) -> Broken {
        self.line += 1;
        Broken {
            line: self.line,
            kind: BreakKind::Torn,
            reason: "incomplete last line (an interrupted write; the next append moves it aside)"
                .into(),
        }
    }

    pub fn finish(self) -> Verified {
        Verified {
            records: self.line,
            head: self.head,
            last_seq: self.seq,
        }
    }
}

/// Verify a whole log from a reader, streaming.
pub fn verify_reader(r: impl Read) -> Result<Verified, VerifyError> {
    verify_stream(Verifier::new(), r)
}

/// Feed every line of `r` to `v`.
pub fn verify_stream(mut v: Verifier, r: impl Read) -> Result<Verified, VerifyError> {
    let mut r = BufReader::with_capacity(256 * 1024, r);
    let mut buf = Vec::with_capacity(1024);
    loop {
        buf.clear();
        let n = r
            .read_until(b'\n', &mut buf)
            .map_err(|e| VerifyError::Io(format!("cannot read the audit log: {e}")))?;
        if n == 0 {
            return Ok(v.finish());
        }
        if buf.last() != Some(&b'\n') {
            return Err(VerifyError::Broken(v.torn()));
        }
        buf.pop();
        v.push(&buf).map_err(VerifyError::Broken)?;
    }
}

/// Verify the log at `path`. A missing file is an empty, valid log.
pub fn verify(path: &Path) -> Result<Verified, VerifyError> {
    match File::open(path) {
        Ok(f) => verify_reader(f),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Verifier::new().finish()),
        Err(e) => Err(VerifyError::Io(io_err("cannot open", path, &e))),
    }
}

/// Read every whole record (oldest first). Lines that do not parse are
/// skipped and counted; use [`verify`] to check integrity.
pub fn read(path: &Path) -> Result<(Vec<Record>, usize), String> {
    let f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((vec![], 0)),
        Err(e) => return Err(io_err("cannot open", path, &e)),
    };
    let mut r = BufReader::new(f);
    let mut out = Vec::new();
    let mut bad = 0;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let n = r
            .read_until(b'\n', &mut buf)
            .map_err(|e| io_err("cannot read", path, &e))?;
        if n == 0 {
            break;
        }
        if buf.last() != Some(&b'\n') {
            bad += 1;
            break;
        }
        match serde_json::from_slice::<Record>(&buf[..buf.len() - 1]) {
            Ok(rec) => out.push(rec),
            Err(_) => bad += 1,
        }
    }
    Ok((out, bad))
}

/// Intents with no result record for the same idempotency key: actions cut
/// off midway (crash, kill -9, power loss). Their outcome is unknown: read
/// the provider's state back before doing anything again.
pub fn unresolved(records: &[Record]) -> Vec<&Record> {
    let done: std::collections::HashSet<&str> = records
        .iter()
        .filter(|r| r.phase == Phase::Result)
        .filter_map(|r| r.idempotency_key.as_deref())
        .collect();
    records
        .iter()
        .filter(|r| r.phase == Phase::Intent)
        .filter(|r| {
            r.idempotency_key
                .as_deref()
                .is_none_or(|k| !done.contains(k))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(i: u64) -> Entry {
        Entry {
            action: "flag.off".into(),
            actor: "alice@example.com".into(),
            detail: serde_json::json!({"n": i, "ratio": 0.5, "note": "é \u{1b}[2J ok"}),
            host: "laptop".into(),
            idempotency_key: Some(format!("key-{i}")),
            incident: None,
            outcome: Outcome::Ok,
            phase: Phase::Result,
            provider: Some("ld".into()),
            reason: "bad deploy\n\u{202e}x".into(),
            runbook: Some(RunbookRef {
                id: "rollback".into(),
                step: 3,
            }),
            target: "checkout".into(),
        }
    }

    #[test]
    fn canonical_sorts_and_refuses_floats() {
        let v = serde_json::json!({"b": 1, "a": [true, null, "x\"\\\n\u{1}\u{7f}é"], "c": {"z": -2, "y": {}}});
        assert_eq!(
            String::from_utf8(canonical(&v).unwrap()).unwrap(),
            "{\"a\":[true,null,\"x\\\"\\\\\\n\\u0001\u{7f}é\"],\"b\":1,\"c\":{\"y\":{},\"z\":-2}}"
        );
        assert_eq!(canonical(&serde_json::json!({"x": 1.5})), Err(FloatFound));
        // serde_json agrees on strings.
        let s = "a\u{0}\u{8}\u{c}\u{1f}\t\r\n\"\\/\u{2028}é";
        let mut ours = Vec::new();
        write_str(s, &mut ours);
        assert_eq!(ours, serde_json::to_vec(s).unwrap());
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        fn json_value() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(Value::from),
                any::<u64>().prop_map(Value::from),
                any::<String>().prop_map(Value::String),
            ];
            leaf.prop_recursive(3, 24, 4, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                    prop::collection::btree_map(any::<String>(), inner, 0..4)
                        .prop_map(|m| Value::Object(m.into_iter().collect())),
                ]
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(128))]

            /// Our string escaping is serde_json's, byte for byte.
            #[test]
            fn strings_match_serde_json(s in any::<String>()) {
                let mut ours = Vec::new();
                write_str(&s, &mut ours);
                prop_assert_eq!(ours, serde_json::to_vec(&s).unwrap());
            }

            /// Canonical output parses back to the same value and is a
            /// fixed point (canonical(parse(canonical(v))) == canonical(v)).
            #[test]
            fn canonical_round_trips(v in json_value()) {
                let c = canonical(&v).unwrap();
                let back: Value = serde_json::from_slice(&c).unwrap();
                prop_assert_eq!(&back, &v);
                prop_assert_eq!(canonical(&back).unwrap(), c);
            }

            /// The verifier never panics on arbitrary bytes, and never
            /// accepts a non-empty log of garbage.
            #[test]
            fn verify_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
                let r = verify_reader(&bytes[..]);
                if !bytes.is_empty() {
                    prop_assert!(r.is_err());
                }
            }
        }
    }

    #[test]
    fn records_are_sanitized_and_chain() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a").join("audit.jsonl");
        let log = AuditLog::new(&p);
        let a = log.append(&entry(1)).unwrap();
        let b = log.append(&entry(2)).unwrap();
        assert_eq!(a.record.prev, ZERO_HASH);
        assert_eq!(a.record.seq, 1);
        assert_eq!(b.record.prev, a.record.hash);
        assert_eq!(b.record.seq, 2);
        assert_eq!(a.record.detail["ratio"], "0.5");
        assert!(!a.line.contains('\u{1b}'));
        assert!(!a.line.contains('\u{202e}'));
        assert!(a.record.reason.contains("bad deploy"));
        assert_eq!(a.record.ts.len(), 24);
        assert!(a.record.ts.ends_with('Z'));
        // The line starts with the sorted keys and the hash is over the rest.
        assert!(a.line.starts_with("{\"action\":\"flag.off\",\"actor\":"));
        let v = verify(&p).unwrap();
        assert_eq!(
            (v.records, v.last_seq, v.head.clone()),
            (2, 2, b.record.hash.clone())
        );
        let (recs, bad) = read(&p).unwrap();
        assert_eq!((recs.len(), bad), (2, 0));
        assert_eq!(recs[1], b.record);
        // An intent without a result is unresolved until its result lands.
        let mut i = entry(3);
        i.phase = Phase::Intent;
        i.idempotency_key = Some("k-open".into());
        log.append(&i).unwrap();
        let (recs, _) = read(&p).unwrap();
        let open: Vec<u64> = unresolved(&recs).iter().map(|r| r.seq).collect();
        assert_eq!(open, vec![3]);
        i.phase = Phase::Result;
        log.append(&i).unwrap();
        let (recs, _) = read(&p).unwrap();
        assert!(unresolved(&recs).is_empty());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn verify_names_the_changed_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("audit.jsonl");
        let log = AuditLog::new(&p);
        for i in 0..5 {
            log.append(&entry(i)).unwrap();
        }
        let text = std::fs::read_to_string(&p).unwrap();
        let changed = text.replacen("key-2", "key-9", 1);
        std::fs::write(&p, &changed).unwrap();
        let VerifyError::Broken(b) = verify(&p).unwrap_err() else {
            panic!()
        };
        assert_eq!((b.line, b.kind), (3, BreakKind::Hash));
        // Removing a line breaks the chain at the next one.
        let mut lines: Vec<&str> = text.lines().collect();
        lines.remove(1);
        std::fs::write(&p, lines.join("\n") + "\n").unwrap();
        let VerifyError::Broken(b) = verify(&p).unwrap_err() else {
            panic!()
        };
        assert_eq!((b.line, b.kind), (2, BreakKind::Prev));
        // A damaged last record is not silently repaired by the writer.
        let mut t = text.clone();
        t.truncate(t.len() - 3);
        t.push_str("}\n");
        std::fs::write(&p, &t).unwrap();
        assert!(matches!(
            AuditLog::new(&p).append(&entry(9)),
            Err(AuditError::Broken(_))
        ));
    }

    #[test]
    fn injected_failures_poison_and_leave_a_recoverable_tail() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("audit.jsonl");
        AuditLog::new(&p).append(&entry(0)).unwrap();
        let log = AuditLog::new(&p).with_faults(Faults {
            fail_write_at: Some(1),
            fail_sync_at: None,
        });
        log.append(&entry(1)).unwrap();
        assert!(matches!(log.append(&entry(2)), Err(AuditError::Write(_))));
        assert!(log.is_poisoned());
        assert!(matches!(log.append(&entry(3)), Err(AuditError::Poisoned)));
        // Half a record is on disk; a fresh writer moves it aside.
        assert!(matches!(
            verify(&p),
            Err(VerifyError::Broken(Broken {
                kind: BreakKind::Torn,
                line: 3,
                ..
            }))
        ));
        let a = AuditLog::new(&p).append(&entry(4)).unwrap();
        let r = a.recovered.unwrap();
        assert!(r.bytes > 0);
        assert_eq!(a.record.seq, 3);
        assert_eq!(verify(&p).unwrap().records, 3);
        // A failed sync poisons too.
        let log = AuditLog::new(&p).with_faults(Faults {
            fail_write_at: None,
            fail_sync_at: Some(0),
        });
        assert!(matches!(log.append(&entry(5)), Err(AuditError::Write(_))));
        assert!(log.is_poisoned());
    }

    #[test]
    fn busy_lock_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("audit.jsonl");
        AuditLog::new(&p).append(&entry(0)).unwrap();
        let holder = OpenOptions::new().read(true).append(true).open(&p).unwrap();
        holder.lock().unwrap();
        let log = AuditLog::new(&p).with_lock_timeout(Duration::from_millis(50));
        assert_eq!(log.append(&entry(1)).map(|_| ()), Err(AuditError::Busy));
        assert!(!log.is_poisoned());
        holder.unlock().unwrap();
        assert_eq!(log.append(&entry(1)).unwrap().record.seq, 2);
    }
}
