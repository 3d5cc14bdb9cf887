//! Runbook walks: open, save, and the walk-mode keys.

use super::*;

/// Open runbook `id` in walk mode (its saved progress is read off the loop).
pub(crate) fn open_walk(state: &mut State, id: &str, incident: Option<String>) -> Vec<Effect> {
    match state.runbooks.catalog.find(id) {
        Some(rb) => vec![Effect::OpenWalk {
            runbook: Box::new(rb.clone()),
            incident,
            data_dir: state.runbooks.data_dir.clone(),
        }],
        None => {
            state.toast(ToastKind::Error, format!("no runbook {id:?}"));
            vec![]
        }
    }
}

/// Stamp a walk's progress with the time and save it (off the loop).
pub(crate) fn save_progress(state: &State, mut walk: crate::runbooks::walk::Walk) -> Effect {
    walk.progress.updated_at = Some(state.now);
    Effect::SaveProgress {
        progress: Box::new(walk.progress),
        data_dir: state.runbooks.data_dir.clone(),
    }
}

/// Walk-mode keys: tick items, move between steps, run an action block.
pub(crate) fn walk_action(state: &mut State, action: Action) -> Vec<Effect> {
    let Some(walk) = state.runbooks.walk.as_mut() else {
        if action == Action::RunBlock || action == Action::ToggleItem {
            state.toast(ToastKind::Info, "open a runbook (Enter) to walk it");
        }
        return vec![];
    };
    match action {
        Action::NextStep => {
            walk.next_step();
            vec![]
        }
        Action::PrevStep => {
            walk.prev_step();
            vec![]
        }
        Action::ToggleItem => match walk.toggle() {
            Some(op) => {
                let w = (**walk).clone();
                vec![save_progress(state, w), Effect::RecordStep(op)]
            }
            None => vec![],
        },
        Action::RunBlock => {
            let runbook = crate::audit::RunbookRef {
                id: walk.runbook.id.as_str().to_string(),
                step: walk.step_index(),
            };
            let incident = walk.incident().map(str::to_string);
            if let Some(sel) = walk.selected_action() {
                return match sel {
                    Ok(a) => {
                        if refuse_read_only(state) {
                            return vec![];
                        }
                        state.ui.action_ctx = ActionCtx {
                            incident,
                            runbook: Some(runbook),
                        };
                        if a.reason.trim().is_empty() && a.op.typed_confirmation().is_some() {
                            ask_reason(state, a.op)
                        } else {
                            planning(state, a.op.action_name());
                            vec![Effect::Plan {
                                op: a.op,
                                reason: a.reason,
                            }]
                        }
                    }
                    Err(e) => {
                        state.toast(ToastKind::Error, e.to_string());
                        vec![]
                    }
                };
            }
            if let Some((_, code)) = walk.selected_code() {
                let command = code.as_str().to_string();
                if !state.runbooks.allow_exec {
                    state.toast(
                        ToastKind::Info,
                        "shell blocks run only with [runbooks] allow_exec = true; y copies it",
                    );
                    return vec![];
                }
                if refuse_read_only(state) {
                    return vec![];
                }
                let op = WriteOp::RunbookExec {
                    runbook: runbook.id.clone(),
                    step: runbook.step,
                    command,
                };
                state.ui.action_ctx = ActionCtx {
                    incident,
                    runbook: Some(runbook),
                };
                return ask_reason(state, op);
            }
            state.toast(
                ToastKind::Info,
                "move to an action or code block (j/k) to run it",
            );
            vec![]
        }
        _ => vec![],
    }
}

/// Work to do when a view is entered: the Audit view reads the log fresh.
pub(crate) fn entered(state: &State) -> Vec<Effect> {
    if matches!(state.ui.view, View::Audit | View::Timeline) {
        vec![Effect::LoadAudit]
    } else {
        vec![]
    }
}
