//! Actions that change nothing outside sitrep (a step ticked, a command
//! run, a watch verdict): their plan is sitrep's own.

use crate::ops::{Plan, Precondition, WriteOp};
use crate::text::SafeText;
use serde_json::{Value, json};

pub(super) fn local_plan(op: &WriteOp) -> Plan {
    let (summary, detail) = match op {
        WriteOp::RunbookStep {
            runbook,
            step,
            item,
            checked,
        } => (
            format!(
                "mark {} of step {step} of runbook {runbook} as {}",
                item.map(|i| format!("item {i}"))
                    .unwrap_or_else(|| "the step".into()),
                if *checked { "done" } else { "not done" }
            ),
            json!({"item": item, "checked": checked}),
        ),
        WriteOp::RunbookExec {
            runbook,
            step,
            command,
        } => (
            format!("run the shell command of step {step} of runbook {runbook}"),
            json!({"command": command}),
        ),
        WriteOp::Watch {
            target,
            service,
            verdict,
            detail,
        } => (
            format!("watch after action on {target}: {service} {verdict}"),
            detail.clone(),
        ),
        other => (other.action_name().to_string(), Value::Null),
    };
    Plan {
        precondition: Precondition::None,
        environment: None,
        op: op.clone(),
        provider: "sitrep".into(),
        summary: SafeText::line(&summary).into_string(),
        stakes: vec![],
        requests: vec![],
        detail,
    }
}

pub(super) fn is_local(op: &WriteOp) -> bool {
    matches!(
        op,
        WriteOp::RunbookStep { .. } | WriteOp::RunbookExec { .. } | WriteOp::Watch { .. }
    )
}
