//! Team mode: the lease an action takes on its target before it writes,
//! kept alive by a heartbeat while the provider call runs.

use super::*;

/// A task that ends when its guard is dropped.
pub(super) struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Executor {
    /// Team mode: take the lease on the action's target. `Ok(true)`:
    /// taken (a takeover is put into the intent's detail); `Ok(false)`:
    /// no team, or the database is unreachable (said in a warning: the
    /// action goes ahead without a lease); `Err`: another responder holds
    /// it (recorded as refused).
    pub(super) async fn take_lease(
        &self,
        req: &ActionRequest,
        plan: &Plan,
        detail: &mut Value,
        warnings: &mut Vec<SafeText>,
    ) -> Result<bool, ExecError> {
        let Some(team) = &self.team else {
            return Ok(false);
        };
        let target = req.op.target();
        let got = team
            .acquire(
                &target,
                &self.actor,
                &self.host,
                req.op.action_name(),
                &SafeText::line(&req.reason).into_string(),
                req.incident.as_deref(),
                self.take_over,
            )
            .await;
        match got {
            Ok(crate::team::Acquired::Taken { took_over }) => {
                if let Some(h) = took_over
                    && let Value::Object(m) = detail
                {
                    warnings.push(SafeText::line(&format!(
                        "lease taken over from {}",
                        h.describe()
                    )));
                    m.insert("lease_taken_over".into(), h.detail());
                }
                Ok(true)
            }
            Ok(crate::team::Acquired::Held(h)) => {
                let why = h.describe();
                let e = self.entry(
                    req,
                    plan,
                    Phase::Result,
                    Outcome::Refused,
                    None,
                    json!({"refused": "leased by another responder", "lease": h.detail(), "summary": plan.summary}),
                );
                let mut w = Vec::new();
                if let Err(err) = self.record(e, &mut w).await {
                    tracing::warn!("could not record a refusal: {err}");
                }
                self.deliver(&mut w).await;
                Err(ExecError::Leased(why))
            }
            Err(e) => {
                warnings.push(SafeText::line(&format!(
                    "no lease taken on {target}: {e}; other responders are not kept off it"
                )));
                Ok(false)
            }
        }
    }

    /// Heartbeat this console's lease on `target` until the guard drops.
    pub(super) fn heartbeat(&self, target: String) -> Option<AbortOnDrop> {
        let team = self.team.clone()?;
        let every = (team.lease_ttl() / 3).max(Duration::from_millis(100));
        Some(AbortOnDrop(crate::spawn::task(async move {
            loop {
                tokio::time::sleep(every).await;
                if !matches!(team.heartbeat(&target).await, Ok(true)) {
                    tracing::warn!("the lease heartbeat on a target failed");
                }
            }
        })))
    }
}
