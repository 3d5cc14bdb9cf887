//! Keys outside modals: the filter line, help, and the keymap's actions
//! on the list views.

use super::*;

pub(crate) fn move_sel(state: &mut State, view: View, delta: isize) {
    let n = state.len(view);
    let l = state.list_mut(view);
    if n == 0 {
        l.selected = 0;
        return;
    }
    let cur = l.selected as isize;
    l.selected = (cur + delta).clamp(0, n as isize - 1) as usize;
}

/// Rows visible in a list view, from the layout.
pub fn page_rows(state: &State) -> usize {
    (state.ui.size.1 as usize).saturating_sub(8).max(1)
}

pub(crate) fn on_key(state: &mut State, k: KeyEvent) -> Vec<Effect> {
    if state.first_run.is_some() {
        return match keymap::lookup_layer(Layer::FirstRun, &k) {
            Some(LayerKey::Demo) => vec![Effect::StartDemo],
            Some(LayerKey::Quit) => {
                state.ui.quit = true;
                vec![Effect::Quit]
            }
            _ => vec![],
        };
    }
    if state.ui.modal.is_some() {
        return crate::tui::modals::on_key(state, k);
    }
    if state.ui.filter_editing {
        let v = state.ui.view;
        match keymap::lookup_layer(Layer::Filter, &k) {
            Some(LayerKey::Submit) => state.ui.filter_editing = false,
            Some(LayerKey::Cancel) => {
                state.ui.filter_editing = false;
                state.list_mut(v).filter.clear();
            }
            Some(LayerKey::Erase) => {
                state.list_mut(v).filter.pop();
            }
            _ if let KeyCode::Char(c) = k.code
                && !k.modifiers.contains(KeyModifiers::CONTROL)
                && state.list(v).filter.len() < 64 =>
            {
                state.list_mut(v).filter.push(c);
            }
            _ => {}
        }
        state.list_mut(v).selected = 0;
        return vec![];
    }
    if state.ui.help {
        if matches!(
            keymap::lookup(state.ui.view, &k),
            Some(Action::Quit | Action::Help | Action::Back)
        ) {
            state.ui.help = false;
        }
        return vec![];
    }
    let Some(action) = keymap::lookup(state.ui.view, &k) else {
        return vec![];
    };
    on_action(state, action)
}

pub(crate) fn list_view(state: &State) -> View {
    state.ui.view
}

pub fn on_action(state: &mut State, action: Action) -> Vec<Effect> {
    let view = list_view(state);
    if matches!(
        action,
        Action::Ack
            | Action::Resolve
            | Action::Note
            | Action::Silence
            | Action::Rollback
            | Action::KillSwitch
            | Action::FlagOn
            | Action::Expire
            | Action::Escalate
            | Action::Snooze
    ) {
        // Started from a list, not from a runbook step.
        state.ui.action_ctx = ActionCtx::default();
    }
    match action {
        Action::Quit => {
            state.ui.quit = true;
            vec![Effect::Quit]
        }
        Action::Help => {
            state.ui.help = true;
            vec![]
        }
        Action::View(v) => {
            state.ui.view = v;
            entered(state)
        }
        Action::NextView => {
            state.ui.view = state.ui.view.next();
            entered(state)
        }
        Action::PrevView => {
            state.ui.view = state.ui.view.prev();
            entered(state)
        }
        Action::Down | Action::Up if view == View::Runbooks && state.runbooks.walk.is_some() => {
            if let Some(w) = state.runbooks.walk.as_mut() {
                w.move_cursor(if action == Action::Down { 1 } else { -1 });
            }
            vec![]
        }
        Action::Down => {
            move_sel(state, view, 1);
            vec![]
        }
        Action::Up => {
            move_sel(state, view, -1);
            vec![]
        }
        Action::Top => {
            state.list_mut(view).selected = 0;
            vec![]
        }
        Action::Bottom => {
            move_sel(state, view, isize::MAX / 2);
            vec![]
        }
        Action::PageDown => {
            let p = page_rows(state) as isize;
            move_sel(state, view, p);
            vec![]
        }
        Action::PageUp => {
            let p = page_rows(state) as isize;
            move_sel(state, view, -p);
            vec![]
        }
        Action::Filter => {
            state.ui.filter_editing = true;
            vec![]
        }
        Action::Palette => {
            state.ui.modal = Some(Modal::Palette {
                query: String::new(),
                selected: 0,
            });
            vec![]
        }
        Action::Refresh => {
            state.toast(ToastKind::Info, "refreshing every provider");
            // The open incident's history is read again too.
            state.depth.details.clear();
            vec![Effect::Refresh]
        }
        Action::Details => {
            // An incident with a runbook: Enter walks it (Esc comes back).
            if matches!(state.ui.view, View::Dashboard | View::Incidents)
                && let Some(i) = state.selected_incident()
                && let Some(rb) = &i.runbook
            {
                let (id, incident) = (rb.as_str().to_string(), Some(i.id.as_str().to_string()));
                state.ui.walk_from = Some(state.ui.view);
                state.ui.view = View::Runbooks;
                return open_walk(state, &id, incident);
            }
            if state.ui.view == View::Incidents
                && let Some(i) = state.selected_incident()
            {
                let msg = format!(
                    "no runbook is linked to {}: link one with [[service]] runbooks or the alert's runbook annotation",
                    i.id
                );
                state.toast(ToastKind::Info, msg);
                state.ui.show_details = true;
                return vec![];
            }
            if state.ui.view == View::Dashboard {
                state.ui.view = View::Incidents;
                if let Some(i) = state.selected_incident().map(|i| i.id.clone()) {
                    let pos = state
                        .incidents(View::Incidents)
                        .iter()
                        .position(|x| x.id == i);
                    state.list_mut(View::Incidents).selected = pos.unwrap_or(0);
                }
            } else if state.ui.view == View::Runbooks {
                if let Some(rb) = state.selected_runbook() {
                    let id = rb.id.as_str().to_string();
                    return open_walk(state, &id, None);
                }
            } else {
                state.ui.show_details = !state.ui.show_details;
            }
            vec![]
        }
        Action::Back => {
            if state.ui.view == View::Runbooks
                && let Some(walk) = state.runbooks.walk.take()
            {
                // Back where the walk was started from, on its incident.
                if let Some(from) = state.ui.walk_from.take() {
                    state.ui.view = from;
                    if let Some(id) = walk.incident() {
                        let pos = state
                            .incidents(from)
                            .iter()
                            .position(|x| x.id.as_str() == id);
                        if let Some(p) = pos {
                            state.list_mut(from).selected = p;
                        }
                    }
                }
                return vec![save_progress(state, *walk)];
            }
            if !state.list(view).filter.is_empty() {
                state.list_mut(view).filter.clear();
            } else if state.ui.view != View::Dashboard {
                state.ui.view = View::Dashboard;
            }
            vec![]
        }
        Action::Ack | Action::Resolve | Action::Note | Action::Silence => {
            incident_action(state, action)
        }
        Action::Rollback => {
            if refuse_read_only(state) {
                return vec![];
            }
            let Some(d) = state.selected_deploy() else {
                state.toast(ToastKind::Info, "select a deploy to roll back");
                return vec![];
            };
            // Choose the target on screen; Enter asks for the reason.
            match crate::tui::pick::for_deploy(state, d) {
                Ok(pick) => state.ui.modal = Some(Modal::RollbackPick(Box::new(pick))),
                Err(why) => state.toast(ToastKind::Info, why),
            }
            vec![]
        }
        Action::KillSwitch | Action::FlagOn => {
            if refuse_read_only(state) {
                return vec![];
            }
            let on = action == Action::FlagOn;
            let Some(f) = state.selected_flag() else {
                state.toast(ToastKind::Info, "select a flag");
                return vec![];
            };
            if f.on == on {
                let msg = format!("{} is already {}", f.key, if on { "ON" } else { "OFF" });
                state.toast(ToastKind::Info, msg);
                return vec![];
            }
            let op = WriteOp::FlagSet {
                provider: Some(f.provider.as_str().to_string()),
                key: f.key.as_str().to_string(),
                environment: f.environment.as_ref().map(|e| e.as_str().to_string()),
                on,
            };
            ask_reason(state, op)
        }
        Action::OpenUrl => {
            let url = match state.ui.view {
                View::Incidents | View::Dashboard => {
                    state.selected_incident().and_then(|i| i.url.clone())
                }
                View::Deploys => state.selected_deploy().and_then(|d| d.url.clone()),
                View::Flags => state.selected_flag().and_then(|f| f.url.clone()),
                _ => None,
            };
            match url {
                Some(u) => vec![Effect::OpenUrl(u.as_str().to_string())],
                None => {
                    state.toast(ToastKind::Info, "no URL for this item");
                    vec![]
                }
            }
        }
        Action::Copy => {
            let text = match state.ui.view {
                View::Incidents | View::Dashboard => state
                    .selected_incident()
                    .map(|i| format!("{} {} {}", i.severity, i.id, i.title)),
                View::Deploys => state.selected_deploy().map(|d| d.sha.as_str().to_string()),
                View::Flags => state.selected_flag().map(|f| f.key.as_str().to_string()),
                View::Runbooks => state
                    .runbooks
                    .walk
                    .as_ref()
                    .and_then(|w| w.selected_code().map(|c| c.copy)),
                _ => None,
            };
            match text {
                Some(t) => {
                    state.toast(ToastKind::Ok, "copied to the clipboard");
                    vec![Effect::Copy(t)]
                }
                None => vec![],
            }
        }
        Action::ToggleItem | Action::NextStep | Action::PrevStep | Action::RunBlock => {
            walk_action(state, action)
        }
        Action::Expire => expire_silence(state),
        Action::SortNext | Action::SortReverse => sort_list(state, action),
        Action::Describe => describe(state),
        Action::Mark => {
            crate::tui::depth::toggle_mark(state);
            vec![]
        }
        Action::Escalate => depth_action(state, true),
        Action::Snooze => depth_action(state, false),
        Action::SloChart => {
            state.ui.slo_budget_chart = !state.ui.slo_budget_chart;
            vec![]
        }
    }
}
