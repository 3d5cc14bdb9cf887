//! `update(state, msg) -> effects`: all the behaviour of the console, with
//! no I/O and no drawing, so it is tested with keys in and effects out.

use super::keymap::{self, Action};
use super::state::*;
use crate::actions::ExecError;
use crate::app::Console;
use crate::model::{IncidentStatus, Time};
use crate::ops::{Plan, WriteOp};
use crate::providers::poller::PollEvent;
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind};

#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize(u16, u16),
    Poll(PollEvent),
    Tick(Time),
    /// A quit signal (SIGTERM/SIGHUP/SIGINT) or the end of input.
    Quit,
    /// The spinner's beat while something is in flight.
    Spin,
    /// A context (at start, `:ctx NAME`, or the demo from the first-run
    /// screen) was read from disk. `switch` names the context switched to.
    ConsoleLoaded {
        switch: Option<String>,
        result: Result<Box<Console>, String>,
    },
    /// The provider planned an action (or could not).
    Planned {
        result: Result<Plan, ExecError>,
        reason: String,
    },
    /// An action finished: what happened, or why not. An
    /// [`ExecError::outcome_unknown`] error is told apart from a refusal.
    Executed(Result<Done, ExecError>),
    /// The audit log was read.
    AuditLoaded(Box<AuditView>),
    /// A runbook walk was opened (its saved progress read).
    WalkOpened(Box<crate::runbooks::walk::Walk>),
    /// A background job failed (a runbook step could not be audited,
    /// progress not saved).
    Warn(String),
    /// Something to tell the responder (a URL opened, or not).
    Notice(ToastKind, String),
    /// A write action succeeded (after `Executed`): watch its effect.
    Acted(WriteOp),
}

/// What a finished action reports: the provider's message and warnings.
#[derive(Clone, Debug, PartialEq)]
pub struct Done {
    pub message: String,
    pub warnings: Vec<String>,
}

impl std::fmt::Display for Done {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)?;
        for w in &self.warnings {
            write!(f, " (warning: {w})")?;
        }
        Ok(())
    }
}

impl From<&str> for Done {
    fn from(message: &str) -> Done {
        Done {
            message: message.to_string(),
            warnings: Vec::new(),
        }
    }
}

/// A loaded context on its way from `update` (which configured the state
/// from it) to the loop (which takes its providers, cache and executor).
#[derive(Clone, Debug)]
pub struct Install(pub std::sync::Arc<std::sync::Mutex<Option<Box<Console>>>>);

impl PartialEq for Install {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    Quit,
    Refresh,
    /// Ask the executor to plan this action.
    Plan {
        op: WriteOp,
        reason: String,
    },
    /// Carry out a confirmed plan through the audited executor.
    Execute {
        plan: Box<Plan>,
        reason: String,
    },
    OpenUrl(String),
    /// Copy to the clipboard (OSC 52, our own escape, base64 payload).
    Copy(String),
    /// Read (and verify) the audit log.
    LoadAudit,
    /// Open a runbook in walk mode (reads saved progress off the loop).
    OpenWalk {
        runbook: Box<crate::runbooks::Runbook>,
        incident: Option<String>,
        data_dir: std::path::PathBuf,
    },
    /// Save a walk's progress (in order, off the loop).
    SaveProgress {
        progress: Box<crate::runbooks::progress::Progress>,
        data_dir: std::path::PathBuf,
    },
    /// Record a checklist tick in the audit log.
    RecordStep(WriteOp),
    /// Read another context (team/account config) off the loop.
    SwitchContext(String),
    /// Open the embedded demo (the first-run screen's `d`).
    StartDemo,
    /// Use the providers, cache and executor of the context the state
    /// was just configured from.
    Install(Install),
    /// Write a provider's fresh data to the offline cache (off the loop).
    WriteCache(String),
    /// Record a watch verdict in the audit log.
    RecordWatch(Box<crate::watch::Watch>, Box<crate::watch::Verdict>),
}

/// Returns the side effects to run; `state` is changed in place. The
/// return value of `dirty` says whether a redraw is needed.
pub fn update(state: &mut State, msg: Msg) -> (Vec<Effect>, bool) {
    let out = dispatch(state, msg);
    // The derived caches follow what changed (the timeline is built once
    // its view is shown, and its selection clamped then).
    state.refresh();
    out
}

fn dispatch(state: &mut State, msg: Msg) -> (Vec<Effect>, bool) {
    match msg {
        Msg::Key(k) if k.kind == KeyEventKind::Release => (vec![], false),
        Msg::Key(k) => (on_key(state, k), true),
        Msg::Mouse(m) => on_mouse(state, m),
        Msg::Resize(w, h) => {
            state.size = (w, h);
            (vec![], true)
        }
        Msg::Quit => {
            state.quit = true;
            (vec![Effect::Quit], false)
        }
        Msg::Spin => {
            state.spinner = state.spinner.wrapping_add(1);
            (vec![], true)
        }
        Msg::ConsoleLoaded { switch, result } => match result {
            Ok(mut console) => {
                state.configure(&mut console);
                if let Some(name) = switch {
                    state.toast(ToastKind::Ok, format!("context {name}"));
                }
                let install = Install(std::sync::Arc::new(std::sync::Mutex::new(Some(console))));
                (vec![Effect::Install(install)], true)
            }
            Err(e) => {
                state.toast(ToastKind::Error, e);
                (vec![], true)
            }
        },
        Msg::WalkOpened(w) => {
            if let Some(warn) = &w.warning {
                state.toast(ToastKind::Error, warn.to_string());
            }
            state.runbooks.walk = Some(w);
            state.view = View::Runbooks;
            (vec![], true)
        }
        Msg::Notice(kind, text) => {
            state.toast(kind, text);
            (vec![], true)
        }
        Msg::Poll(ev) => {
            let was_in_flight = state.any_in_flight();
            let fresh = match &ev {
                PollEvent::Done {
                    provider,
                    result: Ok(_),
                    ..
                } => Some(provider.clone()),
                _ => None,
            };
            let changed = state.store.apply(ev, None);
            let mut fx: Vec<Effect> = fresh.into_iter().map(Effect::WriteCache).collect();
            if changed {
                state.rebuild();
                fx.extend(observe_watches(state));
            }
            (
                fx,
                changed || was_in_flight != state.any_in_flight() || !state.watches.is_empty(),
            )
        }
        Msg::Tick(now) => {
            let old = state.now;
            let seconds_shown = state.shows_seconds();
            state.now = now;
            // Expire toasts after 8 s.
            let toasts = state.toasts.len();
            state.toasts.retain(|t| (now - t.at).num_seconds() < 8);
            // Idle means idle: redraw only when something on screen would
            // change — the minute (clock, ages in minutes), an age still
            // shown in seconds, or a toast leaving.
            let minute = now.timestamp() / 60 != old.timestamp() / 60;
            let second = now.timestamp() != old.timestamp() && seconds_shown;
            let fx = observe_watches(state);
            let verdicts = !fx.is_empty();
            (
                fx,
                minute || second || verdicts || toasts != state.toasts.len(),
            )
        }
        Msg::Planned { result, reason } => {
            match result {
                Ok(plan) => {
                    let need = plan.op.typed_confirmation();
                    let env = plan.op.environment().map(str::to_string);
                    let production = env.as_deref().is_some_and(|e| state.is_production(e));
                    let burn = match &plan.op {
                        WriteOp::Rollback { service, .. } => state.burn_for(service),
                        _ => None,
                    };
                    state.modal = Some(Modal::Confirm {
                        plan: Box::new(plan),
                        reason,
                        need,
                        typed: String::new(),
                        production,
                        burn,
                        error: None,
                    });
                }
                Err(e) => {
                    state.modal = Some(Modal::Error {
                        title: "Cannot plan this action".into(),
                        text: e.to_string(),
                    });
                }
            }
            (vec![], true)
        }
        Msg::Executed(r) => {
            state.modal = None;
            match r {
                Ok(done) => state.toast(ToastKind::Ok, done.to_string()),
                Err(e) => {
                    let title = if e.outcome_unknown() {
                        "Outcome unknown: check the provider before retrying"
                    } else {
                        "Action failed"
                    };
                    state.toast(ToastKind::Error, e.to_string());
                    state.modal = Some(Modal::Error {
                        title: title.into(),
                        text: e.to_string(),
                    });
                }
            }
            (vec![Effect::Refresh, Effect::LoadAudit], true)
        }
        Msg::Acted(op) => {
            let service = match &op {
                WriteOp::Rollback { service, .. } => Some(service.clone()),
                WriteOp::FlagSet {
                    key,
                    provider,
                    environment,
                    ..
                } => state
                    .snap
                    .flag_service(key, provider.as_deref(), environment.as_deref()),
                _ => None,
            };
            if let Some(svc) = service {
                let w = crate::watch::Watch::new(&svc, &state.snap, state.now)
                    .after(op.action_name(), &op.target());
                state.toast(
                    ToastKind::Info,
                    format!(
                        "watching {svc} for {}m: burn rate and incidents",
                        w.config().window.num_minutes()
                    ),
                );
                state.watches.push(w);
            }
            (vec![], true)
        }
        Msg::Warn(w) => {
            state.toast(ToastKind::Error, w);
            (vec![], true)
        }
        Msg::AuditLoaded(a) => {
            state.audit = *a;
            state.rebuild();
            (vec![], true)
        }
    }
}

fn move_sel(state: &mut State, view: View, delta: isize) {
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
    (state.size.1 as usize).saturating_sub(8).max(1)
}

fn on_key(state: &mut State, k: KeyEvent) -> Vec<Effect> {
    if state.first_run.is_some() {
        return match k.code {
            KeyCode::Char('d') => vec![Effect::StartDemo],
            KeyCode::Char('q') | KeyCode::Esc => {
                state.quit = true;
                vec![Effect::Quit]
            }
            KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => {
                state.quit = true;
                vec![Effect::Quit]
            }
            _ => vec![],
        };
    }
    if state.modal.is_some() {
        return on_modal_key(state, k);
    }
    if state.filter_editing {
        let v = state.view;
        match k.code {
            KeyCode::Enter => state.filter_editing = false,
            KeyCode::Esc => {
                state.filter_editing = false;
                state.list_mut(v).filter.clear();
            }
            KeyCode::Backspace => {
                state.list_mut(v).filter.pop();
            }
            KeyCode::Char(c)
                if !k.modifiers.contains(KeyModifiers::CONTROL)
                    && state.list(v).filter.len() < 64 =>
            {
                state.list_mut(v).filter.push(c);
            }
            _ => {}
        }
        state.list_mut(v).selected = 0;
        return vec![];
    }
    if state.help {
        if matches!(
            keymap::lookup(state.view, &k),
            Some(Action::Quit | Action::Help | Action::Back)
        ) {
            state.help = false;
        }
        return vec![];
    }
    let Some(action) = keymap::lookup(state.view, &k) else {
        return vec![];
    };
    on_action(state, action)
}

fn list_view(state: &State) -> View {
    state.view
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
    ) {
        // Started from a list, not from a runbook step.
        state.action_ctx = ActionCtx::default();
    }
    match action {
        Action::Quit => {
            state.quit = true;
            vec![Effect::Quit]
        }
        Action::Help => {
            state.help = true;
            vec![]
        }
        Action::View(v) => {
            state.view = v;
            entered(state)
        }
        Action::NextView => {
            state.view = state.view.next();
            entered(state)
        }
        Action::PrevView => {
            state.view = state.view.prev();
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
            state.filter_editing = true;
            vec![]
        }
        Action::Palette => {
            state.modal = Some(Modal::Palette {
                query: String::new(),
                selected: 0,
            });
            vec![]
        }
        Action::Refresh => {
            state.toast(ToastKind::Info, "refreshing every provider");
            vec![Effect::Refresh]
        }
        Action::Details => {
            if state.view == View::Dashboard {
                state.view = View::Incidents;
                if let Some(i) = state.selected_incident().map(|i| i.id.clone()) {
                    let pos = state
                        .incidents(View::Incidents)
                        .iter()
                        .position(|x| x.id == i);
                    state.list_mut(View::Incidents).selected = pos.unwrap_or(0);
                }
            } else if state.view == View::Incidents
                && let Some(i) = state.selected_incident()
                && let Some(rb) = &i.runbook
            {
                let (id, incident) = (rb.as_str().to_string(), Some(i.id.as_str().to_string()));
                state.view = View::Runbooks;
                return open_walk(state, &id, incident);
            } else if state.view == View::Runbooks {
                if let Some(rb) = state.selected_runbook() {
                    let id = rb.id.as_str().to_string();
                    return open_walk(state, &id, None);
                }
            } else {
                state.show_details = !state.show_details;
            }
            vec![]
        }
        Action::Back => {
            if state.view == View::Runbooks
                && let Some(walk) = state.runbooks.walk.take()
            {
                return vec![save_progress(state, *walk)];
            }
            if !state.list(view).filter.is_empty() {
                state.list_mut(view).filter.clear();
            } else if state.view != View::Dashboard {
                state.view = View::Dashboard;
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
            // Selecting an older good deploy means "roll back to this one".
            let to = (!d.current
                && matches!(
                    d.state,
                    crate::model::DeployState::Success | crate::model::DeployState::Inactive
                )
                && state.deploys().iter().any(|x| {
                    x.current
                        && x.service == d.service
                        && x.environment == d.environment
                        && x.created_at > d.created_at
                }))
            .then(|| d.id.as_str().to_string());
            let op = WriteOp::Rollback {
                provider: Some(d.provider.as_str().to_string()),
                service: d.service.as_str().to_string(),
                environment: d.environment.as_str().to_string(),
                to,
            };
            ask_reason(state, op)
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
            let url = match state.view {
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
            let text = match state.view {
                View::Incidents | View::Dashboard => state
                    .selected_incident()
                    .map(|i| format!("{} {} {}", i.severity, i.id, i.title)),
                View::Deploys => state.selected_deploy().map(|d| d.sha.as_str().to_string()),
                View::Flags => state.selected_flag().map(|f| f.key.as_str().to_string()),
                View::Runbooks => state
                    .runbooks
                    .walk
                    .as_ref()
                    .and_then(|w| w.selected_code().map(|(_, c)| c.as_str().to_string())),
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
    }
}

fn run_palette(state: &mut State, e: super::palette::Entry) -> Vec<Effect> {
    use super::palette::Command;
    state.palette_history.retain(|h| h != &e.label);
    state.palette_history.push(e.label.clone());
    if state.palette_history.len() > 50 {
        state.palette_history.remove(0);
    }
    match e.command {
        Command::View(v) => {
            state.view = v;
            entered(state)
        }
        Command::Key(a) => on_action(state, a),
        Command::Service(s) => {
            for v in [View::Incidents, View::Deploys] {
                state.list_mut(v).filter = s.clone();
                state.list_mut(v).selected = 0;
            }
            state.view = View::Incidents;
            vec![]
        }
        Command::Op(op) => {
            state.action_ctx = ActionCtx::default();
            palette_op(state, op)
        }
        Command::Context(c) => vec![Effect::SwitchContext(c)],
        Command::Runbook(id) => {
            state.view = View::Runbooks;
            open_walk(state, &id, None)
        }
    }
}

fn palette_op(state: &mut State, op: WriteOp) -> Vec<Effect> {
    match op {
        WriteOp::IncidentAck { .. } | WriteOp::IncidentResolve { .. } => {
            planning(state, op.action_name());
            vec![Effect::Plan {
                op,
                reason: String::new(),
            }]
        }
        op => ask_reason(state, op),
    }
}

/// Feed the running watches the current picture; a verdict becomes a toast
/// and an audit record, and the watch ends.
fn observe_watches(state: &mut State) -> Vec<Effect> {
    let mut fx = Vec::new();
    let mut toasts = Vec::new();
    let (snap, now) = (&state.snap, state.now);
    state.watches.retain_mut(|w| match w.observe(snap, now) {
        Some(v) => {
            let kind = match v.kind {
                crate::watch::VerdictKind::Recovering => ToastKind::Ok,
                crate::watch::VerdictKind::Worse => ToastKind::Error,
                _ => ToastKind::Info,
            };
            let mut text = format!("{}: {}", w.service(), v.summary);
            if let Some(rb) = v.runbook() {
                text.push_str(&format!(" (next: runbook {rb})"));
            }
            toasts.push((kind, text));
            fx.push(Effect::RecordWatch(Box::new(w.clone()), Box::new(v)));
            false
        }
        None => true,
    });
    for (k, t) in toasts {
        state.toast(k, t);
    }
    fx
}

/// Open runbook `id` in walk mode (its saved progress is read off the loop).
fn open_walk(state: &mut State, id: &str, incident: Option<String>) -> Vec<Effect> {
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
fn save_progress(state: &State, mut walk: crate::runbooks::walk::Walk) -> Effect {
    walk.progress.updated_at = Some(state.now);
    Effect::SaveProgress {
        progress: Box::new(walk.progress),
        data_dir: state.runbooks.data_dir.clone(),
    }
}

/// Walk-mode keys: tick items, move between steps, run an action block.
fn walk_action(state: &mut State, action: Action) -> Vec<Effect> {
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
                        state.action_ctx = ActionCtx {
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
                state.action_ctx = ActionCtx {
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
fn entered(state: &State) -> Vec<Effect> {
    if matches!(state.view, View::Audit | View::Timeline) {
        vec![Effect::LoadAudit]
    } else {
        vec![]
    }
}

fn refuse_read_only(state: &mut State) -> bool {
    if state.read_only {
        state.toast(
            ToastKind::Error,
            "READ-ONLY: write actions are disabled (started with --read-only)",
        );
    }
    state.read_only
}

fn incident_action(state: &mut State, action: Action) -> Vec<Effect> {
    if refuse_read_only(state) {
        return vec![];
    }
    let Some(i) = state.selected_incident().cloned() else {
        state.toast(ToastKind::Info, "no incident selected");
        return vec![];
    };
    let provider = Some(i.provider.as_str().to_string());
    let id = i.id.as_str().to_string();
    state.action_ctx.incident = Some(id.clone());
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
            state.modal = Some(Modal::Input {
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
            // Alertmanager titles are "alertname: summary".
            let name = i
                .title
                .as_str()
                .split(':')
                .next()
                .filter(|n| !n.is_empty() && !n.contains(char::is_whitespace))
                .unwrap_or(i.id.as_str())
                .to_string();
            state.modal = Some(Modal::Input {
                title: "Silence alerts".into(),
                prompt: "Matchers (label=value ...) then duration, e.g. alertname=X 1h".into(),
                text: format!("alertname={name} 1h"),
                purpose: InputPurpose::SilenceMatchers {
                    provider: i.provider.as_str().to_string(),
                },
            });
            vec![]
        }
        _ => vec![],
    }
}

fn planning(state: &mut State, what: &str) {
    state.modal = Some(Modal::Planning {
        what: format!("planning: {what}"),
    });
}

/// Rollback and flag flips ask for a reason first (it is recorded).
fn ask_reason(state: &mut State, op: WriteOp) -> Vec<Effect> {
    state.modal = Some(Modal::Input {
        title: format!("{} {}", op.action_name(), op.target()),
        prompt: "Reason (recorded in the audit log; Enter to plan, Esc to cancel)".into(),
        text: String::new(),
        purpose: InputPurpose::Reason(op),
    });
    vec![]
}

fn on_modal_key(state: &mut State, k: KeyEvent) -> Vec<Effect> {
    let Some(modal) = state.modal.take() else {
        return vec![];
    };
    let ctrl_c = k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL);
    match modal {
        Modal::Planning { .. } | Modal::Running { .. } => {
            // Nothing to do but wait; Esc hides the spinner (the action
            // itself cannot be recalled once sent).
            if k.code != KeyCode::Esc && !ctrl_c {
                state.modal = Some(modal);
            }
            vec![]
        }
        Modal::Details | Modal::Error { .. } => vec![],
        Modal::Palette {
            mut query,
            mut selected,
        } => {
            match k.code {
                KeyCode::Esc => return vec![],
                _ if ctrl_c => return vec![],
                KeyCode::Enter => {
                    let m = super::palette::matches(state, &query);
                    return match m.into_iter().nth(selected) {
                        Some(e) => run_palette(state, e),
                        None => vec![],
                    };
                }
                KeyCode::Down | KeyCode::Tab => selected += 1,
                KeyCode::Up | KeyCode::BackTab => selected = selected.saturating_sub(1),
                KeyCode::Char('n') | KeyCode::Char('j')
                    if k.modifiers.contains(KeyModifiers::CONTROL) =>
                {
                    selected += 1
                }
                KeyCode::Char('p') | KeyCode::Char('k')
                    if k.modifiers.contains(KeyModifiers::CONTROL) =>
                {
                    selected = selected.saturating_sub(1)
                }
                KeyCode::Backspace => {
                    query.pop();
                    selected = 0;
                }
                KeyCode::Char(c) if query.chars().count() < 120 => {
                    query.push(c);
                    selected = 0;
                }
                _ => {}
            }
            let n = super::palette::matches(state, &query).len();
            selected = selected.min(n.saturating_sub(1));
            state.modal = Some(Modal::Palette { query, selected });
            vec![]
        }
        Modal::Input {
            title,
            prompt,
            mut text,
            purpose,
        } => match k.code {
            KeyCode::Esc => vec![],
            _ if ctrl_c => vec![],
            KeyCode::Enter => submit_input(state, text.trim().to_string(), purpose),
            KeyCode::Backspace => {
                text.pop();
                state.modal = Some(Modal::Input {
                    title,
                    prompt,
                    text,
                    purpose,
                });
                vec![]
            }
            KeyCode::Char(c) => {
                if text.chars().count() < 500 && !c.is_control() {
                    text.push(c);
                }
                state.modal = Some(Modal::Input {
                    title,
                    prompt,
                    text,
                    purpose,
                });
                vec![]
            }
            _ => {
                state.modal = Some(Modal::Input {
                    title,
                    prompt,
                    text,
                    purpose,
                });
                vec![]
            }
        },
        Modal::Confirm {
            plan,
            reason,
            need,
            mut typed,
            production,
            burn,
            error: _,
        } => {
            let keep = |state: &mut State,
                        typed: String,
                        error: Option<String>,
                        plan,
                        reason,
                        need,
                        burn| {
                state.modal = Some(Modal::Confirm {
                    plan,
                    reason,
                    need,
                    typed,
                    production,
                    burn,
                    error,
                });
            };
            match k.code {
                KeyCode::Esc => {
                    state.toast(ToastKind::Info, "cancelled: nothing was sent");
                    vec![]
                }
                _ if ctrl_c => vec![],
                KeyCode::Enter => {
                    let ok = match &need {
                        Some(n) => typed == *n,
                        None => true,
                    };
                    if ok {
                        let what = plan.summary.clone();
                        state.modal = Some(Modal::Running { what });
                        vec![Effect::Execute { plan, reason }]
                    } else {
                        let msg = format!(
                            "type {:?} exactly to confirm",
                            need.as_deref().unwrap_or_default()
                        );
                        keep(state, typed, Some(msg), plan, reason, need, burn);
                        vec![]
                    }
                }
                KeyCode::Char('y') if need.is_none() => {
                    let what = plan.summary.clone();
                    state.modal = Some(Modal::Running { what });
                    vec![Effect::Execute { plan, reason }]
                }
                KeyCode::Char('n') if need.is_none() => {
                    state.toast(ToastKind::Info, "cancelled: nothing was sent");
                    vec![]
                }
                KeyCode::Backspace => {
                    typed.pop();
                    keep(state, typed, None, plan, reason, need, burn);
                    vec![]
                }
                KeyCode::Char(c) if need.is_some() => {
                    if typed.len() < 200 {
                        typed.push(c);
                    }
                    keep(state, typed, None, plan, reason, need, burn);
                    vec![]
                }
                _ => {
                    keep(state, typed, None, plan, reason, need, burn);
                    vec![]
                }
            }
        }
    }
}

fn submit_input(state: &mut State, text: String, purpose: InputPurpose) -> Vec<Effect> {
    match purpose {
        InputPurpose::Reason(op) => {
            if text.is_empty() {
                state.modal = Some(Modal::Input {
                    title: format!("{} {}", op.action_name(), op.target()),
                    prompt: "A reason is required (it is recorded in the audit log)".into(),
                    text,
                    purpose: InputPurpose::Reason(op),
                });
                return vec![];
            }
            state.modal = Some(Modal::Planning {
                what: format!("planning: {} {}", op.action_name(), op.target()),
            });
            vec![Effect::Plan { op, reason: text }]
        }
        InputPurpose::NoteText { provider, id } => {
            if text.is_empty() {
                return vec![];
            }
            state.modal = Some(Modal::Planning {
                what: format!("planning: note on {id}"),
            });
            vec![Effect::Plan {
                op: WriteOp::IncidentNote {
                    provider: Some(provider),
                    id,
                    text,
                },
                reason: String::new(),
            }]
        }
        InputPurpose::SilenceMatchers { provider } => {
            let mut matchers = Vec::new();
            let mut duration = None;
            for word in text.split_whitespace() {
                if word.contains('=') || word.contains('~') {
                    match word.parse() {
                        Ok(m) => matchers.push(m),
                        Err(e) => {
                            state.modal = Some(Modal::Error {
                                title: "Bad matcher".into(),
                                text: e,
                            });
                            return vec![];
                        }
                    }
                } else {
                    match crate::config::parse_duration(word) {
                        Ok(d) => duration = Some(d),
                        Err(e) => {
                            state.modal = Some(Modal::Error {
                                title: "Bad duration".into(),
                                text: e,
                            });
                            return vec![];
                        }
                    }
                }
            }
            if matchers.is_empty() {
                state.modal = Some(Modal::Error {
                    title: "Bad silence".into(),
                    text: "at least one matcher label=value is needed".into(),
                });
                return vec![];
            }
            let op = WriteOp::SilenceCreate {
                provider: Some(provider),
                matchers,
                duration_secs: duration.map(|d| d.as_secs()).unwrap_or(3600),
            };
            ask_reason(state, op)
        }
    }
}

fn on_mouse(state: &mut State, m: MouseEvent) -> (Vec<Effect>, bool) {
    if state.modal.is_some() || state.help || state.first_run.is_some() {
        return (vec![], false);
    }
    let view = state.view;
    match m.kind {
        MouseEventKind::ScrollDown => {
            move_sel(state, view, 1);
            (vec![], true)
        }
        MouseEventKind::ScrollUp => {
            move_sel(state, view, -1);
            (vec![], true)
        }
        MouseEventKind::Down(_) => {
            if let Some(row) = super::ui::row_at(state, m.column, m.row) {
                let n = state.len(view);
                if row < n {
                    state.list_mut(view).selected = row;
                    return (vec![], true);
                }
            }
            (vec![], false)
        }
        _ => (vec![], false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::Registry;
    use crate::store::Store;
    use chrono::TimeZone;

    pub fn demo_state() -> State {
        let now = chrono::Utc
            .with_ymd_and_hms(2026, 11, 22, 3, 4, 5)
            .single()
            .unwrap();
        let reg = Registry::demo(now);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let store = rt.block_on(Store::fetch_all(&reg, None));
        let mut s = State::new(store, crate::theme::Theme::default_theme(), now);
        s.demo = true;
        s
    }

    /// The console tells a write whose outcome is unknown (the request
    /// may have landed) from one that was refused or failed.
    #[test]
    fn outcome_unknown_is_told_apart_from_a_refusal() {
        use crate::providers::{ErrorKind, ProviderError};
        let mut s = demo_state();
        let cut = ProviderError::new("pd", ErrorKind::Unknown, "connection reset after send");
        update(&mut s, Msg::Executed(Err(ExecError::Provider(cut))));
        let Some(Modal::Error { title, text }) = &s.modal else {
            panic!("no error modal: {:?}", s.modal);
        };
        assert!(title.starts_with("Outcome unknown"), "{title}");
        assert!(text.contains("connection reset"), "{text}");
        update(&mut s, Msg::Executed(Err(ExecError::ReadOnly)));
        let Some(Modal::Error { title, .. }) = &s.modal else {
            panic!("no error modal: {:?}", s.modal);
        };
        assert_eq!(title, "Action failed");
        assert_eq!(s.toasts.last().map(|t| t.kind), Some(ToastKind::Error));
    }

    fn key(c: char) -> Msg {
        Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
    }

    fn code(c: KeyCode) -> Msg {
        Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
    }

    #[test]
    fn number_keys_and_tab_switch_views() {
        let mut s = demo_state();
        update(&mut s, key('3'));
        assert_eq!(s.view, View::Slos);
        update(&mut s, code(KeyCode::Tab));
        assert_eq!(s.view, View::Deploys);
        update(&mut s, code(KeyCode::Esc));
        assert_eq!(s.view, View::Dashboard);
    }

    #[test]
    fn q_quits_and_help_toggles() {
        let mut s = demo_state();
        update(&mut s, key('?'));
        assert!(s.help);
        let (fx, _) = update(&mut s, key('q'));
        assert!(!s.help && !s.quit && fx.is_empty(), "q closes help first");
        let (fx, _) = update(&mut s, key('q'));
        assert!(s.quit);
        assert_eq!(fx, vec![Effect::Quit]);
    }

    #[test]
    fn the_timeline_is_built_only_when_shown_and_its_selection_clamped_then() {
        let mut s = demo_state();
        s.rebuild();
        assert!(
            !s.timeline_built(),
            "a rebuild on the dashboard built the timeline"
        );
        s.list_mut(View::Timeline).selected = 10_000;
        s.rebuild();
        assert!(!s.timeline_built());
        update(&mut s, key('8'));
        assert!(s.timeline_built());
        let n = s.len(View::Timeline);
        assert!(n > 0);
        assert_eq!(s.list(View::Timeline).selected, n - 1);
    }

    #[test]
    fn selection_is_clamped() {
        let mut s = demo_state();
        update(&mut s, key('2'));
        for _ in 0..50 {
            update(&mut s, key('j'));
        }
        assert_eq!(s.list(View::Incidents).selected, s.len(View::Incidents) - 1);
        update(&mut s, key('g'));
        assert_eq!(s.list(View::Incidents).selected, 0);
        update(&mut s, key('k'));
        assert_eq!(s.list(View::Incidents).selected, 0);
    }

    #[test]
    fn filter_narrows_the_list() {
        let mut s = demo_state();
        update(&mut s, key('2'));
        let all = s.len(View::Incidents);
        update(&mut s, key('/'));
        for c in "search".chars() {
            update(&mut s, key(c));
        }
        update(&mut s, code(KeyCode::Enter));
        assert!(!s.filter_editing);
        let n = s.len(View::Incidents);
        assert!(n > 0 && n < all, "{n} of {all}");
        assert!(
            s.incidents(View::Incidents)
                .iter()
                .all(|i| i.title.as_str().contains("search")
                    || i.service.as_ref().is_some_and(|x| x.as_str() == "search"))
        );
    }

    #[test]
    fn ack_plans_then_confirm_executes() {
        let mut s = demo_state();
        update(&mut s, key('2'));
        let sel = s.selected_incident().unwrap().clone();
        assert!(sel.status.is_unacked());
        let (fx, _) = update(&mut s, key('a'));
        let Effect::Plan { op, .. } = &fx[0] else {
            panic!("{fx:?}")
        };
        assert_eq!(
            op,
            &WriteOp::IncidentAck {
                provider: Some("pd".into()),
                id: sel.id.as_str().into()
            }
        );
        assert!(matches!(s.modal, Some(Modal::Planning { .. })));
        let plan = Plan {
            op: op.clone(),
            provider: "pd".into(),
            summary: "ack".into(),
            stakes: vec![],
            requests: vec![],
            detail: serde_json::Value::Null,
        };
        update(
            &mut s,
            Msg::Planned {
                result: Ok(plan),
                reason: String::new(),
            },
        );
        assert!(matches!(s.modal, Some(Modal::Confirm { need: None, .. })));
        let (fx, _) = update(&mut s, key('y'));
        assert!(matches!(fx[0], Effect::Execute { .. }));
        update(&mut s, Msg::Executed(Ok("acknowledged".into())));
        assert!(s.modal.is_none());
        assert_eq!(s.toasts.last().map(|t| t.kind), Some(ToastKind::Ok));
    }

    #[test]
    fn kill_switch_needs_reason_and_typed_key() {
        let mut s = demo_state();
        update(&mut s, key('5'));
        let f = s.selected_flag().unwrap().clone();
        assert!(f.on);
        update(
            &mut s,
            Msg::Key(KeyEvent::new(KeyCode::Char('K'), KeyModifiers::SHIFT)),
        );
        assert!(matches!(s.modal, Some(Modal::Input { .. })));
        let (fx, _) = update(&mut s, code(KeyCode::Enter));
        assert!(fx.is_empty(), "empty reason is refused");
        for c in "bad deploy".chars() {
            update(&mut s, key(c));
        }
        let (fx, _) = update(&mut s, code(KeyCode::Enter));
        let Effect::Plan { op, reason } = &fx[0] else {
            panic!()
        };
        assert_eq!(reason, "bad deploy");
        let plan = Plan {
            op: op.clone(),
            provider: "ld".into(),
            summary: "off".into(),
            stakes: vec![],
            requests: vec![],
            detail: serde_json::Value::Null,
        };
        update(
            &mut s,
            Msg::Planned {
                result: Ok(plan),
                reason: reason.clone(),
            },
        );
        // 'y' does not confirm a typed confirmation; a wrong name is refused.
        let (fx, _) = update(&mut s, key('y'));
        assert!(fx.is_empty());
        let (fx, _) = update(&mut s, code(KeyCode::Enter));
        assert!(fx.is_empty());
        assert!(matches!(
            s.modal,
            Some(Modal::Confirm { error: Some(_), .. })
        ));
        update(&mut s, code(KeyCode::Backspace));
        for c in f.key.as_str().chars() {
            update(&mut s, key(c));
        }
        let (fx, _) = update(&mut s, code(KeyCode::Enter));
        assert!(matches!(fx[0], Effect::Execute { .. }), "{fx:?}");
    }

    #[test]
    fn read_only_refuses_in_the_ui() {
        let mut s = demo_state();
        s.read_only = true;
        update(&mut s, key('2'));
        let (fx, _) = update(&mut s, key('a'));
        assert!(fx.is_empty());
        assert!(s.modal.is_none());
        assert!(s.toasts.last().unwrap().text.contains("READ-ONLY"));
    }

    #[test]
    fn rollback_of_selected_older_deploy_targets_it() {
        let mut s = demo_state();
        update(&mut s, key('4'));
        let idx = s
            .deploys()
            .iter()
            .position(|d| d.id.as_str() == "1871")
            .unwrap();
        s.list_mut(View::Deploys).selected = idx;
        update(&mut s, key('b'));
        let Some(Modal::Input {
            purpose: InputPurpose::Reason(op),
            ..
        }) = &s.modal
        else {
            panic!()
        };
        assert_eq!(
            op,
            &WriteOp::Rollback {
                provider: Some("gh".into()),
                service: "checkout".into(),
                environment: "production".into(),
                to: Some("1871".into())
            }
        );
    }

    #[test]
    fn poll_error_keeps_data_and_marks_provider() {
        let mut s = demo_state();
        let before = s.snap.incidents.len();
        let at = s.now;
        let (_, dirty) = update(
            &mut s,
            Msg::Poll(PollEvent::Done {
                provider: "pd".into(),
                at,
                result: Err(crate::providers::ProviderError::new(
                    "pd",
                    crate::providers::ErrorKind::Timeout,
                    "",
                )),
            }),
        );
        assert!(dirty);
        assert_eq!(s.snap.incidents.len(), before);
        assert!(
            s.snap
                .providers
                .iter()
                .any(|p| p.name.as_str() == "pd" && !p.ok && p.error.is_some())
        );
    }

    #[test]
    fn mouse_click_selects_the_row_under_it_and_wheel_scrolls() {
        use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
        let mut s = demo_state();
        s.size = (160, 45);
        update(&mut s, key('2'));
        // Header 2 lines, table border, column header: data row 0 is y=4.
        let click = |row| {
            Msg::Mouse(MouseEvent {
                kind: MouseEventKind::Down(MouseButton::Left),
                column: 20,
                row,
                modifiers: KeyModifiers::NONE,
            })
        };
        update(&mut s, click(6));
        assert_eq!(s.list(View::Incidents).selected, 2);
        update(&mut s, click(2));
        assert_eq!(
            s.list(View::Incidents).selected,
            2,
            "a click on the header changes nothing"
        );
        let wheel = Msg::Mouse(MouseEvent {
            kind: MouseEventKind::ScrollDown,
            column: 20,
            row: 10,
            modifiers: KeyModifiers::NONE,
        });
        update(&mut s, wheel);
        assert_eq!(s.list(View::Incidents).selected, 3);
        // On the dashboard, rows start below the severity counts (y=4).
        update(&mut s, key('1'));
        update(&mut s, click(5));
        assert_eq!(s.list(View::Dashboard).selected, 1);
    }

    #[test]
    fn idle_ticks_redraw_only_when_the_screen_would_change() {
        let mut s = demo_state();
        // The demo's newest change is minutes old: nothing shows seconds.
        let t0 = s.now;
        assert!(!s.shows_seconds());
        let (_, dirty) = update(&mut s, Msg::Tick(t0));
        assert!(!dirty);
        let within = chrono::Duration::seconds(59 - t0.timestamp() % 60);
        let (_, dirty) = update(&mut s, Msg::Tick(t0 + within));
        assert!(!dirty, "same minute, nothing counted in seconds");
        let (_, dirty) = update(
            &mut s,
            Msg::Tick(t0 + within + chrono::Duration::seconds(1)),
        );
        assert!(dirty, "the minute changed");
        // A fresh incident shows its age in seconds: 1 Hz while it does.
        let now = s.now;
        s.store.slots[0].data.incidents[0].created_at = now - chrono::Duration::seconds(5);
        s.rebuild();
        let (_, dirty) = update(&mut s, Msg::Tick(now + chrono::Duration::seconds(1)));
        assert!(dirty);
    }
}
