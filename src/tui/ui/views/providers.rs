//! The Providers view: each provider's state, why it failed in words, when
//! it last answered and when it is tried next.

use super::*;

fn state_span(s: &crate::store::Slot, t: &crate::theme::Theme) -> Span<'static> {
    match (&s.error, s.stale, s.in_flight, s.fetched_at) {
        (Some(_), true, _, _) => Span::styled("FAILED·CACHED", t.warn),
        (Some(_), false, _, _) => Span::styled("FAILED", t.crit),
        (None, _, true, None) => Span::styled("FETCHING", t.muted),
        (None, true, _, _) => Span::styled("CACHED", t.stale),
        (None, false, _, Some(_)) => Span::styled("OK", t.ok),
        (None, false, _, None) => Span::styled("WAITING", t.muted),
    }
}

fn ago(state: &State, at: Option<crate::model::Time>) -> String {
    at.map(|a| format!("{} ago", util::age(state.now, a)))
        .unwrap_or_else(|| "never".into())
}

fn next_try(state: &State, s: &crate::store::Slot) -> String {
    if s.in_flight {
        return "now".into();
    }
    if s.error
        .as_ref()
        .is_some_and(|e| e.kind == crate::providers::ErrorKind::Config)
    {
        // Built broken (a missing token, a bad setting): fetching again
        // changes nothing until the config or the environment does.
        return "after fix".into();
    }
    match s.next_try() {
        Some(n) if n > state.now => format!("in ~{}", util::age(n, state.now)),
        Some(_) => "due".into(),
        None => "-".into(),
    }
}

pub fn providers(f: &mut Frame, body: Rect, state: &State) {
    let t = &state.theme;
    let slots = &state.store.slots;
    let (ta, da) = split(state, body);
    let failed = slots.iter().filter(|s| s.error.is_some()).count();
    // At 80 columns the cause comes first: kind, last ok and next try are
    // in the details below.
    let narrow = ta.width < 90;
    // Room for FAILED·CACHED only when a row says it.
    let state_w = if slots.iter().any(|s| s.error.is_some() && s.stale) {
        13
    } else {
        8
    };
    table(
        f,
        ta,
        state,
        View::Providers,
        if failed > 0 {
            format!("Providers ({}, {failed} failed)", slots.len())
        } else {
            format!("Providers ({})", slots.len())
        },
        if narrow {
            vec!["STATE", "PROVIDER", "WHY"]
        } else {
            vec!["STATE", "PROVIDER", "KIND", "LAST OK", "NEXT TRY", "WHY"]
        },
        if narrow {
            vec![
                Constraint::Length(state_w),
                Constraint::Length(10),
                Constraint::Min(20),
            ]
        } else {
            vec![
                Constraint::Length(state_w),
                Constraint::Length(10),
                Constraint::Length(12),
                Constraint::Length(10),
                Constraint::Length(9),
                Constraint::Min(20),
            ]
        },
        slots.len(),
        "no providers configured (sitrep config init writes an example)",
        |i| {
            let s = &slots[i];
            let why = s.error.as_ref().map(|e| e.headline()).unwrap_or_default();
            let mut cells = vec![
                Cell::from(state_span(s, t)),
                Cell::from(crate::text::SafeText::line(&s.name).into_string()),
            ];
            if !narrow {
                cells.push(Cell::from(Span::styled(s.kind.clone(), t.muted)));
                cells.push(Cell::from(Span::styled(
                    s.fetched_at
                        .map(|a| util::age(state.now, a))
                        .unwrap_or_else(|| "-".into()),
                    t.muted,
                )));
                cells.push(Cell::from(Span::styled(next_try(state, s), t.muted)));
            }
            cells.push(Cell::from(Span::styled(why, t.text)));
            Row::new(cells)
        },
    );
    if let Some(da) = da {
        let lines = match state.selected_slot() {
            None => vec![muted_line("nothing selected", t)],
            Some(s) => {
                let mut l = vec![
                    Line::from(vec![
                        state_span(s, t),
                        Span::raw(" "),
                        Span::styled(crate::text::SafeText::line(&s.name).into_string(), t.title),
                        Span::styled(format!("  {}", s.kind), t.muted),
                    ]),
                    kv(
                        "last ok",
                        ago(
                            state,
                            s.fetched_at.filter(|_| !s.stale || s.error.is_none()),
                        ),
                        t,
                    ),
                    kv("tried", ago(state, s.attempted_at), t),
                    kv("next try", next_try(state, s), t),
                ];
                if s.failures > 1 {
                    l.push(kv(
                        "failing",
                        format!(
                            "{} times in a row (polled less often until it answers)",
                            s.failures
                        ),
                        t,
                    ));
                }
                if s.stale {
                    l.push(kv(
                        "showing",
                        format!("cached data from {}", ago(state, s.fetched_at)),
                        t,
                    ));
                }
                if let Some(e) = &s.error {
                    l.push(Line::from(""));
                    l.push(Line::from(Span::styled("why", t.muted)));
                    l.push(Line::from(Span::styled(e.to_string(), t.crit)));
                }
                l.push(Line::from(""));
                l.push(Line::from(vec![
                    Span::styled("r", t.key),
                    Span::styled(" try every provider now", t.muted),
                ]));
                l
            }
        };
        details(f, da, state, "Details", lines);
    }
}
