//! The writer: [`AuditLog`] opens, locks, repairs a torn tail, appends,
//! syncs and unlocks for every record (RELIABILITY §2.4).

use super::faults::{AuditError, FaultState, Faults};
use super::io_err;
use super::keys::{AuditKey, Signer};
use super::record::{Entry, Record, ZERO_HASH, now_ts};
use super::verify::check_line;
use crate::fsutil::{LockError, lock_with_timeout, sync_dir};
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The chunk in which the file end is scanned for the last record.
const TAIL_WINDOW: u64 = 64 * 1024;
/// The longest record the writer will chain onto (and the verifier read).
pub const MAX_RECORD: u64 = 16 * 1024 * 1024;
/// How long to wait for another writer's lock.
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(2);

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
    signer: Signer,
    poisoned: AtomicBool,
    lock_timeout: Duration,
    faults: Mutex<FaultState>,
    /// Every record is marked `demo: true` (the demo's own log).
    demo: bool,
}

impl fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditLog")
            .field("path", &self.path)
            .field("poisoned", &self.is_poisoned())
            .finish()
    }
}

struct Tail {
    /// `(seq, hash)` of the last whole record.
    last: Option<(u64, String)>,
    /// Start offset of a torn fragment (bytes after the last `\n`).
    torn_from: Option<u64>,
}

impl AuditLog {
    /// A writer for the log at `path` whose records `signer` signs.
    pub fn new(path: impl Into<PathBuf>, signer: Signer) -> Self {
        AuditLog {
            path: path.into(),
            signer,
            poisoned: AtomicBool::new(false),
            lock_timeout: LOCK_TIMEOUT,
            faults: Mutex::new(FaultState::default()),
            demo: false,
        }
    }

    /// The log of `--demo`: every record it writes says `demo: true`.
    pub fn marking_demo(mut self) -> Self {
        self.demo = true;
        self
    }

    /// Whether records are marked `demo: true`.
    pub fn is_demo(&self) -> bool {
        self.demo
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn signer(&self) -> &Signer {
        &self.signer
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
        lock_with_timeout(f, self.lock_timeout).map_err(|e| match e {
            LockError::TimedOut => AuditError::Busy,
            LockError::Io(e) => AuditError::Open(io_err("cannot lock", &self.path, &e)),
        })
    }

    fn append_inner(&self, entry: &Entry) -> Result<Appended, AuditError> {
        // No key, no record: nothing is written unsigned.
        let key = self.signer.key().map_err(AuditError::Key)?.key.clone();
        let mut f = self.open()?;
        self.lock(&f)?;
        let r = self.locked_append(&mut f, entry, &key);
        let _ = f.unlock();
        r
    }

    fn locked_append(
        &self,
        f: &mut File,
        entry: &Entry,
        key: &AuditKey,
    ) -> Result<Appended, AuditError> {
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
        let (record, line) = entry.seal_marked(seq, &prev, now_ts(), key, self.demo)?;
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
        f.seek(SeekFrom::Start(at))
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
        // Copied in chunks: a fragment of any size costs one buffer.
        let copied = std::io::copy(&mut (&mut *f).take(len - at), &mut out)
            .and_then(|n| out.sync_all().map(|_| n))
            .map_err(|e| AuditError::Write(io_err("cannot write", &moved_to, &e)))?;
        sync_dir(dir).map_err(|e| AuditError::Write(io_err("cannot sync", dir, &e)))?;
        f.set_len(at)
            .map_err(|e| AuditError::Write(io_err("cannot truncate", &self.path, &e)))?;
        self.sync(f)?;
        Ok(Recovery {
            moved_to,
            bytes: copied,
            at,
        })
    }
}

fn read_range(f: &mut File, start: u64, len: u64, path: &Path) -> Result<Vec<u8>, AuditError> {
    let mut buf = Vec::with_capacity(len as usize);
    f.seek(SeekFrom::Start(start))
        .and_then(|_| f.take(len).read_to_end(&mut buf))
        .map_err(|e| AuditError::Open(io_err("cannot read", path, &e)))?;
    Ok(buf)
}

/// The offset of the last `\n` in `[floor, end)`, scanning backwards in
/// [`TAIL_WINDOW`] chunks (memory: one chunk, whatever the distance).
fn rfind_newline(
    f: &mut File,
    floor: u64,
    end: u64,
    path: &Path,
) -> Result<Option<u64>, AuditError> {
    let mut hi = end;
    let mut buf = vec![0u8; TAIL_WINDOW as usize];
    while hi > floor {
        let lo = hi.saturating_sub(TAIL_WINDOW).max(floor);
        let chunk = &mut buf[..(hi - lo) as usize];
        f.seek(SeekFrom::Start(lo))
            .and_then(|_| f.read_exact(chunk))
            .map_err(|e| AuditError::Open(io_err("cannot read", path, &e)))?;
        if let Some(i) = chunk.iter().rposition(|&b| b == b'\n') {
            return Ok(Some(lo + i as u64));
        }
        hi = lo;
    }
    Ok(None)
}

/// Find the last whole record and a torn fragment after it, if any. The
/// memory used is bounded whatever the file holds: the fragment is only
/// scanned (and later copied aside in chunks), and a last record longer
/// than [`MAX_RECORD`] is refused unread.
fn read_tail(f: &mut File, path: &Path) -> Result<Tail, AuditError> {
    let len = f
        .metadata()
        .map_err(|e| AuditError::Open(io_err("cannot stat", path, &e)))?
        .len();
    let Some(nl) = rfind_newline(f, 0, len, path)? else {
        return Ok(Tail {
            last: None,
            torn_from: (len > 0).then_some(0),
        });
    };
    let torn_from = (nl + 1 < len).then_some(nl + 1);
    let floor = nl.saturating_sub(MAX_RECORD + 1);
    let line_start = match rfind_newline(f, floor, nl, path)? {
        Some(p) => p + 1,
        None if floor == 0 => 0,
        None => {
            return Err(AuditError::Broken(format!(
                "last record is longer than {} MiB",
                MAX_RECORD / (1024 * 1024)
            )));
        }
    };
    let line = read_range(f, line_start, nl - line_start, path)?;
    let mut scratch = Vec::new();
    match check_line(&line, &mut scratch) {
        Ok(c) => Ok(Tail {
            last: Some((c.seq, c.hash)),
            torn_from,
        }),
        Err(b) if line_start == 0 => Err(AuditError::Broken(format!(
            "last record (line 1) {}",
            b.reason
        ))),
        Err(b) => Err(AuditError::Broken(format!("last record {}", b.reason))),
    }
}
