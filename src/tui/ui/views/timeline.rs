//! The Timeline view: what changed, suspects marked.

use super::*;

pub fn timeline(f: &mut Frame, body: Rect, state: &State) {
    let t = &state.theme;
    let rows = state.timeline_rows();
    let (ta, da) = split(state, body);
    let filter = state.list(View::Timeline).filter.clone();
    let suspects = state
        .timeline()
        .iter()
        .filter(|e| e.suspect.is_some())
        .count();
    let mut title = title_with_count(
        "What changed, 12h",
        rows.len(),
        state.timeline().len(),
        &filter,
    );
    if suspects > 0 {
        title.push_str(&format!(" · {suspects} suspect"));
    }
    table(
        f,
        ta,
        state,
        View::Timeline,
        title,
        vec!["WHEN", "KIND", "SERVICE", "", "WHAT"],
        vec![
            Constraint::Length(10),
            Constraint::Length(8),
            Constraint::Length(10),
            Constraint::Length(7),
            Constraint::Min(20),
        ],
        rows.len(),
        "nothing changed in the last 12 hours",
        |i| {
            let e = rows[i];
            Row::new(vec![
                Cell::from(Span::styled(crate::timeline::when(e, state.now), t.muted)),
                Cell::from(e.kind.label()),
                Cell::from(
                    e.service
                        .as_ref()
                        .map(|s| s.to_string())
                        .unwrap_or_default(),
                ),
                Cell::from(if e.suspect.is_some() {
                    Span::styled("SUSPECT", t.crit)
                } else {
                    Span::raw("")
                }),
                Cell::from(e.summary.to_string()),
            ])
        },
    );
    if let Some(da) = da {
        let sel = state.list(View::Timeline).selected;
        let lines = match rows.get(sel) {
            None => vec![muted_line("nothing selected", t)],
            Some(e) => {
                let mut l = vec![
                    Line::from(Span::styled(e.summary.to_string(), t.title)),
                    kv(
                        "when",
                        format!(
                            "{} ({})",
                            crate::timeline::when(e, state.now),
                            e.ts.format("%Y-%m-%d %H:%MZ")
                        ),
                        t,
                    ),
                    kv("kind", e.kind.label(), t),
                    kv(
                        "service",
                        e.service
                            .as_ref()
                            .map(|s| s.to_string())
                            .unwrap_or_else(|| "-".into()),
                        t,
                    ),
                    kv(
                        "provider",
                        e.provider
                            .as_ref()
                            .map(|s| s.to_string())
                            .unwrap_or_else(|| "-".into()),
                        t,
                    ),
                    kv(
                        "ref",
                        e.reference
                            .as_ref()
                            .map(|s| s.to_string())
                            .unwrap_or_else(|| "-".into()),
                        t,
                    ),
                ];
                if let Some(s) = &e.suspect {
                    l.push(Line::from(vec![
                        Span::styled(format!("{:<10}", "suspect"), t.muted),
                        Span::styled(s.reason.to_string(), t.crit),
                    ]));
                }
                l
            }
        };
        details(f, da, state, "Change", lines);
    }
}
