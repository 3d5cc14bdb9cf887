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

/// How much of the file end is read to find the last record.
const TAIL_WINDOW: u64 = 64 * 1024;
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
        }
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
        let (record, line) = entry.seal(seq, &prev, now_ts(), key)?;
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
