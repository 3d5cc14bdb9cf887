//! What can go wrong when writing: the writer's errors ([`AuditError`]),
//! and the test hook that injects write and sync failures ([`Faults`]).

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    /// A previous write or sync failed: this writer refuses everything.
    #[error(
        "audit log writer disabled after an earlier write/fsync failure (restart sitrep and run `sitrep audit verify`)"
    )]
    Poisoned,
    /// Another process held the lock for longer than the timeout.
    #[error("audit log busy (held by another sitrep)")]
    Busy,
    /// The file could not be opened, locked or read (nothing was written).
    #[error("audit log unavailable: {0}")]
    Open(String),
    /// Writing or syncing failed (the writer is now poisoned).
    #[error("audit log write failed: {0}")]
    Write(String),
    /// The last whole record does not verify: refuse to chain onto it.
    #[error("audit log is damaged: {0}")]
    Broken(String),
    /// The record could not be encoded.
    #[error("audit record: {0}")]
    Encode(String),
    /// The signing key could not be loaded or created (nothing was written).
    #[error("audit records cannot be signed: {0}")]
    Key(String),
}

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

#[cfg(test)]
mod tests {
    use super::AuditError;

    #[test]
    fn messages_say_what_failed() {
        let text = |e: AuditError| e.to_string();
        assert_eq!(
            text(AuditError::Poisoned),
            "audit log writer disabled after an earlier write/fsync failure (restart sitrep and run `sitrep audit verify`)"
        );
        assert_eq!(
            text(AuditError::Busy),
            "audit log busy (held by another sitrep)"
        );
        assert_eq!(
            text(AuditError::Open("no such file".into())),
            "audit log unavailable: no such file"
        );
        assert_eq!(
            text(AuditError::Write("disk full".into())),
            "audit log write failed: disk full"
        );
        assert_eq!(
            text(AuditError::Broken("line 3: hash".into())),
            "audit log is damaged: line 3: hash"
        );
        assert_eq!(text(AuditError::Encode("x".into())), "audit record: x");
    }
}
