//! Write actions started from a list: read-only refusal, the reason
//! prompt, planning.

use super::*;

pub(crate) fn refuse_read_only(state: &mut State) -> bool {
    if state.read_only {
        state.toast(
            ToastKind::Error,
            "READ-ONLY: write actions are disabled (started with --read-only)",
        );
    }
    state.read_only
}

pub(crate) fn incident_action(state: &mut State, action: Action) -> Vec<Effect> {
    if refuse_read_only(state) {
        return vec![];
    }
    if action == Action::Ack && state.ui.view == View::Incidents && !state.depth.marked.is_empty() {
        return match crate::tui::depth::bulk_ack(state) {
            Ok(op) => {
                planning(state, "acknowledge the marked incidents");
                vec![Effect::Plan {
                    op,
                    reason: String::new(),
                }]
            }
            Err(why) => {
                state.toast(ToastKind::Error, why);
                vec![]
            }
        };
    }
    let Some(i) = state.selected_incident().cloned() else {
        state.toast(ToastKind::Info, "no incident selected");
        return vec![];
    };
    if let Some(why) = state.incident_refusal(&i, action) {
        let why = why.to_string();
        state.toast(ToastKind::Error, why);
        return vec![];
    }
    let provider = Some(i.provider.as_str().to_string());
    let id = i.id.as_str().to_string();
    state.ui.action_ctx.incident = Some(id.clone());
    match action {
        Action::Ack => {
            if !i.status.is_unacked() {
                let msg = format!("{id} is already {}", i.status.label());
                state.toast(ToastKind::Info, msg);
                return vec![];
            }
            planning(state, "acknowledge");
            vec![Effect::Plan {
                op: WriteOp::IncidentAck { provider, id },
                reason: String::new(),
            }]
        }
        Action::Resolve => {
            planning(state, "resolve");
            vec![Effect::Plan {
                op: WriteOp::IncidentResolve { provider, id },
                reason: String::new(),
            }]
        }
        Action::Note => {
            state.ui.modal = Some(Modal::Input {
                title: format!("Note on {id}"),
                prompt: "Note text (Enter to continue, Esc to cancel)".into(),
                text: String::new(),
                purpose: InputPurpose::NoteText {
                    provider: i.provider.as_str().to_string(),
                    id,
                },
            });
            vec![]
        }
        Action::Silence => {
            if i.status == IncidentStatus::Silenced {
                state.toast(ToastKind::Info, format!("{id} is already silenced"));
                return vec![];
            }
            let sentry = state
                .store
                .slots
                .iter()
                .any(|s| s.name == i.provider.as_str() && s.kind == "sentry");
            // Alertmanager titles are "alertname: summary"; a Sentry
            // issue is ignored by its id.
            let name = i
                .title
                .as_str()
                .split(':')
                .next()
                .filter(|n| !n.is_empty() && !n.contains(char::is_whitespace))
                .unwrap_or(i.id.as_str())
                .to_string();
            state.ui.modal = Some(Modal::Input {
                title: "Silence alerts".into(),
                prompt: "Matchers (label=value ...) then duration, e.g. alertname=X 1h".into(),
                text: if sentry {
                    format!("issue={id} 1h")
                } else {
                    format!("alertname={name} 1h")
                },
                purpose: InputPurpose::SilenceMatchers {
                    provider: i.provider.as_str().to_string(),
                },
            });
            vec![]
        }
        _ => vec![],
    }
}

/// `E` (escalate) or `z` (snooze for an hour) on the selected incident,
/// where its provider can; snooze only when it is acknowledged.
pub(crate) fn depth_action(state: &mut State, escalate: bool) -> Vec<Effect> {
    if refuse_read_only(state) {
        return vec![];
    }
    let Some(i) = state.selected_incident().cloned() else {
        state.toast(ToastKind::Info, "no incident selected");
        return vec![];
    };
    let refusal = state
        .store
        .slots
        .iter()
        .find(|s| s.name == i.provider.as_str())
        .map(|s| {
            if escalate {
                s.actions.escalate.clone()
            } else {
                s.actions.snooze.clone()
            }
        });
    match refusal {
        None => {
            state.toast(
                ToastKind::Error,
                format!("no provider named {}", i.provider),
            );
            return vec![];
        }
        Some(Some(why)) => {
            state.toast(ToastKind::Error, why);
            return vec![];
        }
        Some(None) => {}
    }
    let provider = Some(i.provider.as_str().to_string());
    let id = i.id.as_str().to_string();
    if !escalate && i.status != IncidentStatus::Acknowledged {
        let msg = format!(
            "{id} is {}: only acknowledged incidents can be snoozed (a first)",
            i.status.label()
        );
        state.toast(ToastKind::Info, msg);
        return vec![];
    }
    state.ui.action_ctx.incident = Some(id.clone());
    let op = if escalate {
        WriteOp::IncidentEscalate { provider, id }
    } else {
        WriteOp::IncidentSnooze {
            provider,
            id,
            duration_secs: 3600,
        }
    };
    planning(state, op.action_name());
    vec![Effect::Plan {
        op,
        reason: String::new(),
    }]
}

pub(crate) fn planning(state: &mut State, what: &str) {
    state.ui.modal = Some(Modal::Planning {
        what: format!("planning: {what}"),
    });
}

/// Rollback and flag flips ask for a reason first (it is recorded).
pub(crate) fn ask_reason(state: &mut State, op: WriteOp) -> Vec<Effect> {
    state.ui.modal = Some(Modal::Input {
        title: format!("{} {}", op.action_name(), op.target()),
        prompt: "Reason (recorded in the audit log; Enter to plan, Esc to cancel)".into(),
        text: String::new(),
        purpose: InputPurpose::Reason(op.clone()),
    });
    state.ui.probe = Some(Probe {
        op: op.clone(),
        summary: None,
    });
    vec![Effect::Probe(op)]
}
