//! Carries out the TUI's action effects off the UI loop through the audited
//! executor: planning and executing run on spawned tasks and report back as
//! messages. Read-only, the audit intent-before-send and the production
//! rules are enforced by the executor itself, not only by the UI.

use super::state::ActionCtx;
use super::update::Msg;
use crate::cli::Ctx;
use crate::config::Config;
use crate::ops::executor::{ActionRequest, Executor, Mode};
use crate::ops::{Plan, WriteOp};
use crate::providers::Registry;
use tokio::sync::mpsc;

pub struct Runner {
    executor: Executor,
}

impl Runner {
    pub fn new(ctx: &Ctx, cfg: &Config, registry: Registry) -> Runner {
        Runner {
            executor: Executor::from_config(
                registry,
                cfg,
                &ctx.paths.data_dir,
                ctx.global.read_only,
                &crate::secrets::SystemSecrets,
            ),
        }
    }

    pub fn executor(&self) -> &Executor {
        &self.executor
    }

    fn request(op: WriteOp, reason: String, ctx: &ActionCtx) -> ActionRequest {
        let mut req = ActionRequest::new(op, reason);
        req.incident = ctx.incident.clone();
        req.runbook = ctx.runbook.clone();
        req
    }

    pub fn plan(&self, op: WriteOp, reason: String, ctx: ActionCtx, tx: mpsc::Sender<Msg>) {
        let ex = self.executor.clone();
        tokio::spawn(async move {
            let req = Self::request(op, reason.clone(), &ctx);
            let result = ex.plan(&req).await.map_err(|e| e.to_string());
            let _ = tx.send(Msg::Planned { result, reason }).await;
        });
    }

    /// Record a runbook checklist tick (`runbook.step`, local: no provider,
    /// no confirmation). Only a failure is reported back.
    pub fn record(&self, op: WriteOp, ctx: ActionCtx, tx: mpsc::Sender<Msg>) {
        let ex = self.executor.clone();
        tokio::spawn(async move {
            let req = Self::request(op, String::new(), &ctx);
            let r = match ex.plan(&req).await {
                Ok(plan) => ex.execute(&req, &plan, Mode::Live).await.map(|_| ()),
                Err(e) => Err(e),
            };
            if let Err(e) = r {
                let _ = tx
                    .send(Msg::Warn(format!("checklist tick not recorded: {e}")))
                    .await;
            }
        });
    }

    pub fn execute(&self, plan: Plan, reason: String, ctx: ActionCtx, tx: mpsc::Sender<Msg>) {
        let ex = self.executor.clone();
        tokio::spawn(async move {
            let req = Self::request(plan.op.clone(), reason, &ctx);
            let mut acted = None;
            let msg = match ex.execute(&req, &plan, Mode::Live).await {
                Ok(done) => {
                    acted = Some(plan.op.clone());
                    let mut m = done.message.to_string();
                    for w in &done.warnings {
                        m.push_str(&format!(" (warning: {w})"));
                    }
                    Ok(m)
                }
                Err(e) => Err(e.to_string()),
            };
            let _ = tx.send(Msg::Executed(msg)).await;
            if let Some(op) = acted {
                let _ = tx.send(Msg::Acted(op)).await;
            }
        });
    }
}

/// Read the newest records and verify the chain (blocking; run it off the loop).
pub fn load_audit(ex: &Executor) -> super::state::AuditView {
    let mut v = super::state::AuditView {
        loaded: true,
        ..Default::default()
    };
    match ex.recent(500) {
        Ok((records, bad)) => {
            v.records = records;
            v.unreadable = bad;
        }
        Err(e) => v.chain = Some(Err(e)),
    }
    if v.chain.is_none() {
        v.chain = Some(match ex.verify() {
            Ok(ok) => Ok(format!(
                "chain verified: {} records, head {}",
                ok.records,
                ok.head.get(..12).unwrap_or(&ok.head)
            )),
            Err(e) => Err(e.to_string()),
        });
    }
    v
}
