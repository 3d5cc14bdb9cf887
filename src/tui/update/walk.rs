//! Runbook walks: open, save, and the walk-mode keys.

use super::*;

/// The placeholder values the console gives a walk: the incident, else
/// the selected row (a flag, a deploy, an SLO), the `[[service]]` config
/// and what the providers report.
pub(crate) fn walk_bindings(state: &State, incident: Option<&str>) -> crate::runbooks::Bindings {
    let (mut service, mut env, mut flag) = (None, None, None);
    if incident.is_none() {
        match state.ui.view {
            View::Flags => {
                if let Some(f) = state.selected_flag() {
                    flag = Some(f.key.as_str().to_string());
                    service = f.service.as_ref().map(|s| s.as_str().to_string());
                    env = f.environment.as_ref().map(|e| e.as_str().to_string());
                }
            }
            View::Deploys => {
                if let Some(d) = state.selected_deploy() {
                    service = Some(d.service.as_str().to_string());
                    env = Some(d.environment.as_str().to_string());
                }
            }
            View::Slos => {
                if let Some(s) = state.selected_slo() {
                    service = s.service.as_ref().map(|s| s.as_str().to_string());
                }
            }
            _ => {}
        }
    }
    crate::runbooks::bind::bind(&crate::runbooks::BindContext {
        incident,
        service: service.as_deref(),
        env: env.as_deref(),
        flag: flag.as_deref(),
        explicit: Some(crate::runbooks::Origin::Selection),
        snapshot: Some(&state.snap),
        services: &state.runbooks.services,
    })
}

/// Open runbook `id` in walk mode (its saved progress is read off the loop).
pub(crate) fn open_walk(state: &mut State, id: &str, incident: Option<String>) -> Vec<Effect> {
    let bindings = walk_bindings(state, incident.as_deref());
    match state.runbooks.catalog.find(id) {
        Some(rb) => vec![Effect::OpenWalk {
            runbook: Box::new(rb.clone()),
            incident,
            data_dir: state.runbooks.data_dir.clone(),
            bindings: Box::new(bindings),
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
                    Err(crate::runbooks::walk::ActionIssue::Unbound(names)) => {
                        ask_binding(state, &names[0])
                    }
                    Err(e) => {
                        state.toast(ToastKind::Error, e.to_string());
                        vec![]
                    }
                };
            }
            if let Some(code) = walk.selected_code() {
                if let Some(name) = code.unbound.first().filter(|_| code.run) {
                    let name = name.clone();
                    return ask_binding(state, &name);
                }
                if let Some(why) = code.refuse_exec() {
                    state.toast(ToastKind::Info, why);
                    return vec![];
                }
                let command = code.text;
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

/// Ask the responder for the value of placeholder `name`; on submit it is
/// bound for the rest of the walk and the block under the cursor runs again.
pub(crate) fn ask_binding(state: &mut State, name: &str) -> Vec<Effect> {
    let what = crate::runbooks::bind::PLACEHOLDERS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, w)| *w)
        .unwrap_or("");
    state.ui.modal = Some(Modal::Input {
        title: format!("Value for {{{name}}}"),
        prompt: format!("{{{name}}}: {what}. Enter binds it for this walk, Esc cancels"),
        text: String::new(),
        purpose: InputPurpose::Binding {
            name: name.to_string(),
        },
    });
    vec![]
}

/// The responder typed a placeholder's value: bind it, then run the block
/// under the cursor again (it may ask for the next one).
pub(crate) fn bind_typed(state: &mut State, name: &str, value: &str) -> Vec<Effect> {
    let Some(walk) = state.runbooks.walk.as_mut() else {
        return vec![];
    };
    if let Err(e) = walk.set_binding(name, value) {
        state.ui.modal = Some(Modal::Error {
            title: format!("Bad value for {{{name}}}"),
            text: e,
        });
        return vec![];
    }
    // A typed service or environment brings what depends on it (the
    // service's config, its current deploy, its kill switch).
    derive_missing(&state.snap, &state.runbooks.services, walk);
    // The typed value is kept with the walk's progress (the hand-off binds
    // the checklist with it).
    let w = (**walk).clone();
    let mut effects = vec![save_progress(state, w)];
    effects.extend(walk_action(state, Action::RunBlock));
    effects
}

/// Bind what follows from the walk's values (a typed or resumed service
/// or environment brings its config, its current deploy, its kill
/// switch); values the walk has are kept.
pub(crate) fn derive_missing(
    snap: &crate::model::Snapshot,
    services: &[crate::config::ServiceConfig],
    walk: &mut crate::runbooks::walk::Walk,
) {
    let b = &walk.bindings;
    let derived = crate::runbooks::bind::bind(&crate::runbooks::BindContext {
        incident: b.get("incident"),
        service: b.get("service"),
        env: b.get("env"),
        flag: b.get("flag"),
        explicit: Some(crate::runbooks::Origin::Given),
        snapshot: Some(snap),
        services,
    });
    walk.bindings.merge_missing(&derived);
}

/// Work to do when a view is entered: the Audit view reads the log fresh.
pub(crate) fn entered(state: &State) -> Vec<Effect> {
    if matches!(state.ui.view, View::Audit | View::Timeline) {
        vec![Effect::LoadAudit]
    } else {
        vec![]
    }
}
