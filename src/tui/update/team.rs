//! Team mode in the console: ticks shared by the team's consoles applied
//! to the open walk, and presence on the incident in view.

use super::*;

/// The incident this console shows: the walk's incident in the Runbooks
/// view, the selected incident in the Incidents view.
pub(crate) fn focus(state: &State) -> Option<String> {
    match state.ui.view {
        View::Runbooks => state
            .runbooks
            .walk
            .as_ref()
            .and_then(|w| w.incident().map(str::to_string)),
        View::Incidents => state.selected_incident().map(|i| i.id.as_str().to_string()),
        _ => None,
    }
}

/// Team mode: the presence effect when the incident in view changed (the
/// others on the old one are forgotten).
pub(crate) fn refocus(state: &mut State) -> Option<Effect> {
    state.team.as_ref()?;
    let f = focus(state);
    if f == state.presence.focus {
        return None;
    }
    state.presence = PresenceView {
        focus: f.clone(),
        others: Vec::new(),
    };
    Some(Effect::Focus(f))
}

/// Team mode: read the shared ticks of the open walk (an incident's).
pub(crate) fn load_ticks(state: &State) -> Option<Effect> {
    state.team.as_ref()?;
    let w = state.runbooks.walk.as_ref()?;
    Some(Effect::LoadTicks {
        incident: w.incident()?.to_string(),
        runbook: w.runbook.id.as_str().to_string(),
    })
}

/// Ticks shared by the team: the open walk follows them (and saves its
/// progress when an item changed); others' walks are not ours to keep.
pub(crate) fn shared_ticks(state: &mut State, ticks: &[crate::team::Tick]) -> (Vec<Effect>, bool) {
    let Some(walk) = state.runbooks.walk.as_mut() else {
        return (vec![], false);
    };
    let (mut redraw, mut save) = (false, false);
    for t in ticks {
        let (r, s) = walk.apply_shared(t);
        redraw |= r;
        save |= s;
    }
    if save {
        let w = (**walk).clone();
        return (vec![walk::save_progress(state, w)], true);
    }
    (vec![], redraw)
}

/// Who else is on an incident (kept only for the incident in view).
pub(crate) fn presence(
    state: &mut State,
    incident: String,
    others: Vec<crate::team::Presence>,
) -> (Vec<Effect>, bool) {
    if state.presence.focus.as_deref() != Some(incident.as_str()) || state.presence.others == others
    {
        return (vec![], false);
    }
    state.presence.others = others;
    (vec![], true)
}
