//! Running a command-palette entry: a view, a service, a runbook, an
//! action (`rollback SVC ENV`, `flag off KEY`, `ack ID`), a context.

use super::*;

pub(crate) fn run_palette(state: &mut State, e: crate::tui::palette::Entry) -> Vec<Effect> {
    use crate::tui::palette::Command;
    state.ui.palette_history.retain(|h| h != &e.label);
    state.ui.palette_history.push(e.label.clone());
    if state.ui.palette_history.len() > 50 {
        state.ui.palette_history.remove(0);
    }
    match e.command {
        Command::View(v) => {
            state.ui.view = v;
            entered(state)
        }
        Command::Key(a) => on_action(state, a),
        Command::Service(s) => {
            for v in [View::Incidents, View::Deploys] {
                state.list_mut(v).filter = s.clone();
                state.list_mut(v).selected = 0;
            }
            state.ui.view = View::Incidents;
            vec![]
        }
        Command::Op(op) => {
            state.ui.action_ctx = ActionCtx::default();
            palette_op(state, op)
        }
        Command::Context(c) => vec![Effect::SwitchContext(c)],
        Command::Say(text) => {
            state.toast(ToastKind::Info, text);
            vec![]
        }
        Command::Runbook(id) => {
            state.ui.view = View::Runbooks;
            open_walk(state, &id, None)
        }
    }
}

pub(crate) fn palette_op(state: &mut State, op: WriteOp) -> Vec<Effect> {
    match op {
        WriteOp::IncidentAck { .. }
        | WriteOp::IncidentResolve { .. }
        | WriteOp::IncidentEscalate { .. }
        | WriteOp::IncidentSnooze { .. }
        | WriteOp::IncidentBulkAck { .. } => {
            planning(state, op.action_name());
            vec![Effect::Plan {
                op,
                reason: String::new(),
            }]
        }
        op => ask_reason(state, op),
    }
}
