//! Incident depth in the console (issue 23): the history, notes and
//! people of the incident open in the details pane, read on demand (one
//! [`Effect::LoadDetails`] when an incident is first shown there, the
//! answer back as [`Msg::IncidentDetails`], kept per incident); rows
//! marked with Space in the Incidents list, acknowledged together by `a`
//! after one confirmation; escalate and snooze from the palette.

use super::palette::{Command, Entry};
use super::state::{State, View};
use super::update::Effect;
use crate::model::{Incident, IncidentDetails, IncidentStatus};
use crate::ops::WriteOp;
use std::collections::{BTreeMap, BTreeSet};

/// `(provider, incident id)`.
pub type Key = (String, String);

/// What is known of something read on demand (an incident's details, a
/// deploy's commit range).
#[derive(Clone, Debug, PartialEq)]
pub enum Loaded<T> {
    Loading,
    Ready(Box<T>),
    /// Why it could not be read, in words.
    Failed(String),
}

impl<T> Loaded<T> {
    /// A read's answer.
    pub fn from_result(result: Result<T, String>) -> Self {
        match result {
            Ok(v) => Loaded::Ready(Box::new(v)),
            Err(e) => Loaded::Failed(e),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Depth {
    /// Details read so far, per incident.
    pub details: BTreeMap<Key, Loaded<IncidentDetails>>,
    /// Rows marked for a bulk action.
    pub marked: BTreeSet<Key>,
}

pub fn key_of(i: &Incident) -> Key {
    (i.provider.as_str().to_string(), i.id.as_str().to_string())
}

/// Whether the provider named `provider` reads incident details.
fn has_details(state: &State, provider: &str) -> bool {
    state
        .store
        .slots
        .iter()
        .any(|s| s.name == provider && s.details)
}

/// The read to start now: the incident open in the Incidents view's
/// details pane, when its provider reads details and nothing is known or
/// in flight for it yet.
pub fn wanted(state: &mut State) -> Option<Effect> {
    if state.ui.view != View::Incidents || !state.ui.show_details || state.ui.modal.is_some() {
        return None;
    }
    let i = state.selected_incident()?;
    let key = key_of(i);
    if !has_details(state, &key.0) || state.depth.details.contains_key(&key) {
        return None;
    }
    state.depth.details.insert(key.clone(), Loaded::Loading);
    Some(Effect::LoadDetails {
        provider: key.0,
        id: key.1,
    })
}

/// The answer of a read.
pub fn loaded(
    state: &mut State,
    provider: String,
    id: String,
    result: Result<IncidentDetails, String>,
) {
    state
        .depth
        .details
        .insert((provider, id), Loaded::from_result(result));
}

/// After a write on an incident: read its details again when next shown.
pub fn forget(state: &mut State, op: &WriteOp) {
    let ids: Vec<String> = match op {
        WriteOp::IncidentBulkAck { ids, .. } => ids.clone(),
        _ => vec![op.target()],
    };
    state.depth.details.retain(|(_, id), _| !ids.contains(id));
    if matches!(op, WriteOp::IncidentBulkAck { .. }) {
        state.depth.marked.retain(|(_, id)| !ids.contains(id));
    }
}

/// Space in the Incidents list: mark or unmark the selected row.
pub fn toggle_mark(state: &mut State) {
    let Some(i) = state.selected_incident() else {
        return;
    };
    let key = key_of(i);
    if !state.depth.marked.remove(&key) {
        state.depth.marked.insert(key);
    }
}

/// `a` with rows marked: one bulk ack of the marked incidents that still
/// need one, or why not (several providers, a provider that cannot).
pub fn bulk_ack(state: &State) -> Result<WriteOp, String> {
    let open: Vec<&Key> = state
        .depth
        .marked
        .iter()
        .filter(|k| {
            state
                .snap
                .incidents
                .iter()
                .any(|i| key_of(i) == **k && i.status.is_unacked())
        })
        .collect();
    let Some(first) = open.first() else {
        return Err("none of the marked incidents needs an acknowledgement".into());
    };
    let provider = first.0.clone();
    if open.iter().any(|k| k.0 != provider) {
        return Err(
            "the marked incidents belong to several providers: mark one provider's at a time"
                .into(),
        );
    }
    if let Some(why) = state
        .store
        .slots
        .iter()
        .find(|s| s.name == provider)
        .and_then(|s| s.actions.bulk_ack.clone())
    {
        return Err(why);
    }
    Ok(WriteOp::IncidentBulkAck {
        provider: Some(provider),
        ids: open.iter().map(|k| k.1.clone()).collect(),
    })
}

/// Palette entries: escalate and snooze each open incident whose
/// provider can (snooze only when acknowledged), and ack the marked rows.
pub fn palette_entries(state: &State, v: &mut Vec<Entry>) {
    for i in state.snap.incidents.iter().filter(|i| i.status.is_open()) {
        let Some(a) = state
            .store
            .slots
            .iter()
            .find(|s| s.name == i.provider.as_str())
            .map(|s| &s.actions)
        else {
            continue;
        };
        let provider = Some(i.provider.as_str().to_string());
        let id = i.id.as_str().to_string();
        if a.escalate.is_none() {
            v.push(Entry {
                label: format!("escalate {id}"),
                hint: format!("{} {}: to the next level", i.severity, i.title),
                command: Command::Op(WriteOp::IncidentEscalate {
                    provider: provider.clone(),
                    id: id.clone(),
                }),
            });
        }
        if a.snooze.is_none() && i.status == IncidentStatus::Acknowledged {
            v.push(Entry {
                label: format!("snooze {id}"),
                hint: format!("{} {}: for 1h", i.severity, i.title),
                command: Command::Op(WriteOp::IncidentSnooze {
                    provider,
                    id,
                    duration_secs: 3600,
                }),
            });
        }
    }
    if let Ok(op) = bulk_ack(state) {
        v.push(Entry {
            label: "ack marked".into(),
            hint: op.target(),
            command: Command::Op(op),
        });
    }
}

/// Whether `i`'s details have been read (or failed): what the pane shows
/// then is worth the room of the lines it can do without.
pub fn is_read(state: &State, i: &Incident) -> bool {
    matches!(
        state.depth.details.get(&key_of(i)),
        Some(Loaded::Ready(_) | Loaded::Failed(_))
    )
}

/// The details pane's lines for incident `i`: who is on it, its history
/// (newest first) and notes, or that it is being read, or why not.
pub fn lines(state: &State, i: &Incident) -> Vec<ratatui::text::Line<'static>> {
    use ratatui::text::{Line, Span};
    let t = &state.theme;
    let key = key_of(i);
    let mut out = Vec::new();
    if !has_details(state, &key.0) {
        return out;
    }
    let muted = |s: String| Line::from(Span::styled(s, t.muted));
    match state.depth.details.get(&key) {
        None | Some(Loaded::Loading) => out.push(muted("history: reading…".into())),
        Some(Loaded::Failed(e)) => out.push(Line::from(Span::styled(
            format!("history unavailable: {e}"),
            t.crit,
        ))),
        Some(Loaded::Ready(d)) => {
            let join = |v: &[crate::text::SafeText]| {
                v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            };
            out.push(Line::from(Span::styled(
                format!("history ({}, newest first)", d.log.len()),
                t.title,
            )));
            if d.log.is_empty() {
                out.push(muted("  nothing logged".into()));
            }
            for e in &d.log {
                out.push(Line::from(vec![
                    Span::styled(format!("{} ", e.at.format("%H:%MZ")), t.muted),
                    Span::styled(e.summary.to_string(), t.text),
                ]));
            }
            out.push(Line::from(Span::styled(
                format!("notes ({})", d.notes.len()),
                t.title,
            )));
            for n in &d.notes {
                let who = n.author.as_ref().map(|a| a.as_str()).unwrap_or("?");
                out.push(Line::from(vec![
                    Span::styled(format!("{} {who}: ", n.at.format("%H:%MZ")), t.muted),
                    Span::styled(n.text.to_string(), t.text),
                ]));
            }
            if !d.assignees.is_empty() {
                out.push(Line::from(vec![
                    Span::styled(format!("{:<10}", "assigned"), t.muted),
                    Span::styled(join(&d.assignees), t.text),
                ]));
            }
            if !d.responders.is_empty() {
                out.push(Line::from(vec![
                    Span::styled(format!("{:<10}", "acked by"), t.muted),
                    Span::styled(join(&d.responders), t.text),
                ]));
            }
        }
    }
    out
}
