//! `update(state, msg) -> effects`: all the behaviour of the console, with
//! no I/O and no drawing, so it is tested with keys in and effects out.

use super::keymap::{self, Action, Layer, LayerKey};

mod incident;
mod keys;
mod mouse;
mod palette;
mod rows;
mod team;
#[cfg(test)]
mod tests;
pub(crate) mod walk;
mod watch;

use super::state::*;
use crate::actions::ExecError;
use crate::app::Console;
use crate::model::{IncidentStatus, Time};
use crate::ops::{Plan, WriteOp};
use crate::providers::poller::PollEvent;
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind};
pub(crate) use incident::*;
pub use keys::page_rows;
use keys::*;
use mouse::*;
pub(crate) use palette::*;
use rows::*;
use walk::*;
use watch::*;

#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize(u16, u16),
    Poll(PollEvent),
    /// Every poll event that was waiting, applied together: one rebuild of
    /// the snapshot for all of them (with thousands of providers, one per
    /// event kept a core busy).
    Polls(Vec<PollEvent>),
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
    /// Something to tell the responder (a URL opened).
    Notice(ToastKind, String),
    /// A URL could not be opened here (no browser, no display): shown
    /// whole for copying, and put on the clipboard.
    NoBrowser(String),
    /// What planning `op` (without its reason) said: the plan's summary,
    /// or why it cannot be done.
    Probed {
        op: WriteOp,
        result: Result<String, String>,
    },
    /// A write action succeeded (after `Executed`): watch its effect.
    /// `op` ran (from a runbook step when `runbook` names one).
    Acted {
        op: WriteOp,
        runbook: Option<crate::audit::RunbookRef>,
    },
    /// Team mode: another responder holds the lease on the target; the
    /// confirmation opens again, to take it over.
    Leased {
        plan: Box<Plan>,
        reason: String,
        holder: String,
    },
    /// Team mode: how the team database is (the header's banner).
    TeamStatus(crate::team::Status),
    /// Team mode: checklist ticks shared by the team's consoles (heard,
    /// or read when a walk opens or the listener reconnects).
    SharedTicks(Vec<crate::team::Tick>),
    /// Team mode: who else is on an incident now.
    Presence {
        incident: String,
        others: Vec<crate::team::Presence>,
    },
    /// Team mode: the listener is (again) connected, or lost.
    TeamListening(bool),
    /// An incident's details were read (or why not, in words).
    IncidentDetails {
        provider: String,
        id: String,
        result: Result<crate::model::IncidentDetails, String>,
    },
    /// A deploy's commit range was read (or why not, in words).
    DeployCommits {
        key: crate::tui::deploy_depth::Key,
        result: Result<crate::model::CommitRange, String>,
    },
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
    /// Check that an action can be planned at all (nothing earlier to roll
    /// back to, a missing token) while the reason is typed.
    Probe(WriteOp),
    /// Carry out a confirmed plan through the audited executor.
    Execute {
        plan: Box<Plan>,
        reason: String,
        /// Take over the target's lease from another responder (team
        /// mode; recorded).
        take_over: bool,
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
        /// Placeholder values from the console's context.
        bindings: Box<crate::runbooks::Bindings>,
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
    /// Open the demo (the first-run screen's `d`).
    StartDemo,
    /// Use the providers, cache and executor of the context the state
    /// was just configured from.
    Install(Install),
    /// Write a provider's fresh data to the offline cache (off the loop).
    WriteCache(String),
    /// Record a watch verdict in the audit log.
    RecordWatch(Box<crate::watch::Watch>, Box<crate::watch::Verdict>),
    /// Team mode: read the shared ticks of an incident's runbook.
    LoadTicks {
        incident: String,
        runbook: String,
    },
    /// Team mode: this console is now on this incident (or none).
    Focus(Option<String>),
    /// Read an incident's history, notes and people (the details pane).
    LoadDetails {
        provider: String,
        id: String,
    },
    /// Read a deploy's commit range (the details pane).
    LoadCommits {
        provider: String,
        service: String,
        base: String,
        head: String,
    },
}

/// Returns the side effects to run; `state` is changed in place. The
/// return value of `dirty` says whether a redraw is needed.
pub fn update(state: &mut State, msg: Msg) -> (Vec<Effect>, bool) {
    let (mut fx, mut dirty) = dispatch(state, msg);
    // The derived caches follow what changed (the timeline is built once
    // its view is shown, and its selection clamped then).
    state.refresh();
    if let Some(f) = team::refocus(state) {
        fx.push(f);
        dirty = true;
    }
    // The incident open in the details pane: its details, once.
    fx.extend(crate::tui::depth::wanted(state));
    // The deploy open there: what it changed, once.
    fx.extend(crate::tui::deploy_depth::wanted(state));
    (fx, dirty)
}

fn dispatch(state: &mut State, msg: Msg) -> (Vec<Effect>, bool) {
    match msg {
        Msg::Key(k) if k.kind == KeyEventKind::Release => (vec![], false),
        Msg::Key(k) => (on_key(state, k), true),
        Msg::Mouse(m) => on_mouse(state, m),
        Msg::Resize(w, h) => {
            state.ui.size = (w, h);
            (vec![], true)
        }
        Msg::Quit => {
            state.ui.quit = true;
            (vec![Effect::Quit], false)
        }
        Msg::Spin => {
            state.ui.spinner = state.ui.spinner.wrapping_add(1);
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
        Msg::WalkOpened(mut w) => {
            if let Some(warn) = &w.warning {
                state.toast(ToastKind::Error, warn.to_string());
            }
            // Values resumed from the walk's progress bring what follows
            // from them, as typed ones do.
            walk::derive_missing(&state.snap, &state.runbooks.services, &mut w);
            state.runbooks.walk = Some(w);
            state.ui.view = View::Runbooks;
            (team::load_ticks(state).into_iter().collect(), true)
        }
        Msg::Notice(kind, text) => {
            state.toast(kind, text);
            (vec![], true)
        }
        Msg::NoBrowser(url) => {
            let url = crate::text::SafeText::line(&url).to_string();
            state.ui.modal = Some(Modal::Error {
                title: "No browser here: copy the URL".into(),
                text: format!("{url}\n\nAlso sent to the clipboard (OSC 52)."),
            });
            (vec![Effect::Copy(url)], true)
        }
        Msg::Poll(ev) => apply_polls(state, vec![ev]),
        Msg::Polls(evs) => apply_polls(state, evs),
        Msg::Tick(now) => {
            let old = state.now;
            let seconds_shown = state.shows_seconds();
            state.now = now;
            // Expire toasts after 8 s.
            let toasts = state.ui.toasts.len();
            state.ui.toasts.retain(|t| (now - t.at).num_seconds() < 8);
            // Idle means idle: redraw only when something on screen would
            // change — the minute (clock, ages in minutes), an age still
            // shown in seconds, or a toast leaving.
            let minute = now.timestamp() / 60 != old.timestamp() / 60;
            let second = now.timestamp() != old.timestamp() && seconds_shown;
            let fx = observe_watches(state);
            let verdicts = !fx.is_empty();
            (
                fx,
                minute || second || verdicts || toasts != state.ui.toasts.len(),
            )
        }
        Msg::Probed { op, result } => {
            if state.ui.probe.as_ref().is_none_or(|p| p.op != op) {
                return (vec![], false);
            }
            let typing = matches!(
                &state.ui.modal,
                Some(Modal::Input { purpose: InputPurpose::Reason(o), .. }) if *o == op
            );
            match result {
                Err(text) => {
                    state.ui.probe = None;
                    if typing {
                        // Before the reason is typed, not after.
                        state.ui.modal = Some(Modal::Error {
                            title: format!("Cannot {} {}", op.action_name(), op.target()),
                            text,
                        });
                    }
                }
                Ok(summary) => {
                    if let Some(p) = state.ui.probe.as_mut() {
                        p.summary = Some(summary);
                    }
                }
            }
            (vec![], true)
        }
        Msg::Planned { result, reason } => {
            state.ui.probe = None;
            match result {
                Ok(plan) => {
                    let need = plan.op.typed_confirmation();
                    let env = plan.target_environment().map(str::to_string);
                    let production = env.as_deref().is_some_and(|e| state.is_production(e));
                    let burn = match &plan.op {
                        WriteOp::Rollback { service, .. } => state.burn_for(service),
                        _ => None,
                    };
                    state.ui.modal = Some(Modal::Confirm {
                        plan: Box::new(plan),
                        reason,
                        need,
                        typed: String::new(),
                        production,
                        burn,
                        error: None,
                        scroll: 0,
                        full: false,
                        take_over: false,
                    });
                }
                Err(e) => {
                    state.ui.modal = Some(Modal::Error {
                        title: "Cannot plan this action".into(),
                        text: e.to_string(),
                    });
                }
            }
            (vec![], true)
        }
        Msg::Leased {
            plan,
            reason,
            holder,
        } => {
            let need = plan.op.typed_confirmation();
            let env = plan.target_environment().map(str::to_string);
            let production = env.as_deref().is_some_and(|e| state.is_production(e));
            state.toast(ToastKind::Error, format!("refused: {holder}"));
            state.ui.modal = Some(Modal::Confirm {
                plan,
                reason,
                need,
                typed: String::new(),
                production,
                burn: None,
                error: Some(format!(
                    "{holder}: confirm again to take the lease over (recorded), Esc leaves it"
                )),
                scroll: 0,
                full: false,
                take_over: true,
            });
            (vec![Effect::LoadAudit], true)
        }
        Msg::TeamStatus(st) => {
            let was = state.team.as_ref().and_then(|t| t.reachable);
            match (was, st.reachable) {
                (w, Some(false)) if w != Some(false) => {
                    if let Some(b) = st.banner() {
                        state.toast(ToastKind::Error, b);
                    }
                }
                (Some(false), Some(true)) => state.toast(
                    ToastKind::Ok,
                    "team log reachable again: local records appended",
                ),
                _ => {}
            }
            let changed = state.team.as_ref() != Some(&st);
            state.team = Some(st);
            (vec![], changed)
        }
        Msg::SharedTicks(ticks) => team::shared_ticks(state, &ticks),
        Msg::Presence { incident, others } => team::presence(state, incident, others),
        Msg::TeamListening(up) => (
            if up {
                team::load_ticks(state).into_iter().collect()
            } else {
                vec![]
            },
            false,
        ),
        Msg::Executed(r) => {
            state.ui.modal = None;
            match r {
                Ok(done) => state.toast(ToastKind::Ok, done.to_string()),
                Err(e) => {
                    let title = if e.outcome_unknown() {
                        "Outcome unknown: check the provider before retrying"
                    } else {
                        "Action failed"
                    };
                    state.toast(ToastKind::Error, e.to_string());
                    state.ui.modal = Some(Modal::Error {
                        title: title.into(),
                        text: e.to_string(),
                    });
                }
            }
            (vec![Effect::Refresh, Effect::LoadAudit], true)
        }
        Msg::IncidentDetails {
            provider,
            id,
            result,
        } => {
            crate::tui::depth::loaded(state, provider, id, result);
            (vec![], true)
        }
        Msg::DeployCommits { key, result } => {
            crate::tui::deploy_depth::loaded(state, key, result);
            (vec![], true)
        }
        Msg::Acted { op, runbook } => {
            crate::tui::depth::forget(state, &op);
            let mut fx = Vec::new();
            // Running a step's action ticks the step's item that names it.
            if let Some(rb) = runbook
                && let Some(walk) = state.runbooks.walk.as_mut()
                && walk.runbook.id.as_str() == rb.id
                && let Some(tick) = walk.tick_for(rb.step, &op)
            {
                let w = (**walk).clone();
                fx.push(walk::save_progress(state, w));
                fx.push(Effect::RecordStep(tick));
            }
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
            (fx, true)
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

/// Apply poll events to the store, then rebuild the snapshot once.
fn apply_polls(state: &mut State, evs: Vec<PollEvent>) -> (Vec<Effect>, bool) {
    let was_in_flight = state.any_in_flight();
    let mut fx: Vec<Effect> = Vec::new();
    let mut changed = false;
    for ev in evs {
        if let PollEvent::Done {
            provider,
            result: Ok(_),
            ..
        } = &ev
        {
            fx.push(Effect::WriteCache(provider.clone()));
        }
        changed |= state.store.apply(ev, None);
    }
    if changed {
        state.rebuild();
        fx.extend(observe_watches(state));
    }
    (
        fx,
        changed || was_in_flight != state.any_in_flight() || !state.watches.is_empty(),
    )
}
