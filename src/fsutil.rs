//! File-system helpers shared by every part that keeps state on disk (the
//! offline cache, walk progress, flagd flag files, the audit log and its
//! webhook queue):
//!
//! - [`write_atomic`]: replace a file so that a crash leaves the old or the
//!   new contents, never half of one;
//! - [`lock_with_timeout`]: take an exclusive advisory lock, waiting a
//!   bounded time for another process that holds it;
//! - [`sync_dir`]: make a directory entry (a create or a rename) durable.

use std::fmt;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Create `dir` and its missing parents private to the user (0700 on
/// unix): the data directory holds the audit log, the cache and walk
/// progress. Directories that exist keep their mode.
pub fn create_private_dir_all(dir: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)
}

/// Open `path` for appending, creating it (and its directory) private to
/// the user (0600 / 0700 on unix): log files.
pub fn open_private_append(path: &Path) -> std::io::Result<File> {
    if let Some(d) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir_all(d)?;
    }
    let mut o = OpenOptions::new();
    o.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)
}

/// How often [`lock_with_timeout`] retries a held lock.
const LOCK_POLL: Duration = Duration::from_millis(5);

/// Replace `path` with `bytes` atomically: a temporary sibling
/// `.<name>.sitrep-<pid>-<random>.tmp` (created exclusively, in the same
/// directory so the rename cannot cross file systems), write, `fsync`,
/// rename over `path`, `fsync` the directory. On unix the file gets exactly
/// the permission bits `mode` (not reduced by the umask); elsewhere `mode`
/// is ignored. On any error the temporary file is removed and `path` is
/// left as it was (unless the error came from syncing the directory after
/// the rename, in which case the new contents are in place but may not be
/// durable yet).
///
/// The directory must exist.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    write_atomic_with(path, mode, |f| f.write_all(bytes))
}

/// [`write_atomic`] with the contents written by `fill` as they are made
/// (e.g. serialized straight into the file, never whole in memory). `fill`
/// writes into a buffer in front of the file; an error from it leaves
/// `path` as it was.
pub fn write_atomic_with(
    path: &Path,
    mode: u32,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = parent_dir(path);
    let base = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    let tmp = dir.join(format!(
        ".{base}.sitrep-{}-{:016x}.tmp",
        std::process::id(),
        crate::util::random_u64()
    ));
    let mut o = OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Never wider than asked while the data is being written.
        o.mode(mode & 0o777);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut f = o.open(&tmp)?;
    let result = (|| {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // The open above is subject to the umask; set the exact bits.
            f.set_permissions(std::fs::Permissions::from_mode(mode & 0o7777))?;
        }
        let mut w = std::io::BufWriter::with_capacity(64 * 1024, &mut f);
        fill(&mut w)?;
        w.flush()?;
        drop(w);
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    drop(f);
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(dir)
}

/// Remove the temporary files [`write_atomic`] left beside `path` when the
/// process writing them was killed (`.<name>.sitrep-<pid>-<hex>.tmp`
/// whose pid is no longer running; where that cannot be told, older than
/// an hour). Returns what was removed. Errors are ignored: this is
/// tidying, and a file that cannot be removed is left for a person.
pub fn remove_stale_temps(path: &Path) -> Vec<PathBuf> {
    let dir = parent_dir(path);
    let Some(base) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return Vec::new();
    };
    let prefix = format!(".{base}.sitrep-");
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name
            .strip_prefix(&prefix)
            .and_then(|r| r.strip_suffix(".tmp"))
        else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid == std::process::id() || process_alive(pid, &e.path()) {
            continue;
        }
        if std::fs::remove_file(e.path()).is_ok() {
            removed.push(e.path());
        }
    }
    removed
}

/// Is `pid` a running process? On Linux, from /proc; elsewhere a temp file
/// younger than an hour counts as its writer still running.
fn process_alive(pid: u32, file: &Path) -> bool {
    #[cfg(target_os = "linux")]
    {
        let _ = file;
        Path::new("/proc").join(pid.to_string()).exists()
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = pid;
        std::fs::metadata(file)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_none_or(|age| age < Duration::from_secs(3600))
    }
}

/// The directory holding `path` (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// `fsync` a directory, so that entries created or renamed in it survive a
/// crash. A no-op where directories cannot be opened (not unix).
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
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

/// Why [`lock_with_timeout`] did not get the lock.
#[derive(Debug)]
pub enum LockError {
    /// Another handle held the lock for the whole timeout.
    TimedOut,
    /// Locking failed for another reason (unsupported, bad descriptor...).
    Io(std::io::Error),
}

impl fmt::Display for LockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LockError::TimedOut => f.write_str("lock held by another process"),
            LockError::Io(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for LockError {}

/// Take an exclusive lock on `file` (`flock` on unix), retrying every few
/// milliseconds while another handle holds it, for at most `timeout`. A
/// zero timeout tries exactly once. The lock is released by
/// `file.unlock()` or when the last handle to the open file is closed.
pub fn lock_with_timeout(file: &File, timeout: Duration) -> Result<(), LockError> {
    let start = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(()),
            Err(TryLockError::WouldBlock) => {
                let waited = start.elapsed();
                if waited >= timeout {
                    return Err(LockError::TimedOut);
                }
                std::thread::sleep(LOCK_POLL.min(timeout - waited));
            }
            Err(TryLockError::Error(e)) => return Err(LockError::Io(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        crate::order::sort(&mut v);
        v
    }

    #[test]
    fn write_atomic_replaces_the_file_with_the_mode_asked() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state.json");
        std::fs::write(&p, b"old").unwrap();
        write_atomic(&p, b"new contents", 0o600).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new contents");
        assert_eq!(names(dir.path()), vec!["state.json".to_string()]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            // Exact bits, whatever the umask: a wider mode is kept too.
            write_atomic(&p, b"x", 0o644).unwrap();
            let mode = std::fs::metadata(&p).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o644);
        }
    }

    /// A temp file left by a killed writer is removed at the next start;
    /// one of a live process (ours) is not.
    #[test]
    fn temp_files_of_dead_writers_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("flags.json");
        std::fs::write(&target, "{}").unwrap();
        // pid_max is at most 2^22: this pid cannot be running.
        let dead = dir
            .path()
            .join(".flags.json.sitrep-999999999-00ff00ff00ff00ff.tmp");
        let live = dir.path().join(format!(
            ".flags.json.sitrep-{}-00ff00ff00ff00ff.tmp",
            std::process::id()
        ));
        let other = dir.path().join(".other.json.sitrep-999999999-00.tmp");
        for p in [&dead, &live, &other] {
            std::fs::write(p, "partial").unwrap();
        }
        let removed = remove_stale_temps(&target);
        assert_eq!(removed, vec![dead.clone()]);
        assert!(!dead.exists() && live.exists() && other.exists() && target.exists());
    }

    #[test]
    fn failed_write_leaves_the_target_and_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        // The rename fails: the target is a non-empty directory.
        let target = dir.path().join("taken");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("inside"), b"keep").unwrap();
        let e = write_atomic(&target, b"data", 0o600).unwrap_err();
        assert_ne!(e.kind(), std::io::ErrorKind::NotFound, "{e}");
        assert_eq!(names(dir.path()), vec!["taken".to_string()]);
        assert_eq!(std::fs::read(target.join("inside")).unwrap(), b"keep");
        // The directory does not exist: nothing is created anywhere.
        let missing = dir.path().join("no-such-dir").join("f.json");
        assert!(write_atomic(&missing, b"data", 0o600).is_err());
        assert_eq!(names(dir.path()), vec!["taken".to_string()]);
    }

    /// Contents made as they are written (the cache serializes straight
    /// into the file): all of them land, past the buffer's size too; a
    /// writer that fails half-way leaves the old file and no temp file.
    #[test]
    fn write_atomic_with_streams_and_a_failed_fill_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("cache.json");
        std::fs::write(&p, b"old").unwrap();
        let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        write_atomic_with(&p, 0o600, |w| {
            for part in big.chunks(7_000) {
                w.write_all(part)?;
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), big);
        let e = write_atomic_with(&p, 0o600, |w| {
            w.write_all(&[b'x'; 100_000])?;
            Err(std::io::Error::other("serializer gave up"))
        })
        .unwrap_err();
        assert_eq!(e.to_string(), "serializer gave up");
        assert_eq!(std::fs::read(&p).unwrap(), big);
        assert_eq!(names(dir.path()), vec!["cache.json".to_string()]);
    }

    #[test]
    fn lock_times_out_while_another_handle_holds_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("lock");
        let holder = File::create(&p).unwrap();
        holder.lock().unwrap();
        let other = File::open(&p).unwrap();
        let start = Instant::now();
        assert!(matches!(
            lock_with_timeout(&other, Duration::from_millis(60)),
            Err(LockError::TimedOut)
        ));
        assert!(start.elapsed() >= Duration::from_millis(60));
        // A zero timeout tries once.
        assert!(matches!(
            lock_with_timeout(&other, Duration::ZERO),
            Err(LockError::TimedOut)
        ));
        holder.unlock().unwrap();
        lock_with_timeout(&other, Duration::ZERO).unwrap();
        // Now the first handle is the one kept out.
        assert!(matches!(
            lock_with_timeout(&holder, Duration::from_millis(10)),
            Err(LockError::TimedOut)
        ));
    }

    #[test]
    fn lock_waits_for_a_holder_that_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("lock");
        let holder = File::create(&p).unwrap();
        holder.lock().unwrap();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            drop(holder);
        });
        let other = File::open(&p).unwrap();
        lock_with_timeout(&other, Duration::from_secs(10)).unwrap();
        t.join().unwrap();
    }
}
