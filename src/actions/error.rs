//! Why an action did not happen, or did not finish, and the exit code
//! that says so.

use super::*;

/// Why an action did not happen, or did not finish. Provider and user
/// text is sanitized where it is quoted.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ExecError {
    /// Read-only mode: refused (and recorded as `refused`).
    #[error(
        "refused: sitrep is in read-only mode (--read-only / SITREP_READ_ONLY); nothing was sent"
    )]
    ReadOnly,
    /// `--provider NAME` names no configured provider.
    #[error("no provider named {}", SafeText::line(.0))]
    UnknownProvider(String),
    /// No configured provider can carry out this action.
    #[error("no configured provider can do {action}")]
    NoProvider { action: String },
    /// Several providers could carry it out: name one.
    #[error(
        "{action} {} is ambiguous: providers {} can all do it; name one with --provider",
        SafeText::line(target),
        SafeText::line(&providers.join(", "))
    )]
    Ambiguous {
        action: String,
        target: String,
        providers: Vec<String>,
    },
    /// Planning failed (not found, unreachable...). Nothing was sent.
    #[error("cannot plan the action: {0}")]
    Plan(ProviderError),
    /// Refused by policy or confirmation (recorded as `refused` by the caller).
    #[error("refused: {}", SafeText::line(.0))]
    Refused(String),
    /// `[runbooks] allow_exec` is off.
    #[error("refused: runbook shell commands run only with [runbooks] allow_exec = true")]
    ExecDisabled,
    /// The audit log could not record the intent: refused, nothing sent.
    #[error("refused: the audit log cannot record the action ({0}); nothing was sent")]
    Audit(AuditError),
    /// Another responder holds the lease on the target (team mode):
    /// refused, recorded, nothing sent.
    #[error(
        "refused: {}; nothing was sent (take the lease over with --take-over, the takeover is recorded)",
        SafeText::line(.0)
    )]
    Leased(String),
    /// The provider failed the write (the result is recorded).
    #[error("the action failed at {0}")]
    Provider(ProviderError),
    /// A runbook command failed or could not run.
    #[error("runbook command failed: {}", SafeText::line(.0))]
    Command(String),
    /// The provider was asked, but the result could not be recorded: the
    /// intent (seq `intent`) stays open until the next start reconciles it.
    #[error(
        "the provider {} but the result could not be recorded ({cause}); the intent (seq {intent}) stays open and is recorded as outcome unknown at the next start: check the provider's state before doing anything again",
        if *done { "carried out the action" } else { "answered with an error" }
    )]
    Unrecorded {
        done: bool,
        intent: u64,
        cause: AuditError,
    },
}

impl ExecError {
    /// The request may have reached the provider but no answer came back
    /// (a cut-off write): the responder must check before retrying.
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, ExecError::Provider(e) if e.kind == ErrorKind::Unknown)
    }

    /// SPEC §2 exit code.
    pub fn exit_code(&self) -> i32 {
        match self {
            ExecError::Provider(_) | ExecError::Command(_) => 4,
            ExecError::Unrecorded { .. } => crate::app::exit::UNRECORDED,
            ExecError::Plan(e) => match e.kind {
                ErrorKind::NotFound
                | ErrorKind::Unsupported
                | ErrorKind::Config
                | ErrorKind::Conflict { .. } => 2,
                _ => 4,
            },
            _ => 2,
        }
    }
}
