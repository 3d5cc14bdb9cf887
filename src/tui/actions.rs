//! Carries out the TUI's action effects off the UI loop: planning and
//! executing run on spawned tasks and report back as messages.

use super::update::Msg;
use crate::cli::Ctx;
use crate::config::Config;
use crate::ops::{Plan, WriteOp};
use crate::providers::Registry;
use tokio::sync::mpsc;

pub struct Runner {
    registry: Registry,
}

impl Runner {
    pub fn new(_ctx: &Ctx, _cfg: &Config, registry: Registry) -> Runner {
        Runner { registry }
    }

    pub fn plan(&self, op: WriteOp, reason: String, tx: mpsc::Sender<Msg>) {
        let registry = self.registry.clone();
        tokio::spawn(async move {
            let result = match op.provider().and_then(|n| registry.get(n)) {
                Some(p) => p.plan(&op).await.map_err(|e| e.to_string()),
                None => Err(format!("no provider for {}", op.action_name())),
            };
            let _ = tx.send(Msg::Planned { result, reason }).await;
        });
    }

    pub fn execute(&self, plan: Plan, _reason: String, tx: mpsc::Sender<Msg>) {
        tokio::spawn(async move {
            let _ = tx
                .send(Msg::Executed(Err(format!(
                    "{}: the audited executor is not available in this build; nothing was sent",
                    plan.op.action_name()
                ))))
                .await;
        });
    }
}
