//! The Flags view: kill switches first, state per environment.

use super::*;

pub fn flags(f: &mut Frame, body: Rect, state: &State) {
    let t = &state.theme;
    let list = state.flags();
    let (ta, da) = split(state, body);
    let filter = state.list(View::Flags).filter.clone();
    table(
        f,
        ta,
        state,
        View::Flags,
        format!(
            "{} · KS kill switch: OFF = its feature is off",
            title_with_count("Flags", list.len(), state.snap.flags.len(), &filter)
        ),
        vec!["STATE", "KILL", "KEY", "ENV", "CHANGED", "PROVIDER"],
        vec![
            Constraint::Length(5),
            Constraint::Length(4),
            Constraint::Min(16),
            Constraint::Length(11),
            Constraint::Length(7),
            Constraint::Length(8),
        ],
        list.len(),
        &state.empty_reason(Supplies::Flags, "no flags"),
        |i| {
            let fl = list[i];
            Row::new(vec![
                Cell::from(flag_span(fl.on, t)),
                Cell::from(Span::styled(if fl.kill_switch { "KS" } else { "" }, t.warn)),
                Cell::from(fl.key.to_string()),
                Cell::from(opt(&fl.environment)),
                Cell::from(Span::styled(
                    fl.updated_at
                        .map(|u| util::age(state.now, u))
                        .unwrap_or_else(|| "-".into()),
                    t.muted,
                )),
                Cell::from(Span::styled(fl.provider.to_string(), t.muted)),
            ])
        },
    );
    if let Some(da) = da {
        let lines = match state.selected_flag() {
            None => vec![muted_line("nothing selected", t)],
            Some(fl) => vec![
                Line::from(vec![
                    flag_span(fl.on, t),
                    Span::raw(" "),
                    Span::styled(fl.key.to_string(), t.title),
                ]),
                kv("name", fl.name.to_string(), t),
                kv("means", flag_meaning(fl).to_string(), t),
                kv(
                    "kind",
                    if fl.kill_switch {
                        "kill switch".to_string()
                    } else {
                        "feature flag".to_string()
                    },
                    t,
                ),
                kv("env", opt(&fl.environment), t),
                kv(
                    "changed",
                    fl.updated_at
                        .map(|u| format!("{} ago", util::age(state.now, u)))
                        .unwrap_or_else(|| "-".into()),
                    t,
                ),
                kv("provider", fl.provider.to_string(), t),
                kv("url", opt(&fl.url), t),
                Line::from(vec![
                    Span::styled("K", t.key),
                    Span::styled(" turn off (kill switch)  ", t.muted),
                    Span::styled("O", t.key),
                    Span::styled(" turn on", t.muted),
                ]),
            ],
        };
        details(f, da, state, "Details", lines);
    }
}

/// What a flag's state means for its feature, in words.
pub(crate) fn flag_meaning(fl: &crate::model::Flag) -> &'static str {
    match (fl.kill_switch, fl.on) {
        (true, true) => "ON: the feature runs (kill switch not pulled)",
        (true, false) => "OFF: the feature is switched off (kill switch pulled)",
        (false, true) => "ON: the flag serves its on variation",
        (false, false) => "OFF: the flag serves its off variation",
    }
}
