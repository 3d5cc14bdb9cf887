//! Intents left without a result (a crash, a kill, a result record that
//! could not be written) are closed at the next start as outcome unknown.

use super::{EXECUTE_TIMEOUT, Executor};
use crate::audit::{self, AuditError, Entry, Outcome, Phase, Record};
use serde_json::json;

/// How many of the newest records [`Executor::reconcile`] looks through.
pub const RECONCILE_WINDOW: usize = 2000;

/// Intents younger than this may still be in flight in another sitrep
/// (two write timeouts): [`Executor::reconcile`] leaves them.
pub fn reconcile_min_age() -> chrono::Duration {
    chrono::Duration::seconds(2 * EXECUTE_TIMEOUT.as_secs() as i64)
}

impl Executor {
    /// Close intents that never got a result (a crash, a kill, or a result
    /// that could not be written) and are older than `min_age` (younger
    /// ones may be in flight in another sitrep): each gets a result record
    /// `outcome: error` with `detail.cause = "outcome unknown"` and the
    /// intent's seq, so the log says what is not known instead of leaving
    /// it open. The provider is not asked (a write's effect cannot be read
    /// back the same way for every kind); the record says to check it.
    /// Only the newest [`RECONCILE_WINDOW`] records are looked at. Returns
    /// how many were closed. Blocking.
    pub fn reconcile(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        min_age: chrono::Duration,
    ) -> Result<usize, AuditError> {
        if self.read_only || !self.audit.path().exists() {
            return Ok(0);
        }
        let (recs, _) =
            audit::read::tail(self.audit.path(), RECONCILE_WINDOW).map_err(AuditError::Open)?;
        let open: Vec<Record> = audit::unresolved(&recs)
            .into_iter()
            .filter(|r| {
                chrono::DateTime::parse_from_rfc3339(&r.ts)
                    .map(|t| now - t.with_timezone(&chrono::Utc) >= min_age)
                    .unwrap_or(true)
            })
            .cloned()
            .collect();
        for r in &open {
            let e = Entry {
                action: r.action.clone(),
                actor: self.actor.clone(),
                detail: json!({
                    "cause": "outcome unknown",
                    "error": format!(
                        "no result was recorded for intent seq {} (sitrep stopped, or the log could not be written); check the provider's state",
                        r.seq
                    ),
                    "reconciled_intent": r.seq,
                }),
                host: self.host.clone(),
                idempotency_key: r.idempotency_key.clone(),
                incident: r.incident.clone(),
                outcome: Outcome::Error,
                phase: Phase::Result,
                provider: r.provider.clone(),
                reason: r.reason.clone(),
                runbook: r.runbook.clone(),
                target: r.target.clone(),
            };
            self.audit.append(&e)?;
            tracing::warn!(
                "audit: intent seq {} ({} {}) had no result; recorded as outcome unknown",
                r.seq,
                r.action,
                r.target
            );
        }
        Ok(open.len())
    }

    /// [`Executor::reconcile`] at the start of a CLI action or a console
    /// session: what to tell the responder, if anything.
    pub fn reconcile_at_start(&self) -> Option<String> {
        match self.reconcile(chrono::Utc::now(), reconcile_min_age()) {
            Ok(0) => None,
            Ok(n) => Some(format!(
                "{n} earlier action(s) had no recorded result; recorded as outcome unknown (see the audit log): check the provider before retrying them"
            )),
            Err(e) => Some(format!(
                "cannot close earlier unfinished actions in the audit log: {e}"
            )),
        }
    }
}
