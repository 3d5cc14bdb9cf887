//! What the list rows answer besides moving: expire a silence (planned,
//! then confirmed, then run and audited like every action), sort by a
//! column, describe a row as JSON.

use super::*;
use crate::tui::sort;

/// `x` in the Silences view: plan `silence.expire` for the selected
/// silence, when its provider can and it has not expired already. The
/// plan opens the confirmation (`Msg::Planned`).
pub(crate) fn expire_silence(state: &mut State) -> Vec<Effect> {
    if refuse_read_only(state) {
        return vec![];
    }
    let Some(s) = state.selected_silence() else {
        state.toast(ToastKind::Info, "no silence selected");
        return vec![];
    };
    if let Some(why) = state.expire_refusal(s) {
        state.toast(ToastKind::Error, why);
        return vec![];
    }
    let op = WriteOp::SilenceExpire {
        provider: Some(s.provider.as_str().to_string()),
        id: s.id.as_str().to_string(),
    };
    planning(state, "expire silence");
    vec![Effect::Plan {
        op,
        reason: String::new(),
    }]
}

pub(crate) fn sort_list(state: &mut State, action: Action) -> Vec<Effect> {
    let v = state.ui.view;
    if sort::columns(v).is_empty() {
        return vec![];
    }
    let l = state.list_mut(v);
    if action == Action::SortReverse {
        sort::reverse(l, v);
    } else {
        sort::next(l, v);
    }
    // The header marks the column and the direction (`sort::header`).
    vec![]
}

/// `d`: the selected incident or silence as pretty JSON (the model's
/// record, not the vendor's body: see docs/CONSOLE.md).
pub(crate) fn describe(state: &mut State) -> Vec<Effect> {
    let found = if state.ui.view == View::Silences {
        state
            .selected_silence()
            .map(|s| (format!("silence {} · JSON", s.id), serde_json::to_value(s)))
    } else if state.ui.view == View::Deploys {
        state.selected_deploy().map(|d| {
            (
                format!("deploy {}/{} · JSON", d.provider, d.id),
                serde_json::to_value(d),
            )
        })
    } else if state.ui.view == View::Flags {
        state.selected_flag().map(|f| {
            (
                format!("flag {}/{} · JSON", f.provider, f.key),
                serde_json::to_value(f),
            )
        })
    } else if state.ui.view == View::Slos {
        // The SPEC shape (`sitrep slo --json`): the chart series left out.
        state.selected_slo().map(|s| {
            let mut value = serde_json::to_value(s);
            if let Ok(serde_json::Value::Object(o)) = &mut value {
                o.remove("history");
                o.remove("budget_history");
            }
            (format!("SLO {}/{} · JSON", s.provider, s.name), value)
        })
    } else {
        state.selected_incident().map(|i| {
            let mut value = serde_json::to_value(i);
            // An alert's silences ride along (Alertmanager's `silencedBy`).
            let by: Vec<&str> = state
                .silences_muting(i)
                .iter()
                .map(|s| s.id.as_str())
                .collect();
            if let Ok(serde_json::Value::Object(o)) = &mut value
                && !by.is_empty()
            {
                o.insert("silenced_by".into(), by.into());
            }
            (format!("incident {}/{} · JSON", i.provider, i.id), value)
        })
    };
    let Some((title, value)) = found else {
        state.toast(ToastKind::Info, "nothing selected to describe");
        return vec![];
    };
    let text = value
        .and_then(|v| serde_json::to_string_pretty(&v))
        .unwrap_or_else(|e| format!("cannot show this record as JSON: {e}"));
    state.ui.modal = Some(Modal::Describe {
        title,
        lines: text.lines().map(str::to_string).collect(),
        scroll: 0,
    });
    vec![]
}
