//! What can go wrong when writing: the writer's errors ([`AuditError`]),
//! and the test hook that injects write and sync failures ([`Faults`]).

use std::fmt;

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

/// How far a writer's life has got, against its fault plan.
#[derive(Default)]
pub(super) struct FaultState {
    pub(super) plan: Faults,
    pub(super) writes: u32,
    pub(super) syncs: u32,
}
