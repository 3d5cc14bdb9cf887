//! What `flag on` restores: the kill switches the audit log says were
//! thrown on a flag and not yet undone.

use super::{Executor, RESTORE_LOOKBACK};
use crate::audit::{self, Outcome, Phase};
use serde_json::{Value, json};

impl Executor {
    /// Per provider, the kill switch of flag `key` that `flag on` undoes
    /// (see [`PlanCtx::restore`]), from the newest records of the audit log.
    /// A log that cannot be read gives none: `flag on` then goes by the
    /// flag's variants, as without a record.
    pub(super) async fn kill_switches_to_undo(
        &self,
        key: &str,
    ) -> std::collections::BTreeMap<String, Value> {
        let path = self.audit.path().to_path_buf();
        let key = key.to_string();
        crate::spawn::blocking(move || {
            let mut out = std::collections::BTreeMap::new();
            let Ok((recs, _)) = audit::read::tail(&path, RESTORE_LOOKBACK) else {
                return out;
            };
            let mut decided = std::collections::BTreeSet::new();
            for r in recs.iter().rev() {
                if r.target != key
                    || r.phase != Phase::Result
                    || r.outcome != Outcome::Ok
                    || !(r.action == "flag.off" || r.action == "flag.on")
                {
                    continue;
                }
                let Some(p) = &r.provider else { continue };
                if !decided.insert(p.clone()) {
                    continue;
                }
                if r.action == "flag.off" {
                    out.insert(
                        p.clone(),
                        json!({"seq": r.seq, "ts": r.ts, "result": r.detail.get("result")}),
                    );
                }
            }
            out
        })
        .await
        .unwrap_or_default()
    }
}
